/**
 * tfjs kernels for the wasm backend that run their products in OpenBLAS on the backend's own heap.
 *
 * Each kernel reads its inputs where the wasm backend stores them (`dataIdMap.get(dataId).memoryOffset`),
 * allocates its output with `backend.makeOutput`, and only then takes `Float32Array` views of the heap:
 * `makeOutput` may grow the `WebAssembly.Memory`, which detaches every earlier view. Anything a kernel
 * does not handle goes to the kernel that was registered before it (`fallback`).
 */
import { backend_util, broadcast_util, util } from "@tensorflow/tfjs-core";
import type {
  DataType,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from "@tensorflow/tfjs-core";
import type { BlasLibrary } from "./ffi.ts";
import { conv2dBackpropFilter, conv2dBackpropInput, conv2dForward, type ConvGeometry } from "./conv.ts";
import { applyEpilogue, type FusableActivation, isFusable } from "./epilogue.ts";

/** The part of tfjs-backend-wasm's `BackendWasm` these kernels use. */
export interface WasmBackendLike {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
}

/** Arguments tfjs passes to a kernel function. */
export interface KernelArgs {
  inputs: NamedTensorInfoMap;
  attrs?: NamedAttrMap;
  backend: unknown;
}

/** The kernels this module replaces. tfjs has no separate `MatMul` kernel: `tf.matMul` runs `BatchMatMul`. */
export const BLAS_KERNEL_NAMES = [
  "Conv2D",
  "FusedConv2D",
  "BatchMatMul",
  "_FusedMatMul",
  "Conv2DBackpropInput",
  "Conv2DBackpropFilter",
] as const;
export type BlasKernelName = typeof BLAS_KERNEL_NAMES[number];

/** Where the kernels get their library, and what they do with cases they do not handle. */
export interface KernelContext {
  blas(): BlasLibrary;
  /** The kernel registered before ours, if any. */
  fallback(name: BlasKernelName): KernelConfig | undefined;
  /** Counts of calls handled by BLAS and delegated, per kernel (for tests and the benchmark). */
  counts: Record<string, { blas: number; delegated: number }>;
}

function delegate(
  context: KernelContext,
  name: BlasKernelName,
  args: KernelArgs,
  why: string,
): TensorInfo | TensorInfo[] {
  const original = context.fallback(name);
  if (!original) {
    throw new Error(`${name} on wasm: ${why}, and no wasm kernel was registered to fall back to`);
  }
  (context.counts[name] ??= { blas: 0, delegated: 0 }).delegated++;
  return original.kernelFunc(args as Parameters<KernelFunc>[0]);
}

function handled(context: KernelContext, name: BlasKernelName): void {
  (context.counts[name] ??= { blas: 0, delegated: 0 }).blas++;
}

/** A float32 view of a tensor's data on the heap; take views only after the last `makeOutput`. */
function heapView(backend: WasmBackendLike, info: TensorInfo): Float32Array {
  const data = backend.dataIdMap.get(info.dataId);
  if (!data) throw new Error("BLAS kernel: tensor data is not on the wasm backend");
  const heap = backend.wasm.HEAPF32;
  return new Float32Array(heap.buffer, data.memoryOffset, util.sizeFromShape(info.shape));
}

function allFloat32(...infos: Array<TensorInfo | undefined>): boolean {
  return infos.every((info) => info === undefined || info.dtype === "float32");
}

function geometryOf(info: backend_util.Conv2DInfo): ConvGeometry | string {
  if (info.dataFormat !== "channelsLast") return "NCHW data format";
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return "dilation other than 1";
  const { top, left, bottom, right } = info.padInfo;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return "negative padding";
  const sizes = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth];
  if (sizes.some((size) => size <= 0) || info.outChannels <= 0) return "an empty tensor";
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: top,
    padLeft: left,
  };
}

/** A kernel's inputs: the required ones present, the optional ones maybe. */
type Inputs<Required extends string, Optional extends string = never> =
  & { [name in Required]: TensorInfo }
  & { [name in Optional]?: TensorInfo };

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

// ---------------------------------------------------------------------------------------------------
// Convolutions

type ConvAttrs = {
  strides: number | [number, number];
  pad: "valid" | "same" | number | backend_util.ExplicitPadding;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
  activation?: string;
  leakyreluAlpha?: number;
};

type Shape4 = [number, number, number, number];

/** tfjs's geometry of a convolution on NHWC data, or why the BLAS kernels do not take it. */
function convGeometry(
  attrs: ConvAttrs,
  inShape: Shape4,
  filterShape: Shape4,
  dilations: number | [number, number],
): { info: backend_util.Conv2DInfo; geometry: ConvGeometry } | string {
  if ((attrs.dataFormat ?? "NHWC") !== "NHWC") return "NCHW data format";
  const info = backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const geometry = geometryOf(info);
  return typeof geometry === "string" ? geometry : { info, geometry };
}

function convolution(context: KernelContext, name: "Conv2D" | "FusedConv2D", args: KernelArgs) {
  const { x, filter, bias, preluActivationWeights } = args.inputs as Inputs<
    "x" | "filter",
    "bias" | "preluActivationWeights"
  >;
  const attrs = args.attrs as unknown as ConvAttrs;
  const backend = args.backend as WasmBackendLike;
  if (!allFloat32(x, filter, bias)) return delegate(context, name, args, "dtype other than float32");
  const activation = name === "FusedConv2D" ? attrs.activation : undefined;
  if (preluActivationWeights || !isFusable(activation)) {
    return delegate(context, name, args, `activation ${activation}`);
  }
  const conv = convGeometry(attrs, x.shape as Shape4, filter.shape as Shape4, attrs.dilations ?? 1);
  if (typeof conv === "string") return delegate(context, name, args, conv);
  const { info, geometry } = conv;
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== geometry.outChannels)) {
    return delegate(context, name, args, `bias of shape [${bias.shape}]`);
  }
  const out = backend.makeOutput(info.outShape, "float32");
  const outView = heapView(backend, out);
  conv2dForward(context.blas(), heapView(backend, x), heapView(backend, filter), outView, geometry);
  applyEpilogue(
    outView,
    geometry.outChannels,
    bias ? heapView(backend, bias) : undefined,
    activation as FusableActivation | undefined,
    attrs.leakyreluAlpha || 0,
  );
  handled(context, name);
  return out;
}

function backpropInput(context: KernelContext, args: KernelArgs) {
  const name = "Conv2DBackpropInput";
  const { dy, filter } = args.inputs as Inputs<"dy" | "filter">;
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
  const backend = args.backend as WasmBackendLike;
  if (!allFloat32(dy, filter)) return delegate(context, name, args, "dtype other than float32");
  const conv = convGeometry(attrs, attrs.inputShape, filter.shape as Shape4, 1);
  if (typeof conv === "string") return delegate(context, name, args, conv);
  const { info, geometry } = conv;
  if (!sameShape(dy.shape, info.outShape)) return delegate(context, name, args, `dy of shape [${dy.shape}]`);
  const dx = backend.makeOutput(info.inShape, "float32");
  conv2dBackpropInput(
    context.blas(),
    heapView(backend, dy),
    heapView(backend, filter),
    heapView(backend, dx),
    geometry,
  );
  handled(context, name);
  return dx;
}

function backpropFilter(context: KernelContext, args: KernelArgs) {
  const name = "Conv2DBackpropFilter";
  const { x, dy } = args.inputs as Inputs<"x" | "dy">;
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
  const backend = args.backend as WasmBackendLike;
  if (!allFloat32(x, dy)) return delegate(context, name, args, "dtype other than float32");
  const conv = convGeometry(attrs, x.shape as Shape4, attrs.filterShape, 1);
  if (typeof conv === "string") return delegate(context, name, args, conv);
  const { info, geometry } = conv;
  if (!sameShape(dy.shape, info.outShape)) return delegate(context, name, args, `dy of shape [${dy.shape}]`);
  const dFilter = backend.makeOutput([...attrs.filterShape], "float32");
  conv2dBackpropFilter(
    context.blas(),
    heapView(backend, x),
    heapView(backend, dy),
    heapView(backend, dFilter),
    geometry,
  );
  handled(context, name);
  return dFilter;
}

// ---------------------------------------------------------------------------------------------------
// Matrix products

type MatMulAttrs = { transposeA: boolean; transposeB: boolean; activation?: string; leakyreluAlpha?: number };

function matMul(context: KernelContext, name: "BatchMatMul" | "_FusedMatMul", args: KernelArgs) {
  const { a, b, bias, preluActivationWeights } = args.inputs as Inputs<
    "a" | "b",
    "bias" | "preluActivationWeights"
  >;
  const attrs = args.attrs as unknown as MatMulAttrs;
  const backend = args.backend as WasmBackendLike;
  if (!allFloat32(a, b, bias)) return delegate(context, name, args, "dtype other than float32");
  const activation = name === "_FusedMatMul" ? attrs.activation : undefined;
  if (preluActivationWeights || !isFusable(activation)) {
    return delegate(context, name, args, `activation ${activation}`);
  }
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) return delegate(context, name, args, "rank below 2");
  const { transposeA, transposeB } = attrs;
  const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const k = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  if (k !== kB) return delegate(context, name, args, "inner dimensions differ");
  let outerDims: number[];
  try {
    outerDims = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    return delegate(context, name, args, "batch shapes do not broadcast");
  }
  const batch = util.sizeFromShape(outerDims);
  const batchA = util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = util.sizeFromShape(b.shape.slice(0, -2));
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) {
    return delegate(context, name, args, "batch broadcasting across several dimensions");
  }
  if (m * n * k * batch === 0) return delegate(context, name, args, "an empty matrix");
  // A bias the epilogue can add per column: n values along the last axis (leading axes of size 1).
  if (bias && (util.sizeFromShape(bias.shape) !== n || bias.shape[bias.shape.length - 1] !== n)) {
    return delegate(context, name, args, `bias of shape [${bias.shape}]`);
  }

  const out = backend.makeOutput([...outerDims, m, n], "float32");
  const outView = heapView(backend, out);
  const aView = heapView(backend, a);
  const bView = heapView(backend, b);
  const blas = context.blas();
  const lda = transposeA ? m : k;
  const ldb = transposeB ? k : n;
  if (batchB === 1 && !transposeA && batchA === batch) {
    // One shared right-hand matrix: the batch is just more rows of A.
    blas.sgemm({
      transA: false,
      transB: transposeB,
      m: batch * m,
      n,
      k,
      a: aView,
      lda,
      b: bView,
      ldb,
      c: outView,
      ldc: n,
    });
  } else {
    for (let i = 0; i < batch; i++) {
      blas.sgemm({
        transA: transposeA,
        transB: transposeB,
        m,
        n,
        k,
        a: aView.subarray(batchA === 1 ? 0 : i * m * k),
        lda,
        b: bView.subarray(batchB === 1 ? 0 : i * k * n),
        ldb,
        c: outView.subarray(i * m * n),
        ldc: n,
      });
    }
  }
  applyEpilogue(
    outView,
    n,
    bias ? heapView(backend, bias) : undefined,
    activation as FusableActivation | undefined,
    attrs.leakyreluAlpha || 0,
  );
  handled(context, name);
  return out;
}

/** The kernel function for `name`, bound to `context`. */
export function blasKernelFunc(name: BlasKernelName, context: KernelContext): KernelFunc {
  const run = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    switch (name) {
      case "Conv2D":
      case "FusedConv2D":
        return convolution(context, name, args);
      case "Conv2DBackpropInput":
        return backpropInput(context, args);
      case "Conv2DBackpropFilter":
        return backpropFilter(context, args);
      case "BatchMatMul":
      case "_FusedMatMul":
        return matMul(context, name, args);
    }
  };
  return run as unknown as KernelFunc;
}
