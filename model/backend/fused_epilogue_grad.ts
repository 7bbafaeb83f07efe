/**
 * The gradient of the fused training epilogue (model/backend/fused_epilogue.ts) on wasm: one SIMD kernel
 * with a hand-written backward instead of the gradients of about twenty composed ops.
 *
 * Per sample n and channel c, over the H·W = M pixels p, with a = x + w·noise, v = lrelu(a),
 * x̂ = (v − mean)·inv (inv = 1/√(var + ε)) and g = dL/dy:
 *   dshift[n,c] = Σ_p g,  dscale[n,c] = Σ_p g·x̂            (the style's two halves)
 *   dx = lrelu'(a) · (1 + scale)·inv · (g − Σg/M − x̂·Σ(g·x̂)/M)   (instance norm's backward)
 *   dw[c] = Σ_{n,p} dx·noise                                 (the noise weight's)
 * Two passes over x and dy: the sums, then dx (and dw); a, v and x̂ are recomputed as the forward pass
 * computed them, with its saved mean and inv, so the feature map is not stored twice.
 *
 * First order only. The training step never differentiates G twice: R1 and WGAN-GP's double backprop runs
 * through D alone (model/losses.ts: the penalty is a gradient with respect to D's input; model/train/step_grads.ts:
 * G's images reach the D step as a constant), and D has no instance norm or style. Nor could the composed ops
 * give a second derivative here: the gradient of their Rsqrt calls Pow, which has no registered gradient
 * (model/backend/gradients.ts registers what the step needs). A second derivative that reaches this kernel
 * fails with {@link SECOND_ORDER_MESSAGE}.
 */
import * as tf from "@tensorflow/tfjs-core";
import { util } from "@tensorflow/tfjs-core";
import type { GradConfig, KernelFunc, Tensor, TensorInfo } from "@tensorflow/tfjs-core";
import {
  type EpilogueExports,
  FUSED_EPILOGUE_GRAD,
  FUSED_EPILOGUE_TRAINING,
  geometry,
  heapOffset,
  required,
  type WasmBackendLike,
} from "./fused_epilogue_common.ts";

/** What a second derivative through the fused epilogue says. */
export const SECOND_ORDER_MESSAGE = `${FUSED_EPILOGUE_GRAD}: a second derivative reached the fused ` +
  "training epilogue (noise, activation, instance norm, style), which has a first-order gradient only; " +
  "training never differentiates G twice (R1 and WGAN-GP go through D alone), and the composed ops " +
  "(SGAN_FUSED_EPILOGUE=0) have no second derivative of instance norm either";

/** The backward kernel: inputs x, style, noise, weight, stats (the forward's mean and inv), dy. */
export function makeGradKernel(k: EpilogueExports): KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const b = backend as unknown as WasmBackendLike;
    const K = FUSED_EPILOGUE_GRAD;
    const g = geometry(inputs, attrs, K);
    const x = required(inputs, "x", K), stats = required(inputs, "stats", K), dy = required(inputs, "dy", K);
    const noise = required(inputs, "noise", K), weight = required(inputs, "weight", K);
    if (!util.arraysEqual(dy.shape, x.shape)) {
      throw new Error(`${K}: dy must be [${x.shape}], got [${dy.shape}]`);
    }
    if (stats.shape.length !== 2 || stats.shape[0] !== g.n || stats.shape[1] !== 2 * g.c) {
      throw new Error(`${K}: stats must be [${g.n}, ${2 * g.c}], got [${stats.shape}]`);
    }
    const outputs: TensorInfo[] = [
      b.makeOutput([...x.shape], "float32"),
      b.makeOutput([g.n, 2 * g.c], "float32"),
      b.makeOutput([...weight.shape], "float32"),
    ];
    const [dx, dstyle, dweight] = outputs;
    // Per-channel work: four f64 sums (Σg, Σg·x̂, Σx̂, the noise weight's), then k and the two means (float32).
    const work = b.makeOutput([11 * g.c], "float32");
    try {
      const at = (t: TensorInfo) => heapOffset(b, t, K);
      const heap = b.wasm.HEAPF32.buffer;
      const workAt = at(work);
      const [sumsAt, sums2At, sums3At, wsumsAt] = [0, 1, 2, 3].map((i) => workAt + i * 8 * g.c);
      const [kAt, gmeanAt, gxmeanAt] = [0, 1, 2].map((i) => workAt + 32 * g.c + i * 4 * g.c);
      const sums = new Float64Array(heap, sumsAt, g.c);
      const sums2 = new Float64Array(heap, sums2At, g.c);
      const sums3 = new Float64Array(heap, sums3At, g.c);
      const wsums = new Float64Array(heap, wsumsAt, g.c);
      const kk = new Float32Array(heap, kAt, g.c);
      const gmean = new Float32Array(heap, gmeanAt, g.c);
      const gxmean = new Float32Array(heap, gxmeanAt, g.c);
      const style = new Float32Array(heap, at(required(inputs, "style", K)), g.n * 2 * g.c);
      const statsAt = at(stats);
      const stat = new Float32Array(heap, statsAt, g.n * 2 * g.c);
      const grads = new Float32Array(heap, at(dstyle), g.n * 2 * g.c);
      const sampleBytes = g.hw * g.c * 4;
      const [noiseAt, weightAt] = [at(noise), at(weight)];
      wsums.fill(0);
      for (let n = 0; n < g.n; n++) {
        const [xAt, dyAt, dxAt] = [x, dy, dx].map((t) => at(t) + n * sampleBytes);
        const noiseN = noiseAt + (g.noiseBatch === 1 ? 0 : n) * g.hw * 4;
        const meanAt = statsAt + n * 2 * g.c * 4, invAt = meanAt + g.c * 4;
        sums.fill(0);
        sums2.fill(0);
        sums3.fill(0);
        k.grad_sums(
          xAt,
          noiseN,
          1,
          weightAt,
          dyAt,
          g.hw,
          g.c,
          g.slope,
          meanAt,
          invAt,
          sumsAt,
          sums2At,
          sums3At,
        );
        const row = n * 2 * g.c;
        for (let c = 0; c < g.c; c++) {
          grads[row + c] = sums2[c];
          grads[row + g.c + c] = sums[c];
          // x̂ as float32 computed it has a mean of ~1 ulp of the float32 mean (times inv), not 0; centring it
          // (x̂ − x̂m, folded into the first mean) keeps Σ_p dx at rounding level, as the composed ops'
          // explicit mean subtraction does. Without it a bias just before the epilogue (Σ_p dx) got 3e-4
          // relative errors in a training step against the composed ops' 2e-5 to 4e-5 among themselves.
          const xm = sums3[c] / g.hw;
          const gxm = (sums2[c] - xm * sums[c]) / g.hw;
          gxmean[c] = gxm;
          gmean[c] = sums[c] / g.hw - xm * gxm;
          kk[c] = Math.fround(1 + style[row + c]) * stat[row + g.c + c];
        }
        k.grad_input(
          xAt,
          noiseN,
          1,
          weightAt,
          dyAt,
          dxAt,
          g.hw,
          g.c,
          g.slope,
          meanAt,
          invAt,
          kAt,
          gmeanAt,
          gxmeanAt,
          wsumsAt,
        );
      }
      new Float32Array(heap, at(dweight), g.c).set(wsums);
    } catch (e) {
      for (const t of outputs) b.disposeData(t.dataId);
      throw e;
    } finally {
      b.disposeData(work.dataId);
    }
    return outputs;
  };
}

/** The noise map's gradient, Σ_c dx·w[c] (summed over the batch for a shared map): composed, and rarely asked for. */
function noiseGradient(dx: Tensor, weight: Tensor, noiseShape: number[]): Tensor {
  const perPixel = tf.sum(tf.mul(dx, tf.reshape(weight, [1, 1, 1, -1])), 3, true);
  const shared = noiseShape[0] === 1 && dx.shape[0] !== 1;
  return tf.reshape(shared ? tf.sum(perPixel, 0, true) : perPixel, noiseShape);
}

/** The gradient of the training forward kernel: every input, from one run of the backward kernel. */
export const FUSED_EPILOGUE_GRAD_CONFIG: GradConfig = {
  kernelName: FUSED_EPILOGUE_TRAINING,
  inputsToSave: ["x", "style", "noise", "weight"],
  // The forward's statistics [N, 2C]; the feature map itself is not kept.
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attrs) => {
    // Only the feature map has a gradient; the statistics are the kernel's own (the op returns y alone).
    const dy = Array.isArray(dys) ? dys[0] : dys;
    const [x, style, noise, weight, stats] = saved;
    // Run once for all inputs: tfjs asks for each input's gradient separately.
    const [dx, dstyle, dweight] = tf.engine().runKernel(
      FUSED_EPILOGUE_GRAD,
      { x, style, noise, weight, stats, dy },
      attrs,
    ) as Tensor[];
    return {
      x: () => dx,
      style: () => dstyle,
      weight: () => dweight,
      noise: () => noiseGradient(dx, weight, noise.shape),
    };
  },
};

/** The backward kernel's own gradient: refused, naming why (see the module's comment). */
export const FUSED_EPILOGUE_SECOND_ORDER_CONFIG: GradConfig = {
  kernelName: FUSED_EPILOGUE_GRAD,
  gradFunc: () => {
    throw new Error(SECOND_ORDER_MESSAGE);
  },
};
