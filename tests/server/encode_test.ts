/** Encodings: GeoTIFF (read back with geotiff.js), PNG and JPEG. */
import assert from "node:assert/strict";
import { fromArrayBuffer } from "geotiff";
import type { Raster8 } from "../../model/images.ts";
import { encodeGeoTiff, encodeTile } from "../../server/encode.ts";

function raster(width: number, height: number, channels: number): Raster8 {
  const data = new Uint8Array(width * height * channels).map((_, i) => (i * 7) % 256);
  return { width, height, channels, data };
}

Deno.test("encodeGeoTiff: pixels, bands and pixel size survive a round trip through geotiff.js", async () => {
  for (const [channels, photometric] of [[1, 1], [3, 2], [4, 2]] as const) {
    const r = raster(12, 7, channels);
    const bytes = await encodeGeoTiff(r, 0.3);
    const image = await (await fromArrayBuffer(bytes.slice().buffer)).getImage();
    assert.equal(image.getWidth(), 12);
    assert.equal(image.getHeight(), 7);
    assert.equal(image.getSamplesPerPixel(), channels);
    assert.equal(image.fileDirectory.getValue("PhotometricInterpretation"), photometric);
    assert.deepEqual(image.getResolution(), [0.3, -0.3, 0]);
    assert.deepEqual(image.getOrigin(), [0, 7 * 0.3, 0]);
    const keys = image.getGeoKeys()!;
    assert.equal(keys.GTModelTypeGeoKey, 1);
    assert.equal(keys.ProjLinearUnitsGeoKey, 9001);
    const values = await image.readRasters({ interleave: true }) as unknown as Uint8Array;
    assert.deepEqual([...values], [...r.data]);
  }
});

Deno.test("a 2048 px GeoTIFF is written quickly (no per-sample copying)", async () => {
  const started = performance.now();
  const bytes = await encodeGeoTiff(raster(2048, 2048, 3), 0.15);
  assert.ok(bytes.length > 2048 * 2048 * 3);
  assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
});

Deno.test("encodeTile: content types and magic numbers", async () => {
  const r = raster(8, 8, 3);
  const png = await encodeTile(r, "png");
  assert.equal(png.contentType, "image/png");
  assert.deepEqual([...png.body.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  const jpeg = await encodeTile(r, "jpeg");
  assert.equal(jpeg.contentType, "image/jpeg");
  const tiff = await encodeTile(r, "tiff", 2);
  assert.equal(tiff.contentType, "image/tiff");
  assert.deepEqual([...tiff.body.subarray(0, 4)], [0x49, 0x49, 42, 0]);
});

Deno.test("PNG and JPEG bytes depend on the pixels only (imagescript's Creation Time is fixed)", async () => {
  const { Image } = await import("imagescript");
  const r = raster(16, 16, 3);
  const first = await encodeTile(r, "png");
  await new Promise((resolve) => setTimeout(resolve, 1100)); // a different second
  const second = await encodeTile(r, "png");
  assert.deepEqual(first.body, second.body);
  const decoded = await Image.decode(first.body) as InstanceType<typeof Image>;
  for (let p = 0; p < 16 * 16; p++) assert.equal(decoded.bitmap[p * 4], r.data[p * 3]);
  assert.deepEqual((await encodeTile(r, "jpeg")).body, (await encodeTile(r, "jpeg")).body);
});
