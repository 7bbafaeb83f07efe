/**
 * DiffAugment against independent truth: each transform on tiny images with fixed parameters against pixel
 * values worked by hand; gradients against float64 finite differences of a plain-JS implementation of the
 * paper's formulas; R1's double backprop through the transforms against the penalty worked out for a
 * quadratic D; the parameters' ranges and their draws from the run's generator; bad policies.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { augmentImages } from "../../../model/train/augment.ts";
import {
  type AugmentParams,
  cutoutSide,
  drawAugmentParams,
  maxTranslation,
  parseAugmentPolicy,
  sliceAugmentParams,
} from "../../../model/train/augment_policy.ts";
import { r1Penalty } from "../../../model/losses.ts";
import { RandomState } from "../../../model/seeds.ts";
import { ParameterTree } from "../../../model/layers/parameters.ts";
import { Discriminator } from "../../../model/networks/discriminator.ts";
import { Generator } from "../../../model/networks/generator.ts";
import { discriminatorGradients, fakeImages, generatorGradients } from "../../../model/train/step_grads.ts";
import { useBackend } from "../../support/backends.ts";

const near = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    assert.ok(
      Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
};

/** The 4×4 one-channel image 1..16, row by row. */
const ramp = Array.from({ length: 16 }, (_, i) => i + 1);

/** Apply augmentImages to plain values and read them back. */
async function augmented(values: number[], shape: [number, number, number, number], params: AugmentParams) {
  const x = tf.tensor4d(values, shape);
  const y = augmentImages(x, params);
  const out = Array.from(await y.data());
  tf.dispose([x, y]);
  return out;
}

/**
 * The paper's formulas in float64 over plain arrays (NHWC), written from DiffAugment_pytorch.py independently
 * of model/train/augment.ts: per-pixel loops, clamped indices as the reference's grid.
 */
function referenceAugment(x: Float64Array, [n, h, w, c]: number[], p: AugmentParams): Float64Array {
  let y = Float64Array.from(x);
  const at = (k: number, i: number, j: number, ch: number) => ((k * h + i) * w + j) * c + ch;
  if (p.color) {
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < h * w * c; i++) y[k * h * w * c + i] += p.color.brightness[k];
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          let m = 0;
          for (let ch = 0; ch < c; ch++) m += y[at(k, i, j, ch)] / c;
          for (let ch = 0; ch < c; ch++) {
            y[at(k, i, j, ch)] = (y[at(k, i, j, ch)] - m) * p.color.saturation[k] + m;
          }
        }
      }
      let m = 0;
      for (let i = 0; i < h * w * c; i++) m += y[k * h * w * c + i] / (h * w * c);
      for (let i = 0; i < h * w * c; i++) {
        y[k * h * w * c + i] = (y[k * h * w * c + i] - m) * p.color.contrast[k] + m;
      }
    }
  }
  if (p.translation) {
    const t = p.translation;
    const src = y;
    y = new Float64Array(src.length);
    const mirror = (v: number, size: number) => v < 0 ? -v : v >= size ? 2 * size - 2 - v : v;
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          let si = i + t.rows[k], sj = j + t.cols[k];
          const inside = si >= 0 && si < h && sj >= 0 && sj < w;
          if (!inside && t.padding === "zero") continue;
          si = mirror(si, h);
          sj = mirror(sj, w);
          for (let ch = 0; ch < c; ch++) y[at(k, i, j, ch)] = src[at(k, si, sj, ch)];
        }
      }
    }
  }
  if (p.cutout) {
    const side = cutoutSide(h);
    for (let k = 0; k < n; k++) {
      // The reference: grid = clamp(arange(side) + centre − side // 2, 0, size − 1), those pixels zeroed.
      for (let a = 0; a < side; a++) {
        for (let b = 0; b < side; b++) {
          const i = Math.min(h - 1, Math.max(0, a + p.cutout.rows[k] - Math.floor(side / 2)));
          const j = Math.min(w - 1, Math.max(0, b + p.cutout.cols[k] - Math.floor(side / 2)));
          for (let ch = 0; ch < c; ch++) y[at(k, i, j, ch)] = 0;
        }
      }
    }
  }
  return y;
}

/** Values of a fixed pseudo-random sequence in [−1, 1) (independent of the code under test). */
function fixedValues(count: number, seed: number): Float64Array {
  const rng = new RandomState(seed);
  return Float64Array.from({ length: count }, () => 2 * rng.randomSample() - 1);
}

/** Every transform at once, with parameters that exercise borders, for 2 images of 4×4×3. */
const ALL: AugmentParams = {
  count: 2,
  size: 4,
  color: { brightness: [0.3, -0.4], saturation: [1.7, 0.2], contrast: [0.6, 1.4] },
  translation: { padding: "zero", rows: [1, -1], cols: [0, 1] },
  cutout: { rows: [0, 3], cols: [2, 4] },
};

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`DiffAugment on ${backend}`, async (t) => {
    await useBackend(backend);

    await t.step(
      "color: brightness, saturation about the channel mean, contrast about the image mean",
      async () => {
        // One 2×2×3 image, b = 0.2, s = 0.5, c = 1.5, worked by hand:
        //   + 0.2:           (0.3, 0.6, 0)  (0.7, 0.7, 0.7)  (−0.1, 0.2, 0.5)  (1.1, −0.4, 0.2)
        //   saturation 0.5:  (0.3, 0.45, 0.15)  (0.7, 0.7, 0.7)  (0.05, 0.2, 0.35)  (0.7, −0.05, 0.25)
        //   image mean 4.5 / 12 = 0.375; contrast 1.5: v ↦ 1.5 v − 0.1875.
        // A second image with b = −0.5, s = 1, c = 1 only moves by −0.5 (parameters are per image).
        const image = [0.1, 0.4, -0.2, 0.5, 0.5, 0.5, -0.3, 0, 0.3, 0.9, -0.6, 0];
        const out = await augmented([...image, ...image], [2, 2, 2, 3], {
          count: 2,
          size: 2,
          color: { brightness: [0.2, -0.5], saturation: [0.5, 1], contrast: [1.5, 1] },
        });
        near(
          out.slice(0, 12),
          [
            0.2625,
            0.4875,
            0.0375,
            0.8625,
            0.8625,
            0.8625,
            -0.1125,
            0.1125,
            0.3375,
            0.8625,
            -0.2625,
            0.1875,
          ],
          1e-6,
          "image 0",
        );
        near(out.slice(12), image.map((v) => v - 0.5), 1e-6, "image 1");
      },
    );

    await t.step("translation: out(i, j) = in(i + dy, j + dx), zero or reflected outside", async () => {
      const params = (padding: "zero" | "reflect"): AugmentParams => ({
        count: 1,
        size: 4,
        translation: { padding, rows: [1], cols: [-1] },
      });
      assert.deepEqual(
        await augmented(ramp, [1, 4, 4, 1], params("zero")),
        [
          [0, 5, 6, 7],
          [0, 9, 10, 11],
          [0, 13, 14, 15],
          [0, 0, 0, 0],
        ].flat(),
      );
      // Reflection without repeating the edge: column −1 reads column 1, row 4 reads row 2.
      assert.deepEqual(
        await augmented(ramp, [1, 4, 4, 1], params("reflect")),
        [
          [6, 5, 6, 7],
          [10, 9, 10, 11],
          [14, 13, 14, 15],
          [10, 9, 10, 11],
        ].flat(),
      );
      // Every channel moves alike, and each image by its own shift (image 1: two columns right, no rows).
      const twoChannels = ramp.flatMap((v) => [v, -v]);
      const out = await augmented([...twoChannels, ...twoChannels], [2, 4, 4, 2], {
        count: 2,
        size: 4,
        translation: { padding: "zero", rows: [1, 0], cols: [-1, -2] },
      });
      assert.deepEqual(out.slice(0, 32).filter((_, i) => i % 2 === 1), [
        0,
        -5,
        -6,
        -7,
        0,
        -9,
        -10,
        -11,
        0,
        -13,
        -14,
        -15,
        0,
        0,
        0,
        0,
      ]);
      assert.deepEqual(
        out.slice(32).filter((_, i) => i % 2 === 0),
        [
          [0, 0, 1, 2],
          [0, 0, 5, 6],
          [0, 0, 9, 10],
          [0, 0, 13, 14],
        ].flat(),
      );
    });

    await t.step(
      "cutout: a square of half the side zeroed at its centre, clipped by the border",
      async () => {
        // Side 2 at 4 px. Centre (2, 1): rows 1–2, columns 0–1. Centre (0, 4): only row 0, column 3 is inside.
        const out = await augmented([...ramp, ...ramp], [2, 4, 4, 1], {
          count: 2,
          size: 4,
          cutout: { rows: [2, 0], cols: [1, 4] },
        });
        assert.deepEqual(
          out.slice(0, 16),
          [
            [1, 2, 3, 4],
            [0, 0, 7, 8],
            [0, 0, 11, 12],
            [13, 14, 15, 16],
          ].flat(),
        );
        assert.deepEqual(
          out.slice(16),
          [
            [1, 2, 3, 0],
            [5, 6, 7, 8],
            [9, 10, 11, 12],
            [13, 14, 15, 16],
          ].flat(),
        );
      },
    );

    await t.step("all three together equal the float64 reference, reflect padding too", async () => {
      const shape = [2, 4, 4, 3] as [number, number, number, number];
      const x = fixedValues(96, 1);
      for (const padding of ["zero", "reflect"] as const) {
        const p = { ...ALL, translation: { ...ALL.translation!, padding } };
        near(await augmented(Array.from(x), shape, p), referenceAugment(x, shape, p), 1e-5, padding);
      }
      // An empty policy is the identity (the same tensor, nothing computed).
      const images = tf.zeros([2, 4, 4, 3]) as tf.Tensor4D;
      assert.equal(augmentImages(images, { count: 2, size: 4 }), images);
      assert.equal(augmentImages(images, undefined), images);
      images.dispose();
    });

    await t.step("gradients equal float64 central differences of the reference", async () => {
      const shape = [2, 4, 4, 3] as [number, number, number, number];
      const x = fixedValues(96, 2);
      const weights = fixedValues(96, 3);
      for (const padding of ["zero", "reflect"] as const) {
        const p = { ...ALL, translation: { ...ALL.translation!, padding } };
        // L(x) = Σ weights · aug(x)²: non-linear in x, so the gradient depends on where it is taken.
        const loss64 = (v: Float64Array) =>
          referenceAugment(v, shape, p).reduce((s, y, i) => s + weights[i] * y * y, 0);
        const wt = tf.tensor4d(Float32Array.from(weights), shape);
        const grad = tf.grad((v: tf.Tensor) =>
          tf.sum(tf.mul(wt, tf.square(augmentImages(v as tf.Tensor4D, p))))
        );
        const xt = tf.tensor4d(Float32Array.from(x), shape);
        const g = grad(xt);
        const got = await g.data();
        tf.dispose([wt, xt, g]);
        const h = 1e-6;
        const want = Array.from(x, (_, i) => {
          const plus = Float64Array.from(x), minus = Float64Array.from(x);
          plus[i] += h;
          minus[i] -= h;
          return (loss64(plus) - loss64(minus)) / (2 * h);
        });
        assert.ok(want.some((v) => Math.abs(v) > 0.1), "the check is not vacuous");
        near(got, want, 1e-4, `∂L/∂x (${padding})`);
      }
    });

    await t.step(
      "R1 through augmentation: the penalty and its gradient in D's weights, for D(x) = Σ w·A(x)²",
      async () => {
        // The augmentation is affine, A(x) = L x + a (brightness adds a), so ∇ₓ D(A(x)) = Lᵀ(2 w ⊙ A(x)) and
        // R1 = γ/2 · mean over images of ‖Lᵀ(2 w ⊙ A(x))‖². L is built column by column from the float64
        // reference, L e_k = A(e_k) − A(0); the penalty's gradient in w (R1's double backprop) is checked
        // against central differences in w.
        const shape = [2, 4, 4, 3] as [number, number, number, number];
        const size = 96, perImage = 48, gamma = 10;
        const x = fixedValues(size, 4);
        const w0 = fixedValues(perImage, 5);
        const offset = referenceAugment(new Float64Array(size), shape, ALL);
        const L = Array.from({ length: size }, (_, k) => {
          const unit = new Float64Array(size);
          unit[k] = 1;
          return referenceAugment(unit, shape, ALL).map((v, m) => v - offset[m]); // column k of L
        });
        const penalty64 = (w: Float64Array) => {
          const ax = referenceAugment(x, shape, ALL);
          const v = ax.map((y, i) => 2 * w[i % perImage] * y);
          const grad = L.map((column) => column.reduce((s, l, m) => s + l * v[m], 0)); // (Lᵀ v)_k
          let sum = 0;
          for (let k = 0; k < size; k++) sum += grad[k] ** 2;
          return (gamma / 2) * (sum / 2);
        };
        const w = tf.variable(tf.tensor4d(Float32Array.from(w0), [1, 4, 4, 3]));
        const xt = tf.tensor4d(Float32Array.from(x), shape);
        const D = (v: tf.Tensor4D) => tf.sum(tf.mul(w, tf.square(augmentImages(v, ALL))), [1, 2, 3]);
        const { value, grads } = tf.variableGrads(() => {
          const { penalty, realScores } = r1Penalty(D, xt, gamma);
          realScores.dispose();
          return penalty;
        }, [w]);
        const got = (await value.data())[0];
        const gotGrad = await grads[w.name].data();
        tf.dispose([value, grads[w.name], w, xt]);
        near([got], [penalty64(w0)], 1e-4, "penalty");
        const h = 1e-6;
        const want = Array.from(w0, (_, i) => {
          const plus = Float64Array.from(w0), minus = Float64Array.from(w0);
          plus[i] += h;
          minus[i] -= h;
          return (penalty64(plus) - penalty64(minus)) / (2 * h);
        });
        assert.ok(want.some((v) => Math.abs(v) > 1), "the check is not vacuous");
        near(gotGrad, want, 1e-3, "∂R1/∂w");
      },
    );

    await t.step(
      "real networks: augmented D and G steps give finite, non-zero gradients, R1 included",
      async () => {
        const G = new Generator(
          {
            resolution: 8,
            latent_size: 8,
            dlatent_size: 8,
            mapping_fmaps: 8,
            mapping_layers: 1,
            fmap_base: 32,
            fmap_max: 8,
          },
          ParameterTree.seeded(1),
        );
        const D = new Discriminator({ resolution: 8, fmap_base: 32, fmap_max: 8 }, ParameterTree.seeded(2));
        const gParams = G.params.entries().filter((p) => p.trainable);
        const dParams = D.params.entries().filter((p) => p.trainable);
        const loss = {
          loss: "logistic" as const,
          r1_gamma: 10,
          r1_interval: 1,
          wgan_lambda: 10,
          wgan_epsilon: 0.001,
        };
        const rng = new RandomState(7);
        const policy = parseAugmentPolicy("color,translation,cutout");
        const augment = {
          reals: drawAugmentParams(rng, 4, 8, policy),
          fakes: drawAugmentParams(rng, 4, 8, policy),
        };
        const run = { depth: 1, alpha: 1, noise: "const" as const };
        const reals = tf.randomUniform([4, 8, 8, 3], -1, 1, "float32", 3) as tf.Tensor4D;
        const z = tf.randomNormal([4, 8], 0, 1, "float32", 4) as tf.Tensor2D;
        const fakes = fakeImages(G, { z }, run, false);
        const norm = async (grads: Map<string, tf.Tensor>) => {
          let sum = 0;
          for (const g of grads.values()) for (const v of await g.data()) sum += v * v;
          tf.dispose([...grads.values()]);
          return Math.sqrt(sum);
        };
        try {
          const plain = discriminatorGradients(D, dParams, loss, run, reals, fakes, true);
          const withAug = discriminatorGradients(D, dParams, loss, { ...run, augment }, reals, fakes, true);
          const withoutR1 = discriminatorGradients(
            D,
            dParams,
            loss,
            { ...run, augment },
            reals,
            fakes,
            false,
          );
          const [lp, la, ln] = [plain, withAug, withoutR1].map((r) => r.loss.dataSync()[0]);
          const [np, na, nn] = [
            await norm(plain.grads),
            await norm(withAug.grads),
            await norm(withoutR1.grads),
          ];
          tf.dispose([plain.loss, withAug.loss, withoutR1.loss]);
          for (const v of [la, na, nn]) assert.ok(Number.isFinite(v) && v > 0, `${v}`);
          assert.notEqual(la, lp, "D sees the augmented images");
          assert.ok(la > ln, "the R1 penalty through the augmentation is positive");
          assert.notEqual(na, nn, "and it changes D's gradient");
          assert.ok(np > 0);
          const g = generatorGradients(G, D, gParams, loss, { z }, {
            ...run,
            augment: { fakes: augment.fakes },
          }, false);
          const gPlain = generatorGradients(G, D, gParams, loss, { z }, run, false);
          const [gl, gpl] = [g.loss.dataSync()[0], gPlain.loss.dataSync()[0]];
          const [gn, gpn] = [await norm(g.grads), await norm(gPlain.grads)];
          tf.dispose([g.loss, gPlain.loss]);
          assert.ok(Number.isFinite(gn) && gn > 0, `G's gradient flows through the augmentation: ${gn}`);
          assert.notEqual(gl, gpl);
          assert.notEqual(gn, gpn);
        } finally {
          tf.dispose([reals, z, fakes]);
          G.dispose();
          D.dispose();
        }
      },
    );
  });
}

Deno.test("augmentation parameters: the paper's ranges, drawn from the run's generator in a fixed order", () => {
  assert.deepEqual([4, 8, 16, 32, 64, 128].map(maxTranslation), [1, 1, 2, 4, 8, 16]);
  assert.deepEqual([4, 8, 16, 64].map(cutoutSide), [2, 4, 8, 32]);
  const policy = parseAugmentPolicy("cutout, color,translation");
  assert.deepEqual(policy, ["color", "translation", "cutout"]); // application order, whatever the text's
  const p = drawAugmentParams(new RandomState(5), 3, 64, policy, "reflect");
  // The draws, in order: brightness, saturation, contrast, translation rows, cols, cutout rows, cols.
  const u = new RandomState(5);
  const next = (n: number) => Array.from({ length: n }, () => u.randomSample());
  const [b, s, c, tr, tc, cr, cc] = [next(3), next(3), next(3), next(3), next(3), next(3), next(3)];
  assert.deepEqual(p.color, {
    brightness: b.map((v) => v - 0.5),
    saturation: s.map((v) => 2 * v),
    contrast: c.map((v) => v + 0.5),
  });
  // Integers uniform in [−8, 8] (17 values) and centres in [0, 64] (65 values).
  assert.deepEqual(p.translation, {
    padding: "reflect",
    rows: tr.map((v) => Math.floor(17 * v) - 8),
    cols: tc.map((v) => Math.floor(17 * v) - 8),
  });
  assert.deepEqual(p.cutout, {
    rows: cr.map((v) => Math.floor(65 * v)),
    cols: cc.map((v) => Math.floor(65 * v)),
  });
  // Over many draws every value of the ranges occurs, and nothing outside them.
  const many = drawAugmentParams(new RandomState(6), 4000, 16, policy);
  assert.deepEqual(new Set(many.translation!.rows).size, 5);
  assert.deepEqual([Math.min(...many.translation!.cols), Math.max(...many.translation!.cols)], [-2, 2]);
  assert.deepEqual([Math.min(...many.cutout!.rows), Math.max(...many.cutout!.rows)], [0, 16]);
  assert.ok(many.color!.saturation.every((v) => v >= 0 && v < 2));
  // An empty policy draws nothing: runs without augmentation keep their random stream.
  const untouched = new RandomState(9);
  assert.deepEqual(drawAugmentParams(untouched, 8, 16, parseAugmentPolicy("")), { count: 8, size: 16 });
  assert.deepEqual(untouched.getState(), new RandomState(9).getState());
  // A worker's share: the same images' parameters.
  const share = sliceAugmentParams(p, 1, 2);
  assert.deepEqual(share.color!.brightness, p.color!.brightness.slice(1));
  assert.deepEqual(share.cutout!.cols, p.cutout!.cols.slice(1));
  assert.equal(share.count, 2);
});

Deno.test("bad policies name the entry and list the valid names", () => {
  assert.throws(
    () => parseAugmentPolicy("color,flip"),
    { message: "unknown policy 'flip'; valid names: color, translation, cutout" },
  );
  assert.throws(() => parseAugmentPolicy("Color"), /unknown policy 'Color'/);
  assert.throws(() => parseAugmentPolicy("cutout,cutout"), { message: "'cutout' is listed twice" });
  assert.deepEqual(parseAugmentPolicy(""), []);
  assert.deepEqual(parseAugmentPolicy(" , "), []);
});
