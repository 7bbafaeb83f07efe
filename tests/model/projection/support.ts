/** A tiny generator whose W centre is the mean of mapped samples, as training leaves it (fast to project). */
import * as tf from "@tensorflow/tfjs-core";
import { Generator } from "../../../model/networks/generator.ts";

export const TINY_G = {
  resolution: 16,
  latent_size: 16,
  dlatent_size: 16,
  mapping_layers: 2,
  mapping_fmaps: 16,
  fmap_base: 64,
  fmap_max: 16,
};

/**
 * The tiny generator with its initial weights redrawn from seeded normals of the same mean and spread (the
 * networks' own initialisation is unseeded), so every run projects the same problem.
 */
export function tinyGenerator(): Generator {
  const G = new Generator(TINY_G);
  for (const [i, p] of G.params.entries().entries()) {
    if (!p.trainable) continue;
    tf.tidy(() => {
      const { mean, variance } = tf.moments(p.variable);
      const std = Math.sqrt(variance.dataSync()[0]);
      if (std > 0) {
        p.variable.assign(tf.randomNormal(p.variable.shape, mean.dataSync()[0], std, "float32", 100 + i));
      }
    });
  }
  G.truncation.avgLatent.assign(
    tf.tidy(() => tf.mean(G.gMapping.mapOne(tf.randomNormal([2000, 16], 0, 1, "float32", 5)), 0)),
  );
  return G;
}

/** PSNR in dB of two [−1, 1] images (peak-to-peak 2). */
export function psnr(a: tf.Tensor, b: tf.Tensor): number {
  const mse = tf.tidy(() => tf.mean(tf.squaredDifference(a, b)).dataSync()[0]);
  return 10 * Math.log10(4 / mse);
}
