/**
 * One kernel for what follows every synthesis convolution at inference: noise, leaky ReLU, instance norm and
 * the style (AdaIN). Composed from tfjs ops that is about twenty kernels and ten passes over the feature map
 * (a profile of 128 px generation on wasm: means, leaky ReLU, adds, subs and multiplies took about a third of
 * the time). On wasm it is three SIMD passes (model/backend/epilogue_wat.ts) over the backend's own memory
 * (plain JavaScript loops were tried first and were no faster than the composed ops); on webgpu one WGSL
 * dispatch (model/backend/fused_epilogue_webgpu.ts).
 *
 * Only where no gradient is being recorded (generation): training keeps the composed ops and their
 * gradients. `SGAN_FUSED_EPILOGUE=0` turns it off (A/B benchmarks).
 */
import * as tf from "@tensorflow/tfjs-core";
import { util } from "@tensorflow/tfjs-core";
import wabtInit from "wabt";
import { EPILOGUE_WAT } from "./epilogue_wat.ts";
import type {
  DataType,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from "@tensorflow/tfjs-core";

export const FUSED_EPILOGUE = "SganFusedEpilogue";

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
export function required(inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`${FUSED_EPILOGUE}: input '${name}' is missing`);
  return t;
}

/**
 * Shapes of a call, checked: the kernels index memory directly (on wasm, a wrong size would read other
 * tensors' memory), so every input's size is verified here first.
 */
export function geometry(inputs: NamedTensorInfoMap, attrs: NamedAttrMap | undefined): Geometry {
  const [n, h, w, c] = required(inputs, "x").shape;
  const style = required(inputs, "style");
  const noiseBatch = inputs.noise ? inputs.noise.shape[0] : 1;
  if (style.shape[0] !== n || style.shape[1] !== 2 * c) {
    throw new Error(`${FUSED_EPILOGUE}: style must be [${n}, ${2 * c}], got [${style.shape}]`);
  }
  if (
    inputs.noise &&
    (noiseBatch !== 1 && noiseBatch !== n || util.sizeFromShape(inputs.noise.shape) !== noiseBatch * h * w)
  ) {
    throw new Error(
      `${FUSED_EPILOGUE}: noise must be [1 or ${n}, ${h}, ${w}, 1], got [${inputs.noise.shape}]`,
    );
  }
  if (Boolean(inputs.noise) !== Boolean(inputs.weight)) {
    throw new Error(`${FUSED_EPILOGUE}: noise and its per-channel weight come together`);
  }
  if (inputs.weight && util.sizeFromShape(inputs.weight.shape) !== c) {
    throw new Error(
      `${FUSED_EPILOGUE}: the noise weight must have ${c} values, got [${inputs.weight.shape}]`,
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

interface WasmBackendLike {
  wasm: { HEAPF32: Float32Array; asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: object): boolean;
}

interface EpilogueExports {
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
}

let kernels: EpilogueExports | undefined;

function makeKernel(k: EpilogueExports): KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const b = backend as unknown as WasmBackendLike;
    const g = geometry(inputs, attrs);
    const x = required(inputs, "x");
    const out = b.makeOutput([...x.shape], "float32");
    // Per-channel working arrays: f64 sums (2C floats), then mean, inv, scale, shift (C floats each).
    const work = b.makeOutput([6 * g.c], "float32");
    try {
      // makeOutput may grow the memory, which detaches earlier views: offsets and views only from here on.
      const offset = (t: TensorInfo) => {
        const d = b.dataIdMap.get(t.dataId);
        if (!d) throw new Error(`${FUSED_EPILOGUE}: tensor data is not on the wasm backend`);
        return d.memoryOffset;
      };
      const heap = b.wasm.HEAPF32.buffer;
      const workAt = offset(work);
      const sums = new Float64Array(heap, workAt, g.c);
      const [meanAt, invAt, scaleAt, shiftAt] = [2, 3, 4, 5].map((i) => workAt + i * g.c * 4);
      const mean = new Float32Array(heap, meanAt, g.c);
      const inv = new Float32Array(heap, invAt, g.c);
      const scale = new Float32Array(heap, scaleAt, g.c);
      const shift = new Float32Array(heap, shiftAt, g.c);
      const style = new Float32Array(heap, offset(required(inputs, "style")), g.n * 2 * g.c);
      const sampleBytes = g.hw * g.c * 4;
      const noiseAt = inputs.noise ? offset(inputs.noise) : 0;
      const weightAt = inputs.weight ? offset(inputs.weight) : 0;
      for (let n = 0; n < g.n; n++) {
        const xAt = offset(x) + n * sampleBytes;
        const outAt = offset(out) + n * sampleBytes;
        sums.fill(0);
        k.noise_act_sum(
          xAt,
          noiseAt + (g.noiseBatch === 1 ? 0 : n) * g.hw * 4,
          inputs.noise ? 1 : 0,
          weightAt,
          outAt,
          g.hw,
          g.c,
          g.slope,
          workAt,
        );
        // The mean rounded to float32 (the Float32Array store) as the composed ops and PyTorch round it:
        // with nearly constant channels the division by a tiny deviation amplifies any difference in x − mean.
        for (let c = 0; c < g.c; c++) mean[c] = sums[c] / g.hw;
        sums.fill(0);
        k.variance_sum(outAt, g.hw, g.c, meanAt, workAt);
        for (let c = 0; c < g.c; c++) {
          inv[c] = 1 / Math.sqrt(Math.fround(Math.fround(sums[c] / g.hw) + g.epsilon));
          scale[c] = 1 + style[n * 2 * g.c + c];
          shift[c] = style[n * 2 * g.c + g.c + c];
        }
        k.normalise_style(outAt, g.hw, g.c, meanAt, invAt, scaleAt, shiftAt);
      }
    } finally {
      b.disposeData(work.dataId);
    }
    return out;
  };
}

/**
 * Assemble the SIMD module against the wasm backend's memory and register the kernel (once). Resolves to
 * undefined when it is ready, or to the reason it is not (the composed ops are used then).
 */
export async function registerFusedEpilogue(): Promise<string | undefined> {
  if (kernels) return undefined;
  const backend = tf.findBackend("wasm") as unknown as WasmBackendLike | undefined;
  const memory = backend?.wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return "the wasm backend's memory is not reachable";
  let ready: EpilogueExports;
  try {
    const wabt = await wabtInit();
    const parsed = wabt.parseWat("epilogue.wat", EPILOGUE_WAT, { simd: true });
    const { buffer } = parsed.toBinary({});
    parsed.destroy();
    const module = await WebAssembly.compile(buffer as Uint8Array<ArrayBuffer>);
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    ready = instance.exports as unknown as EpilogueExports;
  } catch (e) {
    return `fused epilogue unavailable: ${(e as Error).message}`;
  }
  tf.registerKernel({ kernelName: FUSED_EPILOGUE, backendName: "wasm", kernelFunc: makeKernel(ready) });
  kernels = ready;
  return undefined;
}

/** The runtime's `SGAN_FUSED_EPILOGUE` (set by `initBackend`): false sends every call to the composed tfjs ops. */
let enabled = true;

/** Switch the fused kernels on or off (`initBackend` applies the runtime's setting; A/B measurements, tests). */
export function setFusedEpilogueEnabled(on: boolean): void {
  enabled = on;
}

/**
 * Whether a fused kernel can serve a call on `channels` channels now: switched on, no gradient being taped, and
 * wasm (the SIMD kernel, channels a multiple of 4) or webgpu (the WGSL kernel of fused_epilogue_webgpu.ts).
 */
export function fusedEpilogueUsable(channels: number): boolean {
  if (!enabled || tf.engine().isTapeOn()) return false;
  const backend = tf.getBackend();
  const ready = backend === "wasm"
    ? kernels !== undefined && channels % 4 === 0
    : backend === "webgpu" && tf.getKernel(FUSED_EPILOGUE, "webgpu") !== undefined;
  return ready;
}

/**
 * The fused op. `x` [N, H, W, C]; `noise` [1 or N, H, W, 1] with its per-channel `weight` [C] (both or neither);
 * `style` [N, 2C] = the style layer's output (scale, then shift); `slope` of the leaky ReLU (0 = ReLU).
 */
export function fusedEpilogue(
  x: tf.Tensor4D,
  noise: { map: tf.Tensor; weight: tf.Tensor } | undefined,
  style: tf.Tensor2D,
  slope: number,
  epsilon = 1e-5,
): tf.Tensor4D {
  const inputs: Record<string, tf.Tensor> = { x, style };
  if (noise) {
    inputs.noise = noise.map;
    inputs.weight = noise.weight;
  }
  return tf.engine().runKernel(FUSED_EPILOGUE, inputs, { slope, epsilon }) as tf.Tensor4D;
}
