/**
 * Every gradient registered by model/backend/gradients.ts against central finite differences of float64
 * plain-JS references, on every backend: the ported standard set, the zero gradients of the comparisons on
 * a gradient path, and the gradient of the backward kernel that double backprop differentiates.
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import {
  GRADIENT_CONFIGS,
  HIGHER_ORDER_KERNELS,
  registeredGradients,
  registerHigherOrderGradients,
} from "../../../model/backend/gradients.ts";
import { BACKENDS, checkGradients, type GradientCheck, useBackend } from "./harness.ts";
import * as ref from "./reference.ts";
import * as ops from "./reference_ops.ts";

type T = tf.Tensor;
type T4 = tf.Tensor4D;
type Nd = ref.Nd;

/** Values with |v| in [lo, hi] and random sign: keeps finite differences off kinks at zero. */
function awayFromZero(shape: number[], seed: number, lo = 0.2, hi = 2): Nd {
  const mag = ref.uniform(shape, seed, lo, hi), sign = ref.uniform(shape, seed + 1, -1, 1);
  return { shape, data: mag.data.map((v, i) => (sign.data[i] < 0 ? -v : v)) };
}

const x234 = () => ref.randn([2, 3, 4], 1);
const unit = (f: (x: T) => T, g: (v: number) => number, input: Nd = x234()): GradientCheck => ({
  tfFn: (x) => f(x),
  jsFn: (x) => ops.map(x, g),
  inputs: [input],
});
const pairOf = (f: (a: T, b: T) => T, g: (a: number, b: number) => number, a: Nd, b: Nd): GradientCheck => ({
  tfFn: (x, y) => f(x, y),
  jsFn: (x, y) => ops.broadcast(x, y, g),
  inputs: [a, b],
});

/** First-order gradients of standard ops (ported from tfjs-core, some fixed). */
function standardChecks(): Array<[string, GradientCheck]> {
  const pos = ref.uniform([2, 3, 4], 2, 0.5, 2);
  const img = ref.randn([2, 6, 6, 3], 4);
  const spec1: ref.ConvSpec = { strides: 1, pad: "same" }, spec2: ref.ConvSpec = { strides: 2, pad: "same" };
  const sel = awayFromZero([2, 3, 4], 5);
  return [
    ["neg", unit(tf.neg, (v) => -v)],
    ["square", unit(tf.square, (v) => v * v)],
    ["sqrt", unit(tf.sqrt, Math.sqrt, pos)],
    ["rsqrt", unit(tf.rsqrt, (v) => 1 / Math.sqrt(v), pos)],
    ["softplus", unit(tf.softplus, (v) => Math.log1p(Math.exp(v)))],
    ["relu", unit(tf.relu, (v) => Math.max(v, 0), sel)],
    ["leakyRelu", unit((x) => tf.leakyRelu(x, 0.2), (v) => (v > 0 ? v : 0.2 * v), sel)],
    ["add (broadcast)", pairOf(tf.add, (a, b) => a + b, x234(), ref.randn([3, 1], 9))],
    ["sub (broadcast)", pairOf(tf.sub, (a, b) => a - b, ref.randn([4], 10), x234())],
    ["mul (broadcast)", pairOf(tf.mul, (a, b) => a * b, x234(), ref.randn([2, 1, 4], 11))],
    ["div (broadcast)", pairOf(tf.div, (a, b) => a / b, x234(), awayFromZero([4], 12, 0.5))],
    ["addN", {
      tfFn: (a, b, c) => tf.addN([a, tf.mul(b, 2), c]),
      jsFn: (a, b, c) => ({ shape: a.shape, data: a.data.map((v, i) => v + 2 * b.data[i] + c.data[i]) }),
      inputs: [x234(), ref.randn([2, 3, 4], 20), ref.randn([2, 3, 4], 21)],
    }],
    ["where", {
      tfFn: (a, b) => tf.where(tf.tensor(Array.from(sel.data, (v) => v > 0), sel.shape, "bool"), a, b),
      jsFn: (a, b) => ({ shape: a.shape, data: a.data.map((v, i) => (sel.data[i] > 0 ? v : b.data[i])) }),
      inputs: [x234(), ref.randn([2, 3, 4], 22)],
    }],
    ["sum over axis 1", { tfFn: (x) => tf.sum(x, 1), jsFn: (x) => ops.sum(x, [1]), inputs: [x234()] }],
    ["sum keepDims", {
      tfFn: (x) => tf.sum(x, [0, 2], true),
      jsFn: (x) => ops.reshape(ops.sum(x, [0, 2]), [1, 3, 1]),
      inputs: [x234()],
    }],
    ["mean over axes 0, 2", {
      tfFn: (x) => tf.mean(x, [0, 2]),
      jsFn: (x) => ops.mean(x, [0, 2]),
      inputs: [x234()],
    }],
    ["reshape", {
      tfFn: (x) => tf.reshape(x, [4, 6]),
      jsFn: (x) => ops.reshape(x, [4, 6]),
      inputs: [x234()],
    }],
    ["transpose", {
      tfFn: (x) => tf.transpose(x, [2, 0, 1]),
      jsFn: (x) => ops.transpose(x, [2, 0, 1]),
      inputs: [x234()],
    }],
    ["tile (reshape + sum gradient)", {
      tfFn: (x) => tf.tile(x, [2, 1, 3]),
      jsFn: (x) => ops.tile(x, [2, 1, 3]),
      inputs: [x234()],
    }],
    ["tile rank 4", {
      tfFn: (x) => tf.tile(x, [1, 2, 2, 1]),
      jsFn: (x) => ops.tile(x, [1, 2, 2, 1]),
      inputs: [ref.randn([2, 2, 3, 2], 23)],
    }],
    ["slice", {
      tfFn: (x) => tf.slice(x, [0, 1, 1], [2, 2, 2]),
      jsFn: (x) => ops.slice(x, [0, 1, 1], [2, 2, 2]),
      inputs: [x234()],
    }],
    ["pad", {
      tfFn: (x) => tf.pad(x, [[1, 0], [0, 2], [1, 1]], 0.5),
      jsFn: (x) => ops.pad(x, [[1, 0], [0, 2], [1, 1]], 0.5),
      inputs: [x234()],
    }],
    ["concat", {
      tfFn: (a, b) => tf.concat([a, b, a], 1),
      jsFn: (a, b) => ops.concat([a, b, a], 1),
      inputs: [x234(), ref.randn([2, 2, 4], 25)],
    }],
    ["unstack + split", {
      tfFn: (x) => {
        const [a, b] = tf.unstack(x, 0);
        const [c, d] = tf.split(b, [1, 3], 1);
        return tf.concat([tf.mul(d, 2), c, a], 1);
      },
      jsFn: (x) => {
        const a = ops.slice(x, [0, 0, 0], [1, 3, 4]), b = ops.slice(x, [1, 0, 0], [1, 3, 4]);
        const c = ops.slice(b, [0, 0, 0], [1, 3, 1]), d = ops.slice(b, [0, 0, 1], [1, 3, 3]);
        return ops.reshape(ops.concat([ops.map(d, (v) => 2 * v), c, a], 2), [3, 8]);
      },
      inputs: [x234()],
    }],
    ["matMul", {
      tfFn: (a, b) => tf.matMul(a, b),
      jsFn: (a, b) => ops.matMul(a, b),
      inputs: [ref.randn([3, 4], 27), ref.randn([4, 5], 28)],
    }],
    ["matMul transposeA", {
      tfFn: (a, b) => tf.matMul(a, b, true, false),
      jsFn: (a, b) => ops.matMul(a, b, true, false),
      inputs: [ref.randn([4, 3], 29), ref.randn([4, 5], 30)],
    }],
    ["matMul transposeB", {
      tfFn: (a, b) => tf.matMul(a, b, false, true),
      jsFn: (a, b) => ops.matMul(a, b, false, true),
      inputs: [ref.randn([3, 4], 31), ref.randn([5, 4], 32)],
    }],
    ["batched matMul, both transposed", {
      tfFn: (a, b) => tf.matMul(a, b, true, true),
      jsFn: (a, b) => ops.matMul(a, b, true, true),
      inputs: [ref.randn([2, 4, 3], 33), ref.randn([2, 5, 4], 34)],
    }],
    ["batched matMul, broadcast batch (fixed)", {
      tfFn: (a, b) => tf.matMul(a, b),
      jsFn: (a, b) => ops.matMul(a, b),
      inputs: [ref.randn([2, 3, 4], 35), ref.randn([1, 4, 5], 36)],
    }],
    ["conv2d same stride 1", {
      tfFn: (x, f) => tf.conv2d(x as T4, f as T4, 1, "same"),
      jsFn: (x, f) => ref.conv2d(x, f, spec1),
      inputs: [img, ref.randn([3, 3, 3, 2], 37)],
    }],
    ["conv2d same stride 2", {
      tfFn: (x, f) => tf.conv2d(x as T4, f as T4, 2, "same"),
      jsFn: (x, f) => ref.conv2d(x, f, spec2),
      inputs: [ref.randn([2, 7, 7, 2], 38), ref.randn([3, 3, 2, 3], 39)],
    }],
    ["conv2dTranspose (Conv2DBackpropInput forward)", {
      tfFn: (dy, f) => tf.conv2dTranspose(dy as T4, f as T4, [2, 6, 6, 3], 2, "same"),
      jsFn: (dy, f) => ref.conv2dBackpropInput([2, 6, 6, 3], dy, f, spec2),
      inputs: [ref.randn([2, 3, 3, 2], 40), ref.randn([3, 3, 3, 2], 41)],
    }],
    ["fused conv2d + bias + leakyRelu", {
      tfFn: (x, f, b) =>
        tf.fused.conv2d({
          x: x as T4,
          filter: f as T4,
          strides: 1,
          pad: "same",
          bias: b,
          activation: "leakyrelu",
          leakyreluAlpha: 0.2,
        }),
      jsFn: (x, f, b) => ref.leakyRelu(ref.add(ref.conv2d(x, f, spec1), b), 0.2),
      inputs: [img, ref.randn([3, 3, 3, 2], 42), ref.randn([2], 43)],
    }],
  ];
}

/** Comparison and logical ops on the path of a gradient: their (new) zero gradients let it through. */
function comparisonChecks(): Array<[string, GradientCheck]> {
  const a = ref.randn([3, 4], 60), b = ref.randn([3, 4], 61);
  const gate = (
    name: string,
    cmp: (x: T, y: T) => T,
    js: (x: number, y: number) => boolean,
  ): [string, GradientCheck] => [
    name,
    {
      tfFn: (x, y) => tf.where(cmp(x, y), tf.mul(x, y), tf.sub(x, tf.mul(y, 2))),
      jsFn: (x, y) => ops.broadcast(x, y, (p, q) => (js(p, q) ? p * q : p - 2 * q)),
      inputs: [a, b],
    },
  ];
  return [
    gate("greater", tf.greater, (p, q) => p > q),
    gate("less", tf.less, (p, q) => p < q),
  ];
}

function kernel(name: string, inputs: Record<string, T>, attrs: object): T {
  return tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as T;
}

/** The backward kernels as functions of their inputs: what a second derivative differentiates. */
function backwardKernelChecks(): Array<[string, GradientCheck]> {
  const spec2: ref.ConvSpec = { strides: 2, pad: "same" };
  const conv = { strides: 2, pad: "same", dataFormat: "NHWC" };
  return [
    ["Conv2DBackpropInput(dy, filter)", {
      tfFn: (dy, filter) =>
        kernel(tf.Conv2DBackpropInput, { dy, filter }, { ...conv, inputShape: [2, 6, 6, 2] }),
      jsFn: (dy, f) => ref.conv2dBackpropInput([2, 6, 6, 2], dy, f, spec2),
      inputs: [ref.randn([2, 3, 3, 3], 73), ref.randn([3, 3, 2, 3], 74)],
    }],
  ];
}

for (const backend of BACKENDS) {
  Deno.test(`gradients [${backend}]`, async (t) => {
    await useBackend(backend);

    await t.step("registered once, never overriding, covering the double-backprop kernels", () => {
      for (const name of Object.keys(GRADIENT_CONFIGS)) {
        assert.ok(tf.getGradient(name), `gradient for ${name}`);
      }
      assert.ok(registeredGradients.length > 0);
      const before = HIGHER_ORDER_KERNELS.map((name) => tf.getGradient(name));
      registerHigherOrderGradients();
      registerHigherOrderGradients();
      HIGHER_ORDER_KERNELS.forEach((name, i) => {
        assert.ok(before[i], `gradient for ${name}`);
        assert.equal(tf.getGradient(name), before[i]);
      });
      assert.equal(new Set(registeredGradients).size, registeredGradients.length);
    });

    await t.step("standard op gradients match finite differences", async () => {
      for (const [name, check] of standardChecks()) await checkGradients(`${name} [${backend}]`, check);
    });

    await t.step("comparison and logical ops pass zero gradients", async () => {
      for (const [name, check] of comparisonChecks()) await checkGradients(`${name} [${backend}]`, check);
    });

    await t.step("backward kernels are differentiable (second-order building blocks)", async () => {
      for (const [name, check] of backwardKernelChecks()) await checkGradients(`${name} [${backend}]`, check);
    });

    await t.step("leakyRelu's gradient is differentiable: d/dw of ∂/∂x Σ w·lrelu(x)", async () => {
      const x = awayFromZero([2, 5], 90), w = ref.randn([2, 5], 91), c = ref.randn([2, 5], 92);
      const [xt, wt, ct] = [x, w, c].map((a) => tf.tensor(Float32Array.from(a.data), a.shape));
      const inner = (wv: T) => tf.grad((xv: T) => tf.sum(tf.mul(wv, tf.leakyRelu(xv, 0.2))))(xt);
      const [gw] = tf.grads((wv: T) => tf.sum(tf.mul(ct, inner(wv))))([wt]);
      const want = c.data.map((cv, i) => cv * (x.data[i] > 0 ? 1 : 0.2));
      assert.deepEqual(
        Array.from(await gw.data(), (v) => Math.round(v * 1e5)),
        Array.from(want, (v) => Math.round(v * 1e5)),
      );
      tf.dispose([xt, wt, ct, gw]);
    });
  });
}
