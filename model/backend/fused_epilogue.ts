/**
 * One kernel for what follows every synthesis convolution: noise, leaky ReLU, instance norm and the style
 * (AdaIN). Composed from tfjs ops that is about twenty kernels and ten passes over the feature map (a profile
 * of 128 px generation on wasm: means, leaky ReLU, adds, subs and multiplies took about a third of the time).
 * On wasm it is three SIMD passes (model/backend/epilogue_wat.ts) over the backend's own memory (plain
 * JavaScript loops were tried first and were no faster than the composed ops); on webgpu one WGSL dispatch
 * (model/backend/fused_epilogue_webgpu.ts).
 *
 * Generation (no gradient tape) runs {@link FUSED_EPILOGUE}. Training on wasm runs
 * {@link FUSED_EPILOGUE_TRAINING}, the same passes that also keep each channel's mean and inverse deviation,
 * with a hand-written backward (model/backend/fused_epilogue_grad.ts), first order only (training needs no
 * second derivative through G; see there). On the other backends training keeps the composed ops.
 * `SGAN_FUSED_EPILOGUE=0` turns both off (A/B benchmarks, the composed reference).
 */
import * as tf from "@tensorflow/tfjs-core";
import wabtInit from "wabt";
import { EPILOGUE_WAT } from "./epilogue_wat.ts";
import type { KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from "@tensorflow/tfjs-core";
import {
  type EpilogueExports,
  FUSED_EPILOGUE,
  FUSED_EPILOGUE_GRAD,
  FUSED_EPILOGUE_TRAINING,
  geometry,
  heapOffset,
  required,
  type WasmBackendLike,
} from "./fused_epilogue_common.ts";
import {
  FUSED_EPILOGUE_GRAD_CONFIG,
  FUSED_EPILOGUE_SECOND_ORDER_CONFIG,
  makeGradKernel,
} from "./fused_epilogue_grad.ts";

export { FUSED_EPILOGUE, FUSED_EPILOGUE_GRAD, FUSED_EPILOGUE_TRAINING };

/**
 * The three forward passes into `out`; with `stats` ([N, 2C]) each sample's channel means and inverse
 * deviations are written there (what the gradient needs), else into scratch memory.
 */
function forward(
  k: EpilogueExports,
  b: WasmBackendLike,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap | undefined,
  kernel: string,
  out: TensorInfo,
  stats?: TensorInfo,
): void {
  const g = geometry(inputs, attrs, kernel);
  const x = required(inputs, "x", kernel);
  // Per-channel working arrays: f64 sums (2C floats), then mean, inv (unless in stats), scale, shift.
  const work = b.makeOutput([6 * g.c], "float32");
  try {
    // makeOutput may grow the memory, which detaches earlier views: offsets and views only from here on.
    const offset = (t: TensorInfo) => heapOffset(b, t, kernel);
    const heap = b.wasm.HEAPF32.buffer;
    const workAt = offset(work);
    const sums = new Float64Array(heap, workAt, g.c);
    const [scaleAt, shiftAt] = [4, 5].map((i) => workAt + i * g.c * 4);
    const scale = new Float32Array(heap, scaleAt, g.c);
    const shift = new Float32Array(heap, shiftAt, g.c);
    const style = new Float32Array(heap, offset(required(inputs, "style", kernel)), g.n * 2 * g.c);
    const sampleBytes = g.hw * g.c * 4;
    const noiseAt = inputs.noise ? offset(inputs.noise) : 0;
    const weightAt = inputs.weight ? offset(inputs.weight) : 0;
    for (let n = 0; n < g.n; n++) {
      const xAt = offset(x) + n * sampleBytes;
      const outAt = offset(out) + n * sampleBytes;
      const meanAt = stats ? offset(stats) + n * 2 * g.c * 4 : workAt + 2 * g.c * 4;
      const invAt = meanAt + g.c * 4;
      const mean = new Float32Array(heap, meanAt, g.c);
      const inv = new Float32Array(heap, invAt, g.c);
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
}

/** Generation: the feature map. */
function makeKernel(k: EpilogueExports): KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const b = backend as unknown as WasmBackendLike;
    const out = b.makeOutput([...required(inputs, "x").shape], "float32");
    forward(k, b, inputs, attrs, FUSED_EPILOGUE, out);
    return out;
  };
}

/** Training: the feature map and the statistics [N, 2C] its gradient reads. */
function makeTrainingKernel(k: EpilogueExports): KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const b = backend as unknown as WasmBackendLike;
    const x = required(inputs, "x", FUSED_EPILOGUE_TRAINING);
    // The gradient saves every input, so noise and its weight are always given (zeros stand in for none).
    required(inputs, "noise", FUSED_EPILOGUE_TRAINING);
    const [n, , , c] = x.shape;
    const out = b.makeOutput([...x.shape], "float32");
    const stats = b.makeOutput([n, 2 * c], "float32");
    try {
      forward(k, b, inputs, attrs, FUSED_EPILOGUE_TRAINING, out, stats);
    } catch (e) {
      b.disposeData(out.dataId);
      b.disposeData(stats.dataId);
      throw e;
    }
    return [out, stats];
  };
}

let kernels: EpilogueExports | undefined;

/**
 * Assemble the SIMD module against the wasm backend's memory and register the kernels and the training
 * gradient (once). Resolves to undefined when they are ready, or to the reason they are not (the composed ops
 * are used then).
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
  tf.registerKernel({
    kernelName: FUSED_EPILOGUE_TRAINING,
    backendName: "wasm",
    kernelFunc: makeTrainingKernel(ready),
  });
  tf.registerKernel({
    kernelName: FUSED_EPILOGUE_GRAD,
    backendName: "wasm",
    kernelFunc: makeGradKernel(ready),
  });
  tf.registerGradient(FUSED_EPILOGUE_GRAD_CONFIG);
  tf.registerGradient(FUSED_EPILOGUE_SECOND_ORDER_CONFIG);
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
 * Whether a fused kernel can serve a call on `channels` channels now. Switched on, and without a gradient
 * tape: wasm (the SIMD kernel, channels a multiple of 4) or webgpu (the WGSL kernel). Under a gradient tape
 * (a training step): wasm only, whose training kernel has a first-order gradient.
 */
export function fusedEpilogueUsable(channels: number): boolean {
  if (!enabled) return false;
  const backend = tf.getBackend();
  const wasmReady = backend === "wasm" && kernels !== undefined && channels % 4 === 0;
  if (tf.engine().isTapeOn()) return wasmReady;
  return wasmReady || backend === "webgpu" && tf.getKernel(FUSED_EPILOGUE, "webgpu") !== undefined;
}

/**
 * The fused op. `x` [N, H, W, C]; `noise` [1 or N, H, W, 1] with its per-channel `weight` [C] (both or neither);
 * `style` [N, 2C] = the style layer's output (scale, then shift); `slope` of the leaky ReLU (0 = ReLU).
 * Under a gradient tape it runs the training kernel, differentiable once in x, noise, weight and style.
 */
export function fusedEpilogue(
  x: tf.Tensor4D,
  noise: { map: tf.Tensor; weight: tf.Tensor } | undefined,
  style: tf.Tensor2D,
  slope: number,
  epsilon = 1e-5,
): tf.Tensor4D {
  const attrs = { slope, epsilon };
  if (!tf.engine().isTapeOn()) {
    const inputs: Record<string, tf.Tensor> = { x, style };
    if (noise) {
      inputs.noise = noise.map;
      inputs.weight = noise.weight;
    }
    return tf.engine().runKernel(FUSED_EPILOGUE, inputs, attrs) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const [, h, w, c] = x.shape;
    // The gradient saves its inputs by name, so none may be missing: without noise, zeros add nothing.
    const map = noise?.map ?? tf.zeros([1, h, w, 1]);
    const weight = noise?.weight ?? tf.zeros([c]);
    const [y] = tf.engine().runKernel(
      FUSED_EPILOGUE_TRAINING,
      { x, style, noise: map, weight },
      attrs,
    ) as tf.Tensor[];
    return y as tf.Tensor4D;
  });
}
