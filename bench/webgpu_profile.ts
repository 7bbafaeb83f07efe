/**
 * `deno run -A bench/webgpu_profile.ts [--res 256] [--channels default] [--batch 8] [--json]`
 *
 * Where the own WGSL synthesis pipelines (model/webgpu) spend GPU time: one batch with every dispatch in its
 * own compute pass between two timestamp queries, summed by kind (convolutions, epilogue passes, styles) and
 * listed per convolution with its tile and TFLOP/s (the FLOPs it does, polyphase upscaling counted as run).
 * Beside it the wall time of ordinary batches (medians of 5, mapping included, as `deno task bench` times
 * them), so the gap between GPU time and wall time is the CPU's share. For tuning tiles on a lent GPU
 * (issue 8); where the adapter has no timestamp queries it says so and stops.
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { Generator } from "../model/networks/generator.ts";
import { ownSynthesisEngine, useWebGpuSynthesis } from "../model/webgpu/accelerator.ts";
import { CHANNEL_PRESETS, channelPresetFlag } from "./reference.ts";
import { integerFlag } from "./flags.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    res: { type: "string", default: "256" },
    channels: { type: "string", default: "default" },
    batch: { type: "string", default: "8" },
    json: { type: "boolean", default: false },
  },
});
const res = integerFlag("res", values.res, 4), batch = integerFlag("batch", values.batch);
const preset = channelPresetFlag(values.channels);

const runtime = processRuntime({ backend: "webgpu" });
const info = await initBackend(runtime, { quiet: true });
const G = new Generator({ resolution: res, ...CHANNEL_PRESETS[preset] });
// Always the own pipelines (whatever the adapter), with SGAN_WEBGPU_TILE's tile when set.
const status = await useWebGpuSynthesis(G, { ...runtime.webgpu, mode: "1" });
if (!status.enabled) throw new Error(`own pipelines unavailable: ${status.reason}`);
const engine = ownSynthesisEngine(G)!;
const z = tf.randomNormal([batch, G.options.latent_size]) as tf.Tensor2D;

const wall: number[] = [];
for (let i = 0; i <= 5; i++) {
  const t0 = performance.now();
  const img = G.generate(z, { psi: 0.7, noise: "const" });
  await img.data();
  img.dispose();
  if (i > 0) wall.push(performance.now() - t0); // the first call compiles pipelines and makes buffers
}
wall.sort((a, b) => a - b);
const wallMs = wall[Math.floor(wall.length / 2)];

const w = G.mapping(z, 0.7);
await engine.profile(w, "const"); // warm, as the timed batches were
const times = await engine.profile(w, "const");
tf.dispose([w, z]);
G.dispose();

const kinds = new Map<string, { ms: number; flops: number; count: number }>();
for (const t of times) {
  const kind = t.label.split(" ")[0];
  const k = kinds.get(kind) ?? { ms: 0, flops: 0, count: 0 };
  k.ms += t.ms;
  k.flops += t.flops;
  k.count++;
  kinds.set(kind, k);
}
const gpuMs = times.reduce((s, t) => s + t.ms, 0);
const tflops = (flops: number, ms: number) => (ms > 0 ? flops / ms / 1e9 : null);
const summary = {
  device: info.device,
  res,
  channels: preset,
  batch,
  wall_ms: wallMs,
  gpu_ms: gpuMs,
  dispatches: times.length,
  kinds: Object.fromEntries(
    [...kinds].map(([k, v]) => [k, { ...v, tflop_per_s: v.flops > 0 ? tflops(v.flops, v.ms) : undefined }]),
  ),
  convs: times.filter((t) => t.flops > 0).map((t) => ({ ...t, tflop_per_s: tflops(t.flops, t.ms) })),
};
if (values.json) {
  console.log(JSON.stringify(summary));
} else {
  console.log(`${info.device}: ${res} px ${preset}, batch ${batch}`);
  console.log(
    `wall ${wallMs.toFixed(2)} ms per batch (median of 5), GPU ${
      gpuMs.toFixed(2)
    } ms in ${times.length} dispatches`,
  );
  for (const [k, v] of kinds) {
    const rate = v.flops > 0 ? `, ${tflops(v.flops, v.ms)!.toPrecision(3)} TFLOP/s` : "";
    console.log(`  ${k.padEnd(7)} ${v.ms.toFixed(3).padStart(9)} ms in ${v.count} dispatches${rate}`);
  }
  for (const c of summary.convs) {
    console.log(
      `  ${c.label.padEnd(60)} ${c.ms.toFixed(3).padStart(8)} ms ${
        c.tflop_per_s!.toPrecision(3).padStart(8)
      } TFLOP/s`,
    );
  }
}
