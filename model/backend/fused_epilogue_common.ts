/**
 * What the fused epilogue's kernels share: their names, the checked shapes of a call, and the parts of the
 * wasm backend and of the SIMD module (model/backend/epilogue_wat.ts) that its wasm kernels use. The kernels
 * themselves: inference and the training forward in model/backend/fused_epilogue.ts, the training backward in
 * model/backend/fused_epilogue_grad.ts, webgpu in model/backend/fused_epilogue_webgpu.ts.
 */
import { util } from "@tensorflow/tfjs-core";
import type { DataType, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from "@tensorflow/tfjs-core";

/** Generation: noise + leaky ReLU + instance norm + style in, the feature map out. */
export const FUSED_EPILOGUE = "SganFusedEpilogue";
/**
 * Training (wasm): the same output, plus each channel's mean and inverse deviation [N, 2C] (mean, then inv),
 * which its gradient reads instead of recomputing them.
 */
export const FUSED_EPILOGUE_TRAINING = "SganFusedEpilogueTraining";
/** The gradient of {@link FUSED_EPILOGUE_TRAINING} (wasm): dx, dstyle and, with noise, the noise weight's. */
export const FUSED_EPILOGUE_GRAD = "SganFusedEpilogueGrad";

/** Shapes and constants of one call. */
export interface Geometry {
  n: number;
  hw: number;
  c: number;
  /** 1 when one noise map is shared by the batch, else n. */
  noiseBatch: number;
  slope: number;
  epsilon: number;
}

/** The named input of a kernel call, or an error naming the kernel and the input. */
export function required(inputs: NamedTensorInfoMap, name: string, kernel = FUSED_EPILOGUE): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`${kernel}: input '${name}' is missing`);
  return t;
}

/**
 * Shapes of a call, checked: the kernels index memory directly (on wasm, a wrong size would read other
 * tensors' memory), so every input's size is verified here first.
 */
export function geometry(
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap | undefined,
  kernel = FUSED_EPILOGUE,
): Geometry {
  const [n, h, w, c] = required(inputs, "x", kernel).shape;
  const style = required(inputs, "style", kernel);
  const noiseBatch = inputs.noise ? inputs.noise.shape[0] : 1;
  if (style.shape[0] !== n || style.shape[1] !== 2 * c) {
    throw new Error(`${kernel}: style must be [${n}, ${2 * c}], got [${style.shape}]`);
  }
  if (
    inputs.noise &&
    (noiseBatch !== 1 && noiseBatch !== n || util.sizeFromShape(inputs.noise.shape) !== noiseBatch * h * w)
  ) {
    throw new Error(
      `${kernel}: noise must be [1 or ${n}, ${h}, ${w}, 1], got [${inputs.noise.shape}]`,
    );
  }
  if (Boolean(inputs.noise) !== Boolean(inputs.weight)) {
    throw new Error(`${kernel}: noise and its per-channel weight come together`);
  }
  if (inputs.weight && util.sizeFromShape(inputs.weight.shape) !== c) {
    throw new Error(
      `${kernel}: the noise weight must have ${c} values, got [${inputs.weight.shape}]`,
    );
  }
  return {
    n,
    hw: h * w,
    c,
    noiseBatch,
    slope: Number(attrs?.slope ?? 0.2),
    epsilon: Number(attrs?.epsilon ?? 1e-5),
  };
}

/** The part of tfjs-wasm's backend the wasm kernels use. */
export interface WasmBackendLike {
  wasm: { HEAPF32: Float32Array; asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: object): boolean;
}

/**
 * The byte offset of a tensor's data in the wasm backend's memory. Read offsets (and make views) only after
 * the call's last `makeOutput`: growing the memory detaches earlier views.
 */
export function heapOffset(b: WasmBackendLike, t: TensorInfo, kernel: string): number {
  const d = b.dataIdMap.get(t.dataId);
  if (!d) throw new Error(`${kernel}: tensor data is not on the wasm backend`);
  return d.memoryOffset;
}

/** The exports of the SIMD module (model/backend/epilogue_wat.ts); pointers are byte offsets. */
export interface EpilogueExports {
  noise_act_sum(
    x: number,
    noise: number,
    useNoise: number,
    w: number,
    out: number,
    hw: number,
    channels: number,
    slope: number,
    sums: number,
  ): void;
  variance_sum(out: number, hw: number, channels: number, mean: number, sums: number): void;
  normalise_style(
    out: number,
    hw: number,
    channels: number,
    mean: number,
    inv: number,
    scale: number,
    shift: number,
  ): void;
  grad_sums(
    x: number,
    noise: number,
    useNoise: number,
    w: number,
    dy: number,
    hw: number,
    channels: number,
    slope: number,
    mean: number,
    inv: number,
    sums: number,
    sums2: number,
    sums3: number,
  ): void;
  grad_input(
    x: number,
    noise: number,
    useNoise: number,
    w: number,
    dy: number,
    dx: number,
    hw: number,
    channels: number,
    slope: number,
    mean: number,
    inv: number,
    k: number,
    gmean: number,
    gxmean: number,
    wsums: number,
  ): void;
}
