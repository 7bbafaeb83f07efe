import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "./parameters.ts";
import { blur2d, blurKernel2d } from "../backend/ops.ts";

/**
 * Depthwise low-pass filter with an outer-product kernel (StyleGAN's [1, 2, 1]), zero padding of
 * (k-1)/2 as in StyleGAN.pytorch's `BlurLayer`.
 *
 * A depthwise convolution whose gradient is the mirrored blur (model/backend/ops.ts): differentiable to
 * any order, so R1 and WGAN-GP work on every backend; measured ~1.7× faster per training step than the
 * same filter written with pad + slice + sums.
 */
export class BlurLayer {
  /** The 1-D taps (the 2-D kernel is their outer product, normalised to sum to one when asked). */
  readonly taps: number[];

  constructor(
    tree: ParameterTree | undefined,
    kernel: readonly number[] = [1, 2, 1],
    readonly normalize = true,
    readonly stride = 1,
  ) {
    if (kernel.length % 2 !== 1) throw new Error(`blur kernel must have odd length, got [${kernel}]`);
    this.taps = [...kernel];
    if (tree) this.keepKernelIn(tree);
  }

  /**
   * The 2-D kernel is a buffer in StyleGAN.pytorch's state_dict, so it is kept for checkpoint parity. A layer
   * that owns this blur calls this after creating its own parameters when the port lists them first.
   */
  keepKernelIn(tree: ParameterTree): void {
    const k2 = blurKernel2d(this.taps, this.normalize).flat();
    tree.create("kernel", tf.tensor(k2, [1, 1, this.taps.length, this.taps.length]), "plain", false);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const y = blur2d(x, this.taps, this.normalize);
      return this.stride > 1
        ? tf.stridedSlice(y, [0, 0, 0, 0], y.shape, [1, this.stride, this.stride, 1]) as tf.Tensor4D
        : y;
    });
  }
}
