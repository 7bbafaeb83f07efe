import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "./parameters.ts";

/**
 * Box downscaling of NHWC images by an integer factor (StyleGAN's `downscale2d`): the mean of each
 * factor × factor block, times `gain`. A reshape + mean, so double backprop needs no AvgPoolGrad gradient.
 */
export class Downscale2d {
  constructor(tree: ParameterTree | undefined, readonly factor = 2, readonly gain = 1) {
    // StyleGAN.pytorch implements factor 2 as a [0.5, 0.5] blur with stride 2 and keeps its kernel buffer.
    if (tree && factor === 2) {
      const tap = Math.sqrt(gain) / factor;
      tree.child("blur").create("kernel", tf.fill([1, 1, 2, 2], tap * tap), "plain", false);
    }
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return downscale2d(x, this.factor, this.gain);
  }
}

/** Functional form of {@link Downscale2d}. */
export function downscale2d(x: tf.Tensor4D, factor = 2, gain = 1): tf.Tensor4D {
  return tf.tidy(() => {
    if (factor === 1) return gain === 1 ? tf.clone(x) : tf.mul(x, gain);
    const [n, h, w, c] = x.shape;
    if (h % factor || w % factor) throw new Error(`downscale2d: ${h}×${w} is not divisible by ${factor}`);
    const blocks = tf.reshape(x, [n, h / factor, factor, w / factor, factor, c]);
    const y = tf.mean(blocks, [2, 4]) as tf.Tensor4D;
    return gain === 1 ? y : tf.mul(y, gain);
  });
}
