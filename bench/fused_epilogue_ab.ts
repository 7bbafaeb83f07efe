/**
 * `deno run -A bench/fused_epilogue_ab.ts [--rounds 3] [--batch 8] [--res 32,64] [--steps 3]
 *   [--cases reduced,model-config] [--config configs/ucmerced-64.yaml]`
 *
 * Training speed with the fused epilogue on and off (SGAN_FUSED_EPILOGUE, switched in this process), measured
 * interleaved in one run, A B A B …, so that the load of a shared machine falls on both alike; medians per arm.
 * Cases: the bench's reduced channel preset (2048/128, R1 every step) and the default model's config (lazy R1),
 * each at every resolution, one process on wasm, the step `deno task bench --tasks train` times
 * (bench/train_step.ts). One JSON line per case.
 *
 * `--cases op` times the epilogue alone instead: forward and backward (tf.grads to x, the noise weight and the
 * style) of every synthesis epilogue of the config's generator at batch `--batch`, two per resolution, fused
 * against composed, interleaved per repetition (`--rounds`); one JSON line with the sums over the layers.
 *
 * `--clock cpu` times each step by this process's CPU time (user + system, every thread) instead of the wall
 * clock: on a machine whose other processes take most of the cores, the wall time of a step at low priority
 * depends on them more than on the step. Run it with one BLAS thread (SGAN_BLAS_THREADS=1), so that no OpenMP
 * thread spins on the CPU time; the wasm kernels run on the main thread anyway.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { loadConfig } from "../model/config.ts";
import { LayerEpilogue } from "../model/layers/layer_epilogue.ts";
import { NONLINEARITIES } from "../model/layers/activation.ts";
import { ParameterTree } from "../model/layers/parameters.ts";
import { initBackend } from "../model/backend/select.ts";
import { setFusedEpilogueEnabled } from "../model/backend/fused_epilogue.ts";
import { processRuntime } from "../model/runtime.ts";
import { CHANNEL_PRESETS } from "./reference.ts";
import { integerFlag } from "./flags.ts";
import { type TrainBenchCase, trainingStepSeconds } from "./train_step.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    batch: { type: "string", default: "8" },
    res: { type: "string", default: "32,64" },
    steps: { type: "string", default: "3" },
    cases: { type: "string", default: "reduced,model-config" },
    config: { type: "string", default: "configs/ucmerced-64.yaml" },
    clock: { type: "string", default: "wall" },
  },
});
const rounds = integerFlag("rounds", values.rounds), batch = integerFlag("batch", values.batch);
const steps = integerFlag("steps", values.steps);
const resolutions = values.res!.split(",").map((r) => integerFlag("res", r, 8));
const kinds = values.cases!.split(",");
for (const kind of kinds) {
  if (kind !== "reduced" && kind !== "model-config" && kind !== "op") {
    throw new Error(`--cases takes reduced, model-config and op, got "${kind}"`);
  }
}
if (values.clock !== "wall" && values.clock !== "cpu") {
  throw new Error(`--clock is wall or cpu, got "${values.clock}"`);
}
/** This process's CPU time in milliseconds (node:process's counter, which Deno provides). */
const cpuClock = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const clock = values.clock === "cpu" ? cpuClock : undefined;
const backend = await initBackend(processRuntime({ backend: "wasm" }), { quiet: true });
console.error(`# ${backend.reason}`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One synthesis epilogue with its input and dlatent. */
interface EpilogueLayer {
  epi: LayerEpilogue;
  x: tf.Tensor4D;
  dlatent: tf.Tensor2D;
  tree: ParameterTree;
}

/** Forward + backward of one epilogue, in milliseconds of `now`, fused or composed. */
function epilogueMs(layer: EpilogueLayer, fused: boolean, now: () => number): number {
  const { epi, x, dlatent, tree } = layer;
  setFusedEpilogueEnabled(fused);
  const noise = (shape: [number, number, number, number]) => tf.randomNormal(shape) as tf.Tensor4D;
  const params = tree.entries().filter((p) => p.trainable).map((p) => p.variable);
  const t0 = now();
  const { value, grads } = tf.tidy(() =>
    tf.variableGrads(() => tf.sum(tf.mul(epi.apply(x, dlatent, noise), x)) as tf.Scalar, params)
  );
  for (const g of Object.values(grads)) g.dataSync();
  const ms = now() - t0;
  tf.dispose([value, ...Object.values(grads)]);
  setFusedEpilogueEnabled(true);
  return ms;
}

async function benchEpilogueOp(): Promise<void> {
  const config = await loadConfig(values.config, ["dataset.img_dir=synthetic"]);
  const { fmap_base, fmap_max, fmap_decay, dlatent_size } = config.model.gen;
  const now = clock ?? (() => performance.now());
  const times = { fused: 0, composed: 0 };
  const layers: EpilogueLayer[] = [];
  for (let r = 4; r <= config.dataset.resolution; r *= 2) {
    const channels = Math.min(Math.floor(fmap_base / 2 ** ((Math.log2(r) - 1) * fmap_decay)), fmap_max);
    for (let i = 0; i < 2; i++) {
      const tree = ParameterTree.seeded(r + i);
      const epi = new LayerEpilogue(tree, channels, r, dlatent_size, NONLINEARITIES.lrelu.apply, {
        use_noise: true,
        use_pixel_norm: false,
        use_instance_norm: true,
        use_styles: true,
        use_wscale: true,
      });
      const x = tf.randomNormal([batch, r, r, channels]) as tf.Tensor4D;
      layers.push({ epi, x, dlatent: tf.randomNormal([batch, dlatent_size]) as tf.Tensor2D, tree });
    }
  }
  for (const l of layers) for (const fused of [true, false]) epilogueMs(l, fused, now); // warm-up
  const perRound: Record<"fused" | "composed", number[]> = { fused: [], composed: [] };
  for (let round = 0; round < rounds; round++) {
    for (const arm of ["fused", "composed"] as const) {
      let sum = 0;
      for (const l of layers) sum += epilogueMs(l, arm === "fused", now);
      perRound[arm].push(sum);
      times[arm] += sum;
    }
  }
  console.log(JSON.stringify({
    case: `${values.config}: its ${layers.length} synthesis epilogues, forward + backward, batch ${batch}`,
    clock: values.clock,
    fused_ms: median(perRound.fused),
    composed_ms: median(perRound.composed),
    speedup: median(perRound.composed) / median(perRound.fused),
    fused_rounds_ms: perRound.fused,
    composed_rounds_ms: perRound.composed,
  }));
  for (const l of layers) {
    tf.dispose([l.x, l.dlatent]);
    l.tree.dispose();
  }
}

if (kinds.includes("op")) await benchEpilogueOp();
for (const kind of kinds.filter((k) => k !== "op")) {
  for (const resolution of resolutions) {
    const c: TrainBenchCase = kind === "reduced"
      ? { resolution, batch, steps, channels: CHANNEL_PRESETS.reduced, clock }
      : { resolution, batch, steps, configFile: values.config, clock };
    const seconds: Record<"fused" | "composed", number[]> = { fused: [], composed: [] };
    for (let round = 0; round < rounds; round++) {
      for (const arm of ["fused", "composed"] as const) {
        setFusedEpilogueEnabled(arm === "fused");
        seconds[arm].push(await trainingStepSeconds(c));
        console.error(
          `# ${kind} ${resolution} px round ${round + 1} ${arm}: ${seconds[arm].at(-1)!.toFixed(2)} s/step`,
        );
      }
    }
    setFusedEpilogueEnabled(true);
    const [on, off] = [median(seconds.fused), median(seconds.composed)];
    console.log(JSON.stringify({
      case: `${kind === "reduced" ? "reduced preset" : values.config} ${resolution} px batch ${batch}`,
      clock: values.clock,
      fused_img_per_s: batch / on,
      composed_img_per_s: batch / off,
      speedup: off / on,
      fused_s: seconds.fused,
      composed_s: seconds.composed,
    }));
  }
}
