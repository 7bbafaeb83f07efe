/**
 * `deno run -A bench/kernel_profile.ts [--backend webgpu] [--res 256] [--channels default] [--batch 8]`
 * `deno run -A bench/kernel_profile.ts --train [--config configs/ucmerced-64.yaml] [--batch 8] [--backend wasm]`
 *
 * Where time goes, per kernel, under tf.profile: kernel times summed by kernel name (on webgpu these are GPU
 * timestamp queries where the adapter has them), beside the wall time of the same call. Only top-level kernels
 * are summed: a kernel that runs other kernels inside it (the weight gradient of a convolution, say) is counted
 * once, with their time in it. Used to pick which kernels to replace (issues 8, 19); not part of `deno task
 * bench`'s table.
 *
 * Without `--train`: one generation. With `--train`: one training step of a config (fixed structure at its
 * resolution, its losses, style mixing; random data), as the loop runs it: G's images for D (no gradient), a
 * D step with R1 and one without, and a G step. Their kernels are weighted as one step of a lazy-R1 cycle (R1
 * every `r1_interval` steps) and split into "forward" (run while a gradient tape records; this includes R1's
 * first backprop, which the outer gradient differentiates) and "backward" (the gradients themselves).
 *
 * `--shapes` (with `--train`) adds the convolutions by kernel and geometry, with their arithmetic rate in
 * GFLOP/s (2 · output pixels · output channels · kh · kw · input channels per call), so that the rate inside a
 * training step can be set beside the machine's sgemm limit and `bench/blas_bench.ts`'s isolated cases.
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { Generator } from "../model/networks/generator.ts";
import { Discriminator } from "../model/networks/discriminator.ts";
import { loadConfig } from "../model/config.ts";
import { discriminatorOptionsOf, generatorOptionsOf } from "../model/train/loop.ts";
import { r1GammaAt } from "../model/train/schedule.ts";
import {
  discriminatorGradients,
  fakeImages,
  generatorGradients,
  type StepGradients,
} from "../model/train/step_grads.ts";
import { CHANNEL_PRESETS, channelPresetFlag } from "./reference.ts";
import { integerFlag } from "./flags.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string" },
    res: { type: "string", default: "256" },
    channels: { type: "string", default: "default" },
    batch: { type: "string", default: "8" },
    train: { type: "boolean", default: false },
    config: { type: "string", default: "configs/ucmerced-64.yaml" },
    json: { type: "boolean", default: false },
    shapes: { type: "boolean", default: false },
  },
});

/** One kernel call as tf.profile records it, tagged with the engine's depths when it ended. */
interface KernelCall {
  name: string;
  ms: number;
  /** Recorded while a gradient tape was on (a forward op that backprop will differentiate). */
  taped: boolean;
  /** Convolutions: "x → y" shapes and the multiply-adds ×2 of the call. */
  geometry?: string;
  flops?: number;
}

const CONV_KERNELS = new Set(["Conv2D", "FusedConv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"]);

/**
 * A convolution call's geometry and flops from its shapes. Conv2D: [x, filter] → y; Conv2DBackpropInput:
 * [dy, filter] → dx; Conv2DBackpropFilter: [x, dy] → filter. Each is 2 · (pixels of the small-side grid) ·
 * kh · kw · cin · cout.
 */
function convCost(name: string, inputs: number[][], output: number[]): { geometry: string; flops: number } {
  const size = (shape: number[]) => shape.join("×");
  const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const geometry = `${inputs.map(size).join(", ")} → ${size(output)}`;
  if (name === "Conv2DBackpropFilter") {
    const [, dy] = inputs; // dy [n, ho, wo, co]; output = filter [kh, kw, ci, co]
    return { geometry, flops: 2 * product(dy.slice(0, 3)) * product(output) };
  }
  const [data, filter] = inputs; // filter [kh, kw, ci, co]
  // Forward: the output grid; backprop input: dy's grid (the transposed convolution's input).
  const grid = name === "Conv2DBackpropInput" ? data : output;
  return { geometry, flops: 2 * product(grid.slice(0, 3)) * product(filter) };
}

/** The engine's state, internal to tfjs: the profile reads its depths to tag each kernel. */
type EngineState = {
  state: {
    gradientDepth: number;
    kernelDepth: number;
    activeProfile: { kernels: Array<{ name: string; gradientDepth?: number; kernelDepth?: number }> };
  };
};

/** The top-level kernel calls of `fn` with their times; `untimed` counts calls without a time. */
async function profileCalls(fn: () => Promise<void>): Promise<{ calls: KernelCall[]; untimed: number }> {
  const engine = tf.engine() as unknown as EngineState;
  const profile = await tf.profile(async () => {
    // tfjs pushes a record after each kernel has returned, so the depths are those of its caller.
    const kernels = engine.state.activeProfile.kernels;
    kernels.push = (...records) => {
      for (const r of records) {
        r.gradientDepth = engine.state.gradientDepth;
        r.kernelDepth = engine.state.kernelDepth;
      }
      return Array.prototype.push.apply(kernels, records);
    };
    await fn();
  });
  const calls: KernelCall[] = [];
  let untimed = 0;
  for (const k of profile.kernels) {
    const tagged = k as typeof k & { gradientDepth: number; kernelDepth: number };
    if (tagged.kernelDepth > 0) continue;
    const raw = await (k.kernelTimeMs as number | { error: string } | Promise<number | { error: string }>);
    const ms = typeof raw === "number" ? raw : NaN;
    if (!Number.isFinite(ms)) untimed++;
    const call: KernelCall = {
      name: k.name,
      ms: Number.isFinite(ms) ? ms : 0,
      taped: tagged.gradientDepth > 0,
    };
    if (CONV_KERNELS.has(k.name) && k.inputShapes && k.outputShapes?.[0]) {
      Object.assign(call, convCost(k.name, k.inputShapes as number[][], k.outputShapes[0] as number[]));
    }
    calls.push(call);
  }
  return { calls, untimed };
}

interface Row {
  name: string;
  ms: number;
  calls: number;
}

/** Calls summed by `key`, each weighted (a lazy-R1 cycle's share), largest first. */
function sumBy(parts: Array<{ calls: KernelCall[]; weight: number }>, key: (c: KernelCall) => string): Row[] {
  const rows = new Map<string, Row>();
  for (const { calls, weight } of parts) {
    for (const c of calls) {
      const name = key(c);
      const row = rows.get(name) ?? { name, ms: 0, calls: 0 };
      row.ms += c.ms * weight;
      row.calls += weight;
      rows.set(name, row);
    }
  }
  return [...rows.values()].sort((a, b) => b.ms - a.ms);
}

function printRows(rows: Row[], totalMs: number, count: number): void {
  for (const r of rows.slice(0, count)) {
    console.log(
      `  ${r.name.padEnd(40)} ${r.ms.toFixed(1).padStart(9)} ms ${
        (100 * r.ms / totalMs).toFixed(1).padStart(5)
      } %` +
        `  ${r.calls.toFixed(1).padStart(7)} calls`,
    );
  }
}

async function profileGeneration(): Promise<void> {
  const channels = channelPresetFlag(values.channels);
  const res = integerFlag("res", values.res, 4), batch = integerFlag("batch", values.batch);
  const info = await initBackend(processRuntime({ backend: values.backend ?? "webgpu" }), { quiet: true });
  const G = new Generator({ resolution: res, ...CHANNEL_PRESETS[channels] });
  const z = tf.randomNormal([batch, G.options.latent_size]) as tf.Tensor2D;
  const run = async () => {
    const img = G.generate(z, { psi: 0.7, noise: "const" });
    await img.data();
    img.dispose();
  };
  await run(); // compiles shaders / warms caches
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  const { calls, untimed } = await profileCalls(run);
  const rows = sumBy([{ calls, weight: 1 }], (c) => c.name);
  const kernelMs = rows.reduce((s, r) => s + r.ms, 0);
  if (values.json) {
    console.log(JSON.stringify({
      backend: info.name,
      device: info.device ?? null,
      res,
      channels,
      batch,
      wall_ms: wallMs,
      kernel_ms: kernelMs,
      kernels: calls.length,
      untimed,
      by_kernel: rows,
    }));
    return;
  }
  console.log(
    `${info.name} ${res} px ${channels} batch ${batch}: wall ${wallMs.toFixed(1)} ms, ` +
      `kernels ${kernelMs.toFixed(1)} ms over ${calls.length} calls (${untimed} untimed)`,
  );
  printRows(rows, kernelMs, 15);
  tf.dispose(z);
  G.dispose();
}

async function profileTraining(): Promise<void> {
  const batch = integerFlag("batch", values.batch);
  const config = await loadConfig(values.config, ["dataset.img_dir=synthetic", "structure=fixed"]);
  const info = await initBackend(processRuntime({ backend: values.backend ?? "wasm" }), { quiet: true });
  const G = new Generator(generatorOptionsOf(config));
  const D = new Discriminator(discriminatorOptionsOf(config));
  const res = config.dataset.resolution, depth = G.depthCount - 1, interval = config.model.r1_interval;
  const losses = { ...config.model, r1_gamma: r1GammaAt(config.model.r1_gamma, res, batch) };
  const gParams = G.params.entries().filter((p) => p.trainable);
  const dParams = D.params.entries().filter((p) => p.trainable);
  const latentSize = config.model.gen.latent_size;
  const reals = tf.randomUniform([batch, res, res, config.dataset.channels], -1, 1) as tf.Tensor4D;
  const latents = () => ({
    z: tf.randomNormal([batch, latentSize]) as tf.Tensor2D,
    z2: tf.randomNormal([batch, latentSize]) as tf.Tensor2D,
    mixingCutoff: 2 * depth,
  });
  const run = { depth, alpha: 1, noise: "random" as const };
  const settle = async (g: StepGradients) => {
    await g.loss.data();
    await Promise.all([...g.grads.values()].map((t) => t.data()));
    tf.dispose([g.loss, ...g.grads.values()]);
  };
  let fakes: tf.Tensor4D | undefined;
  const phases = {
    "G images for D": async () => {
      tf.dispose(fakes);
      const l = latents();
      fakes = fakeImages(G, l, run, false);
      await fakes.data();
      tf.dispose([l.z, l.z2]);
    },
    "D step with R1": () => settle(discriminatorGradients(D, dParams, losses, run, reals, fakes!, true)),
    "D step": () => settle(discriminatorGradients(D, dParams, losses, run, reals, fakes!, false)),
    "G step": async () => {
      const l = latents();
      await settle(generatorGradients(G, D, gParams, losses, l, run, false));
      tf.dispose([l.z, l.z2]);
    },
  };
  // A step of the cycle: G's images, a D step (with R1 once in `interval`), a G step.
  const weights: Record<keyof typeof phases, number> = {
    "G images for D": 1,
    "D step with R1": 1 / interval,
    "D step": 1 - 1 / interval,
    "G step": 1,
  };
  for (const phase of Object.values(phases)) await phase(); // warm-up
  const wall: Record<string, number> = {};
  const parts: Array<{ phase: string; calls: KernelCall[]; weight: number }> = [];
  let untimed = 0;
  for (const [phase, fn] of Object.entries(phases) as Array<[keyof typeof phases, () => Promise<void>]>) {
    const t0 = performance.now();
    await fn();
    wall[phase] = performance.now() - t0;
    const profiled = await profileCalls(fn);
    untimed += profiled.untimed;
    parts.push({ phase, calls: profiled.calls, weight: weights[phase] });
  }
  const stepWallMs = Object.entries(wall).reduce(
    (s, [p, ms]) => s + ms * weights[p as keyof typeof phases],
    0,
  );
  const direction = (c: KernelCall) => c.taped ? "forward" : "backward";
  // Kernels outside any tape in a gradient phase are its backprop; G's images for D are a forward pass.
  const tagged = parts.map((p) => ({
    weight: p.weight,
    calls: p.calls.map((c) => ({ ...c, taped: c.taped || p.phase === "G images for D" })),
  }));
  const byKernel = sumBy(tagged, (c) => `${c.name} (${direction(c)})`);
  const byName = sumBy(tagged, (c) => c.name);
  const byPhase = sumBy(
    parts.map((p) => ({ ...p, calls: p.calls.map((c) => ({ ...c, name: p.phase })) })),
    (c) => c.name,
  );
  const kernelMs = byName.reduce((s, r) => s + r.ms, 0);
  if (values.json) {
    console.log(JSON.stringify({
      backend: info.name,
      config: values.config,
      res,
      batch,
      r1_interval: interval,
      step_wall_ms: stepWallMs,
      step_kernel_ms: kernelMs,
      untimed,
      by_phase: byPhase,
      by_kernel: byName,
      by_kernel_and_direction: byKernel,
    }));
  } else {
    console.log(
      `${info.name} ${values.config} ${res} px batch ${batch}, one step of a cycle with R1 every ${interval}: ` +
        `wall ${stepWallMs.toFixed(0)} ms, kernels ${kernelMs.toFixed(0)} ms (${untimed} untimed)`,
    );
    console.log("by phase (weighted):");
    printRows(byPhase, kernelMs, 4);
    console.log("by kernel:");
    printRows(byName, kernelMs, 20);
    console.log("by kernel and direction:");
    printRows(byKernel, kernelMs, 25);
  }
  if (values.shapes) printConvGeometries(tagged, kernelMs);
  tf.dispose([reals, fakes]);
  G.dispose();
  D.dispose();
}

/** Convolutions by kernel and geometry (weighted as a cycle), with GFLOP/s. */
function printConvGeometries(parts: Array<{ calls: KernelCall[]; weight: number }>, kernelMs: number): void {
  const rows = new Map<string, { ms: number; flops: number; calls: number }>();
  for (const { calls, weight } of parts) {
    for (const c of calls) {
      if (!c.geometry) continue;
      const key = `${c.name} ${c.geometry}`;
      const row = rows.get(key) ?? { ms: 0, flops: 0, calls: 0 };
      row.ms += c.ms * weight;
      row.flops += (c.flops ?? 0) * weight;
      row.calls += weight;
      rows.set(key, row);
    }
  }
  const sorted = [...rows.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const convMs = sorted.reduce((s, [, r]) => s + r.ms, 0);
  const convFlops = sorted.reduce((s, [, r]) => s + r.flops, 0);
  console.log(
    `convolutions by geometry: ${convMs.toFixed(0)} ms of ${kernelMs.toFixed(0)} ms, ` +
      `${(convFlops / 1e9).toFixed(2)} GFLOP, ${(convFlops / 1e6 / convMs).toFixed(1)} GFLOP/s overall`,
  );
  for (const [key, r] of sorted) {
    console.log(
      `  ${r.ms.toFixed(1).padStart(8)} ms ${(100 * r.ms / kernelMs).toFixed(1).padStart(5)} % ` +
        `${(r.flops / 1e6 / r.ms).toFixed(1).padStart(6)} GFLOP/s  ${
          r.calls.toFixed(2).padStart(5)
        } calls  ${key}`,
    );
  }
}

if (values.train) await profileTraining();
else await profileGeneration();
