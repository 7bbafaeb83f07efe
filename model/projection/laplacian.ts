/**
 * A differentiable Laplacian pyramid of NHWC images, for the projection's "sharp at every scale" loss
 * (Bojanowski et al. 2018, "Optimizing the latent space of generative networks": Lap1). Built from the
 * network's own resampling ops, whose gradients the project registers: 2 × 2 box averaging down
 * (`downscale2d`) and nearest-neighbour ×2 up (`upscale2d`). Level k = g_k − up(g_{k+1}) with g_0 the image
 * and g_{k+1} = down(g_k); the last level is the low-pass residual g_{levels−1}, so the levels sum back to the
 * image exactly (up-sampling each coarser one as needed).
 *
 * (PGGAN's SWD pyramid in model/metrics/swd.ts uses a 5-tap Gaussian and is plain JS without gradients; the box
 * filter here is enough for a loss and keeps every level exactly reproducible by hand.)
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { downscale2d } from "../layers/downscale2d.ts";
import { upscale2d } from "../layers/upscale2d.ts";

/** Levels a pyramid of a `size` px image can have down to `minSize` px (at least 1). */
export function pyramidLevels(size: number, minSize = 4): number {
  let levels = 1;
  while (size / 2 >= minSize && size % 2 === 0) {
    size /= 2;
    levels++;
  }
  return levels;
}

/** The Laplacian pyramid of `images` [N, H, W, C], finest first; the caller disposes the levels. */
export function laplacianPyramid(images: tf.Tensor4D, levels: number): tf.Tensor4D[] {
  if (!Number.isInteger(levels) || levels < 1) {
    throw new RangeError(`levels must be a positive integer, got ${levels}`);
  }
  const [, h, w] = images.shape;
  if (h % 2 ** (levels - 1) || w % 2 ** (levels - 1)) {
    throw new RangeError(`a ${h}×${w} image cannot be halved ${levels - 1} times`);
  }
  return tf.tidy(() => {
    const out: tf.Tensor4D[] = [];
    let current = images;
    for (let k = 0; k < levels - 1; k++) {
      const lower = downscale2d(current);
      out.push(tf.sub(current, upscale2d(lower)));
      current = lower;
    }
    out.push(tf.clone(current));
    return out;
  });
}

/**
 * Laplacian-pyramid L1 between two image batches: the mean absolute difference of each level, summed over
 * the levels (a per-level mean weights every scale equally, as Lap1's 2^{2k} factor on sums does).
 */
export function laplacianL1(a: tf.Tensor4D, b: tf.Tensor4D, levels: number): tf.Scalar {
  return tf.tidy(() => {
    const pa = laplacianPyramid(a, levels);
    const pb = laplacianPyramid(b, levels);
    return tf.addN(pa.map((level, k) => tf.mean(tf.abs(tf.sub(level, pb[k]))))) as tf.Scalar;
  });
}
