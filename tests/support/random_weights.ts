/** Random weights for tests that compare two ways of computing the same generator. */
import * as tf from "@tensorflow/tfjs-core";
import type { Generator } from "../../model/networks/generator.ts";

/** Random weights everywhere, biases, noise strengths and the W average included (they start at zero). */
export function randomizeWeights(G: Pick<Generator, "params">, seed: number): void {
  for (const [i, p] of G.params.entries().entries()) {
    if (p.key.endsWith("blur.kernel") || p.key.endsWith("intermediate.kernel")) continue;
    // The mapping's learning-rate multiplier (0.01) scales its weights at run time: larger draws there
    // make samples of a batch differ clearly (so a slice mix-up cannot hide).
    const std = p.key.startsWith("g_mapping") ? 50 : 0.5;
    p.variable.assign(tf.randomNormal(p.variable.shape, 0, std, "float32", seed + i));
  }
}
