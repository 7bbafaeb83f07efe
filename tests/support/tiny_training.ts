import * as tf from "@tensorflow/tfjs-core";
import type { TrainingData } from "../../model/train/loop.ts";

/** `--set` overrides that make a 16 px training run take seconds (shared by the training tests). */
export const TINY_NETWORK = [
  "dataset.resolution=16",
  "model.gen.latent_size=16",
  "model.gen.dlatent_size=16",
  "model.gen.mapping_fmaps=16",
  "model.gen.mapping_layers=2",
  "model.gen.fmap_base=64",
  "model.gen.fmap_max=16",
  "model.dis.fmap_base=64",
  "model.dis.fmap_max=16",
  "sched.fade_in_percentage=[50,50,50]",
];

/** TINY_NETWORK's generator as options (16 px, latent 16, 2 mapping layers, 16 channels). */
export const TINY_GENERATOR = {
  resolution: 16,
  latent_size: 16,
  dlatent_size: 16,
  mapping_fmaps: 16,
  mapping_layers: 2,
  fmap_base: 64,
  fmap_max: 16,
};

/** A tiny schedule: `epochs` and `batch` per depth for the 3 depths of a 16 px run. */
export function tinySchedule(epochs: [number, number, number], batch: number): string[] {
  return [`sched.epochs=[${epochs.join(",")}]`, `sched.batch_sizes=[${batch},${batch},${batch}]`];
}

/** Training data that serves the same `pixels` batch every time, claiming `count` images (no files). */
export function repeatedBatch(pixels: tf.Tensor4D, count: number): TrainingData {
  return {
    count,
    gsdM: 1,
    nextBatch: () => ({ images: tf.clone(pixels) }),
    getState: () => null,
    setState() {},
  };
}
