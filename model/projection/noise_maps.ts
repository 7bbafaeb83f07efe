/**
 * Optimised noise inputs and StyleGAN2's noise regulariser (projector.py). Each noise layer of the synthesis
 * network gets its own variable [1, H, W, 1], started from the model's constant noise map (a fixed draw of
 * N(0, 1), so step 0 renders exactly what `noise: const` renders), fed in through a {@link NoiseSpec} function
 * that hands the maps out in the order the layers call it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NoiseLayer, NoiseSpec } from "../layers/noise_layer.ts";
import type { Generator } from "../networks/generator.ts";
import { downscale2d } from "../layers/downscale2d.ts";

/** The noise layers of G's synthesis network, in the order a forward pass at full resolution calls them. */
export function noiseLayersInOrder(G: Generator): NoiseLayer[] {
  const s = G.gSynthesis;
  return [s.initBlock, ...s.blocks]
    .flatMap((block) => [block.epi1.noise, block.epi2.noise])
    .filter((layer): layer is NoiseLayer => layer !== undefined);
}

/** Trainable copies of G's constant noise maps and the NoiseSpec that feeds them. */
export class NoiseMaps {
  readonly variables: tf.Variable[];
  #next = 0;

  constructor(G: Generator) {
    // A variable made from a tensor shares its data until the first assign, which replaces (never writes into)
    // it: the model's maps stay as they are.
    this.variables = noiseLayersInOrder(G).map((layer) => tf.variable(layer.constNoise, true));
  }

  /** Noise for one forward pass: call before each pass (the maps are handed out in layer order). */
  spec(): NoiseSpec {
    this.#next = 0;
    return (shape) => {
      const map = this.variables[this.#next++];
      if (!map || map.shape[1] !== shape[1] || map.shape[2] !== shape[2]) {
        throw new Error(
          `noise layer ${this.#next - 1} wants ${shape[1]}×${shape[2]} px, not the map it was given`,
        );
      }
      return map as tf.Tensor as tf.Tensor4D;
    };
  }

  /**
   * projector.py's regulariser: for each map, and each 2 × 2 average-pooled version down to 8 px,
   * (mean(n · roll(n, 1, x)))² + (mean(n · roll(n, 1, y)))²: it penalises spatial correlation, so the maps
   * stay noise and do not carry the image.
   */
  regularizer(): tf.Scalar {
    return tf.tidy(() => {
      const terms: tf.Scalar[] = [];
      for (const v of this.variables) {
        let n = v as tf.Tensor4D;
        while (true) {
          terms.push(tf.square(tf.mean(tf.mul(n, rollBy1(n, 2)))) as tf.Scalar);
          terms.push(tf.square(tf.mean(tf.mul(n, rollBy1(n, 1)))) as tf.Scalar);
          if (n.shape[1] <= 8) break;
          // 2×2 box average (StyleGAN2's downscale), with the networks' own op, whose gradient is registered.
          n = downscale2d(n);
        }
      }
      return terms.length ? tf.addN(terms) as tf.Scalar : tf.scalar(0);
    });
  }

  /** projector.py's renormalisation after each step: every map back to mean 0, mean square 1. */
  normalize(): void {
    tf.tidy(() => {
      for (const v of this.variables) {
        const centred = tf.sub(v, tf.mean(v));
        v.assign(tf.mul(centred, tf.rsqrt(tf.mean(tf.square(centred)))));
      }
    });
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/** torch.roll(x, shifts=1, dims=axis) of NHWC x: element i moves to i + 1, the last wraps to the front. */
export function rollBy1(x: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D {
  return tf.tidy(() => {
    const size = x.shape[axis];
    const last = tf.slice(
      x,
      axis === 1 ? [0, size - 1, 0, 0] : [0, 0, size - 1, 0],
      axis === 1 ? [-1, 1, -1, -1] : [-1, -1, 1, -1],
    );
    const rest = tf.slice(x, [0, 0, 0, 0], axis === 1 ? [-1, size - 1, -1, -1] : [-1, -1, size - 1, -1]);
    return tf.concat([last, rest], axis);
  });
}
