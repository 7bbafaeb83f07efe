/** GeoTIFF datasets: 4-band bytes, float elevation with statistics, one-hot land cover, and consistency. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DatasetError,
  type FloatDataset,
  loadDataset,
  loadTrainingDataset,
} from "../../../model/data/dataset.ts";
import { batchToFloat32, NO_AUGMENTATION } from "../../../model/data/batches.ts";
import { readGeoTiff } from "../../../model/geo/read.ts";
import { cutTiles } from "../../../model/geo/tiles.ts";
import { northUpGeoTransform } from "../../../model/geo/write.ts";
import { RandomState } from "../../../model/seeds.ts";
import { DSM, DTM, landCoverCodes, NAIP, withTempDir, writeTiff } from "./helpers.ts";

const quiet = { info() {}, warn() {} };

Deno.test("GeoTIFF datasets", async (t) => {
  await t.step(
    "multiband: NAIP tiles give 4 channels of the source's bytes, 8-bit normalization",
    async () => {
      await withTempDir(async (dir) => {
        await cutTiles([NAIP], { size: 256, outDir: join(dir, "tiles") });
        const dataset = await loadDataset({
          img_dir: join(dir, "tiles"),
          folder: true,
          resolution: 256,
          channels: 4,
          kind: "multiband",
          log: quiet,
        });
        assert.deepEqual([dataset.count, dataset.channels, dataset.data.length], [2, 4, 2 * 256 * 256 * 4]);
        assert.deepEqual(dataset.normalization, {
          kind: "multiband",
          scaling: "uint8",
          channels: 4,
          source_bands: [1, 2, 3, 4],
        });
        assert.deepEqual(dataset.source!.pixelSizeM, [5, 5]);
        assert.equal(dataset.source!.crs!.epsg, 26914);
        const first = await readGeoTiff(dataset.files[0]);
        assert.deepEqual(dataset.data.subarray(0, 256 * 256 * 4), first.data);

        // Chosen bands (false colour: NIR, red, green), 3 channels.
        const falseColour = await loadDataset({
          img_dir: join(dir, "tiles"),
          folder: true,
          resolution: 64,
          channels: 3,
          kind: "multiband",
          bands: [4, 1, 2],
          log: quiet,
        });
        assert.deepEqual(falseColour.normalization!.source_bands, [4, 1, 2]);
        await assert.rejects(
          loadDataset({
            img_dir: join(dir, "tiles"),
            folder: true,
            resolution: 64,
            channels: 5,
            kind: "multiband",
            log: quiet,
          }),
          /has 4 band\(s\); dataset\.kind multiband with 5 channel\(s\) asks for band 5/,
        );
      });
    },
  );

  await t.step(
    "elevation: float tiles normalised by the dataset's min/max, NoData filled, cached with the statistics",
    async () => {
      await withTempDir(async (dir) => {
        await cutTiles([DSM, DTM], { size: 64, stride: 64, maxNoData: 0.5, outDir: join(dir, "tiles") });
        const options = {
          img_dir: join(dir, "tiles"),
          folder: true,
          resolution: 32,
          channels: 1,
          kind: "elevation" as const,
          cacheDir: join(dir, "cache"),
          log: quiet,
        };
        const dataset = await loadTrainingDataset(options) as FloatDataset;
        assert.ok(dataset.data instanceof Float32Array);
        const n = dataset.normalization;
        assert.deepEqual([n.kind, n.scaling, n.dtype, n.no_data, n.unit, n.channels], [
          "elevation",
          "linear",
          "float32",
          -9999,
          "m",
          1,
        ]);
        const [band] = n.bands;
        // Values in metres of the DSM/DTM (7 … 39 m), mapped so that min → −1 and max → 1.
        assert.ok(band.min > 6 && band.max < 40 && band.min < band.max, JSON.stringify(band));
        assert.equal(band.offset, (band.max + band.min) / 2);
        assert.equal(band.scale, (band.max - band.min) / 2);
        let low = Infinity;
        let high = -Infinity;
        for (const v of dataset.data) {
          assert.ok(Number.isFinite(v), "NoData filled");
          low = Math.min(low, v);
          high = Math.max(high, v);
        }
        assert.ok(Math.abs(low + 1) < 1e-6 && Math.abs(high - 1) < 1e-6, `${low} … ${high}`);
        // A tile's value back in metres: the area mean of its source pixels.
        const tile = await readGeoTiff(dataset.files[0]);
        const mean4 = (tile.data[0] + tile.data[1] + tile.data[64] + tile.data[65]) / 4;
        assert.ok(Math.abs(dataset.data[0] * band.scale + band.offset - mean4) < 1e-4);
        // Batches hand the floats over as they are.
        const batch = batchToFloat32(dataset, [0], NO_AUGMENTATION, new RandomState(0));
        assert.deepEqual(batch, dataset.data.subarray(0, 32 * 32));

        const again = await loadTrainingDataset(options) as FloatDataset;
        assert.ok(again.fromCache);
        assert.deepEqual(again.normalization, n);
        assert.deepEqual(again.data, dataset.data);
        await assert.rejects(loadDataset(options), /holds float32 samples, which train as floats/);

        // Decode workers give the same tiles and statistics.
        const threaded = await loadTrainingDataset({
          ...options,
          cacheDir: undefined,
          workers: 2,
        }) as FloatDataset;
        assert.deepEqual(threaded.normalization, n);
        assert.deepEqual(threaded.data, dataset.data);
      });
    },
  );

  await t.step(
    "multiband uint16 (e.g. 12-bit sensors): floats scaled per band by the dataset's range",
    async () => {
      await withTempDir(async (dir) => {
        for (let i = 0; i < 2; i++) {
          const data = Uint16Array.from(
            { length: 8 * 8 * 2 },
            (_, k) => (k % 2 ? 4000 : 100) + i * 10 + (k >> 1),
          );
          await writeTiff(join(dir, `s${i}.tif`), {
            width: 8,
            height: 8,
            bands: 2,
            data,
            geo: { geoTransform: northUpGeoTransform([0, 0], 10), crs: { epsg: 32633 } },
          });
        }
        const dataset = await loadTrainingDataset({
          img_dir: dir,
          folder: true,
          resolution: 8,
          channels: 2,
          kind: "multiband",
          log: quiet,
        }) as FloatDataset;
        const n = dataset.normalization;
        assert.deepEqual([n.kind, n.scaling, n.dtype, n.unit], ["multiband", "linear", "uint16", null]);
        assert.deepEqual(n.bands.map((b) => [b.min, b.max]), [[100, 173], [4000, 4073]]);
        assert.deepEqual(Array.from(dataset.data.subarray(0, 2)), [-1, -1]);
        assert.equal(dataset.data[dataset.data.length - 1], 1);
      });
    },
  );
  await t.step(
    "landcover: class codes → one-hot channels (255/0), NoData all 0; unknown codes refused",
    async () => {
      await withTempDir(async (dir) => {
        const codes = [11, 42, 90];
        await Deno.mkdir(join(dir, "lc"));
        for (let i = 0; i < 3; i++) {
          await writeTiff(join(dir, "lc", `lc${i}.tif`), {
            width: 16,
            height: 16,
            bands: 1,
            data: landCoverCodes(16, codes, i, 255),
            noData: 255,
            // A paletted file, as land-cover products are: its colours become the classes' palette.
            colorMap: Array.from(
              { length: 256 },
              (_, c) => [c, 2 * c % 256, 255 - c] as [number, number, number],
            ),
            geo: { geoTransform: northUpGeoTransform([0, 0], 30), crs: { epsg: 32614 } },
          });
        }
        const dataset = await loadDataset({
          img_dir: join(dir, "lc"),
          folder: true,
          resolution: 16,
          channels: 3,
          kind: "landcover",
          classes: codes,
          log: quiet,
        });
        const n = dataset.normalization!;
        assert.equal(n.scaling, "onehot");
        if (n.scaling !== "onehot") return;
        assert.deepEqual(n.classes, codes);
        assert.deepEqual(n.palette, ["#0b16f4", "#2a54d5", "#5ab4a5"]); // colour map entries 11, 42, 90
        const source = landCoverCodes(16, codes, 0, 255);
        assert.deepEqual(Array.from(dataset.data.subarray(0, 3)), [0, 0, 0]); // the NoData pixel
        for (const p of [1, 17, 100, 255]) {
          const k = codes.indexOf(source[p]);
          assert.deepEqual(
            Array.from(dataset.data.subarray(3 * p, 3 * p + 3)),
            [0, 1, 2].map((c) => (c === k ? 255 : 0)),
          );
        }
        await assert.rejects(
          loadDataset({
            img_dir: join(dir, "lc"),
            folder: true,
            resolution: 16,
            channels: 2,
            kind: "landcover",
            classes: [11, 42],
            log: quiet,
          }),
          /lc0\.tif has the class code 90 .* not in dataset\.classes \[11, 42\]/,
        );
      });
    },
  );

  await t.step("mixed band counts or pixel sizes in one dataset: an error naming both files", async () => {
    await withTempDir(async (dir) => {
      const folder = join(dir, "mixed");
      await Deno.mkdir(folder);
      const dsm = await readGeoTiff(DSM, { window: { x: 0, y: 0, width: 32, height: 32 } });
      const write = (name: string, pixel: number, bands = 1) =>
        writeTiff(join(folder, name), {
          width: 32,
          height: 32,
          bands,
          data: bands === 1 ? dsm.data : new Float32Array(32 * 32 * bands).fill(3),
          geo: { geoTransform: northUpGeoTransform([0, 0], pixel) },
        });
      await write("a.tif", 2);
      await write("b.tif", 2, 2);
      const load = () =>
        loadTrainingDataset({
          img_dir: folder,
          folder: true,
          resolution: 16,
          channels: 1,
          kind: "elevation",
          log: quiet,
        });
      await assert.rejects(load(), (e: Error) => {
        assert.ok(e instanceof DatasetError);
        assert.match(
          e.message,
          /^mixed band counts in one dataset: .*b\.tif has 2 band\(s\) but .*a\.tif has 1/,
        );
        return true;
      });
      await Deno.remove(join(folder, "b.tif"));
      await write("c.tif", 4);
      await assert.rejects(
        load(),
        /mixed pixel sizes in one dataset: .*c\.tif has a 4 × 4 pixel but .*a\.tif has a 2 × 2 pixel/,
      );

      // An all-NoData file among good ones is skipped with a warning naming it.
      await Deno.remove(join(folder, "c.tif"));
      await write("b2.tif", 2);
      await writeTiff(join(folder, "d.tif"), {
        width: 32,
        height: 32,
        bands: 1,
        data: new Float32Array(1024).fill(-9999),
        noData: -9999,
        geo: { geoTransform: northUpGeoTransform([0, 0], 2) },
      });
      const warnings: string[] = [];
      const dataset = await loadTrainingDataset({
        img_dir: folder,
        folder: true,
        resolution: 16,
        channels: 1,
        kind: "elevation",
        log: { info() {}, warn: (m) => warnings.push(m) },
      });
      assert.equal(dataset.count, 2);
      assert.match(warnings[0], /d\.tif holds no valid pixels \(all NoData: every pixel is -9999\)/);
    });
  });
});
