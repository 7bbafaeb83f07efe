import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "./parameters.ts";

/**
 * Depthwise low-pass filter with an outer-product kernel (StyleGAN's [1, 2, 1]), zero padding of
 * (k-1)/2 as in StyleGAN.pytorch's `BlurLayer`.
 *
 * Computed separably with pad + slice + weighted sums rather than a depthwise convolution: every op
 * involved has a gradient that is itself differentiable, so R1 and WGAN-GP (double backprop) work
 * on every backend without extra kernels.
 */
export class BlurLayer {
  /** The 1-D taps applied along each axis (normalised so the 2-D kernel sums to one when asked). */
  readonly taps: number[];

  constructor(
    tree: ParameterTree | undefined,
    kernel: readonly number[] = [1, 2, 1],
    readonly normalize = true,
    readonly stride = 1,
  ) {
    if (kernel.length % 2 !== 1) throw new Error(`blur kernel must have odd length, got [${kernel}]`);
    const sum = kernel.reduce((a, b) => a + b, 0);
    this.taps = normalize ? kernel.map((k) => k / sum) : [...kernel];
    // The 2-D kernel is a buffer in StyleGAN.pytorch's state_dict, so it is kept for checkpoint parity.
    if (tree) {
      const k2 = this.taps.flatMap((a) => this.taps.map((b) => a * b));
      tree.create("kernel", tf.tensor(k2, [1, 1, kernel.length, kernel.length]), "plain", false);
    }
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return blur2d(x, this.taps, this.stride);
  }
}

/** Separable depthwise blur of NHWC `x` with 1-D `taps` (applied on both axes), zero padded. */
export function blur2d(x: tf.Tensor4D, taps: readonly number[], stride = 1): tf.Tensor4D {
  return tf.tidy(() => {
    const r = (taps.length - 1) / 2;
    const along = (t: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D => {
      const pad: Array<[number, number]> = [[0, 0], [0, 0], [0, 0], [0, 0]];
      pad[axis] = [r, r];
      const padded = tf.pad(t, pad);
      const size = t.shape[axis];
      let acc: tf.Tensor4D | undefined;
      taps.forEach((tap, i) => {
        const begin = [0, 0, 0, 0];
        begin[axis] = i;
        const len: [number, number, number, number] = [-1, -1, -1, -1];
        len[axis] = size;
        const term = tf.mul(tf.slice(padded, begin, len), tap) as tf.Tensor4D;
        acc = acc ? tf.add(acc, term) : term;
      });
      return acc!;
    };
    let y = along(along(x, 2), 1);
    if (stride > 1) y = tf.stridedSlice(y, [0, 0, 0, 0], y.shape, [1, stride, stride, 1]) as tf.Tensor4D;
    return y;
  });
}
