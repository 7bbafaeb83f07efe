import * as tf from "@tensorflow/tfjs-core";

/**
 * Flatten to `[batch, -1]` in PyTorch's NCHW order, so that dense weights trained in PyTorch line up
 * with our NHWC feature maps.
 */
export class View {
  apply(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const nchw = x.rank === 4 ? tf.transpose(x, [0, 3, 1, 2]) : x;
      return tf.reshape(nchw, [x.shape[0], -1]);
    });
  }
}
