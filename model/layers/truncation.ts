import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "./parameters.ts";
import { checkLabels, type Labels, oneHotLabels } from "../networks/labels.ts";

/**
 * The truncation trick and the running average of W it needs (official StyleGAN semantics):
 * at inference, w[:, :cutoff] = avg + ψ (w[:, :cutoff] − avg); during training the average follows
 * the batch mean of the mapping output, avg ← lerp(mean_batch(w), avg, β).
 *
 * A conditional generator also keeps one centre per class (`truncation.class_avg_latent`, [classes, L]),
 * tracked the same way from the rows of that class, so that a class's rows truncate toward the typical w of
 * their own land use: ψ → 0 gives that class's typical tile, not the average of all classes.
 */
export class Truncation {
  /** The average dlatent (`truncation.avg_latent`), a buffer. */
  readonly avgLatent: tf.Variable;
  /** Each class's average dlatent (`truncation.class_avg_latent`), a buffer; conditional generators only. */
  readonly classAvgLatent?: tf.Variable;

  constructor(
    tree: ParameterTree,
    dlatentSize: number,
    readonly maxLayer = 8,
    readonly beta = 0.995,
    readonly classes = 0,
  ) {
    this.avgLatent = tree.create("avg_latent", tf.zeros([dlatentSize]), "plain", false);
    if (classes > 0) {
      this.classAvgLatent = tree.create("class_avg_latent", tf.zeros([classes, dlatentSize]), "plain", false);
    }
  }

  /** The centre each row truncates toward, [N, 1, L] (its class's), or the global average [L] without labels. */
  private centres(labels: Labels | undefined, rows: number): tf.Tensor {
    checkLabels(labels, rows, this.classes, "this truncation");
    if (!labels || !this.classAvgLatent) return this.avgLatent;
    const [, l] = this.classAvgLatent.shape;
    return tf.reshape(tf.matMul(oneHotLabels(labels, this.classes), this.classAvgLatent), [rows, 1, l]);
  }

  /**
   * Apply ψ to the first `cutoff` style layers of w [N, layers, L]; ψ = 1 leaves w unchanged. Either may be
   * one number for every row or one per row (the server batches tiles of different requests together).
   */
  apply(
    w: tf.Tensor3D,
    psi: number | number[],
    cutoff: number | number[] = this.maxLayer,
    labels?: Labels,
  ): tf.Tensor3D {
    return tf.tidy(() => {
      const [rows, layers] = w.shape;
      const psis = perRow(psi, rows, "ψ");
      const cutoffs = perRow(cutoff, rows, "cutoff");
      const mask = new Uint8Array(rows * layers);
      for (let r = 0; r < rows; r++) {
        for (let l = 0; l < layers; l++) mask[r * layers + l] = psis[r] !== 1 && l < cutoffs[r] ? 1 : 0;
      }
      const centre = this.centres(labels, rows);
      if (mask.every((m) => m === 0)) return tf.clone(w);
      const uniform = psis.every((p) => p === psis[0]);
      const interp = tf.add(
        centre,
        tf.mul(tf.sub(w, centre), uniform ? psis[0] : tf.tensor3d(psis, [rows, 1, 1])),
      ) as tf.Tensor3D;
      if (mask.every((m) => m === 1)) return interp;
      return tf.where(tf.tensor3d(mask, [rows, layers, 1], "bool"), interp, w) as tf.Tensor3D;
    });
  }

  /**
   * Training-time update from a batch of mapping outputs w [N, L] (or [N, layers, L]: layer 0 used): the
   * global average from the batch mean, and each class present in `labels` from the mean of its rows.
   */
  update(w: tf.Tensor, labels?: Labels): void {
    tf.tidy(() => {
      const w2 = (w.rank === 3 ? tf.squeeze(tf.slice(w, [0, 0, 0], [-1, 1, -1]), [1]) : w) as tf.Tensor2D;
      const batchMean = tf.mean(w2, 0);
      // lerp(a, b, t) = a + (b − a) t with a = batch mean, b = avg, t = β
      this.avgLatent.assign(tf.add(batchMean, tf.mul(tf.sub(this.avgLatent, batchMean), this.beta)));
      if (!this.classAvgLatent || !labels) return;
      checkLabels(labels, w2.shape[0], this.classes, "this truncation");
      const oneHot = oneHotLabels(labels, this.classes); // [N, C]
      const counts = tf.sum(oneHot, 0); // [C]
      const classMean = tf.div(
        tf.matMul(oneHot, w2, true, false),
        tf.reshape(tf.maximum(counts, 1), [-1, 1]),
      );
      const lerped = tf.add(classMean, tf.mul(tf.sub(this.classAvgLatent, classMean), this.beta));
      const present = tf.reshape(tf.greater(counts, 0), [-1, 1]);
      this.classAvgLatent.assign(tf.where(present, lerped, this.classAvgLatent));
    });
  }
}

/** `value` for each of `rows` rows: one number repeated, or a list that must have one entry per row. */
export function perRow(value: number | number[], rows: number, what: string): number[] {
  if (typeof value === "number") return new Array(rows).fill(value);
  if (value.length !== rows) throw new RangeError(`${what}: ${value.length} values for ${rows} rows`);
  return value;
}
