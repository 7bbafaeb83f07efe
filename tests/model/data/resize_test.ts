/** Centre crop and resampling against hand-worked values. */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Raster8 } from "../../../model/images.ts";
import { areaResize, bilinearResize, centreCropSquare, toTrainingTile } from "../../../model/data/resize.ts";
import { decodeImageFile } from "../../../model/data/decode.ts";
import { UCMERCED_DIR } from "../../support/paths.ts";

/** A raster from rows of pixels, each pixel a number (1 channel) or an array of channels. */
function raster(rows: (number | number[])[][]): Raster8 {
  const channels = Array.isArray(rows[0][0]) ? (rows[0][0] as number[]).length : 1;
  return { width: rows[0].length, height: rows.length, channels, data: Uint8Array.from(rows.flat(2)) };
}

Deno.test("resizing", async (t) => {
  await t.step("centre crop: the middle square, the odd pixel cut from the right/bottom", () => {
    const wide = raster([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]);
    assert.deepEqual(centreCropSquare(wide), raster([[2, 3], [7, 8]]));
    const tall = raster([[[1, 10]], [[2, 20]], [[3, 30]], [[4, 40]]]);
    assert.deepEqual(centreCropSquare(tall), raster([[[2, 20]]]));
    const square = raster([[1, 2], [3, 4]]);
    assert.equal(centreCropSquare(square), square);
  });

  await t.step("integer factor: exact 2 × 2 block means, rounded half up", () => {
    const input = raster([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10, 11],
      [12, 13, 14, 16],
    ]);
    // (0+1+4+5)/4 = 2.5 → 3; (2+3+6+7)/4 = 4.5 → 5; (8+9+12+13)/4 = 10.5 → 11; (10+11+14+16)/4 = 12.75 → 13
    assert.deepEqual(areaResize(input, 2, 2), raster([[3, 5], [11, 13]]));
    // 4 → 1: the mean of all 16 values, 121/16 = 7.5625 → 8
    assert.deepEqual(areaResize(input, 1, 1), raster([[8]]));
  });

  await t.step("channels stay separate", () => {
    const input = raster([[[0, 255, 10], [2, 255, 20]], [[4, 0, 30], [6, 0, 41]]]);
    // r: (0+2+4+6)/4 = 3; g: 510/4 = 127.5 → 128; b: 101/4 = 25.25 → 25
    assert.deepEqual(areaResize(input, 1, 1), raster([[[3, 128, 25]]]));
  });

  await t.step("non-integer factor 3 → 2: overlap weights 2:1 and 1:2", () => {
    // Output pixel 0 covers input pixel 0 fully and half of pixel 1: weights 2/3 and 1/3 per axis.
    assert.deepEqual(areaResize(raster([[0, 3, 6], [0, 3, 6], [0, 3, 6]]), 2, 2), raster([[1, 5], [1, 5]]));
    // A lone bright centre pixel contributes 1/3 · 1/3 of itself to each output pixel: 9/9 = 1.
    assert.deepEqual(areaResize(raster([[0, 0, 0], [0, 9, 0], [0, 0, 0]]), 2, 2), raster([[1, 1], [1, 1]]));
    // 5 → 2 with a constant image stays constant (weights sum to the whole area).
    const flat = raster(Array.from({ length: 5 }, () => Array(5).fill(77)));
    assert.deepEqual(areaResize(flat, 2, 2), raster([[77, 77], [77, 77]]));
    assert.throws(() => areaResize(flat, 6, 6), /only shrinks/);
  });

  await t.step("bilinear upscaling 2 → 4 with aligned pixel centres", () => {
    const out = bilinearResize(raster([[0, 80], [160, 240]]), 4, 4);
    // Sample positions (i + 0.5) / 2 − 0.5 = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    assert.deepEqual(
      out,
      raster([
        [0, 20, 60, 80],
        [40, 60, 100, 120],
        [120, 140, 180, 200],
        [160, 180, 220, 240],
      ]),
    );
  });

  await t.step("toTrainingTile: crop then the right method", () => {
    const six = raster(Array.from({ length: 4 }, (_, y) => Array.from({ length: 6 }, (_, x) => 10 * y + x)));
    const same = toTrainingTile(six, 4);
    assert.equal(same.method, "none");
    assert.deepEqual(same.raster, centreCropSquare(six));
    const down = toTrainingTile(six, 2);
    assert.equal(down.method, "area");
    // crop = columns 1..4; block means: (1+2+11+12)/4 = 6.5 → 7, (3+4+13+14)/4 = 8.5 → 9, ...
    assert.deepEqual(down.raster, raster([[7, 9], [27, 29]]));
    assert.equal(toTrainingTile(six, 8).method, "bilinear");
    assert.throws(() => toTrainingTile(six, 0), /resolution must be a positive integer/);
  });

  await t.step("a real 256 px UC Merced tile → 64 px is the 4 × 4 block mean", async () => {
    const full = await decodeImageFile(join(UCMERCED_DIR, "images/forest/forest10.jpg"));
    const { raster: small } = toTrainingTile(full, 64);
    for (const [y, x, c] of [[0, 0, 0], [17, 40, 1], [63, 63, 2]]) {
      let sum = 0;
      for (let dy = 0; dy < 4; dy++) {
        for (let dx = 0; dx < 4; dx++) sum += full.data[((4 * y + dy) * 256 + 4 * x + dx) * 3 + c];
      }
      assert.equal(small.data[(y * 64 + x) * 3 + c], Math.floor(sum / 16 + 0.5));
    }
  });
});
