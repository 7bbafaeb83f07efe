/**
 * Projection quality per loss choice on UC Merced hold-out tiles (never trained on; projection is not
 * training), against the W-centre baseline G(avg w): 8-bit PSNR per tile and the multi-scale SWD of the
 * reconstructions against the targets (model/metrics), plus seconds per step. Results in docs/projection.md.
 *
 *   deno run -A bench/projection.ts [--tiles 4] [--steps 200] [--losses l2,l1,laplacian,mix]
 *     [--checkpoint FILE] [--data ../shared/data/ucmerced_landuse] [--json FILE]
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { loadGenerator } from "../model/checkpoint/checkpoint.ts";
import { type Raster8, toRgb8 } from "../model/images.ts";
import { spreadSubset } from "../model/metrics/image_sets.ts";
import { multiScaleSWD } from "../model/metrics/swd.ts";
import { DEFAULT_MODEL } from "../model/pretrained/registry.ts";
import { LOSS_PRESETS, projectionLossSchema } from "../model/projection/losses.ts";
import { psnr8 } from "../model/projection/outputs.ts";
import { project } from "../model/projection/project.ts";
import { loadTarget, targetTensor } from "../model/projection/target.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    tiles: { type: "string", default: "4" },
    steps: { type: "string", default: "200" },
    losses: { type: "string", default: "l2,l1,laplacian,mix" },
    checkpoint: { type: "string", default: DEFAULT_MODEL.file },
    data: { type: "string", default: "../shared/data/ucmerced_landuse" },
    backend: { type: "string" },
    json: { type: "string" },
  },
});
const steps = Number(values.steps);
const losses = values.losses!.split(",").map((name) => {
  const parsed = projectionLossSchema.safeParse(name);
  if (!parsed.success) throw new Error(`--losses: '${name}' ${parsed.error.issues[0].message}`);
  return parsed.data;
});
const backend = await initBackend(processRuntime({ backend: values.backend }), { quiet: true });
const { network: G, metadata } = await loadGenerator(values.checkpoint!);
const holdout = (await Deno.readTextFile(`${values.data}/holdout.txt`)).split("\n").filter((l) => l.trim());
const files = spreadSubset(holdout, Number(values.tiles)).map((f) => `${values.data}/${f}`);
console.log(
  `${files.length} hold-out tiles, ${steps} steps, ${backend.name}: ${
    files.map((f) => f.split("/").pop()).join(", ")
  }`,
);

const targets: Raster8[] = [];
for (const file of files) {
  const target = await loadTarget(file, {
    resolution: G.options.resolution,
    channels: G.options.num_channels,
    modelGsdM: Number(metadata.gsd_m),
    sourceGsdM: 0.3048, // UC Merced: USGS 1-foot orthophotos
  });
  targets.push(target.raster);
}

// The W-centre baseline: G(avg w), constant noise (what every projection starts from).
const centre = tf.tidy(() =>
  G.gSynthesis.apply(
    tf.broadcastTo(tf.reshape(G.truncation.avgLatent, [1, 1, -1]), [
      1,
      G.numLayers,
      G.options.dlatent_size,
    ]) as tf.Tensor3D,
    { noise: "const" },
  )
);
const baseline = (await toRgb8(centre))[0];
centre.dispose();

interface Row {
  loss: string;
  psnr: number[];
  swd: number[];
  swdAverage: number;
  secondsPerStep: number;
}
const rows: Row[] = [];
const swdOf = (fakes: Raster8[]) => multiScaleSWD(targets, fakes);
const baseSwd = swdOf(targets.map(() => baseline));
rows.push({
  loss: "W centre (baseline)",
  psnr: targets.map((t) => psnr8(baseline, t)),
  swd: baseSwd.swd,
  swdAverage: baseSwd.average,
  secondsPerStep: 0,
});
for (const loss of losses) {
  const recons: Raster8[] = [];
  let seconds = 0;
  for (const [i, target] of targets.entries()) {
    const x = targetTensor(target);
    const r = await project(G, x, { steps, loss: LOSS_PRESETS[loss], seed: 0 });
    recons.push((await toRgb8(r.reconstruction))[0]);
    r.reconstruction.dispose();
    x.dispose();
    seconds += r.seconds;
    console.log(
      `  ${loss} tile ${i}: PSNR ${psnr8(recons[i], target).toFixed(2)} dB, ${r.seconds.toFixed(0)} s`,
    );
  }
  const swd = swdOf(recons);
  rows.push({
    loss,
    psnr: recons.map((r, i) => psnr8(r, targets[i])),
    swd: swd.swd,
    swdAverage: swd.average,
    secondsPerStep: seconds / (steps * targets.length),
  });
}

const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
console.log(
  `\n| loss | PSNR mean (dB) | PSNR per tile | MS-SWD ×1e3 per level (${
    baseSwd.resolutions.join(", ")
  } px) | mean | s/step |`,
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(
    `| ${r.loss} | ${mean(r.psnr).toFixed(2)} | ${r.psnr.map((p) => p.toFixed(1)).join(", ")} | ` +
      `${r.swd.map((s) => s.toFixed(1)).join(", ")} | ${r.swdAverage.toFixed(1)} | ${
        r.secondsPerStep ? r.secondsPerStep.toFixed(3) : "–"
      } |`,
  );
}
if (values.json) {
  await Deno.writeTextFile(
    values.json,
    JSON.stringify({ files, steps, backend: backend.name, rows }, null, 2),
  );
}
G.dispose();
