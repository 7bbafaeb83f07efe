import * as tf from "@tensorflow/tfjs-core";
import { downscale2d } from "./downscale2d.ts";

/**
 * Nearest-neighbour upscaling of NHWC images by an integer factor.
 */
export class Upscale2d {
  constructor(readonly factor = 2, readonly gain = 1) {}

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return upscale2d(x, this.factor, this.gain);
  }
}

/** Functional form of {@link Upscale2d}. */
export function upscale2d(x: tf.Tensor4D, factor = 2, gain = 1): tf.Tensor4D {
  return tf.tidy(() => {
    const y: tf.Tensor4D = gain === 1 ? x : tf.mul(x, gain);
    if (factor === 1) return gain === 1 ? tf.clone(y) : y;
    return nearestUpscale(y, factor);
  });
}

/**
 * Nearest-neighbour ×factor with a gradient that is a sum over each factor×factor block, written as
 * reshape + mean so that it is differentiable again. The forward pass is the backends' own
 * ResizeNearestNeighbor kernel: broadcasting (Tile) measured ~10× slower on wasm, and tfjs has no
 * gradient for ResizeNearestNeighborGrad.
 */
function nearestUpscale(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  const op = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const t = inputs[0] as tf.Tensor4D;
    const [, h, w] = t.shape;
    const value = tf.image.resizeNearestNeighbor(t, [h * factor, w * factor]);
    const gradFunc = (dy: tf.Tensor) => tf.mul(downscale2d(dy as tf.Tensor4D, factor), factor * factor);
    return { value, gradFunc };
  });
  return op(x) as tf.Tensor4D;
}
