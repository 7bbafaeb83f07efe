/** Real images at the resolution and fade-in of the current depth (StyleGAN.pytorch's progressive downsampling). */
import * as tf from "@tensorflow/tfjs-core";
import { downscale2d } from "../layers/downscale2d.ts";
import { upscale2d } from "../layers/upscale2d.ts";

/**
 * Full-resolution reals [N, R, R, C] → reals at `depth` of a network with `depthCount` depths:
 * alpha · box-downscaled + (1 − alpha) · the next coarser level upscaled, matching how G fades in.
 */
export function realsAtDepth(
  reals: tf.Tensor4D,
  depth: number,
  depthCount: number,
  alpha: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const factor = 2 ** (depthCount - 1 - depth);
    const current = factor > 1 ? downscale2d(reals, factor) : reals;
    if (depth === 0 || alpha >= 1) return factor > 1 ? current : tf.clone(current);
    const prior = upscale2d(downscale2d(reals, factor * 2));
    return tf.add(tf.mul(current, alpha), tf.mul(prior, 1 - alpha)) as tf.Tensor4D;
  });
}
