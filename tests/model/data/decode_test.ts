/** Decoding real and synthetic PNG, JPEG and GeoTIFF files into 8-bit rasters, and clear errors for bad ones. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Image } from "imagescript";
import { fromArrayBuffer } from "geotiff";
import { decodeImage, decodeImageFile, detectFormat, stretchToUint8 } from "../../../model/data/decode.ts";
import { DatasetError } from "../../../model/data/errors.ts";
import { GEOTIFF_DIR, UCMERCED_DIR } from "../../support/paths.ts";
import { withTempDir, writeFile } from "./helpers.ts";

const UC_JPEG = join(UCMERCED_DIR, "images/agricultural/agricultural00.jpg");
const NAIP = join(GEOTIFF_DIR, "naip/m_4709963_se_14_1_20090818.tif");
const DSM = join(GEOTIFF_DIR, "elevation/dsm.tif");

Deno.test("image decoding", async (t) => {
  await t.step("format is recognised from the magic bytes", async () => {
    assert.equal(detectFormat(await Deno.readFile(UC_JPEG)), "jpeg");
    assert.equal(detectFormat(await Deno.readFile(NAIP)), "tiff");
    assert.equal(detectFormat(await new Image(2, 2).encode(1)), "png");
    assert.equal(detectFormat(new TextEncoder().encode("hello")), undefined);
  });

  await t.step("a real UC Merced JPEG: 256 × 256 RGB, the pixels imagescript decodes", async () => {
    const raster = await decodeImageFile(UC_JPEG);
    assert.deepEqual([raster.width, raster.height, raster.channels, raster.data.length], [
      256,
      256,
      3,
      256 * 256 * 3,
    ]);
    const reference = await Image.decode(await Deno.readFile(UC_JPEG));
    for (const p of [0, 1000, 256 * 256 - 1]) {
      assert.deepEqual(
        Array.from(raster.data.subarray(3 * p, 3 * p + 3)),
        Array.from(reference.bitmap.subarray(4 * p, 4 * p + 3)),
      );
    }
    const grey = await decodeImageFile(UC_JPEG, { channels: 1 });
    const [r, g, b] = raster.data.subarray(0, 3);
    assert.equal(grey.data[0], Math.round(0.299 * r + 0.587 * g + 0.114 * b));
    await assert.rejects(decodeImageFile(UC_JPEG, { channels: 4 }), /agricultural00\.jpg has 3 colour bands/);
  });

  await t.step("exactly Image.decode's pixels, also right after a failed decode", async () => {
    const rgbOf = (image: Image) => image.bitmap.filter((_, i) => i % 4 !== 3);
    for (
      const name of ["beach/beach10.jpg", "harbor/harbor20.jpg", "denseresidential/denseresidential33.jpg"]
    ) {
      const bytes = await Deno.readFile(join(UCMERCED_DIR, "images", name));
      await assert.rejects(decodeImage(bytes.subarray(0, 3000), "cut.jpg"), DatasetError);
      const raster = await decodeImage(bytes, name);
      assert.deepEqual(raster.data, Uint8Array.from(rgbOf(await Image.decode(bytes))), name);
      const png = await (await Image.decode(bytes)).encode(1);
      assert.deepEqual((await decodeImage(png, `${name}.png`)).data, raster.data, `${name} as PNG`);
    }
  });

  await t.step("PNG alpha is dropped", async () => {
    const image = new Image(2, 1);
    image.bitmap.set([10, 20, 30, 0, 40, 50, 60, 128]);
    const raster = await decodeImage(await image.encode(1), "two.png");
    assert.deepEqual(Array.from(raster.data), [10, 20, 30, 40, 50, 60]);
  });

  await t.step("a real NAIP GeoTIFF (4 bands uint8): the first 3 bands, or all 4 on request", async () => {
    const tiff = await (await fromArrayBuffer((await Deno.readFile(NAIP)).buffer)).getImage();
    const all = await tiff.readRasters({ interleave: true }) as Uint8Array;
    const [w, h] = [tiff.getWidth(), tiff.getHeight()];
    const rgb = await decodeImageFile(NAIP);
    assert.deepEqual([rgb.width, rgb.height, rgb.channels], [w, h, 3]);
    for (const p of [0, 12345, w * h - 1]) {
      assert.deepEqual(
        Array.from(rgb.data.subarray(3 * p, 3 * p + 3)),
        Array.from(all.subarray(4 * p, 4 * p + 3)),
      );
    }
    const rgbn = await decodeImageFile(NAIP, { channels: 4 });
    assert.deepEqual(rgbn.data, all);
    await assert.rejects(
      decodeImageFile(NAIP, { channels: 5 }),
      /m_4709963_se_14_1_20090818\.tif has 4 band\(s\); cannot make 5/,
    );
  });

  await t.step(
    "a float32 elevation GeoTIFF: stretched to 0..255, NoData → 0, one band replicated to RGB",
    async () => {
      const raster = await decodeImageFile(DSM);
      assert.equal(raster.channels, 3);
      let min = 255;
      let max = 0;
      for (let p = 0; p < raster.width * raster.height; p++) {
        const [r, g, b] = raster.data.subarray(3 * p, 3 * p + 3);
        assert.ok(r === g && g === b);
        min = Math.min(min, r);
        max = Math.max(max, r);
      }
      assert.deepEqual([min, max], [0, 255]);
    },
  );

  await t.step("stretchToUint8 by hand", () => {
    assert.deepEqual(Array.from(stretchToUint8([10, 20, 30, -9999, NaN], -9999)), [0, 128, 255, 0, 0]);
    assert.deepEqual(Array.from(stretchToUint8([5, 5, 5])), [0, 0, 0]);
  });

  await t.step("a text file renamed .png and a truncated JPEG: DatasetErrors naming the file", async () => {
    await withTempDir(async (dir) => {
      const text = join(dir, "notes.png");
      await writeFile(text, "this is not an image\n");
      await assert.rejects(decodeImageFile(text), (e: Error) => {
        return e instanceof DatasetError &&
          e.message === `${text} is not a PNG, JPEG or TIFF image (it looks like a text file)` &&
          !e.message.includes("this is"); // a file's bytes never reach a message (they may reach a client)
      });
      const truncated = join(dir, "cut.jpg");
      const jpeg = await Deno.readFile(UC_JPEG);
      await writeFile(truncated, jpeg.subarray(0, jpeg.length >> 1));
      await assert.rejects(decodeImageFile(truncated), (e: Error) => {
        return e instanceof DatasetError && e.message.includes(`cannot decode JPEG ${truncated}`) &&
          /truncated/.test(e.message);
      });
      const cutTiff = join(dir, "cut.tif");
      const tiffBytes = await Deno.readFile(NAIP);
      await writeFile(cutTiff, tiffBytes.subarray(0, tiffBytes.length >> 1));
      await assert.rejects(
        decodeImageFile(cutTiff),
        (e: Error) => e instanceof DatasetError && e.message.includes(cutTiff),
      );
      await writeFile(join(dir, "empty.png"), new Uint8Array(0));
      await assert.rejects(
        decodeImageFile(join(dir, "empty.png")),
        /empty\.png is not a PNG.*the file is empty/,
      );
      await assert.rejects(
        decodeImageFile(join(dir, "missing.png")),
        /cannot read .*missing\.png: file not found/,
      );
    });
  });
});
