/**
 * Class labels of conditional networks (official StyleGAN's `labels_in`): one class index per row, turned into
 * the one-hot rows the networks multiply with. One checker for every entry point, so that a wrong label gives
 * the same words in the generator, the discriminator and the truncation.
 */
import * as tf from "@tensorflow/tfjs-core";

/** One class index per row of a batch. */
export type Labels = ArrayLike<number>;

/**
 * Check `labels` against a network with `classes` classes (0 = unconditional) and `rows` rows: a conditional
 * network needs one integer in [0, classes) per row; an unconditional one takes none.
 */
export function checkLabels(labels: Labels | undefined, rows: number, classes: number, what: string): void {
  if (classes === 0) {
    if (labels !== undefined) throw new RangeError(`${what} is unconditional: it takes no class labels`);
    return;
  }
  if (labels === undefined) {
    throw new RangeError(`${what} is conditional on ${classes} classes: every row needs a class label`);
  }
  if (labels.length !== rows) throw new RangeError(`${what}: ${labels.length} class labels for ${rows} rows`);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new RangeError(`${what}: class label ${c} (row ${i}) is not an integer in [0, ${classes - 1}]`);
    }
  }
}

/** One-hot rows [N, classes] of float32 for `labels` (checked by the caller). */
export function oneHotLabels(labels: Labels, classes: number): tf.Tensor2D {
  const data = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) data[i * classes + labels[i]] = 1;
  return tf.tensor2d(data, [labels.length, classes]);
}

/**
 * The class `random` gives a seed (for a model of `classes` classes): drawn from the seed, so that a seed always
 * gives the same class, in the server and the CLI alike. It hashes the seed (lowbias32: xor-shift-multiply)
 * rather than reading numpy's stream, whose first draws are the seed's z.
 */
export function randomClassOf(seed: number, classes: number): number {
  let x = seed >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return (x >>> 0) % classes;
}
