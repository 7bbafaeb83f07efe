/**
 * model/backend/ops.ts: blur, mean downscale and nearest upscale against float64 plain-JS references, with
 * first derivatives by finite differences and second derivatives (gradient of a gradient) exactly.
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { blur2d, blurKernel2d, downscale2dMean, upscale2dNearest } from "../../../model/backend/ops.ts";
import { assertClose, BACKENDS, checkGradients, toTensor, useBackend } from "./harness.ts";
import * as ref from "./reference.ts";
import type { Nd } from "./reference.ts";

type T4 = tf.Tensor4D;

interface LinearOp {
  name: string;
  tf: (x: T4) => T4;
  js: (x: Nd) => Nd;
  input: number[];
}

const flipped = (k: number[]) => k.slice().reverse();

const OPS: LinearOp[] = [
  { name: "blur2d [1,2,1]", tf: (x) => blur2d(x), js: (x) => ref.blur(x, [1, 2, 1]), input: [2, 5, 6, 3] },
  {
    name: "blur2d [1,3,3,1] (even: one row and column fewer)",
    tf: (x) => blur2d(x, [1, 3, 3, 1]),
    js: (x) => ref.blur(x, [1, 3, 3, 1]),
    input: [1, 6, 6, 2],
  },
  {
    name: "blur2d asymmetric kernel, flipped",
    tf: (x) => blur2d(x, [1, 2, 4], true, true),
    js: (x) => ref.blur(x, flipped([1, 2, 4])),
    input: [2, 4, 5, 2],
  },
  {
    name: "downscale2dMean ×2",
    tf: (x) => downscale2dMean(x, 2),
    js: (x) => ref.avgPoolValid(x, 2, 2),
    input: [2, 4, 6, 3],
  },
  {
    name: "downscale2dMean ×3",
    tf: (x) => downscale2dMean(x, 3),
    js: (x) => ref.avgPoolValid(x, 3, 3),
    input: [1, 6, 3, 2],
  },
  {
    name: "upscale2dNearest ×2",
    tf: (x) => upscale2dNearest(x, 2),
    js: (x) => ref.resizeNearest(x, x.shape[1] * 2, x.shape[2] * 2),
    input: [2, 3, 4, 3],
  },
];

for (const backend of BACKENDS) {
  Deno.test(`differentiable image ops [${backend}]`, async (t) => {
    await useBackend(backend);

    await t.step("blur kernel: outer product, normalised, flippable", () => {
      assert.deepEqual(blurKernel2d([1, 2, 1]).flat().map((v) => v * 16), [1, 2, 1, 2, 4, 2, 1, 2, 1]);
      assert.deepEqual(blurKernel2d([1, 3], false, true), [[9, 3], [3, 1]]);
    });

    for (const op of OPS) {
      await t.step(`${op.name}: values and first derivatives`, async () => {
        await checkGradients(`${op.name} [${backend}]`, {
          tfFn: (x) => op.tf(x as T4),
          jsFn: op.js,
          inputs: [ref.randn(op.input, 3)],
        });
      });

      await t.step(`${op.name}: the gradient is differentiable again (exactly the op)`, async () => {
        // For a linear L, ∂/∂c Σ d ⊙ ∂/∂x[Σ c ⊙ L(x)] = L(d).
        const x = ref.randn(op.input, 4);
        const out = op.js(x);
        const c = ref.randn(out.shape, 5), d = ref.randn(op.input, 6);
        const [xt, ct, dt] = [x, c, d].map(toTensor);
        const before = tf.memory().numTensors;
        const inner = (cv: tf.Tensor) => tf.grad((xv: tf.Tensor) => tf.sum(tf.mul(cv, op.tf(xv as T4))))(xt);
        const second = tf.grad((cv: tf.Tensor) => tf.sum(tf.mul(dt, inner(cv))))(ct);
        assertClose(await second.data(), op.js(d).data, `${op.name} second order [${backend}]`);
        second.dispose();
        assert.equal(tf.memory().numTensors, before);
        tf.dispose([xt, ct, dt]);
      });
    }

    await t.step("downscale2dMean rejects sizes that do not divide", () => {
      const x = tf.zeros([1, 5, 4, 1]) as T4;
      assert.throws(() => downscale2dMean(x, 2), /not divisible/);
      x.dispose();
    });
  });
}
