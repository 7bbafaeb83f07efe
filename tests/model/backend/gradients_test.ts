/**
 * Every gradient registered by model/backend/gradients.ts against central finite differences of float64
 * plain-JS references, on every backend: the ported standard set, the zero gradients of comparison and
 * logical ops, and the gradients of the backward kernels that double backprop needs.
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
  const small = ref.uniform([2, 3, 4], 3, -0.8, 0.8);
  const img = ref.randn([2, 6, 6, 3], 4);
  const spec1: ref.ConvSpec = { strides: 1, pad: "same" }, spec2: ref.ConvSpec = { strides: 2, pad: "same" };
  const sel = awayFromZero([2, 3, 4], 5);
  return [
    ["abs", unit(tf.abs, Math.abs, awayFromZero([2, 3, 4], 6))],
    ["neg", unit(tf.neg, (v) => -v)],
    ["square", unit(tf.square, (v) => v * v)],
    ["sqrt", unit(tf.sqrt, Math.sqrt, pos)],
    ["rsqrt", unit(tf.rsqrt, (v) => 1 / Math.sqrt(v), pos)],
    ["reciprocal", unit(tf.reciprocal, (v) => 1 / v, awayFromZero([2, 3, 4], 7, 0.5))],
    ["exp", unit(tf.exp, Math.exp)],
    ["expm1", unit(tf.expm1, Math.expm1)],
    ["log", unit(tf.log, Math.log, pos)],
    ["log1p", unit(tf.log1p, Math.log1p, pos)],
    ["tanh", unit(tf.tanh, Math.tanh)],
    ["sigmoid", unit(tf.sigmoid, (v) => 1 / (1 + Math.exp(-v)))],
    ["softplus", unit(tf.softplus, (v) => Math.log1p(Math.exp(v)))],
    ["erf", unit(tf.erf, ops.erf, small)],
    ["sin", unit(tf.sin, Math.sin)],
    ["cos", unit(tf.cos, Math.cos)],
    ["tan", unit(tf.tan, Math.tan, small)],
    ["asin", unit(tf.asin, Math.asin, small)],
    ["acos", unit(tf.acos, Math.acos, small)],
    ["atan", unit(tf.atan, Math.atan)],
    ["sinh", unit(tf.sinh, Math.sinh)],
    ["cosh", unit(tf.cosh, Math.cosh)],
    ["asinh", unit(tf.asinh, Math.asinh)],
    ["acosh", unit(tf.acosh, Math.acosh, ref.uniform([2, 3, 4], 8, 1.2, 3))],
    ["atanh", unit(tf.atanh, Math.atanh, small)],
    ["relu", unit(tf.relu, (v) => Math.max(v, 0), sel)],
    ["relu6", unit(tf.relu6, (v) => Math.min(Math.max(v, 0), 6), ops.map(sel, (v) => v * 4))],
    ["leakyRelu", unit((x) => tf.leakyRelu(x, 0.2), (v) => (v > 0 ? v : 0.2 * v), sel)],
    ["elu", unit(tf.elu, (v) => (v > 0 ? v : Math.expm1(v)), sel)],
    ["selu", unit(tf.selu, (v) => ops.SELU_SCALE * (v > 0 ? v : ops.SELU_ALPHA * Math.expm1(v)), sel)],
    ["clipByValue", unit((x) => tf.clipByValue(x, -0.5, 0.5), (v) => Math.min(Math.max(v, -0.5), 0.5))],
    ["step, sign, floor, ceil, round: zero", {
      tfFn: (x) => tf.addN([tf.step(x), tf.sign(x), tf.floor(x), tf.ceil(x), tf.round(x), x]),
      jsFn: (x) =>
        ops.map(x, (v) => (v > 0 ? 1 : 0) + Math.sign(v) + Math.floor(v) + Math.ceil(v) + Math.round(v) + v),
      inputs: [ops.map(sel, (v) => v + 0.25)],
    }],
    ["add (broadcast)", pairOf(tf.add, (a, b) => a + b, x234(), ref.randn([3, 1], 9))],
    ["sub (broadcast)", pairOf(tf.sub, (a, b) => a - b, ref.randn([4], 10), x234())],
    ["mul (broadcast)", pairOf(tf.mul, (a, b) => a * b, x234(), ref.randn([2, 1, 4], 11))],
    ["div (broadcast)", pairOf(tf.div, (a, b) => a / b, x234(), awayFromZero([4], 12, 0.5))],
    ["pow", pairOf(tf.pow, (a, b) => a ** b, pos, ref.uniform([4], 13, 0.5, 2.5))],
    ["maximum", pairOf(tf.maximum, Math.max, x234(), ref.randn([2, 3, 4], 14))],
    ["minimum", pairOf(tf.minimum, Math.min, x234(), ref.randn([3, 4], 15))],
    [
      "squaredDifference",
      pairOf(tf.squaredDifference, (a, b) => (a - b) ** 2, x234(), ref.randn([2, 3, 4], 16)),
    ],
    ["atan2", pairOf(tf.atan2, Math.atan2, x234(), awayFromZero([2, 3, 4], 17))],
    [
      "mod",
      pairOf(
        tf.mod,
        (a, b) => a - b * Math.floor(a / b),
        ops.map(pos, (v) => v * 3 + 0.05),
        ref.uniform([4], 18, 0.7, 0.9),
      ),
    ],
    [
      "floorDiv: zero",
      pairOf(
        tf.floorDiv,
        (a, b) => Math.floor(a / b),
        ops.map(pos, (v) => v * 3 + 0.05),
        ref.uniform([4], 18, 0.7, 0.9),
      ),
    ],
    ["prelu", pairOf(tf.prelu, (x, a) => (x > 0 ? x : a * x), sel, ref.uniform([4], 19, 0.1, 0.3))],
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
    ["max over axis 1", {
      tfFn: (x) => tf.max(x, 1),
      jsFn: (x) => ops.reduce(x, [1], Math.max, -Infinity),
      inputs: [x234()],
    }],
    ["min over axis 0", {
      tfFn: (x) => tf.min(x, 0),
      jsFn: (x) => ops.reduce(x, [0], Math.min, Infinity),
      inputs: [x234()],
    }],
    ["prod over axis 2", {
      tfFn: (x) => tf.prod(x, 2),
      jsFn: (x) => ops.reduce(x, [2], (a, v) => a * v, 1),
      inputs: [pos],
    }],
    ["cumsum axis 0 (fixed)", {
      tfFn: (x) => tf.cumsum(x, 0),
      jsFn: (x) => ops.cumsum(x, 0),
      inputs: [x234()],
    }],
    ["cumsum exclusive", {
      tfFn: (x) => tf.cumsum(x, 2, true),
      jsFn: (x) => ops.cumsum(x, 2, true),
      inputs: [x234()],
    }],
    ["softmax", { tfFn: (x) => tf.softmax(x), jsFn: ops.softmax, inputs: [x234()] }],
    ["logSoftmax", {
      tfFn: (x) => tf.logSoftmax(x),
      jsFn: (x) => ops.map(ops.softmax(x), Math.log),
      inputs: [x234()],
    }],
    ["reshape", {
      tfFn: (x) => tf.reshape(x, [4, 6]),
      jsFn: (x) => ops.reshape(x, [4, 6]),
      inputs: [x234()],
    }],
    ["expandDims", {
      tfFn: (x) => tf.expandDims(x, 1),
      jsFn: (x) => ops.reshape(x, [2, 1, 3, 4]),
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
    ["broadcastTo", {
      tfFn: (x) => tf.broadcastTo(x, [2, 3, 4]),
      jsFn: (x) => ops.tile(x, [2, 1, 1]),
      inputs: [ref.randn([1, 3, 4], 24)],
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
    ["mirrorPad reflect (fixed)", {
      tfFn: (x) => tf.mirrorPad(x, [[0, 0], [2, 1], [1, 2]], "reflect"),
      jsFn: (x) => ops.mirrorPad(x, [[0, 0], [2, 1], [1, 2]], "reflect"),
      inputs: [x234()],
    }],
    ["mirrorPad symmetric (fixed)", {
      tfFn: (x) => tf.mirrorPad(x, [[1, 1], [3, 0], [0, 4]], "symmetric"),
      jsFn: (x) => ops.mirrorPad(x, [[1, 1], [3, 0], [0, 4]], "symmetric"),
      inputs: [x234()],
    }],
    ["concat", {
      tfFn: (a, b) => tf.concat([a, b, a], 1),
      jsFn: (a, b) => ops.concat([a, b, a], 1),
      inputs: [x234(), ref.randn([2, 2, 4], 25)],
    }],
    ["stack", {
      tfFn: (a, b) => tf.stack([a, b], 1),
      jsFn: (a, b) =>
        ops.transpose(ops.concat([ops.reshape(a, [1, 2, 3, 4]), ops.reshape(b, [1, 2, 3, 4])], 0), [
          1,
          0,
          2,
          3,
        ]),
      inputs: [x234(), ref.randn([2, 3, 4], 26)],
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
    ["reverse", {
      tfFn: (x) => tf.reverse(x, [0, 2]),
      jsFn: (x) => ops.reverse(x, [0, 2]),
      inputs: [x234()],
    }],
    ["gather (repeated indices)", {
      tfFn: (x) => tf.gather(x, tf.tensor1d([2, 0, 2, 1, 2], "int32"), 1),
      jsFn: (x) => ops.gather(x, [2, 0, 2, 1, 2], 1),
      inputs: [x234()],
    }],
    ["unsortedSegmentSum (negative ids dropped)", {
      tfFn: (x) => tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2, -1, 3], "int32"), 4),
      jsFn: (x) =>
        ref.fromIndex(
          [4, 3],
          ([sgm, j]) =>
            [2, 0, 2, -1, 3].reduce((acc, id, i) => acc + (id === sgm ? x.data[i * 3 + j] : 0), 0),
        ),
      inputs: [ref.randn([5, 3], 52)],
    }],
    ["spaceToBatchND", {
      tfFn: (x) => tf.spaceToBatchND(x, [2, 2], [[0, 0], [0, 2]]),
      // Output batch (i·2 + j)·N + n holds x[n, 2h + i, 2w + j] of the zero-padded input.
      jsFn: (x) =>
        ref.fromIndex([8, 2, 3, 2], ([b, h, w, c]) => {
          const off = Math.floor(b / 2), n = b % 2;
          return ref.at(x, [n, 2 * h + Math.floor(off / 2), 2 * w + (off % 2), c]) ?? 0;
        }),
      inputs: [ref.randn([2, 4, 4, 2], 53)],
    }],
    ["batchToSpaceND", {
      tfFn: (x) => tf.batchToSpaceND(x, [2, 2], [[0, 0], [1, 0]]),
      jsFn: (x) =>
        ref.fromIndex([2, 4, 3, 2], ([n, h, w, c]) => {
          const w0 = w + 1;
          const off = (h % 2) * 2 + (w0 % 2);
          return ref.at(x, [off * 2 + n, Math.floor(h / 2), Math.floor(w0 / 2), c]) as number;
        }),
      inputs: [ref.randn([8, 2, 2, 2], 54)],
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
    ["depthwiseConv2d same stride 1", {
      tfFn: (x, f) => tf.depthwiseConv2d(x as T4, f as T4, 1, "same"),
      jsFn: (x, f) => ref.depthwiseConv2d(x, f, spec1),
      inputs: [img, ref.randn([3, 3, 3, 1], 44)],
    }],
    ["depthwiseConv2d stride 2, multiplier 2", {
      tfFn: (x, f) => tf.depthwiseConv2d(x as T4, f as T4, 2, "same"),
      jsFn: (x, f) => ref.depthwiseConv2d(x, f, spec2),
      inputs: [img, ref.randn([3, 3, 3, 2], 45)],
    }],
    ["avgPool 2×2 valid", {
      tfFn: (x) => tf.avgPool(x as T4, 2, 2, "valid"),
      jsFn: (x) => ref.avgPoolValid(x, 2, 2),
      inputs: [img],
    }],
    ["avgPool 3×3 same stride 1 (fixed: windows over the padding)", {
      tfFn: (x) => tf.avgPool(x as T4, 3, 1, "same"),
      jsFn: (x) => ref.avgPool(x, 3, 1, "same"),
      inputs: [img],
    }],
    ["avgPool 3×3 same stride 2 (fixed)", {
      tfFn: (x) => tf.avgPool(x as T4, 3, 2, "same"),
      jsFn: (x) => ref.avgPool(x, 3, 2, "same"),
      inputs: [img],
    }],
    ["maxPool 2×2 valid (all-negative windows: wasm workaround)", {
      tfFn: (x) => tf.maxPool(x as T4, 2, 2, "valid"),
      jsFn: (x) => ops.maxPoolValid(x, 2, 2),
      inputs: [img],
    }],
    ["resizeNearestNeighbor ×2", {
      tfFn: (x) => tf.image.resizeNearestNeighbor(x as T4, [6, 8]),
      jsFn: (x) => ref.resizeNearest(x, 6, 8),
      inputs: [ref.randn([2, 3, 4, 2], 46)],
    }],
    ["resizeBilinear", {
      tfFn: (x) => tf.image.resizeBilinear(x as T4, [5, 7]),
      jsFn: (x) => ref.resizeBilinear(x, 5, 7),
      inputs: [ref.randn([2, 3, 4, 2], 47)],
    }],
    ["batchNorm", {
      tfFn: (x, m, v, o, s) => tf.batchNorm(x, m, v, o, s, 1e-3),
      jsFn: (x, m, v, o, s) => {
        const c = x.shape[x.shape.length - 1];
        return {
          shape: x.shape,
          data: x.data.map((xv, i) => {
            const k = i % c;
            return (xv - m.data[k]) / Math.sqrt(v.data[k] + 1e-3) * s.data[k] + o.data[k];
          }),
        };
      },
      inputs: [
        x234(),
        ref.randn([4], 48),
        ref.uniform([4], 49, 0.5, 2),
        ref.randn([4], 50),
        ref.randn([4], 51),
      ],
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
    gate("greaterEqual", tf.greaterEqual, (p, q) => p >= q),
    gate("less", tf.less, (p, q) => p < q),
    gate("lessEqual", tf.lessEqual, (p, q) => p <= q),
    gate("equal", (x, y) => tf.equal(x, tf.round(y)), (p, q) => p === Math.round(q)),
    gate("notEqual", (x, y) => tf.notEqual(x, tf.round(y)), (p, q) => p !== Math.round(q)),
    gate("logicalAnd", (x, y) => tf.logicalAnd(tf.greater(x, 0), tf.less(y, 0)), (p, q) => p > 0 && q < 0),
    gate("logicalOr", (x, y) => tf.logicalOr(tf.greater(x, 0), tf.less(y, 0)), (p, q) => p > 0 || q < 0),
    gate(
      "logicalXor",
      (x, y) => tf.logicalXor(tf.greater(x, 0), tf.less(y, 0)),
      (p, q) => (p > 0) !== (q < 0),
    ),
    gate("logicalNot", (x) => tf.logicalNot(tf.greater(x, 0)), (p) => !(p > 0)),
    gate(
      "isFinite, isNaN, isInf",
      (x) => tf.logicalAnd(tf.isFinite(x), tf.logicalNot(tf.logicalOr(tf.isNaN(x), tf.isInf(x)))),
      () => true,
    ),
  ];
}

function kernel(name: string, inputs: Record<string, T>, attrs: object): T {
  return tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as T;
}

/** The backward kernels as functions of their inputs: what a second derivative differentiates. */
function backwardKernelChecks(): Array<[string, GradientCheck]> {
  const spec2: ref.ConvSpec = { strides: 2, pad: "same" }, spec1: ref.ConvSpec = { strides: 1, pad: "same" };
  const conv = { strides: 2, pad: "same", dataFormat: "NHWC" };
  const dw2 = { strides: 2, pad: "same", dilations: 1 }, dw1 = { strides: 1, pad: "same", dilations: 1 };
  const pool = { filterSize: 2, strides: 2, pad: "valid" };
  const images = ref.randn([1, 3, 4, 2], 70); // batch 1: the cpu backend's own ResizeNearestNeighborGrad is wrong above
  return [
    ["Conv2DBackpropFilter(x, dy)", {
      tfFn: (x, dy) => kernel(tf.Conv2DBackpropFilter, { x, dy }, { ...conv, filterShape: [3, 3, 2, 3] }),
      jsFn: (x, dy) => ref.conv2dBackpropFilter(x, dy, [3, 3, 2, 3], spec2),
      inputs: [ref.randn([2, 6, 6, 2], 71), ref.randn([2, 3, 3, 3], 72)],
    }],
    ["Conv2DBackpropInput(dy, filter)", {
      tfFn: (dy, filter) =>
        kernel(tf.Conv2DBackpropInput, { dy, filter }, { ...conv, inputShape: [2, 6, 6, 2] }),
      jsFn: (dy, f) => ref.conv2dBackpropInput([2, 6, 6, 2], dy, f, spec2),
      inputs: [ref.randn([2, 3, 3, 3], 73), ref.randn([3, 3, 2, 3], 74)],
    }],
    ["DepthwiseConv2dNativeBackpropInput(dy, filter) stride 2, multiplier 2", {
      tfFn: (dy, filter) =>
        kernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter }, { ...dw2, inputShape: [2, 6, 6, 2] }),
      jsFn: (dy, f) => ref.depthwiseBackpropInput([2, 6, 6, 2], dy, f, spec2),
      inputs: [ref.randn([2, 3, 3, 4], 75), ref.randn([3, 3, 2, 2], 76)],
    }],
    ["DepthwiseConv2dNativeBackpropInput(dy, filter) stride 1", {
      tfFn: (dy, filter) =>
        kernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter }, { ...dw1, inputShape: [2, 5, 5, 3] }),
      jsFn: (dy, f) => ref.depthwiseBackpropInput([2, 5, 5, 3], dy, f, spec1),
      inputs: [ref.randn([2, 5, 5, 3], 77), ref.randn([3, 3, 3, 1], 78)],
    }],
    ["DepthwiseConv2dNativeBackpropFilter(x, dy)", {
      tfFn: (x, dy) =>
        kernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { ...dw2, filterShape: [3, 3, 2, 2] }),
      jsFn: (x, dy) => ref.depthwiseBackpropFilter(x, dy, [3, 3, 2, 2], spec2),
      inputs: [ref.randn([2, 6, 6, 2], 79), ref.randn([2, 3, 3, 4], 80)],
    }],
    ["AvgPoolGrad(dy, input)", {
      tfFn: (dy, input) => kernel(tf.AvgPoolGrad, { dy, input }, pool),
      jsFn: (dy) => ref.adjoint((x) => ref.avgPoolValid(x, 2, 2), [2, 4, 6, 2], dy),
      inputs: [ref.randn([2, 2, 3, 2], 81), ref.randn([2, 4, 6, 2], 82)],
    }],
    ["AvgPoolGrad(dy, input) 3×3 same stride 2", {
      tfFn: (dy, input) => kernel(tf.AvgPoolGrad, { dy, input }, { filterSize: 3, strides: 2, pad: "same" }),
      jsFn: (dy) => ref.adjoint((x) => ref.avgPool(x, 3, 2, "same", "window"), [2, 5, 6, 2], dy),
      inputs: [ref.randn([2, 3, 3, 2], 87), ref.randn([2, 5, 6, 2], 88)],
    }],
    ["ResizeNearestNeighborGrad(images, dy)", {
      tfFn: (dy, im) =>
        kernel(tf.ResizeNearestNeighborGrad, { dy, images: im }, {
          alignCorners: false,
          halfPixelCenters: false,
          size: [6, 8],
        }),
      jsFn: (dy) => ref.adjoint((x) => ref.resizeNearest(x, 6, 8), images.shape, dy),
      inputs: [ref.randn([1, 6, 8, 2], 83), images],
    }],
    ["ResizeBilinearGrad(images, dy)", {
      tfFn: (dy, im) =>
        // the cpu kernel declares [N, W, H, C] for its [N, H, W, C] data
        tf.reshape(
          kernel(tf.ResizeBilinearGrad, { dy, images: im }, {
            alignCorners: false,
            halfPixelCenters: false,
            size: [5, 7],
          }),
          im.shape,
        ),
      jsFn: (dy) => ref.adjoint((x) => ref.resizeBilinear(x, 5, 7), images.shape, dy),
      inputs: [ref.randn([1, 5, 7, 2], 84), images],
    }],
    ["EluGrad(dy, y)", {
      tfFn: (dy, y) => kernel(tf.EluGrad, { dy, y }, {}),
      jsFn: (dy, y) => ({
        shape: dy.shape,
        data: dy.data.map((d, i) => (y.data[i] >= 0 ? d : d * (y.data[i] + 1))),
      }),
      inputs: [ref.randn([2, 3, 4], 85), ops.map(awayFromZero([2, 3, 4], 86), (v) => Math.max(v, -0.9))],
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
