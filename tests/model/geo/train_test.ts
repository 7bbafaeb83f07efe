/**
 * Training on GeoTIFF tiles, a few steps each: 4-band NAIP (RGB + NIR), float elevation (statistics in the
 * checkpoint), synthetic land cover (one-hot); then generated tiles written back as GeoTIFFs of the right
 * kind, with the pixel size of the output depth.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../../model/config.ts";
import { train } from "../../../model/train/loop.ts";
import { openTrainingData } from "../../../model/train/data_adapter.ts";
import { RunDir } from "../../../model/train/run_dir.ts";
import { readSafetensors } from "../../../model/checkpoint/safetensors.ts";
import { loadGenerator } from "../../../model/checkpoint/checkpoint.ts";
import { generateImages } from "../../../model/generate.ts";
import { normalizationOf, parseNormalization } from "../../../model/geo/normalization.ts";
import { decodeGenerated, writeGeneratedTiles } from "../../../model/geo/outputs.ts";
import { readGeoTiff } from "../../../model/geo/read.ts";
import { cutTiles } from "../../../model/geo/tiles.ts";
import { northUpGeoTransform } from "../../../model/geo/write.ts";
import { useBackend } from "../../support/backends.ts";
import { DSM, DTM, landCoverCodes, NAIP_FILES, runCli, withTempDir, writeTiff } from "./helpers.ts";
import { TINY_NETWORK, tinySchedule } from "../../support/tiny_training.ts";

/** A 16 px network that trains in seconds (as tests/model/train/train_test.ts). */
const TINY = [...TINY_NETWORK, ...tinySchedule([1, 1, 1], 4), "sample_every=1000"];

/** Train `steps` steps on `imgDir`; returns the shadow generator checkpoint and its metadata. */
async function trainFew(imgDir: string, out: string, sets: string[], steps = 2) {
  const config = await loadConfig(undefined, [
    ...TINY,
    ...sets,
    `dataset.img_dir=${imgDir}`,
    `output_dir=${out}`,
  ]);
  const run = new RunDir(out);
  await run.prepare(config);
  const data = await openTrainingData(config, run, () => {});
  const state = await train({ config, data, maxSteps: steps });
  assert.equal(state.step, steps);
  const latest = JSON.parse(await Deno.readTextFile(`${out}/models/latest.json`));
  const shadow = `${out}/models/${latest.files.shadow}`;
  const { metadata } = await readSafetensors(shadow);
  return { shadow, metadata, data };
}

Deno.test("training on GeoTIFF tiles and writing GeoTIFF outputs", async (t) => {
  await useBackend("wasm");
  await withTempDir(async (dir) => {
    await t.step("4-band NAIP tiles: channels 4, gsd from the GeoTIFF, 4-band uint8 outputs", async () => {
      await cutTiles(NAIP_FILES.slice(0, 2), { size: 256, outDir: join(dir, "naip") });
      const { shadow, metadata } = await trainFew(join(dir, "naip"), join(dir, "run-naip"), [
        "dataset.kind=multiband",
        "dataset.channels=4",
      ]);
      // 5 m NAIP pixels, 256 px tiles trained at 16 px: 80 m per pixel at full depth.
      assert.equal(Number(metadata.gsd_m), 5 * 256 / 16);
      const n = parseNormalization(metadata.normalization, shadow);
      assert.deepEqual(n, { kind: "multiband", scaling: "uint8", channels: 4, source_bands: [1, 2, 3, 4] });

      const { network: G } = await loadGenerator(shadow);
      const images = generateImages(G, { seeds: [1, 2], depth: 1 });
      const files = await writeGeneratedTiles(images, ["a", "b"], n, {
        resolution: 16,
        gsdM: Number(metadata.gsd_m),
        depth: 1,
        origin: [486400, 5208997],
        crs: { epsg: 26914 },
      }, join(dir, "out-naip"));
      assert.deepEqual(files.map((f) => f.split("/").pop()), ["a.tif", "a.png", "b.tif", "b.png"]);
      const tile = await readGeoTiff(join(dir, "out-naip/a.tif"));
      assert.deepEqual([tile.width, tile.bands, tile.dtype, tile.photometric], [8, 4, "uint8", 2]);
      assert.deepEqual(tile.geo!.pixelSizeM, [160, 160]); // depth 1 of a 16 px model: 80 m × 2
      assert.deepEqual(tile.geo!.origin, [486400, 5208997]);
      assert.equal(tile.geo!.crs.epsg, 26914);
      const expected = (await decodeGenerated(images, n))[0].data;
      assert.deepEqual(tile.data, expected);
      images.dispose();
      G.dispose();
    });

    await t.step(
      "elevation tiles: channels 1, statistics in the checkpoint, float32 outputs in metres",
      async () => {
        await cutTiles([DSM, DTM], { size: 64, stride: 32, outDir: join(dir, "elevation") });
        const { shadow, metadata, data } = await trainFew(
          join(dir, "elevation"),
          join(dir, "run-elevation"),
          [
            "dataset.kind=elevation",
            "dataset.channels=1",
          ],
        );
        assert.equal(Number(metadata.gsd_m), 2 * 64 / 16);
        const n = parseNormalization(metadata.normalization, shadow);
        assert.deepEqual(n, data.normalization);
        assert.equal(n.scaling, "linear");
        if (n.scaling !== "linear") return;
        assert.deepEqual([n.kind, n.dtype, n.unit, n.no_data], ["elevation", "float32", "m", -9999]);
        const [band] = n.bands;
        assert.ok(band.min >= 6.9 && band.max <= 39.06 && band.valid_pixels > 0, JSON.stringify(band));

        const { network: G, metadata: meta } = await loadGenerator(shadow);
        const norm = normalizationOf(meta, G.options.num_channels, shadow);
        const images = generateImages(G, { seeds: [7], depth: 2 });
        await writeGeneratedTiles(
          images,
          ["dem"],
          norm,
          { resolution: 16, gsdM: Number(meta.gsd_m) },
          join(dir, "out-dem"),
        );
        const dem = await readGeoTiff(join(dir, "out-dem/dem.tif"));
        assert.deepEqual([dem.width, dem.bands, dem.dtype], [16, 1, "float32"]);
        assert.deepEqual(dem.geo!.pixelSize, [8, 8]);
        assert.deepEqual(dem.geo!.origin, [0, 0]);
        assert.equal(dem.geo!.crs.epsg, null);
        // Metres: the generator's values times the dataset's half-range plus its mid-point.
        const raw = await images.data();
        for (const i of [0, 100, 255]) {
          assert.ok(
            Math.abs(dem.data[i] - (raw[i] * band.scale + band.offset)) < 1e-4,
            `${dem.data[i]} at ${i}`,
          );
        }
        const png = await Deno.readFile(join(dir, "out-dem/dem.png"));
        assert.deepEqual(Array.from(png.subarray(1, 4)), [0x50, 0x4e, 0x47]);
        images.dispose();
        G.dispose();

        // deno task scale reads the same checkpoint.
        const scale = await runCli("scale.ts", ["--checkpoint", shadow]);
        assert.equal(scale.code, 0, scale.stderr);
        assert.match(scale.stdout, /16 px, 1 channel\(s\) \(elevation\), 8 m\/px at full resolution/);
        assert.match(scale.stdout, /^\s+0\s+4\s+32 m\s+0–1 /m);
        assert.match(scale.stdout, /^\s+2\s+16\s+8 m\s+4–5 /m);
      },
    );

    await t.step("synthetic land cover: one channel per class, argmax + palette on output", async () => {
      const codes = [11, 42, 90];
      const palette = ["#4e79a7", "#59a14f", "#e15759"];
      await Deno.mkdir(join(dir, "lc"));
      for (let i = 0; i < 8; i++) {
        await writeTiff(join(dir, "lc", `lc${i}.tif`), {
          width: 32,
          height: 32,
          bands: 1,
          data: landCoverCodes(32, codes, i),
          geo: { geoTransform: northUpGeoTransform([500000, 4000000], 30), crs: { epsg: 32614 } },
        });
      }
      const { shadow, metadata } = await trainFew(join(dir, "lc"), join(dir, "run-lc"), [
        "dataset.kind=landcover",
        "dataset.channels=3",
        `dataset.classes=[${codes}]`,
        `dataset.palette=[${palette.map((p) => `"${p}"`)}]`,
        `dataset.class_names=[water, forest, urban]`,
      ]);
      assert.equal(Number(metadata.gsd_m), 30 * 32 / 16);
      const n = parseNormalization(metadata.normalization, shadow);
      assert.deepEqual(n, {
        kind: "landcover",
        scaling: "onehot",
        channels: 3,
        classes: codes,
        palette,
        class_names: ["water", "forest", "urban"],
        source_bands: [1],
      });

      const { network: G } = await loadGenerator(shadow);
      const images = generateImages(G, { seeds: [3], depth: 2 });
      await writeGeneratedTiles(images, ["lc"], n, { resolution: 16, gsdM: 60 }, join(dir, "out-lc"));
      const map = await readGeoTiff(join(dir, "out-lc/lc.tif"));
      assert.deepEqual([map.bands, map.dtype, map.photometric], [1, "uint8", 3]);
      assert.deepEqual(map.colorMap![42], [0x59, 0xa1, 0x4f]);
      assert.deepEqual(map.geo!.pixelSize, [60, 60]);
      const raw = await images.data();
      for (let p = 0; p < 256; p++) {
        const scores = [raw[3 * p], raw[3 * p + 1], raw[3 * p + 2]];
        assert.equal(map.data[p], codes[scores.indexOf(Math.max(...scores))]);
      }
      images.dispose();
      G.dispose();
    });
  });
});
