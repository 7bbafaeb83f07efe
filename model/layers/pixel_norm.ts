import * as tf from "@tensorflow/tfjs-core";

/** Normalise each feature vector to unit root-mean-square over the channel (last) axis. */
export class PixelNormLayer {
  constructor(readonly epsilon = 1e-8) {}

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), this.epsilon))));
  }
}
