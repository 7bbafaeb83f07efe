/**
 * The projection's distance between G(w) and the target, from what the project has (no VGG weights can be
 * downloaded): pixel L2 and L1, a Laplacian-pyramid L1, and, when a trained discriminator is given, its
 * intermediate features. Images are in the generator's units (about [−1, 1]).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { z } from "zod";
import type { Discriminator } from "../networks/discriminator.ts";
import { discriminatorFeatureDistance, discriminatorFeatures } from "./d_features.ts";
import { laplacianL1, pyramidLevels } from "./laplacian.ts";

/** The loss terms a projection can use. */
export const LOSS_TERMS = ["l2", "l1", "laplacian", "discriminator"] as const;
export type LossTerm = typeof LOSS_TERMS[number];

/** Weight of each term (absent or 0: not computed). */
export type LossWeights = Partial<Record<LossTerm, number>>;

/** The named mixes; the default is {@link defaultProjectionLoss}'s (see docs/projection.md). */
export const PROJECTION_LOSS_NAMES = ["l2", "l1", "laplacian", "mix", "mix+d"] as const;
export type ProjectionLossName = typeof PROJECTION_LOSS_NAMES[number];

/**
 * A loss name as `deno task project --loss` and `POST /api/projections?loss=` take it: one schema for both, so
 * that they accept the same names with the same message.
 */
export const projectionLossSchema = z.enum(PROJECTION_LOSS_NAMES, {
  error: `must be one of ${PROJECTION_LOSS_NAMES.join(", ")}`,
});

/**
 * The loss of a projection that names none, in the CLI and the API alike: `mix+d` where the model's trained
 * discriminator is at hand (on the hold-out tiles it brought the reconstructions' MS-SWD from 112.9 to 72.6 at
 * 1.9× the time per step, docs/projection.md), else `mix`.
 */
export function defaultProjectionLoss(hasDiscriminator: boolean): ProjectionLossName {
  return hasDiscriminator ? "mix+d" : "mix";
}

/** The weights of each named mix, for the CLI, the server and the measurements. */
export const LOSS_PRESETS: Readonly<Record<ProjectionLossName, LossWeights>> = Object.freeze({
  l2: { l2: 1 },
  l1: { l1: 1 },
  laplacian: { laplacian: 1 },
  mix: { l2: 1, laplacian: 1 },
  "mix+d": { l2: 1, laplacian: 1, discriminator: 0.1 },
});

/** The named mixes that use the discriminator's features (and so need D's weights). */
export const DISCRIMINATOR_LOSSES: readonly ProjectionLossName[] = PROJECTION_LOSS_NAMES.filter((name) =>
  (LOSS_PRESETS[name].discriminator ?? 0) > 0
);

/** The target and what the loss terms precompute from it. */
export class ProjectionLoss {
  readonly weights: LossWeights;
  readonly levels: number;
  readonly #targetFeatures?: tf.Tensor4D[];

  /**
   * @param target [1, H, W, C] in about [−1, 1] (kept by the caller).
   * @param weights which terms, how much.
   * @param discriminator required when `weights.discriminator` > 0.
   */
  constructor(
    readonly target: tf.Tensor4D,
    weights: LossWeights,
    readonly discriminator?: Discriminator,
  ) {
    const terms = Object.entries(weights).filter(([, w]) => w !== undefined && w !== 0);
    if (terms.length === 0) throw new RangeError(`the loss needs at least one of ${LOSS_TERMS.join(", ")}`);
    for (const [name, w] of terms) {
      if (!(LOSS_TERMS as readonly string[]).includes(name)) {
        throw new RangeError(`unknown loss term '${name}' (allowed: ${LOSS_TERMS.join(", ")})`);
      }
      if (!Number.isFinite(w) || w! < 0) throw new RangeError(`loss weight ${name} must be ≥ 0, got ${w}`);
    }
    this.weights = Object.fromEntries(terms);
    this.levels = pyramidLevels(target.shape[1]);
    if (this.weights.discriminator) {
      if (!discriminator) {
        throw new RangeError(
          "the discriminator loss term needs discriminator weights (--discriminator FILE)",
        );
      }
      this.#targetFeatures = discriminatorFeatures(discriminator, target);
    }
  }

  /** Each weighted term's raw value (before weighting), as scalars inside the caller's tidy. */
  terms(images: tf.Tensor4D): Map<LossTerm, tf.Scalar> {
    const out = new Map<LossTerm, tf.Scalar>();
    const w = this.weights;
    // Square of the difference rather than SquaredDifference: its gradient is one the project registers.
    if (w.l2) out.set("l2", tf.mean(tf.square(tf.sub(images, this.target))));
    if (w.l1) out.set("l1", tf.mean(tf.abs(tf.sub(images, this.target))));
    if (w.laplacian) out.set("laplacian", laplacianL1(images, this.target, this.levels));
    if (w.discriminator) {
      out.set(
        "discriminator",
        discriminatorFeatureDistance(this.discriminator!, images, this.#targetFeatures!),
      );
    }
    return out;
  }

  /** Σ weight · term. */
  weighted(terms: Map<LossTerm, tf.Scalar>): tf.Scalar {
    return tf.addN([...terms].map(([name, value]) => tf.mul(value, this.weights[name]!))) as tf.Scalar;
  }

  dispose(): void {
    for (const t of this.#targetFeatures ?? []) t.dispose();
  }
}
