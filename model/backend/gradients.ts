/**
 * Gradient functions for TensorFlow.js, differentiable again so that double backprop (R1, WGAN-GP) works, for
 * exactly the kernels that the training step records on the gradient tape: a D step and a G step of the
 * networks, with every loss the project offers (tests/model/backend/taped_kernels_test.ts fails when the step
 * records a kernel without a gradient here, or when a gradient here is no longer used).
 *
 * - The standard tfjs-core gradients of those kernels. The package's Node entry point (`tf-core.node.js`,
 *   which is what `npm:@tensorflow/tfjs-core` resolves to) registers none of them: only the `@tensorflow/tfjs`
 *   union package imports `register_all_gradients`, and its ESM files cannot be imported from Deno
 *   (extensionless relative imports). They are ported here from tfjs-core 4.22 `dist/gradients/*`, using
 *   public ops only, with fixes where tfjs is wrong or slow (each noted at the config): Tile (no slice loop),
 *   BatchMatMul (broadcast batch).
 * - Gradients tfjs has never had, needed the moment a gradient is itself differentiated: zero gradients for
 *   the comparisons that leakyRelu's gradient calls (`greater`) and style mixing uses (`less`).
 * The networks' blur, up- and downscaling are custom-gradient ops (model/backend/ops.ts,
 * model/layers/upscale2d.ts) whose inner kernels never reach the tape.
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
/** Piecewise-constant ops (and ops with boolean output): zero gradient, float32 whatever the input dtype. */
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
  [tf.Sqrt]: unary((dy, x) => tf.div(dy, tf.mul(tf.sqrt(f32(x)), 2))),
  [tf.Rsqrt]: unary((dy, x) => tf.neg(tf.div(dy, tf.mul(tf.pow(x, 1.5), 2)))),
  [tf.Square]: unary((dy, x) => tf.mul(dy, tf.mul(f32(x), 2))),
  [tf.Softplus]: unary((dy, x) => tf.mul(dy, tf.sigmoid(x))),
  [tf.Neg]: { gradFunc: (dy) => ({ x: () => tf.neg(one(dy)) }) },
  // The projection's L1 terms (model/projection): d|x|/dx = sign(x), first order only.
  [tf.Abs]: unary((dy, x) => tf.mul(dy, tf.sign(f32(x)))),
  [tf.Relu]: unary((dy, x) => tf.mul(dy, tf.cast(tf.step(x), "float32"))),
  [tf.LeakyRelu]: {
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => {
      const { alpha } = attrsOf<tf.LeakyReluAttrs>(attrs);
      const d = one(dy);
      return { x: () => tf.where(tf.greater(x, 0), d, tf.mul(d, alpha)) };
    },
  },
  [tf.Cast]: { gradFunc: (dy) => ({ x: () => one(dy).clone() }) },
  [tf.Identity]: { gradFunc: (dy) => ({ x: () => tf.cast(one(dy), "float32") }) },
  [tf.Add]: binary((dy) => dy, (dy) => dy),
  [tf.Sub]: binary((dy) => dy, (dy) => tf.neg(dy)),
  [tf.Multiply]: binary((dy, _a, b) => tf.mul(dy, f32(b)), (dy, a) => tf.mul(dy, f32(a))),
  [tf.RealDiv]: binary(
    (dy, _a, b) => tf.div(dy, f32(b)),
    (dy, a, b) => tf.neg(tf.div(tf.mul(dy, f32(a)), f32(tf.square(b)))),
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

  // New: comparisons and logic reached by second-order backprop.
  [tf.Greater]: zeroBinary,
  [tf.Less]: zeroBinary,
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
  [tf.Reshape]: { inputsToSave: ["x"], gradFunc: (dy, [x]) => ({ x: () => tf.reshape(one(dy), x.shape) }) },
  [tf.Transpose]: {
    gradFunc: (dy, _saved, attrs) => {
      const { perm } = attrsOf<tf.TransposeAttrs>(attrs);
      return { x: () => tf.transpose(one(dy), bu.getUndoAxesPermutation(perm)) };
    },
  },
  [tf.Tile]: { inputsToSave: ["x"], gradFunc: (dy, [x]) => ({ x: () => tileGrad(one(dy), x.shape) }) },
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
  [tf.Concat]: {
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const axis = tf.util.parseAxisParam(attrsOf<tf.ConcatAttrs>(attrs).axis, saved[0].shape)[0];
      const parts = tf.split(one(dy), saved.map((t) => t.shape[axis]), axis);
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
};

// ---------------------------------------------------------------------------------------------------------
// Convolutions: the forward op and its input gradient, a forward op of the R1 and WGAN-GP penalties.

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

function assertUnitDilation(dilations: number | [number, number] | undefined, op: string): void {
  const d = dilations ?? 1;
  tf.util.assert(
    bu.tupleValuesAreOne(d),
    () =>
      `Error in gradient of ${op}: dilation rates greater than 1 are not yet supported. Got dilations '${d}'`,
  );
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
};

/** Every gradient this module provides, by kernel name. */
export const GRADIENT_CONFIGS: Readonly<Record<string, Config>> = { ...ELEMENTWISE, ...STRUCTURAL, ...CONV };

/** Kernels whose gradient this module adds beyond what tfjs-core 4.22 ships (for reports and tests). */
export const HIGHER_ORDER_KERNELS: readonly string[] = [tf.Greater, tf.Less];

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
