import * as tf from "@tensorflow/tfjs-core";

/**
 * Minibatch standard deviation (Karras et al. 2018): append the average standard deviation of
 * features over groups of `group_size` samples as `num_new_features` extra channels.
 * Sample i belongs to group i mod (batch / group_size), as in the official code and the port.
 */
export class StddevLayer {
  constructor(readonly groupSize = 4, readonly numNewFeatures = 1) {}

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const g = Math.min(this.groupSize, b);
      if (b % g !== 0) throw new Error(`StddevLayer: batch ${b} is not divisible by group size ${g}`);
      const f = this.numNewFeatures;
      const m = b / g;
      // Channels split as [F, C/F] are contiguous in NHWC, so [G, M, H·W·F, C/F] groups them without
      // going above rank 4 (tfjs-webgpu moves rank ≥ 5 ops to the CPU).
      const y = tf.reshape(x, [g, m, h * w * f, c / f]);
      const centred = tf.sub(y, tf.mean(y, 0, true));
      const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), 0), 1e-8)); // [M, H·W·F, C/F]
      const perGroup = tf.mean(tf.reshape(std, [m, h * w, f, c / f]), [1, 3]); // [M, F]
      const maps = tf.broadcastTo(tf.reshape(perGroup, [1, m, 1, f]), [g, m, h * w, f]);
      return tf.concat([x, tf.reshape(maps, [b, h, w, f])], 3);
    });
  }
}
