import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "./parameters.ts";
import { Upscale2d } from "./upscale2d.ts";
import { Downscale2d } from "./downscale2d.ts";

/** Anything applied between the convolution and the bias (a blur, a downscale). */
export interface Intermediate {
  apply(x: tf.Tensor4D): tf.Tensor4D;
}

/** Options of {@link EqualizedConv2d}. */
export interface EqualizedConv2dOptions {
  /** He gain; the runtime weight scale is gain / sqrt(fan_in). */
  gain: number;
  /** Scale weights at runtime (equalized learning rate). */
  use_wscale: boolean;
  /** Learning-rate multiplier. */
  lrmul: number;
  /** Add a bias (after `intermediate`). */
  bias: boolean;
  /** Applied between convolution and bias (StyleGAN's blur after an upscaling conv). */
  intermediate?: Intermediate;
  /** Upscale ×2 before the convolution (fused into a transposed convolution at large sizes). */
  upscale: boolean;
  /** Downscale ×2 after the convolution (fused into a strided convolution at large sizes). */
  downscale: boolean;
  /**
   * Output size from which up/downscaling is fused into the convolution, as in official StyleGAN
   * and the port (128). Only tests change it, to exercise the fused paths on small tensors.
   */
  fused_scale_min_res: number;
  /** Seed of the initial weights. */
  seed?: number;
}

const CONV_DEFAULTS: EqualizedConv2dOptions = {
  gain: Math.SQRT2,
  use_wscale: false,
  lrmul: 1,
  bias: true,
  upscale: false,
  downscale: false,
  fused_scale_min_res: 128,
};

/**
 * 2-D convolution with equalized learning rate, optional ×2 up/downscaling and an intermediate op,
 * exactly as StyleGAN.pytorch's `EqualizedConv2d` (including its fused up/down paths at ≥ 128 px).
 * Weight stored `[kh, kw, in, out]`; `same` zero padding.
 */
export class EqualizedConv2d {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  readonly wMul: number;
  readonly bMul: number;
  readonly options: EqualizedConv2dOptions;
  private readonly upscaler?: Upscale2d;
  private readonly downscaler?: Downscale2d;

  constructor(
    tree: ParameterTree,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    options: Partial<EqualizedConv2dOptions> = {},
  ) {
    const o = { ...CONV_DEFAULTS, ...options };
    this.options = o;
    const heStd = o.gain * (inChannels * kernelSize ** 2) ** -0.5;
    const initStd = o.use_wscale ? 1 / o.lrmul : heStd / o.lrmul;
    this.wMul = o.use_wscale ? heStd * o.lrmul : o.lrmul;
    this.bMul = o.lrmul;
    if (o.upscale) this.upscaler = new Upscale2d();
    const shape = [kernelSize, kernelSize, inChannels, outChannels];
    this.weight = tree.create(
      "weight",
      tf.randomNormal(shape, 0, initStd, "float32", o.seed ?? tree.nextSeed()),
      "conv",
    );
    if (o.bias) this.bias = tree.create("bias", tf.zeros([outChannels]), "plain");
    // The port registers its Downscale2d (with a kernel buffer) under `downscale`.
    if (o.downscale) this.downscaler = new Downscale2d(tree.child("downscale"));
  }

  apply(input: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const o = this.options;
      let x = input;
      let w = tf.mul(this.weight, this.wMul) as tf.Tensor4D;
      let convolved = false;
      let intermediate = o.intermediate;
      const minSide = Math.min(x.shape[1], x.shape[2]);

      // Upscaling: fused transposed convolution from 128 px output on (the port's formulation).
      if (this.upscaler && minSide * 2 >= o.fused_scale_min_res) {
        const w4 = sumOfFourShifts(w); // [k+1, k+1, in, out]
        const [n, h, wd] = x.shape;
        const filter = tf.transpose(w4, [0, 1, 3, 2]) as tf.Tensor4D; // conv2dTranspose wants [kh, kw, out, in]
        x = tf.conv2dTranspose(x, filter, [n, h * 2, wd * 2, this.outChannels], 2, "same");
        convolved = true;
      } else if (this.upscaler) {
        x = this.upscaler.apply(x);
      }

      // Downscaling: fused strided convolution on inputs from 128 px on.
      if (this.downscaler && Math.min(x.shape[1], x.shape[2]) >= o.fused_scale_min_res) {
        w = tf.mul(sumOfFourShifts(w), 0.25) as tf.Tensor4D;
        x = tf.conv2d(x, w, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
        convolved = true;
      } else if (this.downscaler) {
        if (intermediate) {
          throw new Error("EqualizedConv2d: downscale with an intermediate op is not supported");
        }
        intermediate = this.downscaler;
      }

      if (!convolved) x = tf.conv2d(x, w, 1, "same");
      if (intermediate) x = intermediate.apply(x);
      if (this.bias) x = tf.add(x, tf.mul(this.bias, this.bMul));
      return x;
    });
  }
}

/**
 * The port's `w = pad(w); w = w[1:,1:] + w[:-1,1:] + w[1:,:-1] + w[:-1,:-1]` on [kh, kw, in, out]:
 * a (k+1)×(k+1) kernel equal to the k×k kernel convolved with a 2×2 box.
 */
function sumOfFourShifts(w: tf.Tensor4D): tf.Tensor4D {
  const padded = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]]);
  const k = w.shape[0] + 1;
  const at = (r: number, c: number) => tf.slice(padded, [r, c, 0, 0], [k, k, -1, -1]);
  return tf.addN([at(1, 1), at(0, 1), at(1, 0), at(0, 0)]) as tf.Tensor4D;
}
