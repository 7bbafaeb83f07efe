import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "./parameters.ts";

/**
 * The truncation trick and the running average of W it needs (official StyleGAN semantics):
 * at inference, w[:, :cutoff] = avg + ψ (w[:, :cutoff] − avg); during training the average follows
 * the batch mean of the mapping output, avg ← lerp(mean_batch(w), avg, β).
 */
export class Truncation {
  /** The average dlatent (`truncation.avg_latent`), a buffer. */
  readonly avgLatent: tf.Variable;

  constructor(tree: ParameterTree, dlatentSize: number, readonly maxLayer = 8, readonly beta = 0.995) {
    this.avgLatent = tree.create("avg_latent", tf.zeros([dlatentSize]), "plain", false);
  }

  /** Apply ψ to the first `cutoff` style layers of w [N, layers, L]; ψ = 1 returns w unchanged. */
  apply(w: tf.Tensor3D, psi: number, cutoff = this.maxLayer): tf.Tensor3D {
    return tf.tidy(() => {
      const layers = w.shape[1];
      const cut = Math.max(0, Math.min(cutoff, layers));
      const interp = tf.add(this.avgLatent, tf.mul(tf.sub(w, this.avgLatent), psi));
      if (cut >= layers) return interp as tf.Tensor3D;
      if (cut === 0) return tf.clone(w);
      const mask = tf.reshape(tf.less(tf.range(0, layers, 1, "int32"), cut), [1, layers, 1]);
      return tf.where(mask, interp, w) as tf.Tensor3D;
    });
  }

  /** Training-time update from a batch of mapping outputs w [N, L] (or [N, layers, L]: layer 0 used). */
  update(w: tf.Tensor): void {
    tf.tidy(() => {
      const w2 = w.rank === 3 ? tf.squeeze(tf.slice(w, [0, 0, 0], [-1, 1, -1]), [1]) : w;
      const batchMean = tf.mean(w2, 0);
      // lerp(a, b, t) = a + (b − a) t with a = batch mean, b = avg, t = β
      this.avgLatent.assign(tf.add(batchMean, tf.mul(tf.sub(this.avgLatent, batchMean), this.beta)));
    });
  }
}
