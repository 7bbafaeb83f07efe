/**
 * The recipe ablation's report (docs/ablation.md): for each arm's run folder, MS-SWD of its final EMA
 * generator against the hold-out tiles (`deno task eval`, the same settings as the floor and the blurry
 * baseline given beside it), and one picture with a row of samples per arm (the same seeds, ψ = 1).
 *
 *   deno run -A bench/ablation/report.ts --runs /work/runs/ablation --arms base,augment,labels,gamma,combo \
 *     --real ../shared/data/ucmerced_landuse/holdout.txt --floor floor32.json --blur blur32.json --out docs/ablation
 *
 * Prints the Markdown table and writes `results.json` and `samples.png` into --out.
 */
import { parseArgs } from "node:util";
import { initBackend } from "../../model/backend/select.ts";
import { classNamesOf, loadGenerator } from "../../model/checkpoint/checkpoint.ts";
import { generateRasters } from "../../model/generate.ts";
import { encodePng, type Raster8 } from "../../model/images.ts";
import { drawFigure } from "../../model/figures/canvas.ts";
import { loadLabelFont } from "../../model/figures/labels.ts";

interface SwdJson {
  levels: { metres_per_pixel: number; swd_x1e3: number }[];
  average_x1e3: number;
}

interface ArmResult {
  arm: string;
  checkpoint: string;
  step: number;
  kimg: number;
  /** Training time of the run (its own clock), seconds. */
  elapsed: number;
  swd: SwdJson;
}

const { values } = parseArgs({
  options: {
    runs: { type: "string" },
    arms: { type: "string" },
    real: { type: "string" },
    floor: { type: "string" },
    blur: { type: "string" },
    out: { type: "string" },
    seeds: { type: "string", default: "0-11" },
  },
});
for (const key of ["runs", "arms", "real", "floor", "blur", "out"] as const) {
  if (!values[key]) throw new Error(`--${key} is required (see the comment at the top of this file)`);
}
const arms = values.arms!.split(",");
const [first, last] = values.seeds!.split("-").map(Number);
const seeds = Array.from({ length: last - first + 1 }, (_, i) => first + i);

/** The final EMA generator of a run and its position. */
async function finalCheckpoint(dir: string) {
  const pointer = JSON.parse(await Deno.readTextFile(`${dir}/models/latest.json`));
  return { file: `${dir}/models/${pointer.files.shadow}`, state: pointer.state };
}

/** `deno task eval` on a checkpoint, as JSON (the same command the docs give). */
async function evaluate(checkpoint: string): Promise<SwdJson> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "model/cli/eval.ts", "--checkpoint", checkpoint, "--real", values.real!, "--json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`eval of ${checkpoint} failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Samples of one checkpoint at ψ = 1; a conditional model's go through its classes in turn. */
async function samples(checkpoint: string): Promise<{ tiles: Raster8[]; classes: string[] }> {
  const loaded = await loadGenerator(checkpoint);
  const G = loaded.network;
  try {
    const classNames = G.classCount > 0 ? classNamesOf(loaded, checkpoint) : [];
    const labels = G.classCount > 0 ? seeds.map((_, i) => i % G.classCount) : undefined;
    const tiles = await generateRasters(G, { seeds, psi: 1, labels });
    return { tiles, classes: labels ? labels.map((l) => classNames[l]) : [] };
  } finally {
    G.dispose();
  }
}

await initBackend("wasm", { quiet: true });
const results: ArmResult[] = [];
const rows: Raster8[][] = [];
const rowClasses: string[][] = [];
for (const arm of arms) {
  const { file, state } = await finalCheckpoint(`${values.runs}/${arm}`);
  results.push({
    arm,
    checkpoint: file,
    step: state.step,
    kimg: state.kimg,
    elapsed: state.elapsed,
    swd: await evaluate(file),
  });
  const s = await samples(file);
  rows.push(s.tiles);
  rowClasses.push(s.classes);
}
const floor: SwdJson = JSON.parse(await Deno.readTextFile(values.floor!));
const blur: SwdJson = JSON.parse(await Deno.readTextFile(values.blur!));

await Deno.mkdir(values.out!, { recursive: true });
await Deno.writeTextFile(
  `${values.out}/results.json`,
  JSON.stringify({ floor, blur, arms: results }, null, 2) + "\n",
);
const font = await loadLabelFont();
const figure = drawFigure({
  rows: rows.length,
  cols: seeds.length,
  tileSize: 64,
  tile: (r, c) => rows[r][c],
  rowLabels: arms,
  columnLabels: seeds.map(String),
  tileLabel: (r, c) => rowClasses[r][c]?.slice(0, 10),
  font,
});
await Deno.writeFile(`${values.out}/samples.png`, await encodePng(figure));

const metres = floor.levels.map((l) => `${l.metres_per_pixel.toPrecision(3)} m/px`);
const cells = (s: SwdJson) => [...s.levels.map((l) => l.swd_x1e3.toFixed(1)), s.average_x1e3.toFixed(1)];
console.log(`| arm | kimg | train time | ${metres.join(" | ")} | average | × floor |`);
console.log(`| --- | ---- | ---------- | ${metres.map(() => "---").join(" | ")} | ------- | ------- |`);
const minutes = (s: number) => `${Math.round(s / 60)} min`;
for (const r of results) {
  const ratio = (r.swd.average_x1e3 / floor.average_x1e3).toFixed(2);
  console.log(
    `| ${r.arm} | ${r.kimg.toFixed(1)} | ${minutes(r.elapsed)} | ${cells(r.swd).join(" | ")} | ${ratio} |`,
  );
}
console.log(`| floor (105 train tiles) | | | ${cells(floor).join(" | ")} | 1.00 |`);
console.log(
  `| blurry baseline (blur16) | | | ${cells(blur).join(" | ")} | ${
    (blur.average_x1e3 / floor.average_x1e3).toFixed(2)
  } |`,
);
