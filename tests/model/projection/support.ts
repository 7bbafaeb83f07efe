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

export function tinyGenerator(): Generator {
  const G = new Generator(TINY_G);
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
