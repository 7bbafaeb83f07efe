/**
 * The figures of a conditional model that the REST API does not draw in one request:
 *
 * - `classes.png`, the class grid: a row per land use, the same seeds in every row, each tile truncated toward
 *   its class's own centre of W (ψ 0.7 by default);
 * - `truncation_classes.png`, the truncation trick per class: a row per land use (one seed), columns ψ −1 … 1,
 *   each row pulled toward that class's centre (ψ = 0 is the centre itself, ψ = −1 its mirror image).
 *
 * Both carry the class names, a scale bar in metres and the "generated imagery" footer.
 *
 *   deno run -A static/readme/class_figures.ts [--checkpoint FILE] [--seeds 0-7] [--psi 0.7]
 *     [--truncation-seed 3] [--truncation-classes forest,freeway,...] [--out-dir static/readme]
 *
 * Without --checkpoint it draws the embedded default model. make_figures.sh calls it for the README.
 */
import { parseArgs } from "node:util";
import { initBackend } from "../../model/backend/select.ts";
import { classNamesOf, loadGenerator } from "../../model/checkpoint/checkpoint.ts";
import { DEFAULT_MODEL } from "../../model/pretrained/registry.ts";
import { generateRasters } from "../../model/generate.ts";
import { parseSeeds } from "../../model/shared/rules.ts";
import { encodePng, type Raster8 } from "../../model/images.ts";
import { drawFigure } from "../../model/figures/canvas.ts";
import { loadLabelFont } from "../../model/figures/labels.ts";

const TRUNCATION_PSIS = [-1, -0.6, -0.2, 0, 0.2, 0.6, 1];
/** Land uses of clearly different layout, so the rows show what each class's centre looks like. */
const DEFAULT_TRUNCATION_CLASSES =
  "agricultural,forest,denseresidential,freeway,parkinglot,beach,golfcourse,storagetanks";

const { values } = parseArgs({
  options: {
    checkpoint: { type: "string" },
    seeds: { type: "string", default: "0-7" },
    psi: { type: "string", default: "0.7" },
    "truncation-seed": { type: "string", default: "3" },
    "truncation-classes": { type: "string", default: DEFAULT_TRUNCATION_CLASSES },
    tile: { type: "string", default: "64" },
    "out-dir": { type: "string", default: "static/readme" },
  },
});

function finite(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`--${name} must be a number, got ${text}`);
  return value;
}

const checkpoint = values.checkpoint ?? DEFAULT_MODEL.file;
const seeds = parseSeeds(values.seeds!);
const psi = finite("psi", values.psi!);
const [truncationSeed] = parseSeeds(values["truncation-seed"]!);
const tileSize = finite("tile", values.tile!);

await initBackend("wasm", { quiet: true });
const loaded = await loadGenerator(checkpoint);
const G = loaded.network;
if (G.classCount === 0) {
  throw new Error(`${checkpoint} is unconditional: it has no classes to draw a row for`);
}
const classes = classNamesOf(loaded, checkpoint);
const truncationClasses = values["truncation-classes"]!.split(",").map((name) => {
  const index = classes.indexOf(name);
  if (index < 0) {
    throw new Error(`--truncation-classes: the model has no class '${name}' (it has ${classes.join(", ")})`);
  }
  return { name, index };
});
const gsd = Number(loaded.metadata.gsd_m);
const style = {
  tileSize,
  metresPerPixel: Number.isFinite(gsd) ? (gsd * G.options.resolution) / tileSize : undefined,
  footer: "Generated imagery (StyleGAN), not a photograph.",
  font: await loadLabelFont(),
};

const gridRows: Raster8[][] = [];
for (let c = 0; c < classes.length; c++) {
  gridRows.push(await generateRasters(G, { seeds, psi, labels: seeds.map(() => c) }));
}
const truncationRows: Raster8[][] = [];
for (const { index } of truncationClasses) {
  // One seed at several ψ for one class: w = centre(class) + ψ (w − centre(class)) on the truncated layers.
  const row = { seeds: TRUNCATION_PSIS.map(() => truncationSeed), psi: TRUNCATION_PSIS };
  truncationRows.push(await generateRasters(G, { ...row, labels: row.seeds.map(() => index) }));
}
G.dispose();

const grid = drawFigure({
  ...style,
  rows: gridRows.length,
  cols: seeds.length,
  tile: (r, c) => gridRows[r][c],
  rowLabels: classes,
  columnLabels: seeds.map((s) => `seed ${s}`),
  corner: `ψ ${psi} to each class's centre`,
});
const truncation = drawFigure({
  ...style,
  rows: truncationRows.length,
  cols: TRUNCATION_PSIS.length,
  tile: (r, c) => truncationRows[r][c],
  rowLabels: truncationClasses.map((c) => c.name),
  columnLabels: TRUNCATION_PSIS.map((p) => `ψ=${p}`),
  corner: `seed ${truncationSeed}, toward each class's centre`,
});
const outDir = values["out-dir"]!;
await Deno.writeFile(`${outDir}/classes.png`, await encodePng(grid));
await Deno.writeFile(`${outDir}/truncation_classes.png`, await encodePng(truncation));
console.log(
  `${outDir}/classes.png: ${classes.length} classes × ${seeds.length} seeds; ` +
    `${outDir}/truncation_classes.png: ${truncationClasses.length} classes × ${TRUNCATION_PSIS.length} ψ`,
);
