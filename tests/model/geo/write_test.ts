/** Writing GeoTIFFs: round trips through geotiff (pixel size, bands, sample type, values, CRS), atomically. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fromArrayBuffer } from "geotiff";
import { readGeoTiff, readGeoTiffInfo, windowGeoTransform } from "../../../model/geo/read.ts";
import { encodeGeoTiff, northUpGeoTransform, writeGeoTiff } from "../../../model/geo/write.ts";
import { DSM, listNames, NAIP, withTempDir } from "./helpers.ts";

Deno.test("writing GeoTIFFs", async (t) => {
  await t.step(
    "a NAIP window (4 bands uint8, RGB + NIR): values, 5 m pixels, origin and CRS keys kept",
    async () => {
      await withTempDir(async (dir) => {
        const window = { x: 300, y: 200, width: 64, height: 48 };
        const source = await readGeoTiff(NAIP, { window });
        const geoTransform = windowGeoTransform(source.geo!.geoTransform, window);
        for (const compress of [false, true]) {
          const path = join(dir, `naip-${compress}.tif`);
          await writeGeoTiff(path, {
            width: 64,
            height: 48,
            bands: 4,
            data: source.data,
            noData: 0,
            geo: { geoTransform, crs: { geoKeys: source.geo!.crs.geoKeys } },
            bandNames: ["red", "green", "blue", "nir"],
            compress,
          });
          const back = await readGeoTiff(path);
          assert.deepEqual([back.width, back.height, back.bands, back.dtype, back.noData], [
            64,
            48,
            4,
            "uint8",
            0,
          ]);
          assert.equal(back.photometric, 2); // RGB, with the NIR band as an extra sample
          assert.deepEqual(back.data, source.data);
          assert.deepEqual(back.geo!.geoTransform, geoTransform);
          assert.deepEqual(back.geo!.pixelSizeM, [5, 5]);
          assert.equal(back.geo!.crs.epsg, 26914);
          assert.equal(back.geo!.crs.name, "NAD83 / UTM zone 14N");
          assert.equal(back.compression.name, compress ? "Deflate" : "none");
          // geotiff's own reader agrees on the tags GDAL and QGIS read.
          const image = await (await fromArrayBuffer((await Deno.readFile(path)).buffer)).getImage();
          assert.deepEqual(image.getResolution(), [5, -5, 0]);
          assert.deepEqual(Array.from(image.fileDirectory.getValue("ExtraSamples") as ArrayLike<number>), [
            0,
          ]);
          assert.match(
            String(await image.fileDirectory.loadValue("GDAL_METADATA")),
            /sample="3" role="description">nir</,
          );
        }
      });
    },
  );

  await t.step("float32 elevation with NoData -9999 and an EPSG code; exact values", async () => {
    await withTempDir(async (dir) => {
      const dsm = await readGeoTiff(DSM);
      const path = join(dir, "dsm.tif");
      await writeGeoTiff(path, {
        width: dsm.width,
        height: dsm.height,
        bands: 1,
        data: dsm.data,
        noData: -9999,
        geo: { geoTransform: northUpGeoTransform([1000, 2000], 2), crs: { epsg: 26918 } },
      });
      const back = await readGeoTiff(path);
      assert.equal(back.dtype, "float32");
      assert.equal(back.noData, -9999);
      assert.deepEqual(back.data, dsm.data);
      assert.deepEqual(back.geo!.geoTransform, [1000, 2, 0, 2000, 0, -2]);
      assert.equal(back.geo!.crs.epsg, 26918);
      assert.equal(back.geo!.crs.kind, "projected");
    });
  });

  await t.step(
    "paletted uint8 (land cover), int16, uint16, a geographic CRS, a rotated geotransform",
    async () => {
      await withTempDir(async (dir) => {
        const palette = join(dir, "classes.tif");
        await writeGeoTiff(palette, {
          width: 3,
          height: 2,
          bands: 1,
          data: Uint8Array.of(11, 42, 90, 90, 42, 11),
          colorMap: Array.from(
            { length: 256 },
            (_, i) => [i, 255 - i, i === 42 ? 7 : 0] as [number, number, number],
          ),
          geo: { geoTransform: northUpGeoTransform([0, 0], 30) },
        });
        const classes = await readGeoTiff(palette);
        assert.equal(classes.photometric, 3);
        assert.deepEqual(Array.from(classes.data), [11, 42, 90, 90, 42, 11]);
        assert.deepEqual(classes.colorMap![42], [42, 213, 7]);
        assert.equal(classes.geo!.crs.epsg, null); // no CRS given: none written

        const ints = join(dir, "ints.tif");
        await writeGeoTiff(ints, {
          width: 2,
          height: 2,
          bands: 1,
          data: Int16Array.of(-32768, -1, 0, 32767),
        });
        assert.deepEqual(Array.from((await readGeoTiff(ints)).data), [-32768, -1, 0, 32767]);
        assert.equal((await readGeoTiffInfo(ints)).geo, null);
        const wide = join(dir, "wide.tif");
        await writeGeoTiff(wide, { width: 1, height: 2, bands: 2, data: Uint16Array.of(0, 65535, 1000, 1) });
        const w = await readGeoTiff(wide);
        assert.deepEqual([w.dtype, w.bands, Array.from(w.data)], ["uint16", 2, [0, 65535, 1000, 1]]);

        const lonLat = join(dir, "lonlat.tif");
        await writeGeoTiff(lonLat, {
          width: 2,
          height: 2,
          bands: 1,
          data: new Float32Array(4),
          geo: { geoTransform: northUpGeoTransform([-97.2, 47.1], 0.0001), crs: { epsg: 4326 } },
        });
        const geographic = (await readGeoTiffInfo(lonLat)).geo!;
        assert.deepEqual([geographic.crs.epsg, geographic.crs.kind, geographic.crs.unit.name], [
          4326,
          "geographic",
          "degree",
        ]);
        assert.equal(geographic.pixelSizeM, null); // degrees are not a ground sample distance

        const rotated = join(dir, "rotated.tif");
        const gt = [500, 3, 4, 900, 4, -3] as [number, number, number, number, number, number];
        await writeGeoTiff(rotated, {
          width: 2,
          height: 2,
          bands: 1,
          data: new Uint8Array(4),
          geo: { geoTransform: gt },
        });
        const r = (await readGeoTiffInfo(rotated)).geo!;
        assert.deepEqual(r.geoTransform, gt);
        assert.deepEqual(r.pixelSize, [5, 5]);
      });
    },
  );

  await t.step("inconsistent images are refused; a failed write leaves nothing", async () => {
    await assert.rejects(
      encodeGeoTiff({ width: 2, height: 2, bands: 1, data: new Uint8Array(3) }),
      /has 3 samples/,
    );
    await assert.rejects(
      encodeGeoTiff({ width: 1, height: 1, bands: 1, data: new Float32Array(1), colorMap: [[0, 0, 0]] }),
      /paletted GeoTIFF needs one uint8 band/,
    );
    await withTempDir(async (dir) => {
      await assert.rejects(
        writeGeoTiff(join(dir, "missing/folder/x.tif"), {
          width: 1,
          height: 1,
          bands: 1,
          data: new Uint8Array(1),
        }),
        Deno.errors.NotFound,
      );
      assert.deepEqual(listNames(dir), []);
    });
  });
});
