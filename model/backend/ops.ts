/**
 * Small NHWC image ops that are differentiable to any order on every backend, for the networks' blur,
 * downscale and upscale. They avoid the backward kernels that some backends lack or run slowly: the blur's
 * gradient is the mirrored blur (a forward depthwise convolution), downscaling is reshape + mean, upscaling
 * is reshape + tile.
 */
import * as tf from "@tensorflow/tfjs-core";

type Tensor4D = tf.Tensor4D;

/** 2-D blur kernel from a 1-D one: the outer product k·kᵀ, divided by its sum when `normalize`. */
export function blurKernel2d(kernel1d: readonly number[], normalize = true, flip = false): number[][] {
  const k = flip ? [...kernel1d].reverse() : [...kernel1d];
  const outer = k.map((a) => k.map((b) => a * b));
  const total = outer.flat().reduce((s, v) => s + v, 0);
  return normalize ? outer.map((row) => row.map((v) => v / total)) : outer;
}

/**
 * Depthwise correlation of every channel with the same 2-D kernel, zero padding `pad` on all sides,
 * stride 1. Custom gradient: the correlation of dy with the mirrored kernel and padding K-1-pad, itself
 * the same op, so every order of derivative is again a forward depthwise convolution.
 */
function depthwiseBlur(x: Tensor4D, kernel: number[][], padH: number, padW: number): Tensor4D {
  const kh = kernel.length, kw = kernel[0].length;
  const mirrored = kernel.slice().reverse().map((row) => row.slice().reverse());
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xin = args[0] as Tensor4D;
    const channels = xin.shape[3];
    const value = tf.tidy(() => {
      const filter = tf.tile(tf.reshape(tf.tensor2d(kernel), [kh, kw, 1, 1]), [
        1,
        1,
        channels,
        1,
      ]) as Tensor4D;
      return tf.depthwiseConv2d(xin, filter, 1, [[0, 0], [padH, padH], [padW, padW], [0, 0]]);
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor) => depthwiseBlur(dy as Tensor4D, mirrored, kh - 1 - padH, kw - 1 - padW),
    };
  });
  return op(x) as Tensor4D;
}

/**
 * Blur an NHWC tensor per channel, as StyleGAN's `BlurLayer`: `F.conv2d(x, k2d, padding=(K-1)//2, groups=C)`
 * (a correlation with zero padding; same size for odd K). `flip` mirrors the kernel like the PyTorch port.
 */
export function blur2d(
  x: Tensor4D,
  kernel1d: readonly number[] = [1, 2, 1],
  normalize = true,
  flip = false,
): Tensor4D {
  const kernel = blurKernel2d(kernel1d, normalize, flip);
  const pad = Math.floor((kernel1d.length - 1) / 2);
  return depthwiseBlur(x, kernel, pad, pad);
}

/** Average `factor`×`factor` blocks of an NHWC tensor (reshape + mean; no rank above 4 on any backend). */
export function downscale2dMean(x: Tensor4D, factor = 2): Tensor4D {
  if (factor === 1) return x;
  const [n, h, w, c] = x.shape;
  if (h % factor !== 0 || w % factor !== 0) {
    throw new Error(`downscale2dMean: ${h}×${w} is not divisible by the factor ${factor}`);
  }
  const ho = h / factor, wo = w / factor;
  return tf.tidy(() => {
    const rows = tf.mean(tf.reshape(x, [n * ho, factor, wo, factor * c]), 1); // [N·Ho, Wo, f·C]
    const cols = tf.mean(tf.reshape(rows, [n * ho * wo, factor, c]), 1); // [N·Ho·Wo, C]
    return tf.reshape(cols, [n, ho, wo, c]);
  });
}

/** Repeat every pixel of an NHWC tensor `factor`×`factor` times (nearest-neighbour upscale). */
export function upscale2dNearest(x: Tensor4D, factor = 2): Tensor4D {
  if (factor === 1) return x;
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => {
    const cols = tf.tile(tf.reshape(x, [n * h, w, 1, c]), [1, 1, factor, 1]); // [N·H, W, f, C]
    const rows = tf.tile(tf.reshape(cols, [n * h, 1, w * factor * c]), [1, factor, 1]); // [N·H, f, W·f·C]
    return tf.reshape(rows, [n, h * factor, w * factor, c]);
  });
}
