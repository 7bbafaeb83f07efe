/**
 * One training step, the same wherever its gradients are computed: draw the step's random inputs in one fixed
 * order from the run's stream, take a batch of reals, then a D step and a G step (official StyleGAN's
 * alternation, one each), each followed by its optimizer update; the G update also moves the EMA generator.
 * The W average (and each class's centre) follows the mapped latents of both passes, as official StyleGAN's
 * training graph does.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TrainConfig } from "../config.ts";
import type { Generator } from "../networks/generator.ts";
import type { Discriminator } from "../networks/discriminator.ts";
import type { RandomState } from "../seeds.ts";
import type { Adam } from "./adam.ts";
import { updateShadow } from "./ema.ts";
import { emaBeta, type RunPosition } from "./schedule.ts";
import { realsAtDepth } from "./reals.ts";
import { type AugmentTransform, drawAugmentParams } from "./augment_policy.ts";
import type { StepAugment, StepLatents } from "./step_grads.ts";
import type { GradientSource } from "./gradient_source.ts";

/** The networks a step trains. */
export interface StepNetworks {
  G: Generator;
  /** The EMA ("shadow") generator. */
  Gs: Generator;
  D: Discriminator;
  gOptim: Adam;
  dOptim: Adam;
}

/** A batch of real images and, for a labelled dataset, their classes. */
export interface RealBatch {
  images: tf.Tensor4D;
  labels?: Int32Array;
}

/** What a step needs besides the networks: the run's settings, its random stream and its data. */
export interface StepContext {
  config: TrainConfig;
  /** The DiffAugment policy's operations (empty: none). */
  augmentPolicy: readonly AugmentTransform[];
  rng: RandomState;
  nextBatch(size: number): RealBatch;
  /**
   * The classes of a conditional run's generated images: drawn as official StyleGAN's
   * `get_random_labels_tf` does, from the training set's labels (so G sees the classes as often as D does).
   */
  datasetLabels?: Int32Array;
}

/** The two losses of a step (NaN when one was not finite and its update was skipped). */
export interface StepLosses {
  dLoss: number;
  /** NaN when the G step was skipped (`gSkipped`). */
  gLoss: number;
  /** The G step was skipped: D's warm-up after a warm start (config init.d_warmup_kimg). */
  gSkipped?: boolean;
}

/** Run one D step and one G step at `at` (the run's position); `step` is the run's step counter (lazy R1). */
export async function trainStep(
  nets: StepNetworks,
  source: GradientSource,
  context: StepContext,
  at: RunPosition,
  step: number,
): Promise<StepLosses> {
  const { config, rng } = context;
  const { depth, resolution, batchSize: n, r1Gamma } = at.plan;
  const { G, Gs } = nets;
  const curLayers = 2 * (depth + 1);
  const latentSize = config.model.gen.latent_size;

  // Every random input of the step, in one fixed order (bitwise resume depends on it).
  const augment = drawAugment(context, n, resolution);
  const dLatents = drawLatents(context, n, curLayers, latentSize);
  const gpMix = config.model.loss === "wgan-gp"
    ? tf.tensor1d(Float32Array.from({ length: n }, () => rng.randomSample()))
    : undefined;
  const dNoiseSeed = rng.nextUint32();
  const gLatents = drawLatents(context, n, curLayers, latentSize);
  const gNoiseSeed = rng.nextUint32();
  const useR1 = config.model.loss === "logistic" && r1Gamma > 0 && step % config.model.r1_interval === 0;

  // D step.
  const batch = context.nextBatch(n);
  const reals = tf.tidy(() => realsAtDepth(batch.images, depth, G.depthCount, at.alpha));
  batch.images.dispose();
  followAverage(G, dLatents);
  let dLoss: number;
  try {
    const d = await source.discriminator({
      depth,
      alpha: at.alpha,
      latents: dLatents,
      augment: augment.d,
      noiseSeed: dNoiseSeed,
      reals,
      realLabels: batch.labels,
      useR1,
      r1Gamma,
      gpMix,
    });
    dLoss = d.loss;
    if (Number.isFinite(dLoss)) {
      nets.dOptim.apply(d.grads);
      source.weightsChanged("d", d.grads.keys());
    }
    tf.dispose([...d.grads.values()]);
  } finally {
    tf.dispose([reals, gpMix, dLatents.z, dLatents.z2]);
  }

  // G step, skipped while D warms up on a warm-started G (config init.d_warmup_kimg).
  followAverage(G, gLatents);
  if (at.kimg < config.init.d_warmup_kimg) {
    tf.dispose([gLatents.z, gLatents.z2]);
    return { dLoss, gLoss: NaN, gSkipped: true };
  }
  let gLoss: number;
  try {
    const g = await source.generator({
      depth,
      alpha: at.alpha,
      latents: gLatents,
      augment: augment.g,
      noiseSeed: gNoiseSeed,
    });
    gLoss = g.loss;
    if (Number.isFinite(gLoss) && Number.isFinite(dLoss)) {
      nets.gOptim.apply(g.grads);
      source.weightsChanged("g", g.grads.keys());
      updateShadow(Gs.params, G.params, emaBeta(config.model.g_ema_kimg, n));
    }
    tf.dispose([...g.grads.values()]);
  } finally {
    tf.dispose([gLatents.z, gLatents.z2]);
  }
  return { dLoss, gLoss };
}

/**
 * The latents of one G pass: official StyleGAN's style mixing (with probability p, layers from a uniform
 * cutoff in [1, cur_layers) use a second latent), then z, z2 and, for a conditional run, the rows' classes.
 */
function drawLatents(context: StepContext, n: number, curLayers: number, latentSize: number): StepLatents {
  const { rng, config } = context;
  const p = config.model.gen.style_mixing_prob;
  const mixingCutoff = p > 0 && rng.randomSample() < p
    ? 1 + Math.floor(rng.randomSample() * (curLayers - 1))
    : undefined;
  const latents = () => tf.tensor2d(Float32Array.from(rng.randn(n * latentSize)), [n, latentSize]);
  const z = latents();
  const z2 = mixingCutoff !== undefined ? latents() : undefined;
  const all = context.datasetLabels;
  const labels = all
    ? Int32Array.from({ length: n }, () => all[Math.floor(rng.randomSample() * all.length)])
    : undefined;
  return { z, z2, mixingCutoff, labels };
}

/** The DiffAugment parameters of the step's three batches before D (D's reals and fakes, G's fakes). */
function drawAugment(context: StepContext, n: number, size: number): { d?: StepAugment; g?: StepAugment } {
  if (context.augmentPolicy.length === 0) return {};
  const { rng, augmentPolicy, config } = context;
  const draw = () => drawAugmentParams(rng, n, size, augmentPolicy, config.augment.translation_padding);
  const d = { reals: draw(), fakes: draw() };
  return { d, g: { fakes: draw() } };
}

/** Move the W average (and the rows' class centres) toward the batch's mapped latents; no gradient. */
function followAverage(G: Generator, latents: StepLatents): void {
  tf.tidy(() =>
    G.truncation.update(
      G.gMapping.apply(latents.z, G.embedLabels(latents.labels, latents.z.shape[0])),
      latents.labels,
    )
  );
}
