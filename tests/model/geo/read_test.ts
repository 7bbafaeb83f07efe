/** Reading real GeoTIFFs: sample types, bands, NoData, pixel size, CRS; and clear errors for bad files. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fromArrayBuffer } from "geotiff";
import {
  GeoTiffError,
  noDataFraction,
  readGeoTiff,
  readGeoTiffInfo,
  windowGeoTransform,
} from "../../../model/geo/read.ts";
import { encodeGeoTiff } from "../../../model/geo/write.ts";
import { DSM, DTM, HAG, NAIP, NAIP_FILES, patchShortTag, withTempDir, writeTiff } from "./helpers.ts";
import { FULL_GEOTIFF_DIR, ignoreWithoutData } from "../../support/paths.ts";

Deno.test("reading GeoTIFFs", async (t) => {
  await t.step("NAIP clip: 4 bands uint8, NoData 0, 5 m pixels, NAD83 / UTM 14N (EPSG:26914)", async () => {
    assert.equal(NAIP_FILES.length, 2);
    const info = await readGeoTiffInfo(NAIP);
    assert.deepEqual([info.width, info.height], [600, 300]);
    assert.equal(info.bands, 4);
    assert.equal(info.dtype, "uint8");
    assert.equal(info.noData, 0);
    assert.equal(info.compression.name, "Deflate");
    assert.deepEqual(info.geo!.pixelSize, [5, 5]);
    assert.deepEqual(info.geo!.pixelSizeM, [5, 5]);
    assert.equal(info.geo!.crs.epsg, 26914);
    assert.equal(info.geo!.crs.kind, "projected");
    assert.equal(info.geo!.crs.name, "NAD83 / UTM zone 14N");
    assert.deepEqual(info.geo!.crs.unit, { name: "metre", metres: 1, assumed: false });
    const gt = info.geo!.geoTransform;
    assert.deepEqual([gt[1], gt[2], gt[4], gt[5]], [5, 0, 0, -5]);
    assert.deepEqual(info.geo!.origin, [gt[0], gt[3]]);
    // The clip starts 128 px right of and below the source's tie point (485900, 5209247): 640 m each way.
    assert.deepEqual(info.geo!.origin, [485900 + 640, 5209247 - 640]);
  });

  await t.step(
    "DSM, DTM, HAG: one float32 band, NoData -9999, 2 m pixels, UTM 18N (EPSG:26918)",
    async () => {
      for (const file of [DSM, DTM, HAG]) {
        const info = await readGeoTiffInfo(file);
        assert.deepEqual([info.width, info.height, info.bands, info.dtype], [283, 259, 1, "float32"], file);
        assert.equal(info.noData, -9999);
        assert.deepEqual(info.geo!.pixelSizeM, [2, 2]);
        assert.equal(info.geo!.crs.epsg, 26918);
      }
    },
  );

  await t.step("a window of chosen bands: band-interleaved, equal to geotiff's own read", async () => {
    const window = { x: 100, y: 40, width: 7, height: 5 };
    const raster = await readGeoTiff(NAIP, { window, bands: [4, 1] });
    assert.ok(raster.data instanceof Uint8Array);
    assert.deepEqual(raster.bandsRead, [4, 1]);
    const image = await (await fromArrayBuffer((await Deno.readFile(NAIP)).buffer)).getImage();
    const all = await image.readRasters({ window: [100, 40, 107, 45], interleave: true }) as Uint8Array;
    for (let p = 0; p < 35; p++) {
      assert.deepEqual([raster.data[2 * p], raster.data[2 * p + 1]], [all[4 * p + 3], all[4 * p]]);
    }
    // The window's geotransform moves the origin by whole pixels.
    const gt = raster.geo!.geoTransform;
    assert.deepEqual(windowGeoTransform(gt, window), [gt[0] + 500, 5, 0, gt[3] - 200, 0, -5]);

    const dsm = await readGeoTiff(DSM, { window: { x: 0, y: 0, width: 3, height: 2 } });
    assert.ok(dsm.data instanceof Float32Array);
    assert.equal(dsm.data.length, 6);
    await assert.rejects(readGeoTiff(DSM, { bands: [2] }), /dsm\.tif has 1 band\(s\); there is no band 2/);
  });

  await t.step("NoData fraction: a pixel is NoData when all its bands are, NaN counts", () => {
    assert.equal(noDataFraction([0, 0, 0, 0, 5, 0], 3, 0), 0.5);
    assert.equal(noDataFraction(Float32Array.of(NaN, 1, -9999, 2), 1, -9999), 0.5);
    assert.equal(noDataFraction([0, 1], 1, null), 0);
  });

  await t.step("bad files: errors naming the file and saying what is wrong", async () => {
    await withTempDir(async (dir) => {
      const bytes = await Deno.readFile(NAIP);
      const cases: [string, Uint8Array, RegExp][] = [
        [
          "truncated.tif",
          bytes.subarray(0, bytes.length >> 1),
          /truncated\.tif is truncated: its image data runs to byte \d+ but the file has \d+ bytes/,
        ],
        ["empty.tif", new Uint8Array(0), /empty\.tif is not a TIFF file \(the file is empty\)/],
        [
          "photo.tif",
          Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13),
          /photo\.tif is not a TIFF file \(it is a PNG image\)/,
        ],
        [
          "notes.tif",
          new TextEncoder().encode("just some text\n"),
          /notes\.tif is not a TIFF file \(it looks like a text file\)$/,
        ],
      ];
      const small = { width: 4, height: 4, bands: 1, data: new Uint8Array(16) };
      const plain = await encodeGeoTiff(small);
      cases.push([
        "j2k.tif",
        patchShortTag(plain, 259, 34712),
        /j2k\.tif uses JPEG 2000 compression \(code 34712\), which geotiff cannot decode here/,
      ]);
      const scrambled = plain.slice();
      scrambled.fill(0xff, 10, 60); // the first tag entries
      cases.push(["scrambled.tif", scrambled, /scrambled\.tif: cannot read the first image directory/]);
      for (const [name, content, pattern] of cases) {
        const path = join(dir, name);
        await Deno.writeFile(path, content);
        await assert.rejects(readGeoTiff(path), (e: Error) => {
          assert.ok(e instanceof GeoTiffError, `${name}: ${e}`);
          assert.match(e.message, pattern);
          assert.ok(e.message.includes(path), e.message);
          return true;
        });
      }
      await assert.rejects(
        readGeoTiffInfo(join(dir, "missing.tif")),
        /cannot read .*missing\.tif: file not found/,
      );

      // Damaged compressed data inside the file: the header reads, decoding fails with the file's name.
      const good = join(dir, "good.tif");
      const noise = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
      await writeTiff(good, { width: 64, height: 64, bands: 1, data: noise, compress: true });
      const damaged = await Deno.readFile(good);
      damaged.fill(0xff, damaged.length - 8000, damaged.length - 7000); // inside the strips, which come last
      const bad = join(dir, "damaged.tif");
      await Deno.writeFile(bad, damaged);
      await readGeoTiffInfo(bad);
      await assert.rejects(
        readGeoTiff(bad),
        /cannot decode .*damaged\.tif: .*\(Deflate data; truncated or corrupt file\?\)/,
      );
    });
  });
});

Deno.test({
  name: "the full NAIP series: ten dates of 934 × 723/724 px at the source's tie point",
  ignore: ignoreWithoutData(FULL_GEOTIFF_DIR),
  async fn() {
    const dir = join(FULL_GEOTIFF_DIR, "naip");
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".tif")).sort();
    assert.equal(files.length, 10);
    for (const name of files) {
      const info = await readGeoTiffInfo(join(dir, name));
      assert.equal(info.width, 934, name);
      assert.ok(info.height === 723 || info.height === 724, `${name}: ${info.height}`);
      assert.deepEqual([info.bands, info.dtype, info.geo!.crs.epsg], [4, "uint8", 26914], name);
    }
    const first = await readGeoTiffInfo(join(dir, files[0]));
    assert.deepEqual(first.geo!.origin, [485900, 5209247]);
  },
});
