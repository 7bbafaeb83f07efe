import * as tf from "@tensorflow/tfjs-core";
import { EqualizedLinear } from "./equalized_linear.ts";
import type { ParameterTree } from "./parameters.ts";

/** AdaIN's style part: x · (1 + scale(w)) + bias(w), with scale and bias from one dense layer. */
export class StyleMod {
  readonly lin: EqualizedLinear;

  constructor(tree: ParameterTree, dlatentSize: number, readonly channels: number, useWscale: boolean) {
    this.lin = new EqualizedLinear(tree.child("lin"), dlatentSize, channels * 2, {
      gain: 1,
      use_wscale: useWscale,
    });
  }

  apply(x: tf.Tensor4D, latent: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const style = this.lin.apply(latent);
      const n = latent.shape[0];
      const [scale, shift] = tf.split(style, 2, 1);
      return tf.add(
        tf.mul(x, tf.reshape(tf.add(scale, 1), [n, 1, 1, this.channels])),
        tf.reshape(shift, [n, 1, 1, this.channels]),
      );
    });
  }
}
