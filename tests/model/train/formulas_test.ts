/**
 * The training maths against formulas worked by hand: R1, WGAN-GP, the logistic losses, EMA, style
 * mixing, the W average, truncation, Adam, and the schedule.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  dHinge,
  dLogistic,
  gLogisticNonsaturating,
  gradientPenalty,
  r1Penalty,
} from "../../../model/losses.ts";
import { ParameterTree } from "../../../model/layers/parameters.ts";
import { Truncation } from "../../../model/layers/truncation.ts";
import { mixStyles } from "../../../model/networks/generator.ts";
import { updateShadow } from "../../../model/train/ema.ts";
import { Adam } from "../../../model/train/adam.ts";
import { alphaAt, depthPlan, emaBeta, r1GammaAt } from "../../../model/train/schedule.ts";
import { loadConfig } from "../../../model/config.ts";
import { useBackend } from "../../support/backends.ts";

const close = (a: number, b: number, tol = 1e-5) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
const softplus = (x: number) => Math.log1p(Math.exp(x));

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`training formulas on ${backend}`, async (t) => {
    await useBackend(backend);

    await t.step("R1 = γ/2 · mean over samples of ‖∇ₓD‖², for D(x) = Σ w·x² (∇ = 2wx)", async () => {
      const xs = [[1, 2, 3, 4], [0.5, -1, 0, 2]];
      const w = [0.3, -0.2, 0.1, 0.5];
      const x = tf.tensor4d(xs.flat(), [2, 2, 2, 1]);
      const wt = tf.tensor4d(w, [1, 2, 2, 1]);
      const D = (v: tf.Tensor4D) => tf.sum(tf.mul(wt, tf.square(v)), [1, 2, 3]);
      const { penalty, realScores } = r1Penalty(D, x, 10);
      const perSample = xs.map((row) => row.reduce((s, xi, i) => s + (2 * w[i] * xi) ** 2, 0));
      close((await penalty.data())[0], (10 / 2) * (perSample[0] + perSample[1]) / 2);
      const scores = await realScores.data();
      xs.forEach((row, n) => close(scores[n], row.reduce((s, xi, i) => s + w[i] * xi * xi, 0)));
      tf.dispose([x, wt, penalty, realScores]);
    });

    await t.step(
      "WGAN-GP = λ · mean (‖∇D(x̂)‖ − 1)², for linear D(x) = Σ w·x (∇ = w everywhere)",
      async () => {
        const w = [3, 4, 0, 0]; // ‖w‖ = 5
        const wt = tf.tensor4d(w, [1, 2, 2, 1]);
        const D = (v: tf.Tensor4D) => tf.sum(tf.mul(wt, v), [1, 2, 3]);
        const reals = tf.randomNormal([3, 2, 2, 1]) as tf.Tensor4D;
        const fakes = tf.randomNormal([3, 2, 2, 1]) as tf.Tensor4D;
        const gp = gradientPenalty(D, reals, fakes, tf.tensor1d([0.1, 0.5, 0.9]), 10);
        close((await gp.data())[0], 10 * (5 - 1) ** 2, 1e-4);
        tf.dispose([wt, reals, fakes, gp]);
      },
    );

    await t.step("logistic and hinge losses", async () => {
      const real = [2, -1], fake = [0.5, -3];
      const r = tf.tensor1d(real), f = tf.tensor1d(fake);
      close(
        (await dLogistic(r, f).data())[0],
        (softplus(0.5) + softplus(-3)) / 2 + (softplus(-2) + softplus(1)) / 2,
      );
      close((await gLogisticNonsaturating(f).data())[0], (softplus(-0.5) + softplus(3)) / 2);
      close((await dHinge(r, f).data())[0], (0 + 2) / 2 + (1.5 + 0) / 2);
      tf.dispose([r, f]);
    });

    await t.step("EMA: shadow ← G + β (shadow − G) for trainables; buffers copied", async () => {
      const g = new ParameterTree(), s = new ParameterTree();
      g.create("w", tf.tensor1d([1, 2]), "plain");
      g.create("avg", tf.tensor1d([5]), "plain", false);
      s.create("w", tf.tensor1d([3, 6]), "plain");
      s.create("avg", tf.tensor1d([0]), "plain", false);
      updateShadow(s, g, 0.9);
      assert.deepEqual(Array.from(await s.get("w")!.variable.data()).map((v) => +v.toFixed(6)), [2.8, 5.6]);
      assert.deepEqual(Array.from(await s.get("avg")!.variable.data()), [5]);
      close(emaBeta(10, 32), 0.5 ** (32 / 10000), 1e-12);
      g.dispose();
      s.dispose();
    });

    await t.step("style mixing: layers < cutoff from w1, the rest from w2", async () => {
      const w1 = tf.fill([1, 4, 2], 1) as tf.Tensor3D, w2 = tf.fill([1, 4, 2], 2) as tf.Tensor3D;
      const mixed = mixStyles(w1, w2, 3);
      assert.deepEqual(Array.from(await mixed.data()), [1, 1, 1, 1, 1, 1, 2, 2]);
      tf.dispose([w1, w2, mixed]);
    });

    await t.step(
      "W average: avg ← mean_batch(w) + β (avg − mean_batch(w)); truncation on the first layers",
      async () => {
        const tree = new ParameterTree();
        const trunc = new Truncation(tree.child("truncation"), 2, 1, 0.5);
        trunc.avgLatent.assign(tf.tensor1d([1, 1]));
        const w = tf.tensor2d([[2, 4], [4, 0]]); // batch mean (3, 2)
        trunc.update(w);
        assert.deepEqual(Array.from(await trunc.avgLatent.data()), [3 + 0.5 * (1 - 3), 2 + 0.5 * (1 - 2)]); // (2, 1.5)
        const ws = tf.tensor3d([[[4, 3], [4, 3]]]); // 2 layers, cutoff 1
        const out = trunc.apply(ws, 0.5);
        assert.deepEqual(Array.from(await out.data()), [2 + 0.5 * 2, 1.5 + 0.5 * 1.5, 4, 3]);
        tf.dispose([w, ws, out]);
        tree.dispose();
      },
    );

    await t.step("Adam (TensorFlow's form, β1 = 0) two steps by hand", async () => {
      const tree = new ParameterTree();
      tree.create("x", tf.tensor1d([1]), "plain");
      const adam = new Adam(tree.entries(), { learning_rate: 0.1, beta_1: 0, beta_2: 0.99, eps: 1e-8 });
      let x = 1, v = 0;
      for (let t = 1; t <= 2; t++) {
        const g = 2 * x; // d/dx x²
        adam.apply(new Map([["x", tf.tensor1d([g])]]));
        v = 0.99 * v + 0.01 * g * g;
        x -= 0.1 * Math.sqrt(1 - 0.99 ** t) / (1 - 0 ** t) * g / (Math.sqrt(v) + 1e-8);
        close((await tree.get("x")!.variable.data())[0], x);
      }
      adam.dispose();
      tree.dispose();
    });
  });
}

Deno.test("progressive schedule", async () => {
  const c = await loadConfig(undefined, [
    "dataset.img_dir=x",
    "dataset.resolution=16",
    "sched.epochs=[2,2,4]",
    "sched.batch_sizes=[4,4,2]",
    "sched.fade_in_percentage=[50,50,25]",
  ]);
  const plan = depthPlan(c, 2, 21); // 10 batches per epoch, 40 batches, fade over the first 25 % = 10 batches
  assert.equal(plan.batchesPerEpoch, 10);
  assert.equal(plan.fadePoint, 10);
  assert.equal(alphaAt(plan, 1), 0.1);
  assert.equal(alphaAt(plan, 10), 1);
  assert.equal(alphaAt(plan, 25), 1);
  assert.throws(() => depthPlan(c, 0, 3), /fewer than depth 0's batch size 4/);
  const big = await loadConfig(undefined, ["dataset.img_dir=x", "dataset.resolution=256"]);
  assert.equal(depthPlan(big, 5, 100).gLearningRate, 0.0015); // 128 px
  assert.equal(depthPlan(big, 6, 100).dLearningRate, 0.002); // 256 px
  assert.equal(depthPlan(big, 4, 100).gLearningRate, 0.001); // 64 px
});

Deno.test("R1 γ: a number as it is, or StyleGAN2-ADA's 0.0002 · res² / minibatch per depth", async () => {
  close(r1GammaAt("auto", 64, 32), 0.0256, 1e-12); // 0.0002 · 4096 / 32
  close(r1GammaAt("auto", 256, 8), 1.6384, 1e-12); // 0.0002 · 65536 / 8
  close(r1GammaAt("auto", 4, 32), 0.0001, 1e-12); // 0.0002 · 16 / 32
  assert.equal(r1GammaAt(10, 64, 32), 10);
  assert.equal(r1GammaAt(0, 64, 32), 0);
  // Each depth of a growing run: its own resolution and minibatch (64 px at batch 16: 0.0512).
  const auto = await loadConfig(undefined, ["dataset.img_dir=x", "model.r1_gamma=auto"]);
  assert.equal(auto.model.r1_gamma, "auto");
  close(depthPlan(auto, 4, 100).r1Gamma, 0.0002 * 64 * 64 / 16, 1e-12);
  close(depthPlan(auto, 0, 100).r1Gamma, 0.0002 * 4 * 4 / 32, 1e-12);
  const fixed = await loadConfig(undefined, ["dataset.img_dir=x"]);
  assert.equal(depthPlan(fixed, 4, 100).r1Gamma, 10); // the default stays official StyleGAN's γ = 10
});
