/**
 * `deno run -A bench/kernel_profile.ts [--backend webgpu] [--res 256] [--channels default] [--batch 8]`
 *
 * Where generation time goes, per kernel: one generation under tf.profile, kernel times summed by kernel name
 * (on webgpu these are GPU timestamp queries where the adapter has them), beside the wall time of the same
 * call. Used to pick which kernels to replace (issue 8); not part of `deno task bench`'s table.
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { Generator } from "../model/networks/generator.ts";
import { CHANNEL_PRESETS, channelPresetFlag } from "./reference.ts";
import { integerFlag } from "./flags.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "webgpu" },
    res: { type: "string", default: "256" },
    channels: { type: "string", default: "default" },
    batch: { type: "string", default: "8" },
    json: { type: "boolean", default: false },
  },
});

const channels = channelPresetFlag(values.channels);
const res = integerFlag("res", values.res, 4), batch = integerFlag("batch", values.batch);
const info = await initBackend(processRuntime({ backend: values.backend! }), { quiet: true });
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

const profile = await tf.profile(run);
const byName = new Map<string, { ms: number; calls: number }>();
let unknown = 0;
for (const k of profile.kernels) {
  const raw = await (k.kernelTimeMs as number | { error: string } | Promise<number | { error: string }>);
  const ms = typeof raw === "number" ? raw : NaN;
  if (!Number.isFinite(ms)) unknown++;
  const entry = byName.get(k.name) ?? { ms: 0, calls: 0 };
  entry.ms += Number.isFinite(ms) ? ms : 0;
  entry.calls++;
  byName.set(k.name, entry);
}
const rows = [...byName].map(([name, v]) => ({ name, ...v })).sort((a, b) => b.ms - a.ms);
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
    kernels: profile.kernels.length,
    untimed: unknown,
    by_kernel: rows,
  }));
} else {
  console.log(
    `${info.name} ${res} px ${channels} batch ${batch}: wall ${wallMs.toFixed(1)} ms, ` +
      `kernels ${kernelMs.toFixed(1)} ms over ${profile.kernels.length} calls (${unknown} untimed)`,
  );
  for (const r of rows.slice(0, 15)) {
    console.log(
      `  ${r.name.padEnd(28)} ${r.ms.toFixed(2).padStart(9)} ms  ${String(r.calls).padStart(5)} calls`,
    );
  }
}
tf.dispose(z);
G.dispose();
