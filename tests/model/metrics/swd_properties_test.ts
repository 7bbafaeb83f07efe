/** Properties of the multi-scale SWD that hold whatever the reference numbers say. */
import assert from "node:assert/strict";
import {
  type ByteImage,
  type Descriptors,
  generateLaplacianPyramid,
  multiScaleSWD,
  projectDescriptors,
  pyrDown,
  pyrUp,
  radixSortFloat32,
  randint,
  reconstructLaplacianPyramid,
  slicedWasserstein,
  SlicedWassersteinMetric,
  swdResolutions,
  wasserstein1Sorted,
} from "../../../model/metrics/swd.ts";
import { formatSWDTable, swdLevels, swdReport } from "../../../model/metrics/report.ts";
import { tfProjector } from "../../../model/metrics/tf_projection.ts";
import { groundResolutionAt } from "../../../model/scale.ts";
import { RandomState } from "../../../model/seeds.ts";
import { useBackend } from "../../support/backends.ts";

/** Smooth structure plus noise, different per image; `channels` generic. */
function syntheticSet(seed: number, count: number, size: number, channels = 3): ByteImage[] {
  const rng = new RandomState(seed);
  return Array.from({ length: count }, () => {
    const data = new Uint8Array(size * size * channels);
    const freq = Array.from({ length: channels }, () => 1 + 5 * rng.randomSample());
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < channels; c++) {
          const v = 128 + 50 * Math.sin((2 * Math.PI * freq[c] * (x + 0.7 * y)) / size) +
            20 * rng.standardNormal();
          data[(y * size + x) * channels + c] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
    return { width: size, height: size, channels, data };
  });
}

/** A copy of a set with each image's channel 0 offset by `offsets[i]` (clamped to 0..255). */
function shiftColour(images: ByteImage[], offsets: number[]): ByteImage[] {
  return images.map((image, i) => {
    const data = image.data.slice();
    for (let p = 0; p < data.length; p += image.channels) {
      data[p] = Math.max(0, Math.min(255, data[p] + offsets[i]));
    }
    return { ...image, data };
  });
}

const SMALL = { nhoods_per_image: 32, dir_repeats: 2, dirs_per_repeat: 32 };

Deno.test("Laplacian pyramid reconstructs the image (1, 3 and 4 channels)", () => {
  for (const channels of [1, 3, 4]) {
    const [image] = syntheticSet(5, 1, 64, channels);
    const pyramid = generateLaplacianPyramid(image, 3);
    assert.deepEqual(pyramid.map((l) => [l.width, l.height, l.channels]), [[64, 64, channels], [
      32,
      32,
      channels,
    ], [16, 16, channels]]);
    const back = reconstructLaplacianPyramid(pyramid);
    let worst = 0;
    for (let i = 0; i < image.data.length; i++) {
      worst = Math.max(worst, Math.abs(back.data[i] - image.data[i]));
    }
    assert.ok(worst < 1e-3, `${channels} channels: reconstruction error ${worst}`);
  }
});

Deno.test("pyr_down and pyr_up keep a constant image constant (mirrored borders)", () => {
  const flat = { width: 16, height: 16, channels: 2, data: new Float32Array(16 * 16 * 2).fill(77) };
  for (const out of [pyrDown(flat), pyrUp(flat)]) {
    for (const v of out.data) assert.ok(Math.abs(v - 77) < 1e-4, `${v}`);
  }
  const pyramid = generateLaplacianPyramid(flat, 2);
  for (const v of pyramid[0].data) assert.ok(Math.abs(v) < 1e-4);
});

Deno.test("levels run from the resolution down to 16 px", () => {
  assert.deepEqual(swdResolutions(256), [256, 128, 64, 32, 16]);
  assert.deepEqual(swdResolutions(16), [16]);
  assert.throws(() => swdResolutions(8), /at least 16/);
  assert.throws(() => swdResolutions(48), /power of two/);
});

Deno.test("SWD of a set with itself is exactly 0; SWD is symmetric", () => {
  const a = syntheticSet(1, 6, 32);
  const b = syntheticSet(2, 6, 32);
  const metric = new SlicedWassersteinMetric(32, 3, SMALL);
  const da = metric.describe(a);
  const db = metric.describe(b);
  assert.deepEqual(metric.distance(da, da), [0, 0]);
  assert.deepEqual(metric.distance(da, metric.describe(a.map((im) => ({ ...im, data: im.data.slice() })))), [
    0,
    0,
  ]);
  const ab = metric.distance(da, db);
  assert.deepEqual(metric.distance(db, da), ab);
  for (const d of ab) assert.ok(d > 0);
});

Deno.test("SWD grows with a shift in the colour distribution", () => {
  const a = syntheticSet(3, 8, 32);
  const metric = new SlicedWassersteinMetric(32, 3, SMALL);
  const da = metric.describe(a);
  // Half the images redder, half less red: the set's colour distribution spreads as the shift grows.
  const coarse: number[] = [];
  const average: number[] = [];
  for (const shift of [0, 10, 25, 50]) {
    const swd = metric.distance(
      da,
      metric.describe(shiftColour(a, a.map((_, i) => (i % 2 ? shift : -shift)))),
    );
    coarse.push(swd[swd.length - 1]);
    average.push(swd.reduce((s, v) => s + v, 0) / swd.length);
  }
  assert.equal(coarse[0], 0);
  for (let i = 1; i < coarse.length; i++) {
    assert.ok(coarse[i] > coarse[i - 1], `coarsest level: ${coarse}`);
    assert.ok(average[i] > average[i - 1], `average: ${average}`);
  }
});

Deno.test("a uniform colour offset of a whole set is not measured (descriptors normalised per set and channel)", () => {
  const a = syntheticSet(4, 6, 32).map((im) => ({ ...im, data: im.data.map((v) => Math.min(v, 200)) }));
  const { swd } = multiScaleSWD(a, shiftColour(a, a.map(() => 40)), SMALL);
  for (const d of swd) assert.ok(d < 1e-2, `${swd}`);
});

Deno.test("flat images give finite distances (zero variance is centred, not divided)", () => {
  const flat = Array.from(
    { length: 3 },
    () => ({ width: 16, height: 16, channels: 3, data: new Uint8Array(768).fill(90) }),
  );
  const { swd } = multiScaleSWD(flat, syntheticSet(6, 3, 16), SMALL);
  assert.ok(swd.every(Number.isFinite), `${swd}`);
});

Deno.test("results are reproducible from the seed and change with it", () => {
  const a = syntheticSet(7, 4, 32);
  const b = syntheticSet(8, 4, 32);
  assert.deepEqual(multiScaleSWD(a, b, SMALL), multiScaleSWD(a, b, SMALL));
  assert.notDeepEqual(multiScaleSWD(a, b, { ...SMALL, seed: 1 }).swd, multiScaleSWD(a, b, SMALL).swd);
  assert.throws(() => new SlicedWassersteinMetric(32, 3, { seed: -1 }), /seed must be an integer/);
  assert.throws(() => new SlicedWassersteinMetric(32, 3, { seed: 0.5 }), /seed must be an integer/);
});

Deno.test("sets of different sizes: exact 1-D Wasserstein-1 of the empirical distributions", () => {
  const rng = new RandomState(9);
  const sorted = (n: number) => Float64Array.from(rng.randn(n)).sort();
  // Expanding each sample to a common length (lcm) gives the same distributions: compare with PGGAN's formula.
  for (const [na, nb] of [[3, 5], [4, 6], [7, 7], [1, 4]]) {
    const a = sorted(na);
    const b = sorted(nb);
    const expandedA = Array.from({ length: na * nb }, (_, i) => a[Math.floor(i / nb)]);
    const expandedB = Array.from({ length: na * nb }, (_, i) => b[Math.floor(i / na)]);
    const pggan = expandedA.reduce((s, v, i) => s + Math.abs(v - expandedB[i]), 0) / (na * nb);
    assert.ok(Math.abs(wasserstein1Sorted(a, b) - pggan) < 1e-12, `${na} vs ${nb}`);
  }
  // Descriptors against themselves repeated: the same distribution, distance 0.
  const metric = new SlicedWassersteinMetric(16, 3, SMALL);
  const [once] = metric.describe(syntheticSet(10, 3, 16)).levels;
  const twice: Descriptors = { ...once, count: 2 * once.count, data: new Float32Array(2 * once.data.length) };
  twice.data.set(once.data);
  twice.data.set(once.data, once.data.length);
  assert.equal(slicedWasserstein(once, twice, metric.directionsAt(0)), 0);
});

Deno.test("radix sort orders float32 like Float32Array.prototype.sort", () => {
  const rng = new RandomState(11);
  for (const n of [0, 1, 2, 1000, 4097]) {
    const values = Float32Array.from(
      rng.randn(n),
      (v, i) => (i % 7 === 0 ? v * 1e-40 : i % 11 === 0 ? Math.round(v) : v * 1e3),
    );
    if (n > 10) values.set([0, -0, Infinity, -Infinity, 3.4e38, -3.4e38], 3);
    const expected = values.slice().sort();
    radixSortFloat32(values);
    assert.deepEqual(
      [...values].map((v) => Object.is(v, -0) ? "-0" : v),
      [...expected].map((v) => Object.is(v, -0) ? "-0" : v),
    );
  }
});

Deno.test("randint stays in [low, high) and covers it", () => {
  const rng = new RandomState(12);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = randint(rng, 3, 13);
    assert.ok(v >= 3 && v < 13);
    seen.add(v);
  }
  assert.equal(seen.size, 10);
  assert.throws(() => randint(rng, 5, 5), RangeError);
});

Deno.test("the TensorFlow.js projector agrees with the plain-JS one (cpu, wasm)", async () => {
  const rng = new RandomState(13);
  const desc: Descriptors = { count: 301, dim: 147, data: Float32Array.from(rng.randn(301 * 147)) };
  const dirs = Float32Array.from(rng.randn(147 * 64));
  const expected = projectDescriptors(desc, dirs, 64);
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend);
    const got = tfProjector(desc, dirs, 64);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
    assert.ok(worst < 1e-4, `${backend}: ${worst}`);
    const a = syntheticSet(14, 3, 16);
    const b = syntheticSet(15, 3, 16);
    const js = new SlicedWassersteinMetric(16, 3, SMALL);
    const tf = new SlicedWassersteinMetric(16, 3, SMALL, tfProjector);
    const [x] = js.distance(js.describe(a), js.describe(b));
    const [y] = tf.distance(tf.describe(a), tf.describe(b));
    assert.ok(Math.abs(x - y) < 1e-5 * x, `${backend}: ${x} vs ${y}`);
  }
});

Deno.test("slicedWasserstein refuses mismatched descriptor sizes", () => {
  const a: Descriptors = { count: 2, dim: 3, data: new Float32Array(6) };
  const b: Descriptors = { count: 2, dim: 4, data: new Float32Array(8) };
  assert.throws(() => slicedWasserstein(a, b, [new Float32Array(3)]), /descriptor sizes differ/);
});

Deno.test("report: each level's metres come from model/scale.ts", () => {
  const levels = swdLevels([1, 2, 3, 4, 5], 256, 0.3);
  assert.deepEqual(levels.map((l) => l.pixels), [256, 128, 64, 32, 16]);
  assert.deepEqual(levels.map((l) => l.depth), [6, 5, 4, 3, 2]);
  levels.forEach((l) => assert.equal(l.metres_per_pixel, groundResolutionAt(l.depth, 256, 0.3)));
  assert.ok(Math.abs(levels[4].metres_per_pixel - 4.8) < 1e-12);
  const report = swdReport([10, 20, 30], 64, 1.2192);
  assert.equal(report.average_x1e3, 20);
  const table = formatSWDTable(report);
  assert.match(table, /level\s+px\s+m\/px\s+SWD×1e3/);
  assert.match(
    table,
    /\n\s+0\s+64\s+1\.22\s+10\.00\n\s+1\s+32\s+2\.44\s+20\.00\n\s+2\s+16\s+4\.88\s+30\.00\naverage\s+20\.00$/,
  );
});
