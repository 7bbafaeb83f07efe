/**
 * `deno run -A bench/webgpu_record.ts [--res 256] [--channels reduced] [--batch 8] [--runs 5] [--json]`
 *
 * What one generation batch (`G.generate`: mapping, truncation and synthesis, what `deno task bench` times)
 * costs the CPU to record on the webgpu backend, tfjs kernels vs the own WGSL pipelines (model/webgpu):
 * compute dispatches (all, and the mapping's share) and submits counted by wrapping Deno's WebGPU encoder
 * methods, and the wall time of the call that records them (the GPU's work is awaited afterwards, untimed). On the
 * H100/H200 this recording, not the arithmetic, was most of tfjs-webgpu's generation time
 * (docs/performance.md). The counts are exact on any adapter. `record_ms` is the CPU cost of recording only on a GPU:
 * Mesa's software adapter executes the work inside `submit`, so there it includes the computation.
 * Medians of `--runs` after one warm-up call.
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { Generator } from "../model/networks/generator.ts";
import { useWebGpuSynthesis } from "../model/webgpu/accelerator.ts";
import { CHANNEL_PRESETS, channelPresetFlag } from "./reference.ts";
import { integerFlag } from "./flags.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    res: { type: "string", default: "256" },
    channels: { type: "string", default: "reduced" },
    batch: { type: "string", default: "8" },
    runs: { type: "string", default: "5" },
    json: { type: "boolean", default: false },
  },
});
const res = integerFlag("res", values.res, 4), batch = integerFlag("batch", values.batch);
const runs = integerFlag("runs", values.runs);
const preset = channelPresetFlag(values.channels);

const runtime = processRuntime({ backend: "webgpu" });
const info = await initBackend(runtime, { quiet: true });
const counts = { dispatches: 0, submits: 0 };
const passProto = GPUComputePassEncoder.prototype;
const dispatch = passProto.dispatchWorkgroups;
passProto.dispatchWorkgroups = function (...args: Parameters<typeof dispatch>) {
  counts.dispatches++;
  return dispatch.apply(this, args);
};
const queueProto = GPUQueue.prototype;
const submit = queueProto.submit;
queueProto.submit = function (...args: Parameters<typeof submit>) {
  counts.submits++;
  return submit.apply(this, args);
};

const G = new Generator({ resolution: res, ...CHANNEL_PRESETS[preset] });
const z = tf.randomNormal([batch, G.options.latent_size]) as tf.Tensor2D;

async function measure(label: string) {
  const times: number[] = [];
  let dispatches = 0, submits = 0, mappingDispatches = 0;
  for (let i = 0; i <= runs; i++) {
    counts.dispatches = counts.submits = 0;
    tf.dispose(G.mapping(z, 0.7));
    mappingDispatches = counts.dispatches;
    counts.dispatches = counts.submits = 0;
    const t0 = performance.now();
    const img = G.generate(z, { psi: 0.7, noise: "const" });
    const recorded = performance.now() - t0;
    ({ dispatches, submits } = counts);
    await img.data();
    img.dispose();
    if (i > 0) times.push(recorded); // the first call compiles pipelines and makes buffers
  }
  times.sort((a, b) => a - b);
  const row = {
    path: label,
    device: info.device,
    res,
    channels: preset,
    batch,
    dispatches,
    mapping_dispatches: mappingDispatches,
    submits,
    record_ms: times[Math.floor(times.length / 2)],
  };
  console.log(values.json ? JSON.stringify(row) : Object.entries(row).map(([k, v]) => `${k}=${v}`).join(" "));
}

await measure("tfjs kernels");
const status = await useWebGpuSynthesis(G, { ...runtime.webgpu, mode: "1" });
if (!status.enabled) throw new Error(`own pipelines unavailable: ${status.reason}`);
await measure("own WGSL pipelines");
tf.dispose(z);
G.dispose();
