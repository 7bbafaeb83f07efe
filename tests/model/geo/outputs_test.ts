/** Outputs: normalised values back to data, pixel size per depth, hillshade (Horn), previews; config keys. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { ConfigError, loadConfig } from "../../../model/config.ts";
import { hillshade } from "../../../model/geo/hillshade.ts";
import {
  bandStatistics,
  defaultPalette,
  denormalize,
  type Normalization,
  normalizationOf,
  normalizeInPlace,
} from "../../../model/geo/normalization.ts";
import {
  decodeGenerated,
  generatedGeoTiff,
  outputGeoTransform,
  previewRaster,
} from "../../../model/geo/outputs.ts";
import { scaleTable } from "../../../model/scale.ts";
import { useBackend } from "../../support/backends.ts";

const ELEVATION: Normalization = {
  kind: "elevation",
  scaling: "linear",
  channels: 1,
  dtype: "float32",
  bands: [{ min: 100, max: 300, mean: 180, std: 40, offset: 200, scale: 100, valid_pixels: 10 }],
  source_bands: [1],
  no_data: -9999,
  unit: "m",
};

Deno.test("geo outputs", async (t) => {
  await useBackend("cpu");

  await t.step("the scale is computed: a 512 px model at 1 m renders depth 6 at 2 m, not 4 m", () => {
    const rows = scaleTable(512, 1);
    assert.deepEqual(rows.map((r) => r.metres_per_pixel), [128, 64, 32, 16, 8, 4, 2, 1]);
    assert.equal(rows[6].pixels, 256);
    const gt = outputGeoTransform(256, { resolution: 512, gsdM: 1, depth: 6 });
    assert.deepEqual(gt, [0, 2, 0, 0, 0, -2]);
    // NAIP at 5 m, 256 px tiles; UC Merced at 0.3048 m, 256 px.
    assert.deepEqual(scaleTable(256, 5).map((r) => r.metres_per_pixel), [320, 160, 80, 40, 20, 10, 5]);
    assert.equal(+scaleTable(256, 0.3048)[0].metres_per_pixel.toFixed(4), 19.5072);
    assert.throws(
      () => outputGeoTransform(128, { resolution: 512, gsdM: 1, depth: 6 }),
      /128 px is not depth 6 \(256 px\)/,
    );
  });

  await t.step("statistics, normalisation and its inverse; a constant band does not divide by zero", () => {
    const values = Float32Array.of(10, 5, NaN, 5, 30, 5);
    const stats = bandStatistics(values, 2);
    assert.deepEqual([stats[0].min, stats[0].max, stats[0].mean, stats[0].valid_pixels], [10, 30, 20, 2]);
    assert.deepEqual([stats[1].offset, stats[1].scale, stats[1].std], [5, 1, 0]);
    const copy = values.slice();
    normalizeInPlace(copy, stats);
    assert.deepEqual(Array.from(copy), [-1, 0, NaN, 0, 1, 0]);
    assert.deepEqual(Array.from(denormalize(Float32Array.of(-1, 0, 1, 0), stats)), [10, 5, 30, 5]);
    assert.equal(defaultPalette(25).length, 25);
    assert.equal(new Set(defaultPalette(25)).size, 25);
    assert.deepEqual(normalizationOf({}, 3, "old.safetensors"), {
      kind: "rgb",
      scaling: "uint8",
      channels: 3,
      source_bands: null,
    });
    assert.throws(
      () => normalizationOf({ normalization: JSON.stringify(ELEVATION) }, 3, "x.safetensors"),
      /x\.safetensors: the normalization is for 1 channel\(s\) but the generator has 3/,
    );
  });

  await t.step("generated values → data: bytes, metres, class codes by argmax", async () => {
    const images = tf.tensor4d([-1, 0, 1, 2], [1, 2, 2, 1]);
    const [metres] = await decodeGenerated(images, ELEVATION);
    assert.ok(metres.data instanceof Float32Array);
    assert.deepEqual(Array.from(metres.data), [100, 200, 300, 400]);
    const [bytes] = await decodeGenerated(images, {
      kind: "rgb",
      scaling: "uint8",
      channels: 1,
      source_bands: null,
    });
    assert.deepEqual(Array.from(bytes.data), [0, 128, 255, 255]);
    const wide = { ...ELEVATION, kind: "multiband" as const, dtype: "uint16" as const };
    const [counts] = await decodeGenerated(images, wide);
    assert.ok(counts.data instanceof Uint16Array);
    assert.deepEqual(Array.from(counts.data), [100, 200, 300, 400]);

    const landcover: Normalization = {
      kind: "landcover",
      scaling: "onehot",
      channels: 3,
      classes: [11, 42, 90],
      palette: ["#ff0000", "#00ff00", "#0000ff"],
      source_bands: [1],
    };
    const scores = tf.tensor4d([0.9, -1, -1, -1, 0.2, 0.5, -1, -1, -1, 0.1, 0.1, 0], [1, 2, 2, 3]);
    const [classes] = await decodeGenerated(scores, landcover);
    assert.deepEqual([classes.bands, Array.from(classes.data)], [1, [11, 90, 11, 11]]);
    const four = { ...classes, width: 4, height: 4, data: new Uint8Array(16).fill(90) };
    const tiff = generatedGeoTiff(four, { resolution: 8, gsdM: 10, depth: 0 });
    assert.deepEqual(tiff.colorMap![90], [0, 0, 255]);
    assert.deepEqual(tiff.geo!.geoTransform, [0, 20, 0, 0, 0, -20]);
    assert.deepEqual(Array.from(previewRaster(classes).data.subarray(0, 6)), [255, 0, 0, 0, 0, 255]);
    await assert.rejects(decodeGenerated(images, landcover), /1 channel\(s\) but the normalization is for 3/);
    tf.dispose([images, scores]);
  });

  await t.step("previews: chosen bands, dataset-stretched wide bands, hillshade for elevation", () => {
    const uint8 = { kind: "multiband", scaling: "uint8", channels: 4, source_bands: null } as Normalization;
    const rgbn = {
      width: 1,
      height: 1,
      bands: 4,
      data: Uint8Array.of(10, 20, 30, 200),
      normalization: uint8,
    };
    assert.deepEqual(Array.from(previewRaster(rgbn).data), [10, 20, 30]);
    assert.deepEqual(Array.from(previewRaster(rgbn, { rgbBands: [4, 1, 2] }).data), [200, 10, 20]);
    assert.throws(() => previewRaster(rgbn, { rgbBands: [5, 1, 2] }), /preview band 5 does not exist/);
    const wide = {
      width: 1,
      height: 1,
      bands: 1,
      data: Float32Array.of(250),
      normalization: { ...ELEVATION, kind: "multiband" } as Normalization,
    };
    assert.deepEqual(Array.from(previewRaster(wide).data), [191, 191, 191]);
    const flat = {
      width: 3,
      height: 3,
      bands: 1,
      data: new Float32Array(9).fill(120),
      normalization: ELEVATION,
    };
    assert.deepEqual(Array.from(previewRaster(flat, { pixelSizeM: 2 }).data.subarray(0, 3)), [180, 180, 180]);
  });

  await t.step("hillshade, Horn's method, light from 315° at 45°", () => {
    const w = 5;
    const grid = (f: (x: number, y: number) => number) =>
      Float32Array.from({ length: w * w }, (_, i) => f(i % w, Math.floor(i / w)));
    const centre = (z: Float32Array, cell = 1) => hillshade(z, w, w, cell)[12];
    // Flat ground: 255 · sin(45°).
    assert.equal(centre(grid(() => 7)), Math.round(255 * Math.SQRT1_2));
    // Rising to the south-east, i.e. facing the light in the north-west: slope 54.7°, lit at 9.7° off the normal.
    const slope = Math.atan(Math.SQRT2);
    assert.equal(centre(grid((x, y) => x + y)), Math.round(255 * Math.cos(slope - Math.PI / 4)));
    // Facing away (south-east) beyond the light's altitude: black.
    assert.equal(centre(grid((x, y) => -x - y)), 0);
    // Rising to the east (faces west): cos(45°)cos(45°) + sin(45°)sin(45°)cos(135° − 180°).
    const east = 255 * (0.5 + 0.5 * Math.cos((135 - 180) * Math.PI / 180));
    assert.equal(centre(grid((x) => x)), Math.round(east));
    // Larger cells are gentler slopes; the z factor steepens them back.
    assert.equal(centre(grid((x) => 2 * x), 2), Math.round(east));
    assert.equal(hillshade(grid((x) => x), w, w, 2, 2, { zFactor: 2 })[12], Math.round(east));
  });

  await t.step("configuration: dataset.kind and its rules", async () => {
    const base = ["dataset.img_dir=x"];
    const c = await loadConfig(undefined, [
      ...base,
      "dataset.kind=landcover",
      "dataset.channels=3",
      "dataset.classes=[1,2,5]",
    ]);
    assert.deepEqual([c.dataset.kind, c.dataset.classes, c.dataset.gsd_source], [
      "landcover",
      [1, 2, 5],
      "auto",
    ]);
    const d = await loadConfig(undefined, base);
    assert.deepEqual([d.dataset.kind, d.dataset.bands, d.dataset.channels], ["rgb", [], 3]);
    for (
      const [sets, pattern] of [
        [["dataset.kind=elevation"], /kind elevation trains one band: set dataset.channels to 1, got 3/],
        [["dataset.kind=landcover", "dataset.classes=[1,2]"], /set dataset.channels to 2, got 3/],
        [["dataset.kind=landcover", "dataset.channels=1"], /needs dataset.classes/],
        [["dataset.kind=dem"], /dataset\.kind/],
        [
          ["dataset.kind=multiband", "dataset.channels=4", "dataset.bands=[1,2,3]"],
          /lists 3 band\(s\) for 4 channel/,
        ],
        [["dataset.classes=[1,2,3]"], /classes, class_names and palette are for kind landcover/],
        [
          ["dataset.kind=landcover", "dataset.channels=2", "dataset.classes=[1,1]"],
          /must not repeat a class code/,
        ],
        [[
          "dataset.kind=landcover",
          "dataset.channels=2",
          "dataset.classes=[1,2]",
          "dataset.palette=[red, blue]",
        ], /"#rrggbb"/],
        [["dataset.kind=multiband", "dataset.channels=1", "dataset.bands=[0]"], /band numbers start at 1/],
        [["dataset.gsd_source=exif"], /dataset\.gsd_source/],
      ] as [string[], RegExp][]
    ) {
      await assert.rejects(loadConfig(undefined, [...base, ...sets]), (e: Error) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, pattern);
        return true;
      });
    }
  });
});
