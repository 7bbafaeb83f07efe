/**
 * The trained discriminator's intermediate features as a perceptual distance (no VGG weights can be downloaded
 * here). D sees images at full resolution: from_rgb, then each block halves the resolution; the output of every
 * block but the final one (minibatch-stddev, dense layers) is a feature map. Each block's squared difference is
 * divided by the target's mean square at that block, so that every block counts alike whatever its scale.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Discriminator } from "../networks/discriminator.ts";

/** D's block outputs for full-resolution images [N, H, W, C], finest first; the caller disposes them. */
export function discriminatorFeatures(D: Discriminator, images: tf.Tensor4D): tf.Tensor4D[] {
  const [, h, , c] = images.shape;
  if (h !== D.options.resolution || c !== D.options.num_channels) {
    throw new RangeError(
      `the discriminator takes ${D.options.resolution} px, ${D.options.num_channels}-channel images; got ${h} px, ${c}`,
    );
  }
  return tf.tidy(() => {
    const out: tf.Tensor4D[] = [];
    let x = D.fromRgb[0].apply(images);
    for (const block of D.blocks) {
      x = block.apply(x);
      out.push(x);
    }
    return out;
  });
}

/** Σ_blocks mean((f(a) − f_target)²) / mean(f_target²) against precomputed target features. */
export function discriminatorFeatureDistance(
  D: Discriminator,
  images: tf.Tensor4D,
  target: tf.Tensor4D[],
): tf.Scalar {
  return tf.tidy(() => {
    const features = discriminatorFeatures(D, images);
    return tf.addN(
      features.map((f, k) =>
        tf.div(tf.mean(tf.square(tf.sub(f, target[k]))), tf.add(tf.mean(tf.square(target[k])), 1e-8))
      ),
    ) as tf.Scalar;
  });
}
