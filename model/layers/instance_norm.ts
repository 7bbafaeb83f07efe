import * as tf from "@tensorflow/tfjs-core";

/** Instance normalisation without affine parameters (PyTorch `InstanceNorm2d`, eps 1e-5, biased variance). */
export class InstanceNorm {
  constructor(readonly epsilon = 1e-5) {}

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy((): tf.Tensor4D => {
      // The mean is refined once (m + mean(x − m)) so that it is the correctly rounded mean on every
      // backend, as PyTorch's double-accumulated one is; wasm sums in float32, and nearly constant
      // channels (tiny variance, then divided by) amplify any rounding difference.
      const rough = spatialMean(x);
      const mean = tf.add(rough, spatialMean(tf.sub(x, rough) as tf.Tensor4D));
      const centred = tf.sub(x, mean) as tf.Tensor4D;
      const variance = spatialMean(tf.square(centred) as tf.Tensor4D);
      return tf.mul(centred, tf.rsqrt(tf.add(variance, this.epsilon)));
    });
  }
}

/**
 * Mean over H and W as two one-axis means: each sums only H or W values, which keeps float32
 * rounding small on backends that accumulate sequentially (wasm), close to PyTorch's pairwise sums.
 */
function spatialMean(x: tf.Tensor4D): tf.Tensor4D {
  return tf.mean(tf.mean(x, 2, true), 1, true);
}
