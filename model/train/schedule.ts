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

/**
 * Where a run stands after `step` optimisation steps: the whole position of a run follows from this one
 * counter, as official StyleGAN's `training_schedule` follows from kimg. Steps run depth after depth, each
 * depth `epochs × batchesPerEpoch` steps; past the last depth's end the run is `done` and stays there (its
 * `epoch` is then `epochs + 1`), so that resuming with more epochs at the last depth simply goes on.
 */
export interface RunPosition {
  /** Index into {@link trainedDepths}. */
  depthIndex: number;
  plan: DepthPlan;
  /** The step (0-based, over the run) at which this depth began. */
  depthStartStep: number;
  /** 1-based epoch within the depth. */
  epoch: number;
  /** Batches already finished in this epoch. */
  batchInEpoch: number;
  /** Batches into the depth counting the step about to run (1-based; the fade-in counter). */
  ticker: number;
  /** Fade-in alpha of the step about to run. */
  alpha: number;
  /** Real images shown to D before this step, in thousands. */
  kimg: number;
  /** The schedule is over: no step is left to run. */
  done: boolean;
}

/**
 * The position after `step` steps of a run on `datasetSize` images. `fadeCompleteAt` is the step counter just
 * after the step whose fade-in alpha reached 1 (so it lies in a depth when it is > the depth's first step): alpha then stays 1 for the rest of that depth, even when a resume
 * adds epochs there (which moves the fade point further out), so finished layers are never faded in again.
 */
export function positionAt(
  config: TrainConfig,
  datasetSize: number,
  step: number,
  fadeCompleteAt?: number,
): RunPosition {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be an integer ≥ 0, got ${step}`);
  const depths = trainedDepths(config);
  let start = 0;
  let kimg = 0;
  for (let i = 0; i < depths.length; i++) {
    const plan = depthPlan(config, depths[i], datasetSize);
    const steps = plan.epochs * plan.batchesPerEpoch;
    const last = i === depths.length - 1;
    if (step < start + steps || last) {
      const into = step - start;
      const faded = config.structure === "fixed" ||
        (fadeCompleteAt !== undefined && fadeCompleteAt > start && fadeCompleteAt <= step);
      return {
        depthIndex: i,
        plan,
        depthStartStep: start,
        epoch: Math.floor(into / plan.batchesPerEpoch) + 1,
        batchInEpoch: into % plan.batchesPerEpoch,
        ticker: into + 1,
        alpha: faded ? 1 : alphaAt(plan, into + 1),
        kimg: kimg + (into * plan.batchSize) / 1000,
        done: into >= steps,
      };
    }
    start += steps;
    kimg += (steps * plan.batchSize) / 1000;
  }
  throw new Error("unreachable: a run trains at least one depth");
}
