import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "./parameters.ts";

/** Options of {@link EqualizedLinear} (StyleGAN's `dense` with the equalized learning rate). */
export interface EqualizedLinearOptions {
  /** He gain; the runtime weight scale is gain / sqrt(fan_in). */
  gain: number;
  /** Scale weights at runtime (equalized learning rate) instead of at initialisation. */
  use_wscale: boolean;
  /** Learning-rate multiplier (0.01 in the mapping network). */
  lrmul: number;
  /** Add a bias. */
  bias: boolean;
  /** Seed of the initial weights (tfjs random normal). */
  seed?: number;
}

const LINEAR_DEFAULTS: EqualizedLinearOptions = { gain: Math.SQRT2, use_wscale: false, lrmul: 1, bias: true };

/** Fully connected layer with equalized learning rate; weight stored `[in, out]`. */
export class EqualizedLinear {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  readonly wMul: number;
  readonly bMul: number;

  constructor(
    tree: ParameterTree,
    readonly inputSize: number,
    readonly outputSize: number,
    options: Partial<EqualizedLinearOptions> = {},
  ) {
    const o = { ...LINEAR_DEFAULTS, ...options };
    const heStd = o.gain * inputSize ** -0.5;
    const initStd = o.use_wscale ? 1 / o.lrmul : heStd / o.lrmul;
    this.wMul = o.use_wscale ? heStd * o.lrmul : o.lrmul;
    this.bMul = o.lrmul;
    this.weight = tree.create(
      "weight",
      tf.randomNormal([inputSize, outputSize], 0, initStd, "float32", o.seed ?? tree.nextSeed()),
      "linear",
    );
    if (o.bias) this.bias = tree.create("bias", tf.zeros([outputSize]), "plain");
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy((): tf.Tensor2D => {
      const y = tf.matMul(x, tf.mul(this.weight, this.wMul) as tf.Tensor2D) as tf.Tensor2D;
      return this.bias ? tf.add(y, tf.mul(this.bias, this.bMul)) as tf.Tensor2D : y;
    });
  }
}
