/**
 * Data-parallel training on one machine: worker processes, each with its own backend, a copy of G and D and a
 * share of the BLAS threads, compute the gradients of a share of every batch; the training loop averages them
 * (weighted by share) and applies its optimizers as if one process had seen the whole batch. The loop keeps
 * everything that carries state (optimizers, the EMA generator, the W average, the random generators, the
 * data); a worker keeps only the latest weights it was sent, and gets a network's weights again only after
 * they changed (see {@link WeightVersions}).
 *
 * As with several GPUs in official StyleGAN, the minibatch standard deviation layer of D sees each worker's
 * share separately (groups never span workers), so a share is a multiple of the group size when the batch
 * allows. Noise maps come from a seed per step and worker, drawn from the loop's generator, so a run with a
 * given number of workers is deterministic and resumes exactly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Parameter } from "../layers/parameters.ts";
import type { Discriminator } from "../networks/discriminator.ts";
import type { Generator } from "../networks/generator.ts";
import type { Labels } from "../networks/labels.ts";
import type { DiscriminatorOptions, GeneratorOptions } from "../networks/options.ts";
import type { LossSettings, StepAugment } from "../train/step_grads.ts";
import { sliceAugmentParams } from "../train/augment_policy.ts";
import { checkPoolOptions, PoolError, ProcessWorker } from "./process_worker.ts";
import { bytesToFloats, floatBytes } from "./protocol.ts";
import type { GradientReply, StepRequest, TrainingInit } from "./training_protocol.ts";
import { type Runtime, runtimeToEnv } from "../runtime.ts";

export { PoolError } from "./process_worker.ts";

/** Options of {@link TrainingPool.start}. */
export interface TrainingPoolOptions {
  /** Worker processes (≥ 1). */
  workers: number;
  /** Backend of each worker: `wasm` or `cpu`. */
  backend: string;
  /** OpenBLAS threads per worker (default: the cores divided among the workers, at least 1). */
  blasThreads?: number;
  generator: Partial<GeneratorOptions> & { resolution: number };
  discriminator: Partial<DiscriminatorOptions> & { resolution: number };
  /** The loss; R1's γ comes with each D step (it may change with the resolution). */
  loss: Omit<LossSettings, "r1_gamma">;
  /** How long a worker may take to start (default 120 s). */
  startTimeoutMs?: number;
  /** Where worker stderr lines go (default: this process's stderr). */
  log?: (line: string) => void;
  /** The runtime the workers run with, but for `backend` and `blasThreads`; without it, this process's variables. */
  runtime?: Runtime;
}

/** The inputs of one D step for the whole batch: a G step's, and the reals and the gradient penalty's. */
export interface DiscriminatorStepInputs extends GeneratorStepInputs {
  reals: tf.Tensor4D;
  /** The reals' classes (conditional networks). */
  realLabels?: Labels;
  useR1: boolean;
  /** R1's γ at this step's resolution. */
  r1Gamma: number;
  gpMix?: tf.Tensor1D;
}

/**
 * Which weights the caller holds: a worker gets a network's weights only when its version differs from the
 * one that worker last received, so each network travels once per update, not with every request.
 */
export interface WeightVersions {
  g: number;
  d: number;
}

/** The inputs of one G step for the whole batch. */
export interface GeneratorStepInputs {
  depth: number;
  alpha: number;
  z: tf.Tensor2D;
  z2?: tf.Tensor2D;
  mixingCutoff?: number;
  /** The class of each latent's row (conditional networks). */
  labels?: Labels;
  /** DiffAugment parameters of the whole batch (each worker gets its share's). */
  augment?: StepAugment;
  /** Seed of worker 0's noise maps; worker i uses seed + i. */
  noiseSeed: number;
  /** Versions of G's and D's weights (the caller bumps one whenever it changes that network). */
  versions: WeightVersions;
}

/** Bytes on the pipes between the training process and its workers, both directions, all workers together. */
export interface PoolTraffic {
  sent: number;
  received: number;
}

/** The batch-averaged loss and gradients (keyed by parameter key; the caller disposes them). */
export interface AveragedGradients {
  loss: number;
  grads: Map<string, tf.Tensor>;
}

/**
 * Shares of a batch of `n` for `workers` workers: multiples of the minibatch-stddev `group` where possible
 * (whole groups spread evenly), never an empty share; one share when the batch has fewer than two groups or is
 * not made of whole groups.
 */
export function splitBatch(n: number, workers: number, group: number): number[] {
  const g = Math.max(1, Math.min(group, n));
  const groups = n % g === 0 ? n / g : 1;
  const parts = Math.max(1, Math.min(workers, groups));
  if (parts === 1) return [n];
  return Array.from(
    { length: parts },
    (_, i) => (Math.floor(groups / parts) + (i < groups % parts ? 1 : 0)) * g,
  );
}

/** Worker processes that compute gradients of batch shares; see the module comment. */
export class TrainingPool {
  readonly #options: TrainingPoolOptions & { blasThreads: number; startTimeoutMs: number };
  readonly #workers: ProcessWorker[] = [];
  /** The weight versions each worker holds (-1: none yet). */
  readonly #held: WeightVersions[] = [];
  readonly #groupSize: number;
  #nextId = 0;

  private constructor(options: TrainingPoolOptions) {
    this.#options = {
      blasThreads: checkPoolOptions("training", options.workers, options.backend),
      startTimeoutMs: 120_000,
      ...options,
    };
    this.#groupSize = options.discriminator.mbstd_group_size ?? 4;
  }

  /** Start the workers and give each the networks' structure (checked against the loop's parameter keys). */
  static async start(options: TrainingPoolOptions, G: Generator, D: Discriminator): Promise<TrainingPool> {
    const pool = new TrainingPool(options);
    try {
      for (let i = 0; i < options.workers; i++) {
        pool.#workers.push(
          new ProcessWorker({
            script: "training_worker.ts",
            name: "training worker",
            env: {
              ...(options.runtime && runtimeToEnv(options.runtime)),
              SGAN_BACKEND: options.backend,
              SGAN_BLAS_THREADS: String(pool.#options.blasThreads),
            },
            startTimeoutMs: pool.#options.startTimeoutMs,
            log: options.log,
          }),
        );
        pool.#held.push({ g: -1, d: -1 });
      }
      await Promise.all(pool.#workers.map(async (worker) => {
        await worker.ready;
        const init: TrainingInit = {
          type: "init",
          id: pool.#nextId++,
          generator: options.generator,
          discriminator: options.discriminator,
          loss: options.loss,
          gKeys: G.params.entries().map((p) => p.key),
          dKeys: D.params.entries().map((p) => p.key),
        };
        await worker.request(init);
      }));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** Worker processes. */
  get size(): number {
    return this.#workers.length;
  }

  /** What the workers run, e.g. `wasm (XNNPACK SIMD + OpenBLAS sgemm (1 thread)…)`. */
  get detail(): string {
    return this.#workers[0]?.detail ?? "";
  }

  /** Bytes sent to the workers and received from them so far, all workers together (see protocol.ts). */
  get traffic(): PoolTraffic {
    return {
      sent: this.#workers.reduce((n, w) => n + w.sentBytes, 0),
      received: this.#workers.reduce((n, w) => n + w.receivedBytes, 0),
    };
  }

  /** Process ids of the workers. */
  pids(): number[] {
    return this.#workers.map((w) => w.pid);
  }

  /** The D loss and gradients of the whole batch, from its shares on the workers. */
  async discriminatorStep(
    G: Generator,
    D: Discriminator,
    dParams: Parameter[],
    inputs: DiscriminatorStepInputs,
  ): Promise<AveragedGradients> {
    const n = inputs.reals.shape[0];
    const [, h, w, c] = inputs.reals.shape;
    const [reals, gpMix] = await Promise.all([
      bytesOf(inputs.reals),
      inputs.gpMix ? bytesOf(inputs.gpMix) : undefined,
    ]);
    return this.#step("d", G, D, dParams, inputs, (start, count) => ({
      realsShape: [count, h, w, c],
      reals: rowsOf(reals, n, start, count),
      realLabels: inputs.realLabels ? labelsOf(inputs.realLabels, start, count) : null,
      useR1: inputs.useR1,
      r1Gamma: inputs.r1Gamma,
      gpMix: gpMix ? rowsOf(gpMix, n, start, count) : null,
    }));
  }

  /** The G loss and gradients of the whole batch, from its shares on the workers. */
  generatorStep(
    G: Generator,
    D: Discriminator,
    gParams: Parameter[],
    inputs: GeneratorStepInputs,
  ): Promise<AveragedGradients> {
    return this.#step("g", G, D, gParams, inputs, () => ({
      realsShape: null,
      reals: null,
      realLabels: null,
      useR1: false,
      r1Gamma: 0,
      gpMix: null,
    }));
  }

  /** A step's requests: what every share carries (latents, weights, noise seed) plus the D step's own fields. */
  async #step(
    type: "d" | "g",
    G: Generator,
    D: Discriminator,
    params: Parameter[],
    inputs: GeneratorStepInputs,
    own: (
      start: number,
      count: number,
    ) => Pick<StepRequest, "realsShape" | "reals" | "realLabels" | "useR1" | "r1Gamma" | "gpMix">,
  ): Promise<AveragedGradients> {
    const n = inputs.z.shape[0];
    const [z, z2] = await Promise.all([bytesOf(inputs.z), inputs.z2 ? bytesOf(inputs.z2) : undefined]);
    const weights = await this.#weightsFor(G, D, inputs.versions);
    return this.#run(n, params, (i, start, count) => ({
      type,
      id: this.#nextId++,
      depth: inputs.depth,
      alpha: inputs.alpha,
      ...weights(i),
      count,
      z: rowsOf(z, n, start, count),
      z2: z2 ? rowsOf(z2, n, start, count) : null,
      mixingCutoff: inputs.mixingCutoff ?? null,
      labels: inputs.labels ? labelsOf(inputs.labels, start, count) : null,
      noiseSeed: (inputs.noiseSeed + i) >>> 0,
      augment: inputs.augment ? sliceStepAugment(inputs.augment, start, count) : null,
      ...own(start, count),
    }));
  }

  /** Stop the workers. */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.close()));
  }

  /**
   * The weights each worker still needs for `versions` (null where it holds them already), packed once. A
   * worker's versions are marked as held when its request is built; a failed request fails the step and the run.
   */
  async #weightsFor(G: Generator, D: Discriminator, versions: WeightVersions) {
    const needG = this.#held.some((h) => h.g !== versions.g);
    const needD = this.#held.some((h) => h.d !== versions.d);
    const [g, d] = await Promise.all([
      needG ? packParameters(G) : undefined,
      needD ? packParameters(D) : undefined,
    ]);
    return (worker: number) => {
      const held = this.#held[worker];
      const out = {
        gWeights: held.g !== versions.g ? g! : null,
        dWeights: held.d !== versions.d ? d! : null,
      };
      this.#held[worker] = { ...versions };
      return out;
    };
  }

  /** Send each share to its worker, then average losses and gradients weighted by share. */
  async #run(
    n: number,
    params: Parameter[],
    request: (worker: number, start: number, count: number) => StepRequest,
  ): Promise<AveragedGradients> {
    const shares = splitBatch(n, this.#workers.length, this.#groupSize);
    const replies: Promise<GradientReply>[] = [];
    let start = 0;
    shares.forEach((count, i) => {
      const worker = this.#workers[i];
      if (!worker.alive) throw new PoolError(`training worker ${worker.pid} is no longer running`);
      replies.push(worker.request<GradientReply>(request(i, start, count), count));
      start += count;
    });
    const answers = await Promise.all(replies);
    let loss = 0;
    const sums = new Map<string, Float32Array>();
    const byKey = new Map(params.map((p) => [p.key, p]));
    answers.forEach((answer, i) => {
      const weight = shares[i] / n;
      loss += weight * answer.loss;
      const values = bytesToFloats(answer.grads);
      let offset = 0;
      for (const key of answer.keys) {
        const param = byKey.get(key);
        if (!param) throw new PoolError(`training worker sent a gradient for unknown parameter ${key}`);
        const size = param.variable.size;
        const sum = sums.get(key) ?? new Float32Array(size);
        for (let k = 0; k < size; k++) sum[k] += weight * values[offset + k];
        sums.set(key, sum);
        offset += size;
      }
      if (offset !== values.length) {
        throw new PoolError(`training worker sent ${values.length} gradient values, expected ${offset}`);
      }
    });
    const grads = new Map<string, tf.Tensor>();
    for (const p of params) {
      const sum = sums.get(p.key);
      if (sum) grads.set(p.key, tf.tensor(sum, p.variable.shape));
    }
    return { loss, grads };
  }
}

/** Every parameter of a network (buffers too), in its parameter order, as float32 bytes. */
export async function packParameters(net: Generator | Discriminator): Promise<Uint8Array> {
  const entries = net.params.entries();
  const arrays = await Promise.all(entries.map((p) => p.variable.data() as Promise<Float32Array>));
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return floatBytes(out);
}

async function bytesOf(t: tf.Tensor): Promise<Float32Array> {
  return await t.data() as Float32Array;
}

/** Rows [start, start + count) of a row-major tensor of `n` rows, as bytes. */
function rowsOf(values: Float32Array, n: number, start: number, count: number): Uint8Array {
  const row = values.length / n;
  return floatBytes(values.subarray(start * row, (start + count) * row));
}

/** The classes of rows [start, start + count). */
function labelsOf(labels: Labels, start: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => labels[start + i]);
}

/** The augmentation parameters of images [start, start + count). */
function sliceStepAugment(augment: StepAugment, start: number, count: number): StepAugment {
  const slice = (p: StepAugment["reals"]) => p && sliceAugmentParams(p, start, count);
  return { reals: slice(augment.reals), fakes: slice(augment.fakes) };
}
