/**
 * The progressive-growing schedule as pure functions of the run's position: which depth, how far into
 * its fade-in, what minibatch and learning rate (StyleGAN.pytorch's epoch-based schedule with official
 * StyleGAN's per-resolution learning rates).
 */
import type { TrainConfig } from "../config.ts";
import { learningRateAt } from "../config.ts";

/** Where training is within one depth. */
export interface DepthPlan {
  depth: number;
  /** Pixels per side at this depth. */
  resolution: number;
  batchSize: number;
  epochs: number;
  /** Batches in one epoch (drop-last). */
  batchesPerEpoch: number;
  /** Batch count (over this depth's epochs) at which alpha reaches 1. */
  fadePoint: number;
  gLearningRate: number;
  dLearningRate: number;
  /** R1's γ at this depth (the configured number, or the `auto` heuristic's value). */
  r1Gamma: number;
}

/** The depths a run trains, in order (a `fixed` run trains only the last). */
export function trainedDepths(config: TrainConfig): number[] {
  const last = Math.log2(config.dataset.resolution) - 2;
  if (config.structure === "fixed") return [last];
  return Array.from({ length: last + 1 }, (_, d) => d);
}

/** The plan of one depth for a dataset of `datasetSize` images. */
export function depthPlan(config: TrainConfig, depth: number, datasetSize: number): DepthPlan {
  const batchSize = config.sched.batch_sizes[depth];
  const epochs = config.sched.epochs[depth];
  const batchesPerEpoch = Math.floor(datasetSize / batchSize);
  if (batchesPerEpoch < 1) {
    throw new RangeError(
      `the dataset has ${datasetSize} images, fewer than depth ${depth}'s batch size ${batchSize}`,
    );
  }
  const resolution = 4 * 2 ** depth;
  return {
    depth,
    resolution,
    batchSize,
    epochs,
    batchesPerEpoch,
    fadePoint: Math.floor((config.sched.fade_in_percentage[depth] / 100) * epochs * batchesPerEpoch),
    gLearningRate: learningRateAt(config, resolution, config.model.g_optim.learning_rate),
    dLearningRate: learningRateAt(config, resolution, config.model.d_optim.learning_rate),
    r1Gamma: r1GammaAt(config.model.r1_gamma, resolution, batchSize),
  };
}

/**
 * R1's γ for a resolution and minibatch: the configured number, or for `auto` StyleGAN2-ADA's heuristic
 * γ = 0.0002 · res² / minibatch (its `cfg=auto`; ≈ 0.0256 at 64 px and 32 images). The gradient's squared
 * norm grows with the pixel count, so γ follows each depth's resolution while the networks grow.
 */
export function r1GammaAt(gamma: number | "auto", resolution: number, batchSize: number): number {
  return gamma === "auto" ? 0.0002 * resolution ** 2 / batchSize : gamma;
}

/** Fade-in alpha after `ticker` batches of a depth (1-based, as the port counts): linear to 1 at the fade point. */
export function alphaAt(plan: DepthPlan, ticker: number): number {
  if (plan.fadePoint <= 0) return 1;
  return ticker <= plan.fadePoint ? ticker / plan.fadePoint : 1;
}

/** EMA decay per step for a half-life of `halfLifeKimg` thousand images at this minibatch (official G_smoothing). */
export function emaBeta(halfLifeKimg: number, batchSize: number): number {
  return halfLifeKimg > 0 ? 0.5 ** (batchSize / (halfLifeKimg * 1000)) : 0;
}
