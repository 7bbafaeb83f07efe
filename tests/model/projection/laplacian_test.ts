import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../../model/backend/select.ts";
import { laplacianL1, laplacianPyramid, pyramidLevels } from "../../../model/projection/laplacian.ts";

// A 4 × 4 one-channel image worked by hand. 2 × 2 block means: [[2, 6], [0, 3]]; their mean: 2.75.
const IMAGE = [
  [1, 3, 5, 7],
  [1, 3, 5, 7],
  [0, 0, 2, 2],
  [0, 0, 2, 6],
];
// Level 0 = image − nearest-upsampled block means.
const LEVEL0 = [
  [-1, 1, -1, 1],
  [-1, 1, -1, 1],
  [0, 0, -1, -1],
  [0, 0, -1, 3],
];
// Level 1 = block means − their mean; level 2 = the mean.
const LEVEL1 = [[-0.75, 3.25], [-2.75, 0.25]];
const LEVEL2 = [[2.75]];

const image4d = (rows: number[][]) => tf.tensor4d(rows.flat(), [1, rows.length, rows[0].length, 1]);

Deno.test("laplacianPyramid: levels of a hand-worked 4 × 4 image; they sum back to the image", async () => {
  await initBackend("cpu", { quiet: true });
  const x = image4d(IMAGE);
  const levels = laplacianPyramid(x, 3);
  assert.deepEqual(levels.map((l) => l.shape), [[1, 4, 4, 1], [1, 2, 2, 1], [1, 1, 1, 1]]);
  assert.deepEqual(Array.from(levels[0].dataSync()), LEVEL0.flat());
  assert.deepEqual(Array.from(levels[1].dataSync()), LEVEL1.flat());
  assert.deepEqual(Array.from(levels[2].dataSync()), LEVEL2.flat());
  // Reconstruction: up(up(L2) + L1) + L0 = the image.
  const up = (t: tf.Tensor4D) => tf.image.resizeNearestNeighbor(t, [t.shape[1] * 2, t.shape[2] * 2]);
  const back = tf.add(up(tf.add(up(levels[2]), levels[1]) as tf.Tensor4D), levels[0]);
  assert.deepEqual(Array.from(back.dataSync()), IMAGE.flat());
  tf.dispose([x, back, ...levels]);
});

Deno.test("laplacianL1: the per-level mean absolute differences, summed", async () => {
  await initBackend("cpu", { quiet: true });
  const x = image4d(IMAGE);
  const zero = tf.zerosLike(x);
  // mean |L0| = 14/16, mean |L1| = 7/4, |L2| = 2.75
  const value = laplacianL1(x, zero, 3);
  assert.ok(Math.abs(value.dataSync()[0] - (14 / 16 + 7 / 4 + 2.75)) < 1e-6);
  // One level is plain L1.
  const one = laplacianL1(x, zero, 1);
  assert.ok(Math.abs(one.dataSync()[0] - IMAGE.flat().reduce((s, v) => s + v, 0) / 16) < 1e-6);
  tf.dispose([x, zero, value, one]);
});

Deno.test("laplacianL1: its gradient matches central finite differences", async () => {
  await initBackend("cpu", { quiet: true });
  const a = tf.tensor4d(Array.from({ length: 16 }, (_, i) => Math.sin(i * 1.7) * 2), [1, 4, 4, 1]);
  const b = image4d(IMAGE);
  const grad = tf.grad((x: tf.Tensor) => laplacianL1(x as tf.Tensor4D, b, 3))(a);
  const g = grad.dataSync();
  const base = a.dataSync();
  const h = 1e-3;
  for (const i of [0, 5, 10, 15]) {
    const plus = Float32Array.from(base);
    const minus = Float32Array.from(base);
    plus[i] += h;
    minus[i] -= h;
    const f = (v: Float32Array) =>
      tf.tidy(() => laplacianL1(tf.tensor4d(v, [1, 4, 4, 1]), b, 3).dataSync()[0]);
    const numeric = (f(plus) - f(minus)) / (2 * h);
    assert.ok(Math.abs(numeric - g[i]) < 1e-3, `pixel ${i}: analytic ${g[i]}, numeric ${numeric}`);
  }
  tf.dispose([a, b, grad]);
});

Deno.test("pyramidLevels: halvings down to 4 px; bad sizes are refused", async () => {
  assert.equal(pyramidLevels(64), 5);
  assert.equal(pyramidLevels(4), 1);
  assert.equal(pyramidLevels(6), 1);
  await initBackend("cpu", { quiet: true });
  const x = tf.zeros([1, 6, 6, 1]) as tf.Tensor4D;
  assert.throws(() => laplacianPyramid(x, 3), /6×6 image cannot be halved 2 times/);
  assert.throws(() => laplacianPyramid(x, 0), /levels must be a positive integer/);
  x.dispose();
});
