/**
 * The class grid of a conditional model: a row per land use, the same seeds in every row, each tile truncated
 * toward its class's own centre of W (ψ 0.7 by default), with the class names and a scale bar in metres.
 *
 *   deno run -A static/readme/class_grid.ts [--checkpoint FILE] [--seeds 0-7] [--psi 0.7] [--out static/readme/classes.png]
 *
 * Without --checkpoint it draws the embedded default model. make_figures.sh calls it for the README.
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../model/backend/select.ts";
import { classNamesOf, loadGenerator } from "../../model/checkpoint/checkpoint.ts";
import { DEFAULT_MODEL } from "../../model/pretrained/registry.ts";
import { latentsFromSeeds } from "../../model/seeds.ts";
import { parseSeeds } from "../../model/shared/rules.ts";
import { encodePng, type Raster8, toRgb8 } from "../../model/images.ts";
import { drawFigure } from "../../model/figures/canvas.ts";
import { loadLabelFont } from "../../model/figures/labels.ts";

const { values } = parseArgs({
  options: {
    checkpoint: { type: "string" },
    seeds: { type: "string", default: "0-7" },
    psi: { type: "string", default: "0.7" },
    tile: { type: "string", default: "64" },
    out: { type: "string", default: "static/readme/classes.png" },
  },
});
const checkpoint = values.checkpoint ?? DEFAULT_MODEL.file;
const seeds = parseSeeds(values.seeds!);
const psi = Number(values.psi);
if (!Number.isFinite(psi)) throw new Error(`--psi must be a number, got ${values.psi}`);

await initBackend("wasm", { quiet: true });
const loaded = await loadGenerator(checkpoint);
const G = loaded.network;
if (G.classCount === 0) {
  throw new Error(`${checkpoint} is unconditional: it has no classes to draw a row for`);
}
const classes = classNamesOf(loaded, checkpoint);
const gsd = Number(loaded.metadata.gsd_m);
const rows: Raster8[][] = [];
for (let c = 0; c < classes.length; c++) {
  const z = tf.tensor2d(latentsFromSeeds(seeds, G.options.latent_size), [
    seeds.length,
    G.options.latent_size,
  ]);
  const images = tf.tidy(() => G.generate(z, { psi, labels: seeds.map(() => c), noise: "const" }));
  rows.push(await toRgb8(images));
  tf.dispose([z, images]);
}
G.dispose();
const tileSize = Number(values.tile);
const figure = drawFigure({
  rows: rows.length,
  cols: seeds.length,
  tileSize,
  tile: (r, c) => rows[r][c],
  rowLabels: classes,
  columnLabels: seeds.map((s) => `seed ${s}`),
  corner: `ψ ${psi} to each class's centre`,
  metresPerPixel: Number.isFinite(gsd) ? (gsd * G.options.resolution) / tileSize : undefined,
  footer: "Generated imagery (StyleGAN), not a photograph.",
  font: await loadLabelFont(),
});
await Deno.writeFile(values.out!, await encodePng(figure));
console.log(`${values.out}: ${classes.length} classes × ${seeds.length} seeds`);
