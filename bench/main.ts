/**
 * `deno task bench [--json] [--backends wasm,cpu,webgpu] [--res 32,64,128] [--budget 60] [--reference torch.jsonl]
 *   [--workers N]`
 *
 * Generation images/s of StyleGAN at 32/64/128 px and training images/s (one D step with R1 + one G step,
 * style mixing on) at 32/64 px, default channels (fmap_base 8192, fmap_max 512) and reduced (2048/128),
 * batch 8, per backend, beside StyleGAN.pytorch: `--reference FILE` takes its figures from the JSON lines that
 * bench/reference/stylegan_torch.py wrote in the same session (bench/reference/cpu_same_run.sh does both); without
 * it the figures recorded in bench/reference.ts are used and each row says "recorded fallback".
 * Medians of repeated runs; the ratio is ours / PyTorch's.
 * Cases whose estimated time exceeds the budget are skipped and say so.
 *
 * `--workers N` (wasm/cpu) times generation the way the server runs it with a pool: mapping and truncation in
 * this process, the synthesis network split over N worker processes (model/pool), one batch of `--batch`
 * images at a time, so the images/s stay comparable with PyTorch's single-process figure; and training
 * data-parallel over N worker processes (model/pool/training_pool.ts), one batch of `--batch` per step.
 *
 * On webgpu, generation takes the path served models take: the own WGSL pipelines (model/webgpu) on a GPU,
 * tfjs's kernels on a software rasteriser; `SGAN_WEBGPU_SYNTHESIS=0|1` picks one for A/B runs (rows say which).
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { Generator } from "../model/networks/generator.ts";
import { saveNetwork } from "../model/checkpoint/checkpoint.ts";
import { fileFingerprint, SynthesisPool } from "../model/pool/synthesis_pool.ts";
import { generatorFlops } from "./flops.ts";
import {
  CHANNEL_PRESETS,
  type ChannelPreset,
  channelPresetFlag,
  MeasuredReference,
  presetReference,
  type ReferenceSource,
} from "./reference.ts";
import { integerFlag, positiveFlag } from "./flags.ts";
import { trainingStepTiming } from "./train_step.ts";
import { inferenceEngine } from "../model/serving.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean", default: false },
    backends: { type: "string", default: "wasm,cpu" },
    backend: { type: "string" },
    reference: { type: "string" },
    res: { type: "string", default: "32,64,128" },
    channels: { type: "string", default: "default,reduced" },
    batch: { type: "string", default: "8" },
    budget: { type: "string", default: "60" },
    tasks: { type: "string", default: "generate,train" },
    "train-res": { type: "string", default: "32,64" },
    "train-steps": { type: "string", default: "6" },
    workers: { type: "string", default: "0" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    "deno task bench [--json] [--backends wasm,cpu,webgpu] [--res 32,64,128] [--channels default,reduced]\n" +
      "  [--batch 8] [--budget 60] [--tasks generate,train] [--train-res 32,64] [--train-steps 6]\n" +
      "  [--reference torch.jsonl]   PyTorch's figures from the same run (bench/reference/cpu_same_run.sh)\n" +
      "  [--workers N]   generation and training split over N worker processes (wasm/cpu)",
  );
  Deno.exit(0);
}
const workers = integerFlag("workers", values.workers, 0);
const batch = integerFlag("batch", values.batch);
const budgetS = positiveFlag("budget", values.budget);
const trainSteps = integerFlag("train-steps", values["train-steps"]);
const presets = values.channels!.split(",").map(channelPresetFlag);
const resolutions = values.res!.split(",").map((r) => integerFlag("res", r, 4));
const trainResolutions = values["train-res"]!.split(",").map((r) => integerFlag("train-res", r, 4));
const backends = (values.backend ?? values.backends!).split(",");
// Ratios are against PyTorch measured on the same machine in the same session (bench/reference/
// stylegan_torch.py --json, as bench/reference/cpu_same_run.sh writes it); without that file the figures
// recorded in bench/reference.ts are used, and every row says so.
const measuredReference = values.reference ? await MeasuredReference.read(values.reference) : undefined;
if (!measuredReference && !values.json) {
  console.log(
    "PyTorch figures: recorded fallback (bench/reference.ts); --reference FILE for a same-run file",
  );
}

interface Row {
  task: string;
  backend: string;
  res: number;
  channels: ChannelPreset;
  batch: number;
  img_per_s: number | null;
  gflop_per_s: number | null;
  ref_img_per_s: number | null;
  /** Where ref_img_per_s comes from. */
  ref_source: ReferenceSource;
  ratio: number | null;
  note?: string;
}

/** Median wall time (s) of `fn` over at least 3 runs and ~2 s, after one warm-up. */
async function medianSeconds(fn: () => Promise<void>): Promise<number> {
  await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start < 2000 && times.length < 20)) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const rows: Row[] = [];
const tasks = values.tasks!.split(",");
for (const backendName of backends) {
  const runtime = processRuntime({ backend: backendName });
  const info = await initBackend(runtime, { quiet: true });
  if (tasks.includes("train")) await benchTraining(info.name);
  if (!tasks.includes("generate")) continue;
  const pool = workers > 0 ? await SynthesisPool.start({ workers, backend: info.name, runtime }) : undefined;
  const checkpoint = pool ? await Deno.makeTempFile({ suffix: ".safetensors" }) : "";
  let measuredGflops: number | undefined; // throughput seen so far, to predict the cost of larger cases
  for (const preset of presets) {
    for (const res of resolutions) {
      const options = { resolution: res, ...CHANNEL_PRESETS[preset] };
      const flops = generatorFlops(options) * batch;
      const ref = presetReference(measuredReference, "generate", res, preset, batch);
      const row: Row = {
        task: "generate",
        backend: info.name,
        res,
        channels: preset,
        batch,
        img_per_s: null,
        gflop_per_s: null,
        ref_img_per_s: ref.img_per_s,
        ref_source: ref.source,
        ratio: null,
      };
      const estimate = measuredGflops ? flops / 1e9 / measuredGflops * 4 : 0;
      if (estimate > budgetS) {
        row.note = `skipped: about ${estimate.toFixed(0)} s at ${measuredGflops!.toFixed(1)} GFLOP/s`;
        rows.push(row);
        report(row);
        continue;
      }
      const G = new Generator(options);
      // On webgpu, what served models get (model/serving.ts): the own synthesis pipelines where they apply.
      const accelerated = pool ? undefined : await inferenceEngine(G, runtime, "bench generator");
      const z = tf.randomNormal([batch, G.options.latent_size]) as tf.Tensor2D;
      let seconds: number;
      if (pool) {
        await saveNetwork(checkpoint, G);
        const model = { file: checkpoint, fingerprint: await fileFingerprint(checkpoint) };
        seconds = await medianSeconds(async () => {
          const w = G.mapping(z, 0.7);
          const values = await w.data() as Float32Array;
          await pool.synthesize(model, values, w.shape, {
            depth: G.gSynthesis.depthCount - 1,
            noise: "const",
            parts: workers,
          });
          w.dispose();
        });
      } else {
        seconds = await medianSeconds(async () => {
          const img = G.generate(z, { psi: 0.7, noise: "const" });
          await img.data();
          img.dispose();
        });
      }
      tf.dispose(z);
      G.dispose();
      row.img_per_s = batch / seconds;
      row.gflop_per_s = flops / seconds / 1e9;
      row.ratio = ref.img_per_s === null ? null : row.img_per_s / ref.img_per_s;
      measuredGflops = Math.max(measuredGflops ?? 0, row.gflop_per_s);
      if (pool) row.note = `${workers} worker processes`;
      if (accelerated?.enabled) row.note = "own WGSL mapping and synthesis pipelines";
      rows.push(row);
      report(row);
    }
  }
  if (pool) {
    await pool.close();
    await Deno.remove(checkpoint);
  }
}

/** Training images/s per preset and resolution (skipped when a step would exceed the budget). */
async function benchTraining(backend: string): Promise<void> {
  for (const preset of presets) {
    let lastStep = 0;
    for (const res of trainResolutions) {
      const ref = presetReference(measuredReference, "train", res, preset, batch);
      const row: Row = {
        task: "train",
        backend,
        res,
        channels: preset,
        batch,
        img_per_s: null,
        gflop_per_s: null,
        ref_img_per_s: ref.img_per_s,
        ref_source: ref.source,
        ratio: null,
      };
      // A step at twice the resolution costs about 4× (more with default channels); trainSteps are timed.
      if (lastStep * 4 * trainSteps > budgetS) {
        row.note = `skipped: a step would take about ${(lastStep * 4).toFixed(0)} s`;
      } else {
        const { seconds, traffic } = await trainingStepTiming({
          resolution: res,
          batch,
          channels: CHANNEL_PRESETS[preset],
          steps: trainSteps,
          workers,
        });
        lastStep = seconds;
        row.img_per_s = batch / seconds;
        row.ratio = ref.img_per_s === null ? null : row.img_per_s / ref.img_per_s;
        if (workers > 0) {
          const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
          row.note = `${workers} worker processes` +
            (traffic ? `, ${mb(traffic.sent)} MB to them and ${mb(traffic.received)} MB back per step` : "");
        }
      }
      rows.push(row);
      report(row);
    }
  }
}

function report(row: Row): void {
  if (values.json) {
    console.log(JSON.stringify(row));
    return;
  }
  const f = (v: number | null | undefined, d = 2) => v == null ? "—" : v.toFixed(d);
  console.log(
    [
      row.task,
      row.backend.padEnd(6),
      String(row.res).padStart(4) + " px",
      row.channels.padEnd(8),
      `batch ${row.batch}`,
      `${f(row.img_per_s).padStart(8)} img/s`,
      `${f(row.gflop_per_s, 1).padStart(6)} GFLOP/s`,
      `ref ${f(row.ref_img_per_s).padStart(7)} (${row.ref_source})`,
      `ratio ${f(row.ratio, 3)}`,
      row.note ?? "",
    ].join("  "),
  );
}
