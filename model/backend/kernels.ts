/**
 * Training kernels that some TensorFlow.js backends lack, written with the backend's own ops.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter` (the weight gradient of every convolution),
 * no `DepthwiseConv2dNativeBackpropInput`/`Filter` (gradients of the blur) and no `UnsortedSegmentSum`
 * (gradient of `gather`). The cpu and webgpu backends have all four. Each kernel here is a composition of
 * ops that the backend does have, chosen for speed: the weight gradient is one forward convolution of the
 * transposed input with the transposed output gradient as its filter and the stride as its dilation, which
 * runs at XNNPACK convolution speed (17 GFLOP/s for batch 8, 32×32, 64→64, 3×3 in bench/kernels_bench.ts)
 * instead of im2col + matMul (~2) or the cpu backend's loop (0.01–0.04). That formulation covers every
 * stride, padding and rounding mode (NCHW by transposing), so there is no slower general path; only a
 * 1×1 stride-1 filter takes a plain matMul instead.
 *
 * Register these before any accelerator that wraps the wasm kernels (model/backend/blas.ts keeps the kernel
 * it replaces as its fallback). The functions are exported so that they can be checked on every backend.
 */
import * as tf from "@tensorflow/tfjs-core";

type Tensor = tf.Tensor;
type Tensor4D = tf.Tensor4D;
type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];
/** Padding as the conv kernels take it. */
export type ConvPad = "valid" | "same" | number | ExplicitPadding;
type RoundingMode = "floor" | "round" | "ceil" | undefined;
type Pair = number | [number, number];

/** Pad (positive amounts) or crop (negative amounts) the two spatial axes of an NHWC tensor. */
function padOrCrop(x: Tensor4D, top: number, bottom: number, left: number, right: number): Tensor4D {
  const [n, h, w, c] = x.shape;
  let y = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const t = Math.max(0, -top), l = Math.max(0, -left);
    y = tf.slice(y, [0, t, l, 0], [n, h - t - Math.max(0, -bottom), w - l - Math.max(0, -right), c]);
  }
  const p = [Math.max(0, top), Math.max(0, bottom), Math.max(0, left), Math.max(0, right)];
  return p.some((v) => v > 0) ? tf.pad(y, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]]) : y;
}

/** Explicit padding with only non-negative amounts; crops the input where an amount is negative. */
function explicitPadding(
  x: Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): [Tensor4D, ExplicitPadding] {
  const cropped = padOrCrop(x, Math.min(0, top), Math.min(0, bottom), Math.min(0, left), Math.min(0, right));
  return [cropped, [
    [0, 0],
    [Math.max(0, top), Math.max(0, bottom)],
    [Math.max(0, left), Math.max(0, right)],
    [0, 0],
  ]];
}

/**
 * Weight gradient of a 2-D convolution (NHWC): dW[i,j,ci,co] = Σ_{n,y,x} xpad[n, y·s+i, x·s+j, ci]·dy[n,y,x,co].
 *
 * Read as a convolution whose batch is ci, whose channels are n and whose filter is dy laid out as
 * [Ho, Wo, N, Cout] with dilation s, it is a single forward conv2d: the fastest kernel of the wasm backend.
 * A 1×1, stride-1, unpadded filter is a plain matMul of the transposed input with dy.
 */
export function conv2dBackpropFilterViaConv(
  x: Tensor4D,
  dy: Tensor4D,
  filterShape: [number, number, number, number],
  strides: Pair,
  pad: ConvPad,
  dataFormat: "NHWC" | "NCHW" = "NHWC",
  dimRoundingMode?: RoundingMode,
): Tensor4D {
  return tf.tidy(() => {
    if (dataFormat === "NCHW") {
      x = tf.transpose(x, [0, 2, 3, 1]);
      dy = tf.transpose(dy, [0, 2, 3, 1]);
    }
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      "channelsLast",
    );
    const [n, h, w, cin] = x.shape;
    const [kh, kw, , cout] = filterShape;
    const [, ho, wo] = dy.shape;
    if (ho !== info.outHeight || wo !== info.outWidth || dy.shape[3] !== cout || dy.shape[0] !== n) {
      throw new Error(
        `Conv2DBackpropFilter: dy shape [${dy.shape}] does not match the convolution of x [${x.shape}] ` +
          `with filter [${filterShape}] (expected [${n},${info.outHeight},${info.outWidth},${cout}])`,
      );
    }
    const { strideHeight: sh, strideWidth: sw } = info;
    const { top, left } = info.padInfo;
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0 && ho === h && wo === w) {
      // A 1×1 filter: dW = xᵀ·dy. The explicit transpose is much faster on wasm than matMul(transposeA).
      const xt = tf.reshape(tf.transpose(x, [3, 0, 1, 2]), [cin, n * h * w]);
      return tf.reshape(tf.matMul(xt, tf.reshape(dy, [n * h * w, cout])), filterShape);
    }
    // Rows (columns) of x read by the forward conv: -top ... (kh-1) + (ho-1)·sh - top.
    const bottom = kh + (ho - 1) * sh - top - h;
    const right = kw + (wo - 1) * sw - left - w;
    const [xc, padding] = explicitPadding(x, top, bottom, left, right);
    const xt = tf.transpose(xc, [3, 1, 2, 0]) as Tensor4D; // [Cin, H, W, N]
    const dyt = tf.transpose(dy, [1, 2, 0, 3]) as Tensor4D; // [Ho, Wo, N, Cout]
    const dw = tf.conv2d(xt, dyt, 1, padding, "NHWC", [sh, sw]); // [Cin, kh, kw, Cout]
    return tf.transpose(dw, [1, 2, 0, 3]);
  });
}

/** Insert (stride - 1) zeros between the rows and between the columns of an NHWC tensor. */
function dilateWithZeros(x: Tensor4D, sh: number, sw: number): Tensor4D {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape;
  let y: Tensor = x;
  if (sh > 1) {
    y = tf.pad(tf.reshape(y, [n, h, 1, w * c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0]]);
    y = tf.slice(tf.reshape(y, [n, h * sh, w, c]), [0, 0, 0, 0], [n, (h - 1) * sh + 1, w, c]);
  }
  const h2 = y.shape[1] as number;
  if (sw > 1) {
    y = tf.pad(tf.reshape(y, [n * h2, w, 1, c]), [[0, 0], [0, 0], [0, sw - 1], [0, 0]]);
    y = tf.slice(tf.reshape(y, [n, h2, w * sw, c]), [0, 0, 0, 0], [n, h2, (w - 1) * sw + 1, c]);
  }
  return y as Tensor4D;
}

/**
 * Input gradient of a depthwise convolution: a stride-1 depthwise convolution of the zero-dilated dy with
 * the spatially mirrored filter, summed over the channel multiplier.
 */
export function depthwiseConv2dBackpropInputViaOps(
  inputShape: [number, number, number, number],
  dy: Tensor4D,
  filter: Tensor4D,
  strides: Pair,
  pad: ConvPad,
  dilations: Pair = 1,
  dimRoundingMode?: RoundingMode,
): Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape,
      strides,
      dilations,
      pad,
      dimRoundingMode,
      true,
    );
    const [n, h, w, c] = inputShape;
    const [kh, kw, , m] = filter.shape;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const { top, left } = info.padInfo;
    const up = dilateWithZeros(dy, sh, sw);
    const lh = up.shape[1], lw = up.shape[2];
    // dx[h] = Σ_i up[h + top - i·dh]·f[i] = correlation of up with the mirrored filter, dilation dh.
    const padTop = (kh - 1) * dh - top, padLeft = (kw - 1) * dw - left;
    const padBottom = h - lh + top, padRight = w - lw + left;
    const [upc, padding] = explicitPadding(up, padTop, padBottom, padLeft, padRight);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as Tensor4D;
    const dx = tf.depthwiseConv2d(upc, flipped, 1, padding, "NHWC", [dh, dw]); // [N, H, W, C·m]
    return (m === 1 ? dx : tf.sum(tf.reshape(dx, [n, h, w, c, m]), 4)) as Tensor4D;
  });
}

/**
 * Filter gradient of a depthwise convolution: dW[i,j,c,q] = Σ_{n,y,x} xpad[n, y·s+i·d, x·s+j·d, c]·dy[n,y,x,c·m+q].
 * With batch folded into channels it is one depthwise convolution of x (as [1, H, W, N·C·m]) with dy
 * (as a [Ho, Wo, N·C·m, 1] filter, dilation s, stride d), summed over the batch.
 */
export function depthwiseConv2dBackpropFilterViaOps(
  x: Tensor4D,
  dy: Tensor4D,
  filterShape: [number, number, number, number],
  strides: Pair,
  pad: ConvPad,
  dilations: Pair = 1,
  dimRoundingMode?: RoundingMode,
): Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filterShape,
      strides,
      dilations,
      pad,
      dimRoundingMode,
      true,
    );
    const [n, h, w, c] = x.shape;
    const [kh, kw, , m] = filterShape;
    const [, ho, wo] = dy.shape;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const { top, left } = info.padInfo;
    const bottom = (ho - 1) * sh + (kh - 1) * dh + 1 - top - h;
    const right = (wo - 1) * sw + (kw - 1) * dw + 1 - left - w;
    let xm: Tensor4D = x;
    if (m > 1) {
      // Repeat each channel m times (rank 2: webgpu's Tile falls back to a synchronous read at rank 5).
      xm = tf.reshape(tf.mul(tf.reshape(x, [n * h * w * c, 1]), tf.ones([1, m])), [n, h, w, c * m]);
    }
    const [xc, padding] = explicitPadding(xm, top, bottom, left, right);
    const [, hc, wc] = xc.shape;
    const xt = tf.reshape(tf.transpose(xc, [1, 2, 0, 3]), [1, hc, wc, n * c * m]) as Tensor4D;
    const dyt = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [ho, wo, n * c * m, 1]) as Tensor4D;
    // Strides and dilations swap roles; the forward op allows only one of them to exceed 1, so does this.
    const dW = tf.depthwiseConv2d(xt, dyt, [dh, dw], padding, "NHWC", [sh, sw]); // [1, kh, kw, N·C·m]
    return tf.reshape(tf.sum(tf.reshape(dW, [kh, kw, n, c * m]), 2), filterShape);
  });
}

/** `unsortedSegmentSum` as a one-hot matrix product (used by the gradient of `gather`). */
export function unsortedSegmentSumViaMatMul(x: Tensor, segmentIds: Tensor, numSegments: number): Tensor {
  return tf.tidy(() => {
    const m = segmentIds.size;
    const rest = x.shape.slice(segmentIds.rank);
    const inner = rest.reduce((a, b) => a * b, 1);
    // One-hot by comparison: wasm's OneHot ignores its dtype and writes int32 bits into float32 outputs.
    const ids = tf.reshape(tf.cast(segmentIds, "int32"), [1, m]);
    const onehot = tf.cast(
      tf.equal(tf.reshape(tf.range(0, numSegments, 1, "int32"), [numSegments, 1]), ids),
      "float32",
    );
    const flat = tf.reshape(tf.cast(x, "float32"), [m, inner]);
    const out = tf.reshape(tf.matMul(onehot, flat), [numSegments, ...rest]);
    return x.dtype === "float32" ? out : tf.cast(out, x.dtype);
  });
}

/**
 * Input gradient of a 2-D convolution (NHWC) as one forward conv2d: dy, dilated with zeros by the stride,
 * correlated with the filter mirrored in space and with in/out channels swapped, padded so that every
 * input position gets exactly the taps that read it. tfjs-wasm's own Conv2DBackpropInput is a plain loop
 * (measured ~40× slower than its forward conv on StyleGAN's 3×3 layers); this runs at XNNPACK speed.
 */
export function conv2dBackpropInputViaConv(
  inputShape: [number, number, number, number],
  dy: Tensor4D,
  filter: Tensor4D,
  strides: Pair,
  pad: ConvPad,
  dimRoundingMode?: RoundingMode,
): Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filter.shape;
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const { top, left } = info.padInfo;
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const spread = sh > 1 || sw > 1 ? dilateWithZeros(dy, sh, sw) : dy;
    const [, dh, dw] = spread.shape;
    const [, h, w] = inputShape;
    const padTop = kh - 1 - top, padLeft = kw - 1 - left;
    const padBottom = h - dh - padTop + kh - 1, padRight = w - dw - padLeft + kw - 1;
    const [src, padding] = explicitPadding(spread, padTop, padBottom, padLeft, padRight);
    const mirrored = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as Tensor4D;
    return tf.conv2d(src, mirrored, 1, padding);
  });
}

/** Kernel inputs arrive as tensors when called through ops; wrap bare TensorInfos just in case. */
function asTensor(info: tf.TensorInfo | undefined): Tensor {
  if (info == null) throw new Error("training kernel called without a required input");
  return info instanceof tf.Tensor ? info : tf.engine().makeTensorFromTensorInfo(info);
}

interface TrainingKernel {
  kernelName: string;
  kernelFunc: tf.KernelFunc;
}

const TRAINING_KERNELS: TrainingKernel[] = [
  {
    kernelName: tf.Conv2DBackpropFilter,
    kernelFunc: ({ inputs, attrs }) => {
      const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
        attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      return tf.tidy(() =>
        conv2dBackpropFilterViaConv(
          asTensor(inputs.x) as Tensor4D,
          asTensor(inputs.dy) as Tensor4D,
          filterShape,
          strides,
          pad as ConvPad,
          dataFormat,
          dimRoundingMode,
        )
      );
    },
  },
  {
    kernelName: tf.DepthwiseConv2dNativeBackpropInput,
    kernelFunc: ({ inputs, attrs }) => {
      const { strides, dilations, pad, dimRoundingMode, inputShape } =
        attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
      return tf.tidy(() =>
        depthwiseConv2dBackpropInputViaOps(
          inputShape,
          asTensor(inputs.dy) as Tensor4D,
          asTensor(inputs.filter) as Tensor4D,
          strides,
          pad as ConvPad,
          dilations,
          dimRoundingMode,
        )
      );
    },
  },
  {
    kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
    kernelFunc: ({ inputs, attrs }) => {
      const { strides, dilations, pad, dimRoundingMode, filterShape } =
        attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
      return tf.tidy(() =>
        depthwiseConv2dBackpropFilterViaOps(
          asTensor(inputs.x) as Tensor4D,
          asTensor(inputs.dy) as Tensor4D,
          filterShape,
          strides,
          pad as ConvPad,
          dilations,
          dimRoundingMode,
        )
      );
    },
  },
  {
    kernelName: tf.UnsortedSegmentSum,
    kernelFunc: ({ inputs, attrs }) => {
      const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
      return tf.tidy(() =>
        unsortedSegmentSumViaMatMul(asTensor(inputs.x), asTensor(inputs.segmentIds), numSegments)
      );
    },
  },
];

/** Names of the kernels {@link registerTrainingKernels} registered, per backend (for reports and tests). */
export const registeredTrainingKernels: Map<string, string[]> = new Map();

/**
 * Register the composite training kernels on `backendName` wherever that backend has none of its own.
 * Existing kernels are never replaced; calling this again is a no-op.
 */
export function registerTrainingKernels(backendName: string): void {
  const added = registeredTrainingKernels.get(backendName) ?? [];
  if (backendName === "wasm" && !added.includes(tf.Conv2DBackpropInput)) {
    replaceWasmConv2dBackpropInput();
    added.push(tf.Conv2DBackpropInput);
  }
  for (const { kernelName, kernelFunc } of TRAINING_KERNELS) {
    if (tf.getKernel(kernelName, backendName) != null) continue;
    tf.registerKernel({ kernelName, backendName, kernelFunc });
    added.push(kernelName);
  }
  registeredTrainingKernels.set(backendName, added);
}

/**
 * The one kernel replaced rather than added: wasm's Conv2DBackpropInput exists but is slow. NHWC, no
 * dilation: {@link conv2dBackpropInputViaConv}; anything else goes to the original kernel.
 */
function replaceWasmConv2dBackpropInput(): void {
  const original = tf.getKernel(tf.Conv2DBackpropInput, "wasm");
  if (!original) return;
  tf.unregisterKernel(tf.Conv2DBackpropInput, "wasm");
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args
        .attrs as unknown as tf.Conv2DBackpropInputAttrs;
      const dy = asTensor(args.inputs.dy) as Tensor4D;
      if (dataFormat === "NCHW" || dy.dtype !== "float32") return original.kernelFunc(args);
      return conv2dBackpropInputViaConv(
        inputShape as [number, number, number, number],
        dy,
        asTensor(args.inputs.filter) as Tensor4D,
        strides,
        pad as ConvPad,
        dimRoundingMode,
      );
    },
  });
}
