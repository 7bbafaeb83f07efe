import assert from "node:assert/strict";
import type { Raster8 } from "../../../model/images.ts";
import { drawFigure, pasteRaster, resizeRaster, scaleBar } from "../../../model/figures/canvas.ts";
import { pixel, solid } from "./support.ts";

Deno.test("drawFigure without a font: exactly rows × cols tiles, blank cells white, no labels", () => {
  const figure = drawFigure({
    rows: 2,
    cols: 3,
    tileSize: 8,
    tile: (row, col) => (row === 0 && col === 0 ? undefined : solid(8, [row * 100, col * 50, 7])),
    columnLabels: ["a", "b", "c"],
    rowLabels: ["x", "y"],
    metresPerPixel: 1,
  });
  assert.deepEqual([figure.width, figure.height], [24, 16]);
  assert.deepEqual(pixel(figure, 3, 3), [255, 255, 255]);
  assert.deepEqual(pixel(figure, 8 * 2 + 4, 8 + 4), [100, 100, 7]);
  assert.deepEqual(pixel(figure, 8, 0), [0, 50, 7]);
  assert.throws(() => drawFigure({ rows: 0, cols: 1, tileSize: 8, tile: () => undefined }), RangeError);
});

Deno.test("resizeRaster: nearest neighbour up, box average down, bands kept", () => {
  const r: Raster8 = { width: 2, height: 2, channels: 1, data: Uint8Array.from([0, 100, 200, 50]) };
  const up = resizeRaster(r, 4);
  assert.deepEqual([...up.data], [0, 0, 100, 100, 0, 0, 100, 100, 200, 200, 50, 50, 200, 200, 50, 50]);
  const down = resizeRaster(r, 1);
  assert.deepEqual([...down.data], [88]); // (0 + 100 + 200 + 50) / 4 = 87.5 → 88
  const four = resizeRaster(solid(4, [1, 2, 3, 4], 4), 2);
  assert.equal(four.channels, 4);
  assert.deepEqual([...four.data.subarray(0, 4)], [1, 2, 3, 4]);
  assert.equal(resizeRaster(r, 2), r, "same size: unchanged");
});

Deno.test("pasteRaster: grey rasters are drawn grey; pixels outside the canvas are clipped", async () => {
  const { Image } = await import("imagescript");
  const canvas = new Image(4, 4).fill(0xffffffff);
  pasteRaster(canvas, solid(2, [90, 0, 0], 1), 3, 3, 2);
  assert.deepEqual(pixel(canvas, 3, 3), [90, 90, 90]);
  assert.deepEqual(pixel(canvas, 2, 2), [255, 255, 255]);
});

Deno.test("scaleBar: the longest 1-2-5 length that fits, in pixels", () => {
  assert.deepEqual(scaleBar(1, 100), { metres: 50, pixels: 50 });
  assert.deepEqual(scaleBar(0.3, 256), { metres: 50, pixels: 167 });
  assert.deepEqual(scaleBar(19.5, 32), { metres: 200, pixels: 10 });
  assert.deepEqual(scaleBar(0.01, 64), { metres: 0.5, pixels: 50 });
  assert.equal(scaleBar(0, 64), undefined);
  assert.equal(scaleBar(Number.NaN, 64), undefined);
});
