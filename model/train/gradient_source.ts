/**
 * Where a training step's gradients come from, behind one interface: this process ({@link InProcessGradients})
 * or the data-parallel worker processes ({@link PoolGradients}, model/pool/training_pool.ts). The step
 * (model/train/step.ts) draws every random input itself and hands both sources the same ones, so a run's maths
 * does not depend on where it is computed; only how D's minibatch-stddev groups are split does.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Parameter } from "../layers/parameters.ts";
import type { Discriminator } from "../networks/discriminator.ts";
import type { Generator } from "../networks/generator.ts";
import type { Labels } from "../networks/labels.ts";
import type { PoolTraffic, TrainingPool } from "../pool/training_pool.ts";
import {
  discriminatorGradients,
  fakeImages,
  generatorGradients,
  type LossSettings,
  seededNoise,
  type StepAugment,
  type StepLatents,
} from "./step_grads.ts";

/** The inputs of a G step: depth, fade-in, latents (with their classes), augmentation and the noise seed. */
export interface GeneratorGradientInputs {
  depth: number;
  alpha: number;
  latents: StepLatents;
  augment?: StepAugment;
  /** Seed of the noise maps (a data-parallel worker i uses seed + i). */
  noiseSeed: number;
}

/** The inputs of a D step: a G step's (for the fakes) and the reals, their classes and the penalties'. */
export interface DiscriminatorGradientInputs extends GeneratorGradientInputs {
  reals: tf.Tensor4D;
  realLabels?: Labels;
  useR1: boolean;
  /** R1's γ at this step's resolution and minibatch. */
  r1Gamma: number;
  /** WGAN-GP's per-sample mixing weights. */
  gpMix?: tf.Tensor1D;
}

/** The batch's loss and the gradients keyed by parameter key (the caller disposes them). */
export interface BatchGradients {
  loss: number;
  grads: Map<string, tf.Tensor>;
}

/** A source of D and G gradients for whole batches. */
export interface GradientSource {
  /** One line for the log: where the gradients are computed. */
  readonly description: string;
  discriminator(inputs: DiscriminatorGradientInputs): Promise<BatchGradients>;
  generator(inputs: GeneratorGradientInputs): Promise<BatchGradients>;
  /**
   * An optimizer step changed the parameters `keys` of a network: sources holding copies refresh those before
   * the next step.
   */
  weightsChanged(network: "g" | "d", keys: Iterable<string>): void;
  /** Check that the copies a source holds are the networks' weights (an error if not); before checkpoints. */
  verify(): Promise<void>;
  close(): Promise<void>;
}

/** The networks and trainable parameters a source computes gradients for. */
export interface SourceNetworks {
  G: Generator;
  D: Discriminator;
  gParams: Parameter[];
  dParams: Parameter[];
}

/** Gradients computed in this process with the networks themselves. */
export class InProcessGradients implements GradientSource {
  readonly description = "in this process";
  constructor(readonly nets: SourceNetworks, readonly loss: Omit<LossSettings, "r1_gamma">) {}

  async discriminator(x: DiscriminatorGradientInputs): Promise<BatchGradients> {
    const { G, D, dParams } = this.nets;
    const run = { depth: x.depth, alpha: x.alpha, noise: seededNoise(x.noiseSeed), augment: x.augment };
    // The W average is the step's business (model/train/step.ts), as with the worker processes.
    const fakes = fakeImages(G, x.latents, run, false);
    const result = discriminatorGradients(
      D,
      dParams,
      { ...this.loss, r1_gamma: x.r1Gamma },
      run,
      x.reals,
      fakes,
      x.useR1,
      x.gpMix,
      { reals: x.realLabels, fakes: x.latents.labels },
    );
    fakes.dispose();
    return await settle(result);
  }

  async generator(x: GeneratorGradientInputs): Promise<BatchGradients> {
    const { G, D, gParams } = this.nets;
    const run = { depth: x.depth, alpha: x.alpha, noise: seededNoise(x.noiseSeed), augment: x.augment };
    return await settle(
      generatorGradients(G, D, gParams, { ...this.loss, r1_gamma: 0 }, x.latents, run, false),
    );
  }

  weightsChanged(): void {}

  async verify(): Promise<void> {}

  async close(): Promise<void> {}
}

/** Gradients from the worker processes of a {@link TrainingPool}, each on a share of the batch. */
export class PoolGradients implements GradientSource {
  /** The pool's traffic when each step (its D step) began. */
  readonly #stepStarts: PoolTraffic[] = [];
  constructor(readonly pool: TrainingPool) {}

  get description(): string {
    return `${this.pool.size} worker processes, each ${this.pool.detail}; weights and gradients through ${this.pool.transport}`;
  }

  /**
   * Bytes each step moved (all workers together), in step order: the first step also carries the workers'
   * first copy of the weights, so the steady state is the rest.
   */
  stepTraffic(): PoolTraffic[] {
    const marks = [...this.#stepStarts, this.pool.traffic];
    return this.#stepStarts.map((start, i) => ({
      sent: marks[i + 1].sent - start.sent,
      received: marks[i + 1].received - start.received,
    }));
  }

  discriminator(x: DiscriminatorGradientInputs): Promise<BatchGradients> {
    this.#stepStarts.push(this.pool.traffic);
    return this.pool.discriminatorStep({
      depth: x.depth,
      alpha: x.alpha,
      ...x.latents,
      reals: x.reals,
      realLabels: x.realLabels,
      useR1: x.useR1,
      r1Gamma: x.r1Gamma,
      gpMix: x.gpMix,
      augment: x.augment,
      noiseSeed: x.noiseSeed,
    });
  }

  generator(x: GeneratorGradientInputs): Promise<BatchGradients> {
    return this.pool.generatorStep({
      depth: x.depth,
      alpha: x.alpha,
      ...x.latents,
      augment: x.augment,
      noiseSeed: x.noiseSeed,
    });
  }

  weightsChanged(network: "g" | "d", keys: Iterable<string>): void {
    this.pool.weightsChanged(network, keys);
  }

  verify(): Promise<void> {
    return this.pool.verify();
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/**
 * The log line of a session's data-parallel traffic (`steps`: {@link PoolGradients.stepTraffic}): the median
 * step's bytes each way and the first step's; {@link parseTrafficLine} reads it back (benchmarks).
 */
export function trafficLine(steps: PoolTraffic[]): string {
  const median = (pick: (t: PoolTraffic) => number) => {
    const rest = steps.slice(steps.length > 1 ? 1 : 0).map(pick).sort((a, b) => a - b);
    return rest[Math.floor(rest.length / 2)];
  };
  return `data-parallel traffic per step: ${median((t) => t.sent)} bytes to the workers, ` +
    `${median((t) => t.received)} from them (median of ${
      Math.max(1, steps.length - 1)
    } steps after the first; ` +
    `the first: ${steps[0].sent} and ${steps[0].received})`;
}

/** The median step's traffic from a {@link trafficLine}; undefined for any other line. */
export function parseTrafficLine(line: string): PoolTraffic | undefined {
  const m = /^data-parallel traffic per step: (\d+) bytes to the workers, (\d+) from them/.exec(line);
  return m ? { sent: Number(m[1]), received: Number(m[2]) } : undefined;
}

/** The loss as a number; the loss tensor is freed. */
async function settle(result: { loss: tf.Scalar; grads: Map<string, tf.Tensor> }): Promise<BatchGradients> {
  const loss = (await result.loss.data())[0];
  result.loss.dispose();
  return { loss, grads: result.grads };
}
