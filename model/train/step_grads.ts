/**
 * The gradients of one D step and one G step, as functions of the networks and the step's random inputs.
 * The training loop calls them in its own process, and each data-parallel training worker calls them on its
 * share of the batch (model/pool/training_worker.ts), so both run exactly the same maths.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TrainConfig } from "../config.ts";
import type { Parameter } from "../layers/parameters.ts";
import type { NoiseSpec } from "../layers/noise_layer.ts";
import {
  dHinge,
  dLogistic,
  dWasserstein,
  gLogisticNonsaturating,
  gradientPenalty,
  gWasserstein,
  r1Penalty,
} from "../losses.ts";
import type { Discriminator } from "../networks/discriminator.ts";
import type { Generator } from "../networks/generator.ts";
import type { Labels } from "../networks/labels.ts";
import { RandomState } from "../seeds.ts";
import { augmentImages } from "./augment.ts";
import type { AugmentParams } from "./augment_policy.ts";

/**
 * The loss settings of a training config, with R1's γ as a number: the one of the step's resolution and
 * minibatch when the config says `auto` (see r1GammaAt in model/train/schedule.ts).
 */
export type LossSettings =
  & Pick<TrainConfig["model"], "loss" | "r1_interval" | "wgan_lambda" | "wgan_epsilon">
  & {
    r1_gamma: number;
  };

/** DiffAugment parameters of a step's images before D (model/train/augment_policy.ts); none: no augmentation. */
export interface StepAugment {
  /** The D step's reals (unused in the G step). */
  reals?: AugmentParams;
  /** G's images, in the D step and in the G step. */
  fakes?: AugmentParams;
}

/** Depth, fade-in, noise and augmentation of a step. */
export interface StepRun {
  depth: number;
  alpha: number;
  noise: NoiseSpec;
  augment?: StepAugment;
}

/**
 * Latents of a G forward pass: `z`, and `z2` from layer `mixingCutoff` on when styles are mixed; for a
 * conditional G the class of each row (both latents of a row share it, and D scores the image as that class).
 */
export interface StepLatents {
  z: tf.Tensor2D;
  z2?: tf.Tensor2D;
  mixingCutoff?: number;
  labels?: Labels;
}

/** A loss and its gradients, keyed by parameter key. */
export interface StepGradients {
  loss: tf.Scalar;
  grads: Map<string, tf.Tensor>;
}

/** Gaussian noise maps drawn from a seeded generator (a worker's noise for its share of a step). */
export function seededNoise(seed: number): (shape: [number, number, number, number]) => tf.Tensor4D {
  const rng = new RandomState(seed);
  return (shape) =>
    tf.tensor4d(Float32Array.from(rng.randn(shape[0] * shape[1] * shape[2] * shape[3])), shape);
}

/**
 * G's images for the D step (no gradient). `updateAverage` moves the W average toward the batch's mean, as
 * official StyleGAN does on every training forward pass; data-parallel workers leave it to the parent.
 */
export function fakeImages(
  G: Generator,
  latents: StepLatents,
  run: StepRun,
  updateAverage = true,
): tf.Tensor4D {
  return tf.tidy(() =>
    G.forwardTraining(latents.z, {
      ...run,
      z2: latents.z2,
      mixingCutoff: latents.mixingCutoff,
      labels: latents.labels,
      updateAverage,
    })
  );
}

/**
 * The D loss and its gradients: logistic (with R1 on reals when `useR1`, scaled by the lazy interval),
 * hinge, or WGAN-GP (`gpMix`: the per-sample mixing weights of the penalty). With augmentation D sees the
 * augmented images, and R1 is the gradient with respect to the reals before augmentation (through it), as
 * in StyleGAN2-ADA; WGAN-GP's interpolates are augmented as the reals are. A conditional D scores the reals
 * as `labels.reals` and the fakes as `labels.fakes` (official D_basic: the output of the image's class).
 */
export function discriminatorGradients(
  D: Discriminator,
  dParams: Parameter[],
  loss: LossSettings,
  run: Pick<StepRun, "depth" | "alpha" | "augment">,
  reals: tf.Tensor4D,
  fakes: tf.Tensor4D,
  useR1: boolean,
  gpMix?: tf.Tensor1D,
  labels: { reals?: Labels; fakes?: Labels } = {},
): StepGradients {
  const discriminateAs =
    (params: AugmentParams | undefined, classes: Labels | undefined) => (x: tf.Tensor4D) =>
      D.apply(augmentImages(x, params), run.depth, run.alpha, classes);
  // WGAN-GP's interpolates lie between a real and a fake of the same row; they are scored as the real's class.
  const discriminate = discriminateAs(run.augment?.reals, labels.reals);
  const result = tf.variableGrads(() => {
    const fakeScores = discriminateAs(run.augment?.fakes, labels.fakes)(fakes);
    if (loss.loss === "logistic") {
      if (!useR1) return dLogistic(discriminate(reals), fakeScores);
      const { penalty, realScores } = r1Penalty(discriminate, reals, loss.r1_gamma * loss.r1_interval);
      const value = tf.add(dLogistic(realScores, fakeScores), penalty) as tf.Scalar;
      realScores.dispose();
      return value;
    }
    const realScores = discriminate(reals);
    if (loss.loss === "hinge") return dHinge(realScores, fakeScores);
    if (!gpMix) throw new Error("WGAN-GP needs the penalty's mixing weights");
    const gp = gradientPenalty(discriminate, reals, fakes, gpMix, loss.wgan_lambda);
    return tf.add(dWasserstein(realScores, fakeScores, loss.wgan_epsilon), gp) as tf.Scalar;
  }, dParams.map((p) => p.variable));
  return { loss: result.value, grads: byKey(dParams, result.grads) };
}

/** The G loss (non-saturating logistic, or −D for WGAN and hinge) and its gradients. */
export function generatorGradients(
  G: Generator,
  D: Discriminator,
  gParams: Parameter[],
  loss: LossSettings,
  latents: StepLatents,
  run: StepRun,
  updateAverage = true,
): StepGradients {
  const result = tf.variableGrads(() => {
    const images = G.forwardTraining(latents.z, {
      ...run,
      z2: latents.z2,
      mixingCutoff: latents.mixingCutoff,
      labels: latents.labels,
      updateAverage,
    });
    const scores = D.apply(augmentImages(images, run.augment?.fakes), run.depth, run.alpha, latents.labels);
    return loss.loss === "logistic" ? gLogisticNonsaturating(scores) : gWasserstein(scores);
  }, gParams.map((p) => p.variable));
  return { loss: result.value, grads: byKey(gParams, result.grads) };
}

/** Gradients by variable name → by parameter key (the optimizer's keys). */
function byKey(params: Parameter[], grads: tf.NamedTensorMap): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const p of params) {
    const g = grads[p.variable.name];
    if (g) out.set(p.key, g);
  }
  // Gradients of variables outside `params` (none are expected) are freed, not leaked.
  const kept = new Set(out.values());
  for (const g of Object.values(grads)) if (!kept.has(g)) g.dispose();
  return out;
}
