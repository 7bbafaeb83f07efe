/**
 * Where a projection starts and how far it wanders: the W centre and spread. The centre is the model's own
 * running average (`truncation.avg_latent`, what truncation pulls toward); the spread is projector.py's
 * `w_std = sqrt(Σ‖w_i − w_avg‖² / N)` over N mapped samples, here measured around that same centre. For a
 * conditional generator both are its class's: the class centre (`truncation.class_avg_latent`) and samples
 * mapped with that class.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Generator } from "../networks/generator.ts";
import { RandomState } from "../seeds.ts";

/** The W centre [dlatent_size] and the RMS distance of mapped samples from it. */
export interface WStatistics {
  centre: Float32Array;
  std: number;
}

/**
 * Centre and spread of W for `G`, from `samples` z ~ N(0, I) drawn by numpy's RandomState(`seed`)
 * (projector.py uses 10,000), mapped `batch` at a time; for a conditional generator, of class `label`.
 */
export async function wStatistics(
  G: Generator,
  samples = 10_000,
  seed = 123,
  batch = 1000,
  label?: number,
): Promise<WStatistics> {
  if (!Number.isInteger(samples) || samples < 1) {
    throw new RangeError(`samples must be a positive integer, got ${samples}`);
  }
  if (G.classCount > 0 && label === undefined) {
    throw new RangeError(
      `this generator is conditional on ${G.classCount} classes: give the target's class (label)`,
    );
  }
  const labels = label === undefined ? undefined : [label];
  G.embedLabels(labels, labels?.length ?? 0); // checks the label against the generator
  const centre = label === undefined
    ? await G.truncation.avgLatent.data() as Float32Array
    : await tf.tidy(() => tf.gather(G.truncation.classAvgLatent!, label)).data() as Float32Array;
  const rng = new RandomState(seed);
  const latent = G.options.latent_size;
  let sumSquares = 0;
  for (let start = 0; start < samples; start += batch) {
    const rows = Math.min(batch, samples - start);
    const squares = tf.tidy(() => {
      const z = tf.tensor2d(Float32Array.from(rng.randn(rows * latent)), [rows, latent]);
      const y = label === undefined ? undefined : G.embedLabels(Array(rows).fill(label), rows);
      const w = G.gMapping.mapOne(z, y);
      return tf.sum(tf.square(tf.sub(w, tf.tensor1d(centre))));
    });
    sumSquares += (await squares.data())[0];
    squares.dispose();
  }
  return { centre: Float32Array.from(centre), std: Math.sqrt(sumSquares / samples) };
}
