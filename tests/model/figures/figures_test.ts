import assert from "node:assert/strict";
import { drawMixingFigure, mixingCellInfo, mixingCells, rangeLabel } from "../../../model/figures/mixing.ts";
import { drawSampleGrid, sampleGridCells } from "../../../model/figures/grid.ts";
import { parseStyleRange } from "../../../model/figures/style_ranges.ts";
import { drawTruncationFigure, truncationCells } from "../../../model/figures/truncation.ts";
import type { Raster8 } from "../../../model/images.ts";
import { pixel, solid } from "./support.ts";

/** One distinct solid tile per cell index. */
const tilesFor = (n: number, size = 4): Raster8[] =>
  Array.from({ length: n }, (_, i) => solid(size, [i, 255 - i, 9]));

Deno.test("sample grid: seeds in reading order, cols per row, last row may be short", () => {
  const spec = { seeds: [10, 11, 12, 13, 14], psi: 0.7, cols: 2 };
  assert.deepEqual(sampleGridCells(spec), spec.seeds.map((seed) => ({ seed, psi: 0.7, cutoff: undefined })));
  const figure = drawSampleGrid(tilesFor(5), spec);
  assert.deepEqual([figure.width, figure.height], [8, 12]);
  assert.deepEqual(pixel(figure, 4, 4), [3, 252, 9]); // tile 3 at row 1, col 1
  assert.deepEqual(pixel(figure, 5, 9), [255, 255, 255]); // empty slot
  assert.throws(() => drawSampleGrid(tilesFor(4), spec), RangeError);
});

Deno.test("truncation figure: rows are seeds, columns ψ, truncated on every layer", () => {
  const spec = { seeds: [91, 388], psis: [-1, 0, 1], cutoff: 8 };
  const cells = truncationCells(spec);
  assert.deepEqual(cells.map((c) => [c.seed, c.psi, c.cutoff]), [
    [91, -1, 8],
    [91, 0, 8],
    [91, 1, 8],
    [388, -1, 8],
    [388, 0, 8],
    [388, 1, 8],
  ]);
  const figure = drawTruncationFigure(tilesFor(6), spec, { tileSize: 8 });
  assert.deepEqual([figure.width, figure.height], [24, 16]);
  assert.deepEqual(pixel(figure, 17, 9), [5, 250, 9]); // seed 388, ψ 1
});

Deno.test("mixing figure: sources in the first row, destinations in the first column, one range per row", () => {
  const ranges = [
    parseStyleRange("0-3", { resolution: 32, gsdM: 2.4384 }),
    parseStyleRange("6-7", { resolution: 32, gsdM: 2.4384 }),
  ];
  const spec = { srcSeeds: [730, 904, 1], dstSeeds: [387, 190], srcPsi: -0.5, dstPsi: 0.7, ranges };
  const info = mixingCellInfo(spec);
  assert.equal(info.length, 3 + 2 + 6);
  assert.deepEqual(info.slice(0, 5).map((c) => [c.kind, c.row, c.col, c.cell.seed, c.cell.psi]), [
    ["source", 0, 1, 730, -0.5],
    ["source", 0, 2, 904, -0.5],
    ["source", 0, 3, 1, -0.5],
    ["destination", 1, 0, 387, 0.7],
    ["destination", 2, 0, 190, 0.7],
  ]);
  assert.deepEqual(mixingCells(spec)[5 + 4], {
    seed: 190,
    psi: 0.7,
    cutoff: undefined,
    mix: { seed: 904, psi: -0.5, layers: [6, 7] },
  });
  const figure = drawMixingFigure(tilesFor(11), spec);
  assert.deepEqual([figure.width, figure.height], [16, 12]);
  assert.deepEqual(pixel(figure, 1, 1), [255, 255, 255]); // the empty corner
  assert.deepEqual(pixel(figure, 9, 1), [1, 254, 9]); // source 904
  assert.deepEqual(pixel(figure, 1, 9), [4, 251, 9]); // destination 190
  assert.deepEqual(pixel(figure, 9, 9), [9, 246, 9]); // 190 with 904's layers 6-7
  assert.throws(() => mixingCellInfo({ ...spec, ranges: [ranges[0]] }), RangeError);
});

Deno.test("row labels of a mixing figure carry the layers and their ground resolution from the scale table", () => {
  const model = { resolution: 32, gsdM: 2.4384 };
  assert.equal(rangeLabel(387, parseStyleRange("0-3", model)), "387\nlayers 0-3\n19.5 m–9.8 m/px");
  assert.equal(rangeLabel(1, parseStyleRange("7", model)), "1\nlayers 7\n2.4 m/px");
  assert.equal(rangeLabel(1, parseStyleRange("7", { resolution: 32 })), "1\nlayers 7");
});
