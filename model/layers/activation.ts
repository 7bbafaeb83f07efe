import * as tf from "@tensorflow/tfjs-core";

/** Slope of StyleGAN's leaky ReLU. */
export const LRELU_SLOPE = 0.2;

/** The nonlinearities StyleGAN offers, with the He gain that goes with each. */
export const NONLINEARITIES = {
  lrelu: { apply: (x: tf.Tensor) => tf.leakyRelu(x, LRELU_SLOPE), gain: Math.SQRT2 },
  relu: { apply: (x: tf.Tensor) => tf.relu(x), gain: Math.SQRT2 },
} as const;

export type Nonlinearity = keyof typeof NONLINEARITIES;

/** The negative-side slope of a nonlinearity's `apply` (0 for ReLU), or undefined for anything else. */
export function leakySlopeOf(fn: (x: tf.Tensor) => tf.Tensor): number | undefined {
  if (fn === NONLINEARITIES.lrelu.apply) return LRELU_SLOPE;
  if (fn === NONLINEARITIES.relu.apply) return 0;
  return undefined;
}
