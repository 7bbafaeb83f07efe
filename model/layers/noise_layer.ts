import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "./parameters.ts";

/**
 * How per-pixel noise is fed to the synthesis network:
 * `const` uses the fixed noise maps stored with the model (deterministic images), `random` draws new
 * noise per call, `none` adds nothing.
 */
export type NoiseMode = "const" | "random" | "none";
export const NOISE_MODES: readonly NoiseMode[] = ["const", "random", "none"];

/**
 * A noise mode, or a function drawing random noise of a given shape [N, H, W, 1]: training passes one
 * backed by its own seeded generator so that a resumed run draws exactly the same noise.
 */
export type NoiseSpec = NoiseMode | ((shape: [number, number, number, number]) => tf.Tensor4D);

/** Adds per-channel-scaled single-channel noise: x + weight[c] · noise[n, h, w]. */
export class NoiseLayer {
  readonly weight: tf.Variable;
  /** Fixed noise map [1, H, W, 1] used in `const` mode (a buffer, saved with the model). */
  readonly constNoise: tf.Variable;

  constructor(tree: ParameterTree, readonly channels: number, readonly size: number, seed?: number) {
    this.weight = tree.create("weight", tf.zeros([channels]), "plain");
    // tfjs ignores a seed of 0, hence seed + 1.
    this.constNoise = tree.create(
      "const",
      tf.randomNormal([1, size, size, 1], 0, 1, "float32", seed === undefined ? undefined : seed + 1),
      "nchw",
      false,
    );
  }

  apply(x: tf.Tensor4D, mode: NoiseSpec): tf.Tensor4D {
    if (mode === "none") return tf.clone(x);
    return tf.tidy(() => tf.add(x, tf.mul(tf.reshape(this.weight, [1, 1, 1, -1]), this.noiseMap(x, mode)!)));
  }

  /** The noise map [1 or N, H, W, 1] that `apply` adds for input `x`, or undefined in `none` mode. */
  noiseMap(x: tf.Tensor4D, mode: NoiseSpec): tf.Tensor | undefined {
    if (mode === "none") return undefined;
    const [n, h, w] = x.shape;
    return mode === "const"
      ? this.constNoise
      : mode === "random"
      ? tf.randomNormal([n, h, w, 1])
      : mode([n, h, w, 1]);
  }
}
