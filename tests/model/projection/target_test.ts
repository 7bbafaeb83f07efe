import assert from "node:assert/strict";
import { join } from "node:path";
import { encodePng, type Raster8 } from "../../../model/images.ts";
import { loadTarget, TargetError, type TargetOptions } from "../../../model/projection/target.ts";
import { UCMERCED_DIR } from "../../support/paths.ts";
import { NAIP, withTempDir, writeTiff } from "../geo/helpers.ts";

const MODEL: TargetOptions = { resolution: 64, channels: 3, modelGsdM: 1.2192 };

/** An RGB raster whose every aligned 2 × 2 block holds 0, 100, 200, 40 (block mean 85). */
function blocks(width: number, height: number): Raster8 {
  const data = new Uint8Array(width * height * 3);
  const pattern = [[0, 100], [200, 40]];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.fill(pattern[y % 2][x % 2], (y * width + x) * 3, (y * width + x + 1) * 3);
    }
  }
  return { width, height, channels: 3, data };
}

async function png(dir: string, name: string, raster: Raster8): Promise<string> {
  const path = join(dir, name);
  await Deno.writeFile(path, await encodePng(raster));
  return path;
}

async function refused(promise: Promise<unknown>, reason: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TargetError, `a TargetError, got ${error}`);
    assert.equal(error.reason, reason);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("loadTarget: resampling to the model's resolution and ground resolution, said in one line", async (t) => {
  await withTempDir(async (dir) => {
    await t.step("0.6 m/px PNG of 128 px: box average to 64 px at 1.2 m/px", async () => {
      const target = await loadTarget(await png(dir, "a.png", blocks(128, 128)), {
        ...MODEL,
        sourceGsdM: 0.6,
      });
      assert.equal(target.description, "0.6 m/px → 1.2 m/px, 128 → 64 px (box average)");
      assert.equal(target.gsdM, 1.2);
      assert.deepEqual([target.raster.width, target.raster.height, target.raster.channels], [64, 64, 3]);
      assert.ok(target.raster.data.every((v) => v === 85), "every 2 × 2 block averages to 85");
      assert.equal(target.geo, undefined);
    });
    await t.step("a larger image: the model tile's ground extent cut from its centre", async () => {
      // 64 px · 1.2192 m / 0.3048 m = 256 source pixels.
      const target = await loadTarget(await png(dir, "b.png", blocks(400, 300)), {
        ...MODEL,
        sourceGsdM: 0.3048,
      });
      assert.equal(
        target.description,
        "0.305 m/px → 1.22 m/px, 256 → 64 px (box average); centre 256 × 256 of 400 × 300 px",
      );
      assert.deepEqual(target.window, { x: 72, y: 22, width: 256, height: 256 });
    });
    await t.step("unknown ground resolution: the largest centred square", async () => {
      const target = await loadTarget(await png(dir, "c.png", blocks(120, 100)), MODEL);
      assert.equal(
        target.description,
        "ground resolution unknown, taken as the model's 1.22 m/px; 100 → 64 px (box average); centre 100 × 100 of 120 × 100 px",
      );
      assert.equal(target.gsdM, null);
    });
    await t.step("a smaller image: upsampled up to ×2, and the ground mismatch said", async () => {
      const target = await loadTarget(await png(dir, "d.png", blocks(40, 40)), {
        ...MODEL,
        sourceGsdM: 1.2192,
      });
      assert.equal(
        target.description,
        "1.22 m/px → 0.762 m/px, 40 → 64 px (bilinear upsampling ×1.6); the image covers 48.8 m, the model's tile 78 m",
      );
      await refused(
        loadTarget(await png(dir, "e.png", blocks(20, 20)), MODEL),
        "upsampling",
        /e\.png: the tile would be 20 px upsampled ×3\.2 to 64 px \(at most ×2\)/,
      );
    });
    await t.step(
      "a UC Merced JPEG (256 px at 0.3048 m) becomes the default model's 64 px at 1.22 m/px",
      async () => {
        const file = join(UCMERCED_DIR, "images/agricultural/agricultural15.jpg");
        const target = await loadTarget(file, { ...MODEL, sourceGsdM: 0.3048 });
        assert.equal(target.description, "0.305 m/px → 1.22 m/px, 256 → 64 px (box average)");
        assert.equal(target.source.format, "jpeg");
      },
    );
  });
});

Deno.test("loadTarget: a GeoTIFF's CRS and geotransform follow the crop and the new pixel size", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "site.tif");
    const raster = blocks(200, 160);
    await writeTiff(path, {
      ...raster,
      bands: 3,
      geo: { geoTransform: [500000, 0.6, 0, 4000000, 0, -0.6], crs: { epsg: 26914 } },
    });
    const target = await loadTarget(path, MODEL);
    // round(64 · 1.2192 / 0.6) = 130 px, from (35, 15); 0.6 · 130 / 64 = 1.21875 m/px.
    assert.deepEqual(target.window, { x: 35, y: 15, width: 130, height: 130 });
    assert.deepEqual(target.geo!.geoTransform, [
      500000 + 35 * 0.6,
      1.21875,
      0,
      4000000 - 15 * 0.6,
      0,
      -1.21875,
    ]);
    assert.equal(target.geo!.crs.epsg, 26914);
    assert.equal(
      target.description,
      "0.6 m/px → 1.22 m/px, 130 → 64 px (box average); centre 130 × 130 of 200 × 160 px",
    );
  });
});

Deno.test("loadTarget: bad input is refused with the file's name and nothing decoded", async (t) => {
  await withTempDir(async (dir) => {
    await t.step("not an image", async () => {
      const path = join(dir, "notes.png");
      await Deno.writeTextFile(path, "just some text, not pixels");
      await refused(loadTarget(path, MODEL), "not-an-image", /notes\.png is not a PNG, JPEG or TIFF image/);
      await refused(
        loadTarget(join(dir, "missing.png"), MODEL),
        "unreadable",
        /missing\.png: file not found/,
      );
    });
    await t.step("a truncated PNG: cut in its pixel data, or in its header", async () => {
      const bytes = await encodePng(blocks(64, 64));
      const cut = join(dir, "cut.png");
      await Deno.writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await refused(loadTarget(cut, MODEL), "corrupt", /cut\.png/);
      const header = join(dir, "header.png");
      await Deno.writeFile(header, bytes.subarray(0, 20));
      await refused(loadTarget(header, MODEL), "corrupt", /header\.png: the PNG header is cut short/);
    });
    await t.step("a decompression bomb: a 30,000 × 30,000 PNG header is refused by its size", async () => {
      const bytes = await encodePng(blocks(8, 8));
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      view.setUint32(16, 30000);
      view.setUint32(20, 30000);
      const bomb = join(dir, "bomb.png");
      await Deno.writeFile(bomb, bytes);
      await refused(
        loadTarget(bomb, MODEL),
        "too-large",
        /bomb\.png is 30000 × 30000 px \(900 M pixels\), over the limit of 40 M/,
      );
    });
    await t.step(
      "a decompression bomb as a JPEG: its start-of-frame marker announces 30,000 × 30,000",
      async () => {
        // SOI, an APP0 segment of 16 bytes, then SOF0: length 17, precision 8, height 30000, width 30000, 3 components.
        const app0 = [
          0xff,
          0xe0,
          0x00,
          0x10,
          ...new TextEncoder().encode("JFIF\0"),
          1,
          1,
          0,
          0,
          1,
          0,
          1,
          0,
          0,
        ];
        const sof0 = [
          0xff,
          0xc0,
          0x00,
          0x11,
          8,
          0x75,
          0x30,
          0x75,
          0x30,
          3,
          1,
          0x11,
          0,
          2,
          0x11,
          1,
          3,
          0x11,
          1,
        ];
        const bomb = join(dir, "bomb.jpg");
        await Deno.writeFile(bomb, Uint8Array.from([0xff, 0xd8, ...app0, ...sof0, 0xff, 0xd9]));
        await refused(loadTarget(bomb, MODEL), "too-large", /bomb\.jpg is 30000 × 30000 px \(900 M pixels\)/);
      },
    );
    await t.step("a GeoTIFF in degrees without a ground resolution; given one, it is used", async () => {
      const path = join(dir, "wgs84.tif");
      await writeTiff(path, {
        ...blocks(64, 64),
        bands: 3,
        geo: { geoTransform: [-97.5, 0.00001, 0, 47.2, 0, -0.00001], crs: { epsg: 4326 } },
      });
      await refused(
        loadTarget(path, MODEL),
        "no-ground-resolution",
        /wgs84\.tif is in degrees .*give its ground resolution in m\/px/,
      );
      const target = await loadTarget(path, { ...MODEL, sourceGsdM: 1.2192 });
      assert.equal(target.description, "1.22 m/px → 1.22 m/px, 64 → 64 px (no resampling)");
    });
    await t.step("NaN-filled rasters", async () => {
      const path = join(dir, "nan.tif");
      await writeTiff(path, {
        width: 64,
        height: 64,
        bands: 3,
        data: new Float32Array(64 * 64 * 3).fill(NaN),
        geo: { geoTransform: [0, 1.2192, 0, 0, 0, -1.2192], crs: { epsg: 26914 } },
      });
      await refused(loadTarget(path, MODEL), "no-data", /nan\.tif: 100 % of the pixels used are NoData/);
    });
    await t.step("the wrong band count for the model", async () => {
      const grey = join(dir, "grey.tif");
      await writeTiff(grey, { width: 64, height: 64, bands: 1, data: new Uint8Array(64 * 64) });
      await refused(loadTarget(grey, MODEL), "bands", /grey\.tif has 1 band\(s\); the model needs 3/);
      const picture = await png(dir, "rgb.png", blocks(64, 64));
      await refused(
        loadTarget(picture, { ...MODEL, channels: 4 }),
        "bands",
        /rgb\.png is a PNG \(RGB\); the model needs 4 bands/,
      );
    });
    await t.step(
      "a real NAIP clip (5 m): the model's 78 m are 16 of its pixels, too few to upsample ×4",
      async () => {
        await refused(loadTarget(NAIP, MODEL), "upsampling", /16 px upsampled ×4 to 64 px/);
        const target = await loadTarget(NAIP, { ...MODEL, modelGsdM: 5 });
        assert.match(
          target.description,
          /^5 m\/px → 5 m\/px, 64 → 64 px \(no resampling\); centre 64 × 64 of .*; bands 1–3 of 4$/,
        );
        assert.equal(target.geo!.crs.epsg, 26914);
      },
    );
  });
});
