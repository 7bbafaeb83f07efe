/**
 * Gradient functions for TensorFlow.js, differentiable again so that double backprop (R1, WGAN-GP) works.
 *
 * Two sets:
 * - The standard tfjs-core gradients. The package's Node entry point (`tf-core.node.js`, which is what
 *   `npm:@tensorflow/tfjs-core` resolves to) registers none of them: only the `@tensorflow/tfjs` union
 *   package imports `register_all_gradients`, and its ESM files cannot be imported from Deno (extensionless
 *   relative imports). They are ported here from tfjs-core 4.22 `dist/gradients/*`, using public ops only,
 *   with fixes where tfjs is wrong or slow (each noted at the config): FloorDiv (zero), Cumsum (inner axes),
 *   MirrorPad (reflected entries), Tile (no slice loop), BatchMatMul (broadcast batch), AvgPool with
 *   padding (window counts), and backend bugs: cpu ResizeNearestNeighborGrad (batch > 1), cpu
 *   ResizeBilinearGrad (swapped shape), wasm MaxPoolGrad (all-negative windows), webgpu reversed Cumsum.
 * - Gradients tfjs has never had, needed the moment a gradient is itself differentiated: zero gradients for
 *   comparison and logical ops (leakyRelu's gradient calls `greater`, `where` calls `logicalNot`), and the
 *   gradients of the backward kernels (`Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropInput`/`Filter`,
 *   `AvgPoolGrad`, `ResizeNearestNeighborGrad`, `ResizeBilinearGrad`, `EluGrad`), each the adjoint of a
 *   linear map, written with forward ops.
 *
 * Nothing already registered is replaced, so a later `import "@tensorflow/tfjs"` keeps its own.
 *
 * The standard set follows TensorFlow.js (Copyright 2018–2023 Google LLC), licensed under the Apache
 * License 2.0 (http://www.apache.org/licenses/LICENSE-2.0); the changes are the fixes listed above.
 */
import * as tf from "@tensorflow/tfjs-core";

type Tensor = tf.Tensor;
type Tensor4D = tf.Tensor4D;
type GradMap = Record<string, () => Tensor>;
type GradFunc = (dy: Tensor | Tensor[], saved: Tensor[], attrs: tf.NamedAttrMap) => GradMap;

const bu = tf.backend_util;

function attrsOf<T>(attrs: tf.NamedAttrMap): T {
  return attrs as unknown as T;
}

function runKernel(name: string, inputs: Record<string, Tensor>, attrs: object): Tensor {
  return tf.engine().runKernel(
    name,
    inputs as tf.NamedTensorMap,
    attrs as unknown as tf.NamedAttrMap,
  ) as Tensor;
}

function f32(x: Tensor): Tensor {
  return x.dtype === "float32" ? x : tf.cast(x, "float32");
}

function zeros(shape: number[]): Tensor {
  return tf.zeros(shape, "float32");
}

/** Sum a broadcast result back to `shape` (the gradient of implicit broadcasting). */
function unbroadcast(res: Tensor, shape: number[]): Tensor {
  if (tf.util.arraysEqual(res.shape, shape)) return res;
  const lead = res.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < res.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && res.shape[i] !== 1)) axes.push(i);
  }
  return tf.reshape(axes.length ? tf.sum(res, axes) : res, shape);
}

function gradForMinAndMax(dy: Tensor, y: Tensor, x: Tensor, axes: number[]): Tensor {
  if (y.rank < x.rank) y = tf.reshape(y, bu.expandShapeToKeepDim(y.shape, axes));
  if (dy.rank < x.rank) dy = tf.reshape(dy, bu.expandShapeToKeepDim(dy.shape, axes));
  return tf.mul(dy, tf.cast(tf.equal(x, y), dy.dtype));
}

interface Config {
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  saveAllInputs?: boolean;
  gradFunc: GradFunc;
}

function one(dy: Tensor | Tensor[]): Tensor {
  return Array.isArray(dy) ? dy[0] : dy;
}

// ---------------------------------------------------------------------------------------------------------
// Elementwise.

const unary = (fn: (dy: Tensor, x: Tensor) => Tensor): Config => ({
  inputsToSave: ["x"],
  gradFunc: (dy, [x]) => ({ x: () => fn(one(dy), x) }),
});
const unaryFromOutput = (fn: (dy: Tensor, y: Tensor) => Tensor): Config => ({
  outputsToSave: [true],
  gradFunc: (dy, [y]) => ({ x: () => fn(one(dy), y) }),
});
/** Piecewise-constant ops (and ops with boolean output): zero gradient, float32 whatever the input dtype. */
const zeroUnary: Config = { gradFunc: (dy) => ({ x: () => zeros(one(dy).shape) }) };
const zeroBinary: Config = {
  inputsToSave: ["a", "b"],
  gradFunc: (_dy, [a, b]) => ({ a: () => zeros(a.shape), b: () => zeros(b.shape) }),
};

const binary = (
  derA: (dy: Tensor, a: Tensor, b: Tensor) => Tensor,
  derB: (dy: Tensor, a: Tensor, b: Tensor) => Tensor,
): Config => ({
  inputsToSave: ["a", "b"],
  gradFunc: (dy, [a, b]) => ({
    a: () => unbroadcast(derA(one(dy), a, b), a.shape),
    b: () => unbroadcast(derB(one(dy), a, b), b.shape),
  }),
});

const ELEMENTWISE: Record<string, Config> = {
  [tf.Abs]: unary((dy, x) => tf.mul(dy, tf.step(f32(x), -1))),
  [tf.Acos]: unary((dy, x) => tf.neg(tf.div(dy, tf.sqrt(tf.sub(1, tf.square(f32(x))))))),
  [tf.Acosh]: unary((dy, x) => tf.div(dy, tf.sqrt(tf.sub(tf.square(f32(x)), 1)))),
  [tf.Asin]: unary((dy, x) => tf.div(dy, tf.sqrt(tf.sub(1, tf.square(f32(x)))))),
  [tf.Asinh]: unary((dy, x) => tf.div(dy, tf.sqrt(tf.add(1, tf.square(f32(x)))))),
  [tf.Atan]: unary((dy, x) => tf.div(dy, tf.add(tf.square(f32(x)), 1))),
  [tf.Atanh]: unary((dy, x) => tf.div(dy, tf.sub(1, tf.square(f32(x))))),
  [tf.Cos]: unary((dy, x) => tf.mul(tf.neg(tf.sin(f32(x))), dy)),
  [tf.Cosh]: unary((dy, x) => tf.mul(tf.sinh(f32(x)), dy)),
  [tf.Sin]: unary((dy, x) => tf.mul(tf.cos(f32(x)), dy)),
  [tf.Sinh]: unary((dy, x) => tf.mul(tf.cosh(f32(x)), dy)),
  [tf.Tan]: unary((dy, x) => tf.div(dy, tf.square(tf.cos(x)))),
  [tf.Tanh]: unaryFromOutput((dy, y) => tf.mul(tf.sub(1, tf.square(y)), dy)),
  [tf.Sigmoid]: unaryFromOutput((dy, y) => tf.mul(dy, tf.mul(y, tf.sub(1, y)))),
  [tf.Exp]: unaryFromOutput((dy, y) => tf.mul(dy, y)),
  [tf.Expm1]: unary((dy, x) => tf.mul(dy, tf.exp(x))),
  [tf.Log]: unary((dy, x) => tf.div(dy, f32(x))),
  [tf.Log1p]: unary((dy, x) => tf.div(dy, tf.add(x, 1))),
  [tf.Sqrt]: unary((dy, x) => tf.div(dy, tf.mul(tf.sqrt(f32(x)), 2))),
  [tf.Rsqrt]: unary((dy, x) => tf.neg(tf.div(dy, tf.mul(tf.pow(x, 1.5), 2)))),
  [tf.Reciprocal]: unary((dy, x) => tf.div(dy, tf.neg(tf.square(x)))),
  [tf.Square]: unary((dy, x) => tf.mul(dy, tf.mul(f32(x), 2))),
  [tf.Erf]: unary((dy, x) => tf.mul(dy, tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI)))),
  [tf.Softplus]: unary((dy, x) => tf.mul(dy, tf.sigmoid(x))),
  [tf.Neg]: { gradFunc: (dy) => ({ x: () => tf.neg(one(dy)) }) },
  [tf.Relu]: unary((dy, x) => tf.mul(dy, tf.cast(tf.step(x), "float32"))),
  [tf.Relu6]: unary((dy, x) => tf.mul(dy, tf.cast(tf.mul(tf.lessEqual(x, 6), tf.step(x)), "float32"))),
  [tf.Selu]: unary((dy, x) =>
    tf.where(
      tf.greater(x, 0),
      tf.mul(dy, bu.SELU_SCALE),
      tf.mul(tf.mul(dy, bu.SELU_SCALEALPHA), tf.exp(f32(x))),
    )
  ),
  [tf.Elu]: {
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => runKernel(tf.EluGrad, { dy: one(dy), y }, {}) }),
  },
  [tf.LeakyRelu]: {
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => {
      const { alpha } = attrsOf<tf.LeakyReluAttrs>(attrs);
      const d = one(dy);
      return { x: () => tf.where(tf.greater(x, 0), d, tf.mul(d, alpha)) };
    },
  },
  [tf.Prelu]: {
    inputsToSave: ["x", "alpha"],
    gradFunc: (dy, [x, alpha]) => {
      const d = one(dy);
      const mask = tf.greater(x, 0);
      return {
        x: () => tf.where(mask, d, tf.mul(d, alpha)),
        alpha: () => unbroadcast(tf.where(mask, tf.zerosLike(d), tf.mul(d, x)), alpha.shape),
      };
    },
  },
  [tf.ClipByValue]: {
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => {
      const { clipValueMin, clipValueMax } = attrsOf<tf.ClipByValueAttrs>(attrs);
      const d = one(dy);
      return {
        x: () =>
          tf.where(
            tf.logicalAnd(tf.greaterEqual(x, clipValueMin), tf.lessEqual(x, clipValueMax)),
            d,
            tf.zerosLike(d),
          ),
      };
    },
  },
  [tf.Cast]: { gradFunc: (dy) => ({ x: () => one(dy).clone() }) },
  [tf.Identity]: { gradFunc: (dy) => ({ x: () => tf.cast(one(dy), "float32") }) },
  [tf.ComplexAbs]: unary((dy, x) => tf.mul(dy, tf.step(f32(x), -1))),

  [tf.Add]: binary((dy) => dy, (dy) => dy),
  [tf.Sub]: binary((dy) => dy, (dy) => tf.neg(dy)),
  [tf.Multiply]: binary((dy, _a, b) => tf.mul(dy, f32(b)), (dy, a) => tf.mul(dy, f32(a))),
  [tf.RealDiv]: binary(
    (dy, _a, b) => tf.div(dy, f32(b)),
    (dy, a, b) => tf.neg(tf.div(tf.mul(dy, f32(a)), f32(tf.square(b)))),
  ),
  // floor(a / b) is piecewise constant; tfjs returns the gradient of a / b instead.
  [tf.FloorDiv]: zeroBinary,
  [tf.Mod]: binary((dy) => dy, (dy, a, b) => tf.mul(dy, tf.neg(tf.floor(tf.div(a, b))))),
  [tf.Pow]: {
    inputsToSave: ["a", "b"],
    outputsToSave: [true],
    gradFunc: (dy, [a, b, y]) => {
      const d = one(dy);
      return {
        a: () => {
          const e = f32(b);
          return unbroadcast(tf.mul(d, tf.mul(e, tf.pow(a, tf.sub(e, 1)))), a.shape);
        },
        b: () => {
          const logBase = tf.where(tf.greater(a, 0), tf.log(a), tf.zerosLike(a));
          return unbroadcast(tf.mul(d, tf.mul(y, logBase)), b.shape);
        },
      };
    },
  },
  [tf.Atan2]: binary(
    (dy, a, b) => tf.mul(dy, tf.div(b, tf.add(tf.square(a), tf.square(b)))),
    (dy, a, b) => tf.neg(tf.mul(dy, tf.div(a, tf.add(tf.square(a), tf.square(b))))),
  ),
  [tf.SquaredDifference]: binary(
    (dy, a, b) => tf.mul(dy, tf.mul(2, tf.sub(a, b))),
    (dy, a, b) => tf.mul(dy, tf.mul(2, tf.sub(b, a))),
  ),
  [tf.Maximum]: binary(
    (dy, a, b) => tf.mul(dy, tf.cast(tf.greaterEqual(a, b), "float32")),
    (dy, a, b) => tf.mul(dy, tf.cast(tf.less(a, b), "float32")),
  ),
  [tf.Minimum]: binary(
    (dy, a, b) => tf.mul(dy, tf.cast(tf.lessEqual(a, b), "float32")),
    (dy, a, b) => tf.mul(dy, tf.cast(tf.greater(a, b), "float32")),
  ),
  [tf.AddN]: {
    saveAllInputs: true,
    gradFunc: (dy, saved) => Object.fromEntries(saved.map((_, i) => [i, () => one(dy).clone()])),
  },
  [tf.Select]: {
    inputsToSave: ["condition"],
    gradFunc: (dy, [condition]) => {
      const d = one(dy);
      return {
        condition: () => zeros(condition.shape),
        t: () => tf.mul(d, tf.cast(condition, d.dtype)),
        e: () => tf.mul(d, tf.cast(tf.logicalNot(condition), d.dtype)),
      };
    },
  },

  // Piecewise constant: zero gradient (tfjs has these, except where marked new).
  [tf.Ceil]: zeroUnary,
  [tf.Floor]: zeroUnary,
  [tf.Round]: zeroUnary,
  [tf.Sign]: zeroUnary,
  [tf.Step]: zeroUnary,
  [tf.IsFinite]: zeroUnary,
  [tf.IsInf]: zeroUnary,
  [tf.IsNan]: zeroUnary,
  [tf.OnesLike]: zeroUnary,
  [tf.ZerosLike]: zeroUnary,
  [tf.ArgMax]: { inputsToSave: ["x"], gradFunc: (_dy, [x]) => ({ x: () => zeros(x.shape) }) },
  [tf.ArgMin]: { inputsToSave: ["x"], gradFunc: (_dy, [x]) => ({ x: () => zeros(x.shape) }) },
  [tf.OneHot]: { inputsToSave: ["indices"], gradFunc: (_dy, [i]) => ({ indices: () => zeros(i.shape) }) },
  [tf.GreaterEqual]: zeroBinary,
  // New: comparisons and logic reached by second-order backprop.
  [tf.Greater]: zeroBinary,
  [tf.Less]: zeroBinary,
  [tf.LessEqual]: zeroBinary,
  [tf.Equal]: zeroBinary,
  [tf.NotEqual]: zeroBinary,
  [tf.LogicalAnd]: zeroBinary,
  [tf.LogicalOr]: zeroBinary,
  [tf.LogicalXor]: zeroBinary,
  [tf.LogicalNot]: zeroUnary,
};

// ---------------------------------------------------------------------------------------------------------
// Reductions, shapes, indexing.

function tileGrad(dy: Tensor, xShape: number[]): Tensor {
  // Fixes tfjs's slice-and-add loop (reps[0]·…·reps[3] slices): reshape each tiled axis to [reps, size]
  // and sum the reps, one axis at a time so that no tensor exceeds rank 4.
  let g = dy;
  for (let axis = 0; axis < xShape.length; axis++) {
    const reps = g.shape[axis] / xShape[axis];
    if (reps === 1) continue;
    const before = g.shape.slice(0, axis).reduce((p, c) => p * c, 1);
    const after = g.shape.slice(axis + 1).reduce((p, c) => p * c, 1);
    const shape = g.shape.slice();
    shape[axis] = xShape[axis];
    g = tf.reshape(tf.sum(tf.reshape(g, [before, reps, xShape[axis], after]), 1), shape);
  }
  return g;
}

function mirrorPadGrad(
  dy: Tensor,
  xShape: number[],
  paddings: Array<[number, number]>,
  mode: string,
): Tensor {
  // tfjs slices the centre and drops the reflected parts; fold them back onto the entries they copy.
  const symmetric = mode === "symmetric" ? 1 : 0;
  let g = dy;
  for (let axis = 0; axis < xShape.length; axis++) {
    const [before, after] = paddings[axis];
    if (before === 0 && after === 0) continue;
    const n = xShape[axis];
    const part = (start: number, size: number) => {
      const begin = g.shape.map(() => 0);
      const sizes = g.shape.slice();
      begin[axis] = start;
      sizes[axis] = size;
      return tf.slice(g, begin, sizes);
    };
    const padAxis = (t: Tensor, lo: number, hi: number) =>
      tf.pad(t, t.shape.map((_, i) => (i === axis ? [lo, hi] : [0, 0]) as [number, number]));
    let acc = part(before, n);
    if (before > 0) {
      // Padded index i < before copies x[before - i - symmetric].
      const lo = 1 - symmetric;
      acc = tf.add(acc, padAxis(tf.reverse(part(0, before), axis), lo, n - before - lo));
    }
    if (after > 0) {
      // Padded index n + j copies x[n - 2 - j + symmetric].
      const hi = 1 - symmetric;
      acc = tf.add(acc, padAxis(tf.reverse(part(before + n, after), axis), n - after - hi, hi));
    }
    g = acc;
  }
  return g;
}

function prodGrad(x: Tensor, dy: Tensor, axes: number[]): Tensor {
  const rank = x.rank;
  const perm = bu.getAxesPermutation(axes, rank);
  const px = perm != null ? tf.transpose(x, perm) : x;
  const newShape = px.shape.slice(0, rank - axes.length);
  const inner = px.shape.slice(rank - axes.length).reduce((p, c) => p * c, 1);
  const lastAxis = newShape.length;
  const flat = tf.reshape(px, [...newShape, inner]);
  const expanded = tf.reshape(dy, [...newShape, 1]);
  const g = tf.mul(
    expanded,
    tf.mul(tf.cumprod(flat, lastAxis, true, false), tf.cumprod(flat, lastAxis, true, true)),
  );
  const back = tf.reshape(g, px.shape);
  return perm != null ? tf.transpose(back, bu.getUndoAxesPermutation(perm)) : back;
}

function gatherGradFor(x: Tensor, indices: Tensor, dy: Tensor, axis: number): Tensor {
  const paramsShape = x.shape;
  const n = indices.size;
  const outer = paramsShape.slice(0, axis);
  const innerShape = paramsShape.slice(axis + 1);
  const outerDims = outer.length;
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
  const values = tf.reshape(dy, [...outer, n, ...innerShape]);
  const perm = [
    outerDims,
    ...range(0, outerDims),
    ...range(outerDims + 1, outerDims + 1 + innerShape.length),
  ];
  const summed = tf.unsortedSegmentSum(
    tf.transpose(values, perm),
    tf.reshape(indices, [n]),
    paramsShape[axis],
  );
  return tf.transpose(summed, bu.getUndoAxesPermutation(perm));
}

function gatherDropNegatives(x: Tensor, indices: Tensor): Tensor {
  const gathered = tf.gather(x, tf.maximum(indices, tf.zerosLike(indices)));
  let positive = tf.greaterEqual(indices, tf.scalar(0, "int32"));
  for (let i = 0; i < gathered.rank - positive.rank; i++) positive = tf.expandDims(positive, i + 1);
  positive = tf.logicalAnd(positive, tf.ones(gathered.shape, "bool"));
  return tf.where(positive, gathered, tf.zerosLike(gathered));
}

const STRUCTURAL: Record<string, Config> = {
  [tf.Sum]: {
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => {
      const axes = tf.util.parseAxisParam(attrsOf<tf.SumAttrs>(attrs).axis, x.shape);
      const shape = x.shape.slice();
      axes.forEach((a) => (shape[a] = 1));
      return { x: () => tf.mul(tf.reshape(one(dy), shape), tf.ones(x.shape)) };
    },
  },
  [tf.Mean]: {
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => {
      const axes = tf.util.parseAxisParam(attrsOf<tf.MeanAttrs>(attrs).axis, x.shape);
      const size = tf.util.sizeFromShape(bu.computeOutAndReduceShapes(x.shape, axes)[1]);
      return {
        x: () => {
          const shape = x.shape.slice();
          axes.forEach((a) => (shape[a] = 1));
          return tf.div(tf.mul(tf.reshape(one(dy), shape), tf.ones(x.shape, "float32")), size);
        },
      };
    },
  },
  [tf.Max]: {
    inputsToSave: ["x"],
    outputsToSave: [true],
    gradFunc: (dy, [x, y], attrs) => {
      const axes = tf.util.parseAxisParam(attrsOf<tf.MaxAttrs>(attrs).reductionIndices, x.shape);
      return { x: () => gradForMinAndMax(one(dy), y, x, axes) };
    },
  },
  [tf.Min]: {
    inputsToSave: ["x"],
    outputsToSave: [true],
    gradFunc: (dy, [x, y], attrs) => {
      const axes = tf.util.parseAxisParam(attrsOf<tf.MinAttrs>(attrs).axis, x.shape);
      return { x: () => gradForMinAndMax(one(dy), y, x, axes) };
    },
  },
  [tf.Prod]: {
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => {
      const { axis } = attrsOf<tf.ProdAttrs>(attrs);
      const axes = axis == null ? x.shape.map((_, i) => i) : typeof axis === "number" ? [axis] : axis;
      return { x: () => prodGrad(x, one(dy), tf.util.parseAxisParam(axes, x.shape)) };
    },
  },
  [tf.Cumsum]: {
    gradFunc: (dy, _saved, attrs) => {
      // tfjs transposes the result once more for inner axes, though the op already returns the input layout.
      // A reversed cumsum is spelled reverse + cumsum + reverse: webgpu's reverse=true is wrong off the last axis.
      const { axis, exclusive, reverse } = attrsOf<tf.CumsumAttrs>(attrs);
      const d = one(dy);
      return {
        x: () =>
          reverse
            ? tf.cumsum(d, axis, exclusive)
            : tf.reverse(tf.cumsum(tf.reverse(d, axis), axis, exclusive), axis),
      };
    },
  },
  [tf.Reshape]: { inputsToSave: ["x"], gradFunc: (dy, [x]) => ({ x: () => tf.reshape(one(dy), x.shape) }) },
  [tf.ExpandDims]: {
    inputsToSave: ["input"],
    gradFunc: (dy, [input]) => ({ input: () => tf.reshape(one(dy), input.shape) }),
  },
  [tf.Transpose]: {
    gradFunc: (dy, _saved, attrs) => {
      const { perm } = attrsOf<tf.TransposeAttrs>(attrs);
      return { x: () => tf.transpose(one(dy), bu.getUndoAxesPermutation(perm)) };
    },
  },
  [tf.Reverse]: {
    gradFunc: (dy, _saved, attrs) => {
      const axes = tf.util.parseAxisParam(attrsOf<tf.ReverseAttrs>(attrs).dims, one(dy).shape);
      return { x: () => tf.reverse(one(dy), axes) };
    },
  },
  [tf.Tile]: { inputsToSave: ["x"], gradFunc: (dy, [x]) => ({ x: () => tileGrad(one(dy), x.shape) }) },
  [tf.BroadcastTo]: {
    gradFunc: (dy, _saved, attrs) => {
      const { inputShape, shape } = attrsOf<tf.BroadCastToAttrs>(attrs);
      const axes = shape.map((s, i) => (inputShape[i] === s ? -1 : i)).filter((i) => i >= 0);
      return { x: () => tf.sum(one(dy), axes, true) };
    },
  },
  [tf.Slice]: {
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => {
      const { begin, size } = attrsOf<tf.SliceAttrs>(attrs);
      const [b, s] = tf.slice_util.parseSliceParams(x, begin, size);
      const paddings = x.shape.map((n, i) => [b[i], n - b[i] - s[i]] as [number, number]);
      return { x: () => tf.pad(one(dy), paddings) };
    },
  },
  [tf.PadV2]: {
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => {
      const { paddings } = attrsOf<tf.PadV2Attrs>(attrs);
      return { x: () => tf.slice(one(dy), paddings.map((p) => p[0]), x.shape) };
    },
  },
  [tf.MirrorPad]: {
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => {
      const { paddings, mode } = attrsOf<tf.MirrorPadAttrs>(attrs);
      return { x: () => mirrorPadGrad(one(dy), x.shape, paddings, mode) };
    },
  },
  [tf.Concat]: {
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const axis = tf.util.parseAxisParam(attrsOf<tf.ConcatAttrs>(attrs).axis, saved[0].shape)[0];
      const parts = tf.split(one(dy), saved.map((t) => t.shape[axis]), axis);
      return Object.fromEntries(parts.map((t, i) => [i, () => t]));
    },
  },
  [tf.Pack]: {
    saveAllInputs: true,
    gradFunc: (dy, _saved, attrs) => {
      const parts = tf.unstack(one(dy), attrsOf<tf.PackAttrs>(attrs).axis);
      return Object.fromEntries(parts.map((t, i) => [i, () => t]));
    },
  },
  [tf.Unpack]: {
    gradFunc: (dy, _saved, attrs) => ({
      value: () => tf.stack(dy as Tensor[], attrsOf<tf.UnpackAttrs>(attrs).axis),
    }),
  },
  [tf.SplitV]: {
    gradFunc: (dy, _saved, attrs) => ({
      x: () => tf.concat(dy as Tensor[], attrsOf<tf.SplitVAttrs>(attrs).axis),
    }),
  },
  [tf.GatherV2]: {
    inputsToSave: ["x", "indices"],
    gradFunc: (dy, [x, indices], attrs) => {
      const { axis, batchDims } = attrsOf<tf.GatherV2Attrs>(attrs);
      const a = tf.util.parseAxisParam(axis, x.shape)[0];
      const d = one(dy);
      const derX = () => {
        if (batchDims !== 1) return gatherGradFor(x, indices, d, a);
        const xs = tf.split(x, x.shape[0], 0);
        const parts = xs.map((xi, i) =>
          gatherGradFor(
            xi,
            tf.slice(indices, i, 1),
            tf.slice(d, i, 1),
            a,
          )
        );
        return tf.reshape(tf.stack(parts), x.shape);
      };
      return { x: derX, indices: () => zeros(indices.shape) };
    },
  },
  [tf.UnsortedSegmentSum]: {
    inputsToSave: ["segmentIds"],
    gradFunc: (dy, [segmentIds]) => ({ x: () => gatherDropNegatives(one(dy), segmentIds) }),
  },
  [tf.SpaceToBatchND]: {
    gradFunc: (dy, _saved, attrs) => {
      const { blockShape, paddings } = attrsOf<tf.SpaceToBatchNDAttrs>(attrs);
      return { x: () => tf.batchToSpaceND(one(dy), blockShape, paddings) };
    },
  },
  [tf.BatchToSpaceND]: {
    gradFunc: (dy, _saved, attrs) => {
      const { blockShape, crops } = attrsOf<tf.BatchToSpaceNDAttrs>(attrs);
      return { x: () => tf.spaceToBatchND(one(dy), blockShape, crops) };
    },
  },
  [tf.Softmax]: {
    outputsToSave: [true],
    gradFunc: (dy, [y], attrs) => {
      const { dim } = attrsOf<tf.SoftmaxAttrs>(attrs);
      const dyy = tf.mul(one(dy), y);
      return { logits: () => tf.sub(dyy, tf.mul(tf.sum(dyy, [dim], true), y)) };
    },
  },
  [tf.LogSoftmax]: {
    outputsToSave: [true],
    gradFunc: (dy, [value], attrs) => {
      const { axis } = attrsOf<tf.LogSoftmaxAttrs>(attrs);
      return { logits: () => tf.sub(one(dy), tf.mul(tf.sum(one(dy), axis, true), tf.exp(value))) };
    },
  },
  [tf.BatchMatMul]: {
    inputsToSave: ["a", "b"],
    gradFunc: (dy, [a, b], attrs) => {
      const { transposeA, transposeB } = attrsOf<tf.BatchMatMulAttrs>(attrs);
      const d = one(dy);
      const mm = (p: Tensor, q: Tensor, tp: boolean, tq: boolean) => tf.matMul(p, q, tp, tq);
      // Broadcast batch dimensions are summed back (tfjs leaves them to fail the shape check).
      let da: () => Tensor, db: () => Tensor;
      if (!transposeA && !transposeB) [da, db] = [() => mm(d, b, false, true), () => mm(a, d, true, false)];
      else if (!transposeA && transposeB) {
        [da, db] = [() => mm(d, b, false, false), () => mm(d, a, true, false)];
      } else if (transposeA && !transposeB) {
        [da, db] = [() => mm(b, d, false, true), () => mm(a, d, false, false)];
      } else [da, db] = [() => mm(b, d, true, true), () => mm(d, a, true, true)];
      return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) };
    },
  },
  [tf.FusedBatchNorm]: {
    inputsToSave: ["x", "mean", "variance", "scale"],
    gradFunc: (dy, saved, attrs) => {
      const { varianceEpsilon } = attrsOf<tf.FusedBatchNormAttrs>(attrs);
      const [x, mean, variance, scale] = saved;
      const d = one(dy);
      const scaleValue = scale == null ? tf.scalar(1) : scale;
      const axes = bu.getReductionAxes(mean.shape, x.shape);
      const tileShape: number[] = [];
      if (mean.rank === 1) {
        for (let i = 0; i < x.shape.length - 1; ++i) tileShape.push(x.shape[i]);
        tileShape.push(1);
      }
      const xMinusMean = tf.sub(x, mean);
      const dyScaled = tf.mul(d, scaleValue);
      const rstd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
      const minusHalfRCube = tf.mul(tf.mul(tf.mul(rstd, rstd), rstd), tf.scalar(-0.5));
      const reduce = (t: Tensor) => tf.reshape(mean.rank === 1 ? tf.sum(t, axes) : t, mean.shape);
      return {
        x: () =>
          mean.rank === 1
            ? tf.reshape(
              tf.mul(tf.mul(d, tf.tile(tf.reshape(rstd, [1, 1, 1, mean.shape[0]]), tileShape)), scaleValue),
              x.shape,
            )
            : tf.reshape(tf.mul(tf.mul(d, rstd), scaleValue), x.shape),
        mean: () => reduce(tf.mul(tf.mul(rstd, tf.scalar(-1)), dyScaled)),
        variance: () => reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyScaled)),
        scale: () => reduce(tf.mul(d, tf.mul(xMinusMean, rstd))),
        offset: () => reduce(d),
      };
    },
  },
};

// ---------------------------------------------------------------------------------------------------------
// Convolutions, pooling, resizing: forward ops (ported) and their backward kernels (new).

type ConvPad = tf.Conv2DAttrs["pad"];

function conv2dBackpropInput(
  xShape: number[],
  dy: Tensor,
  filter: Tensor,
  strides: tf.Conv2DAttrs["strides"],
  pad: ConvPad,
  dataFormat: "NHWC" | "NCHW" = "NHWC",
  dimRoundingMode?: tf.Conv2DAttrs["dimRoundingMode"],
): Tensor {
  return runKernel(tf.Conv2DBackpropInput, { dy, filter }, {
    strides,
    pad,
    dataFormat,
    dimRoundingMode,
    inputShape: xShape,
  });
}

function conv2dBackpropFilter(
  x: Tensor,
  dy: Tensor,
  filterShape: number[],
  strides: tf.Conv2DAttrs["strides"],
  pad: ConvPad,
  dataFormat: "NHWC" | "NCHW" = "NHWC",
  dimRoundingMode?: tf.Conv2DAttrs["dimRoundingMode"],
): Tensor {
  return runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
    strides,
    pad,
    dataFormat,
    dimRoundingMode,
    filterShape,
  });
}

type DepthwiseAttrs = tf.DepthwiseConv2dNativeAttrs;

function depthwiseBackpropInput(xShape: number[], dy: Tensor, filter: Tensor, a: DepthwiseAttrs): Tensor {
  const { strides, pad, dilations, dimRoundingMode } = a;
  return runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter }, {
    strides,
    pad,
    dilations,
    dimRoundingMode,
    inputShape: xShape,
  });
}

function depthwiseBackpropFilter(x: Tensor, dy: Tensor, filterShape: number[], a: DepthwiseAttrs): Tensor {
  const { strides, pad, dilations, dimRoundingMode } = a;
  return runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, {
    strides,
    pad,
    dilations,
    dimRoundingMode,
    filterShape,
  });
}

function depthwise(x: Tensor, filter: Tensor, a: DepthwiseAttrs): Tensor {
  return tf.depthwiseConv2d(
    x as Tensor4D,
    filter as Tensor4D,
    a.strides,
    a.pad,
    "NHWC",
    a.dilations ?? 1,
    a.dimRoundingMode,
  );
}

function assertUnitDilation(dilations: number | [number, number] | undefined, op: string): void {
  const d = dilations ?? 1;
  tf.util.assert(
    bu.tupleValuesAreOne(d),
    () =>
      `Error in gradient of ${op}: dilation rates greater than 1 are not yet supported. Got dilations '${d}'`,
  );
}

/**
 * tfjs-backend-cpu 4.22's ResizeNearestNeighborGrad offsets dy by the image's batch stride, so it is right
 * only for batch 1; on cpu the batch is folded into the channels (the kernel reads only images' shape).
 */
function resizeNearestNeighborGrad(dy: Tensor, images: Tensor, attrs: tf.NamedAttrMap): Tensor {
  const [n, h, w, c] = images.shape;
  if (n === 1 || tf.getBackend() !== "cpu") {
    return runKernel(tf.ResizeNearestNeighborGrad, { dy, images }, attrs);
  }
  const [, ho, wo] = dy.shape;
  const folded = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [1, ho, wo, n * c]);
  const g = runKernel(tf.ResizeNearestNeighborGrad, {
    dy: folded,
    images: tf.reshape(images, [1, h, w, n * c]),
  }, attrs);
  return tf.transpose(tf.reshape(g, [h, w, n, c]), [2, 0, 1, 3]);
}

/**
 * For each output of a 2-D pool over NHWC `xShape`: the fraction of its kh×kw window inside the input,
 * as a [1, Ho, Wo, 1] tensor; null when every window lies inside (no padding reached).
 */
function validFraction(
  xShape: number[],
  filterSize: number | [number, number],
  strides: number | [number, number],
  pad: tf.AvgPoolAttrs["pad"],
  dimRoundingMode?: "floor" | "round" | "ceil",
): Tensor | null {
  const info = bu.computePool2DInfo(
    xShape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { outHeight, outWidth, inHeight, inWidth, strideHeight, strideWidth, filterHeight, filterWidth } =
    info;
  const { top, left } = info.padInfo;
  const inside = (o: number, s: number, k: number, before: number, n: number) =>
    Math.min(o * s - before + k, n) - Math.max(o * s - before, 0);
  const values = new Float32Array(outHeight * outWidth);
  let partial = false;
  for (let r = 0; r < outHeight; r++) {
    const rows = inside(r, strideHeight, filterHeight, top, inHeight);
    for (let c = 0; c < outWidth; c++) {
      const v = (rows * inside(c, strideWidth, filterWidth, left, inWidth)) / (filterHeight * filterWidth);
      values[r * outWidth + c] = v;
      if (v !== 1) partial = true;
    }
  }
  return partial ? tf.tensor4d(values, [1, outHeight, outWidth, 1]) : null;
}

/**
 * tfjs-backend-wasm 4.22's MaxPoolGrad sends the gradient of a window whose values are all negative to the
 * window's first element; on wasm the input is shifted to be positive first (max commutes with the shift).
 */
function maxPoolGrad(dy: Tensor, x: Tensor, y: Tensor, attrs: object): Tensor {
  if (tf.getBackend() !== "wasm") return runKernel(tf.MaxPoolGrad, { dy, input: x, output: y }, attrs);
  const shift = tf.sub(1, tf.min(x));
  return runKernel(tf.MaxPoolGrad, { dy, input: tf.add(x, shift), output: tf.add(y, shift) }, attrs);
}

const CONV: Record<string, Config> = {
  [tf.Conv2D]: {
    inputsToSave: ["x", "filter"],
    gradFunc: (dy, [x, filter], attrs) => {
      const { dilations, strides, pad, dataFormat } = attrsOf<tf.Conv2DAttrs>(attrs);
      assertUnitDilation(dilations, "conv2D");
      return {
        x: () => conv2dBackpropInput(x.shape, one(dy), filter, strides, pad, dataFormat),
        filter: () => conv2dBackpropFilter(x, one(dy), filter.shape, strides, pad, dataFormat),
      };
    },
  },
  [tf.Conv2DBackpropInput]: {
    inputsToSave: ["dy", "filter"],
    gradFunc: (ddx, [dy, filter], attrs) => {
      const { strides, pad, dataFormat, dimRoundingMode } = attrsOf<tf.Conv2DBackpropInputAttrs>(attrs);
      return {
        dy: () =>
          tf.conv2d(one(ddx) as Tensor4D, filter as Tensor4D, strides, pad, dataFormat, 1, dimRoundingMode),
        filter: () =>
          conv2dBackpropFilter(one(ddx), dy, filter.shape, strides, pad, dataFormat, dimRoundingMode),
      };
    },
  },
  // New: dW = B(x, dy) is bilinear; its adjoints are the input gradient and the forward conv.
  [tf.Conv2DBackpropFilter]: {
    inputsToSave: ["x", "dy"],
    gradFunc: (ddw, [x, dy], attrs) => {
      const { strides, pad, dataFormat, dimRoundingMode } = attrsOf<tf.Conv2DBackpropFilterAttrs>(attrs);
      return {
        x: () => conv2dBackpropInput(x.shape, dy, one(ddw), strides, pad, dataFormat, dimRoundingMode),
        dy: () =>
          tf.conv2d(x as Tensor4D, one(ddw) as Tensor4D, strides, pad, dataFormat, 1, dimRoundingMode),
      };
    },
  },
  [tf.DepthwiseConv2dNative]: {
    inputsToSave: ["x", "filter"],
    gradFunc: (dy, [x, filter], attrs) => {
      const a = attrsOf<DepthwiseAttrs>(attrs);
      assertUnitDilation(a.dilations, "depthwiseConv2dNative");
      return {
        x: () => depthwiseBackpropInput(x.shape, one(dy), filter, a),
        filter: () => depthwiseBackpropFilter(x, one(dy), filter.shape, a),
      };
    },
  },
  // New: the depthwise backward kernels, adjoints of each other and of the forward depthwise conv.
  [tf.DepthwiseConv2dNativeBackpropInput]: {
    inputsToSave: ["dy", "filter"],
    gradFunc: (ddx, [dy, filter], attrs) => {
      const a = attrsOf<DepthwiseAttrs>(attrs);
      return {
        dy: () => depthwise(one(ddx), filter, a),
        filter: () => depthwiseBackpropFilter(one(ddx), dy, filter.shape, a),
      };
    },
  },
  [tf.DepthwiseConv2dNativeBackpropFilter]: {
    inputsToSave: ["x", "dy"],
    gradFunc: (ddw, [x, dy], attrs) => {
      const a = attrsOf<DepthwiseAttrs>(attrs);
      return {
        x: () => depthwiseBackpropInput(x.shape, dy, one(ddw), a),
        dy: () => depthwise(x, one(ddw), a),
      };
    },
  },
  [tf.Conv3D]: {
    inputsToSave: ["x", "filter"],
    gradFunc: (dy, [x, filter], attrs) => {
      const { dilations, strides, pad } = attrsOf<tf.Conv3DAttrs>(attrs);
      tf.util.assert(
        bu.tupleValuesAreOne(dilations),
        () => "Error in gradient of conv3D: dilations must be 1",
      );
      return {
        x: () =>
          runKernel(tf.Conv3DBackpropInputV2, { dy: one(dy), filter }, { strides, pad, inputShape: x.shape }),
        filter: () =>
          runKernel(tf.Conv3DBackpropFilterV2, { x, dy: one(dy) }, {
            strides,
            pad,
            filterShape: filter.shape,
          }),
      };
    },
  },
  [tf.Dilation2D]: {
    inputsToSave: ["x", "filter"],
    gradFunc: (dy, [x, filter], attrs) => ({
      x: () => runKernel(tf.Dilation2DBackpropInput, { x, filter, dy: one(dy) }, attrs),
      filter: () => runKernel(tf.Dilation2DBackpropFilter, { x, filter, dy: one(dy) }, attrs),
    }),
  },
  [tf.AvgPool]: {
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => {
      const { filterSize, strides, pad, dimRoundingMode } = attrsOf<tf.AvgPoolAttrs>(attrs);
      // Fix: the forward op averages over the window's valid entries only, AvgPoolGrad always divides by
      // kh·kw; rescale dy where a window overlaps the padding.
      const ratio = validFraction(x.shape, filterSize, strides, pad, dimRoundingMode);
      const d = ratio ? tf.div(one(dy), ratio) : one(dy);
      return { x: () => runKernel(tf.AvgPoolGrad, { dy: d, input: x }, { filterSize, strides, pad }) };
    },
  },
  // New: AvgPoolGrad (dx = Σ dy / (kh·kw) over the windows) is linear in dy; its adjoint is a sum pool over
  // the valid entries divided by kh·kw: avgPool(ddx) times the valid fraction of each window.
  [tf.AvgPoolGrad]: {
    inputsToSave: ["input"],
    gradFunc: (ddx, [input], attrs) => {
      const { filterSize, strides, pad } = attrsOf<tf.AvgPoolGradAttrs>(attrs);
      const ratio = validFraction(input.shape, filterSize, strides, pad);
      return {
        dy: () => {
          const pooled = tf.avgPool(one(ddx) as Tensor4D, filterSize, strides, pad as "valid");
          return ratio ? tf.mul(pooled, ratio) : pooled;
        },
        input: () => zeros(input.shape),
      };
    },
  },
  [tf.MaxPool]: {
    inputsToSave: ["x"],
    outputsToSave: [true],
    gradFunc: (dy, [x, y], attrs) => {
      const { filterSize, strides, pad } = attrsOf<tf.MaxPoolAttrs>(attrs);
      return { x: () => maxPoolGrad(one(dy), x, y, { filterSize, strides, pad }) };
    },
  },
  [tf.AvgPool3D]: {
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => {
      const { filterSize, strides, pad, dimRoundingMode } = attrsOf<tf.AvgPool3DAttrs>(attrs);
      return {
        x: () =>
          runKernel(tf.AvgPool3DGrad, { dy: one(dy), input: x }, {
            filterSize,
            strides,
            pad,
            dimRoundingMode,
          }),
      };
    },
  },
  [tf.MaxPool3D]: {
    inputsToSave: ["x"],
    outputsToSave: [true],
    gradFunc: (dy, [x, y], attrs) => {
      const { filterSize, strides, pad, dimRoundingMode } = attrsOf<tf.MaxPool3DAttrs>(attrs);
      return {
        x: () =>
          runKernel(tf.MaxPool3DGrad, { dy: one(dy), input: x, output: y }, {
            filterSize,
            strides,
            pad,
            dimRoundingMode,
          }),
      };
    },
  },
  [tf.LRN]: {
    inputsToSave: ["x"],
    outputsToSave: [true],
    gradFunc: (dy, [x, y], attrs) => ({ x: () => runKernel(tf.LRNGrad, { x, y, dy: one(dy) }, attrs) }),
  },
  [tf.ResizeNearestNeighbor]: {
    inputsToSave: ["images"],
    gradFunc: (dy, [images], attrs) => ({ images: () => resizeNearestNeighborGrad(one(dy), images, attrs) }),
  },
  [tf.ResizeBilinear]: {
    inputsToSave: ["images"],
    gradFunc: (dy, [images], attrs) => ({
      // tfjs-backend-cpu declares the result [N, W, H, C] (its data is [N, H, W, C]): reshape, free elsewhere.
      images: () =>
        tf.reshape(runKernel(tf.ResizeBilinearGrad, { dy: one(dy), images }, attrs), images.shape),
    }),
  },
  // New: the resize gradients are the adjoints of the forward resize to `size` (the forward output size).
  [tf.ResizeNearestNeighborGrad]: {
    inputsToSave: ["images"],
    gradFunc: (ddx, [images], attrs) => ({
      dy: () => runKernel(tf.ResizeNearestNeighbor, { images: one(ddx) }, attrs),
      images: () => zeros(images.shape),
    }),
  },
  [tf.ResizeBilinearGrad]: {
    inputsToSave: ["images"],
    gradFunc: (ddx, [images], attrs) => ({
      // Reshape: ddx arrives in whatever shape the kernel declared (see the ResizeBilinear gradient above).
      dy: () => runKernel(tf.ResizeBilinear, { images: tf.reshape(one(ddx), images.shape) }, attrs),
      images: () => zeros(images.shape),
    }),
  },
  // New: EluGrad(dy, y) = dy·(y ≥ 0 ? 1 : y + 1).
  [tf.EluGrad]: {
    inputsToSave: ["dy", "y"],
    gradFunc: (ddx, [dy, y]) => ({
      dy: () => runKernel(tf.EluGrad, { dy: one(ddx), y }, {}),
      y: () => tf.mul(tf.mul(one(ddx), dy), tf.cast(tf.less(y, 0), "float32")),
    }),
  },
};

/** Every gradient this module provides, by kernel name. */
export const GRADIENT_CONFIGS: Readonly<Record<string, Config>> = { ...ELEMENTWISE, ...STRUCTURAL, ...CONV };

/** Kernels whose gradient this module adds beyond what tfjs-core 4.22 ships (for reports and tests). */
export const HIGHER_ORDER_KERNELS: readonly string[] = [
  tf.Greater,
  tf.Less,
  tf.LessEqual,
  tf.Equal,
  tf.NotEqual,
  tf.LogicalAnd,
  tf.LogicalOr,
  tf.LogicalXor,
  tf.LogicalNot,
  tf.Conv2DBackpropFilter,
  tf.DepthwiseConv2dNativeBackpropInput,
  tf.DepthwiseConv2dNativeBackpropFilter,
  tf.AvgPoolGrad,
  tf.ResizeNearestNeighborGrad,
  tf.ResizeBilinearGrad,
  tf.EluGrad,
];

/** Kernel names whose gradient {@link registerHigherOrderGradients} registered (empty on later calls). */
export const registeredGradients: string[] = [];

/**
 * Register every gradient above that is not registered yet. Idempotent; never overrides a gradient that
 * tfjs (or anyone else) registered first.
 */
export function registerHigherOrderGradients(): void {
  for (const [kernelName, config] of Object.entries(GRADIENT_CONFIGS)) {
    if (tf.getGradient(kernelName) != null) continue;
    tf.registerGradient({ kernelName, ...config } as tf.GradConfig);
    registeredGradients.push(kernelName);
  }
}
