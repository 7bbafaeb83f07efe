/**
 * Projection quality per loss choice on UC Merced hold-out tiles (never trained on; projection is not
 * training), against the W-centre baseline G(avg w): 8-bit PSNR per tile and the multi-scale SWD of the
 * reconstructions against the targets (model/metrics), plus seconds per step. Results in docs/projection.md.
 *
 *   deno run -A bench/projection.ts [--tiles 4] [--steps 200] [--losses l2,l1,laplacian,mix,mix+d]
 *     [--checkpoint FILE] [--discriminator FILE] [--data ../shared/data/ucmerced_landuse] [--json FILE]
 *
 * `mix+d` needs the model's discriminator: --discriminator, else the one beside the checkpoint
 * (`<stem>.discriminator.safetensors`). A conditional model projects each tile from its own class's centre
 * (the class is the tile's folder, as a planner would name it with --class), and the baseline is that centre.
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import {
  classNamesFromMetadata,
  discriminatorFileOf,
  loadDiscriminator,
  loadGenerator,
} from "../model/checkpoint/checkpoint.ts";
import { type Raster8, toRgb8 } from "../model/images.ts";
import { spreadSubset } from "../model/metrics/image_sets.ts";
import { multiScaleSWD } from "../model/metrics/swd.ts";
import { DEFAULT_MODEL } from "../model/pretrained/registry.ts";
import { DISCRIMINATOR_LOSSES, LOSS_PRESETS, projectionLossSchema } from "../model/projection/losses.ts";
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
    discriminator: { type: "string" },
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
const dFile = values.discriminator ?? discriminatorFileOf(values.checkpoint!);
const D = losses.some((l) => DISCRIMINATOR_LOSSES.includes(l))
  ? (await loadDiscriminator(dFile)).network
  : undefined;
const classes = classNamesFromMetadata(metadata, G.classCount, values.checkpoint!);
const holdout = (await Deno.readTextFile(`${values.data}/holdout.txt`)).split("\n").filter((l) => l.trim());
const files = spreadSubset(holdout, Number(values.tiles)).map((f) => `${values.data}/${f}`);
console.log(
  `${files.length} hold-out tiles, ${steps} steps, ${backend.name}: ${
    files.map((f) => f.split("/").pop()).join(", ")
  }`,
);

/** A conditional model's class of each tile: its folder's name (images/<class>/<file>). */
const labels = files.map((file) => {
  if (G.classCount === 0) return undefined;
  const name = file.split("/").at(-2)!;
  const label = classes.indexOf(name);
  if (label < 0) throw new Error(`${file}: the model has no class '${name}'`);
  return label;
});
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

// The W-centre baseline: G(centre w), constant noise (what every projection starts from): the global average,
// or a conditional model's class centre of each tile.
const baselines: Raster8[] = [];
for (const label of labels) {
  const centre = tf.tidy(() => {
    const avg = label === undefined
      ? G.truncation.avgLatent
      : tf.slice(G.truncation.classAvgLatent!, [label, 0], [1, -1]);
    const w = tf.broadcastTo(tf.reshape(avg, [1, 1, -1]), [1, G.numLayers, G.options.dlatent_size]);
    return G.gSynthesis.apply(w as tf.Tensor3D, { noise: "const" });
  });
  baselines.push((await toRgb8(centre))[0]);
  centre.dispose();
}

interface Row {
  loss: string;
  psnr: number[];
  swd: number[];
  swdAverage: number;
  secondsPerStep: number;
}
const rows: Row[] = [];
const swdOf = (fakes: Raster8[]) => multiScaleSWD(targets, fakes);
const baseSwd = swdOf(baselines);
rows.push({
  loss: G.classCount ? "class centre of W (baseline)" : "W centre (baseline)",
  psnr: targets.map((t, i) => psnr8(baselines[i], t)),
  swd: baseSwd.swd,
  swdAverage: baseSwd.average,
  secondsPerStep: 0,
});
for (const loss of losses) {
  const recons: Raster8[] = [];
  let seconds = 0;
  for (const [i, target] of targets.entries()) {
    const x = targetTensor(target);
    const r = await project(
      G,
      x,
      { steps, loss: LOSS_PRESETS[loss], seed: 0, label: labels[i] },
      undefined,
      D,
    );
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
    JSON.stringify({ files, steps, backend: backend.name, checkpoint: values.checkpoint, rows }, null, 2),
  );
}
G.dispose();
D?.dispose();
