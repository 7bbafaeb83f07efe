/**
 * Data-parallel training on one machine: worker processes, each with its own backend, a copy of G and D and a
 * share of the BLAS threads, compute the gradients of a share of every batch; the training loop averages them
 * (weighted by share) and applies its optimizers as if one process had seen the whole batch. The loop keeps
 * everything that carries state (optimizers, the EMA generator, the W average, the random generators, the
 * data); a worker keeps a copy of G's and D's weights.
 *
 * What moves per step (design, issue 19): a worker gets all of a network's weights once, then only the
 * parameters an optimizer step changed (the step names them: the keys of the reduced gradients, so only the
 * layers active at the current depth), and sends back the gradients of its share (again only the active
 * layers: tfjs gives none for parameters the loss does not reach). The training process applies Adam once and
 * the workers copy its results, rather than each worker running its own optimizer replica on the reduced
 * gradients: both move the same floats (changed weights instead of reduced gradients), but copies are the
 * parent's bits by construction, with no duplicated optimizer work on cores the workers share, no moments to
 * carry into the workers on resume and no replica that could drift. The floats themselves lie in memory
 * shared by all the processes where it can be mapped (model/pool/shared_memory.ts): the parent writes each
 * changed parameter once for all workers, each worker writes its gradients into its own region, and the
 * messages carry only the keys; otherwise they travel inline on the pipes. {@link TrainingPool.verify}
 * compares digests of every worker's weights with the parent's (the loop does it at every checkpoint), so a
 * copy that went astray stops the run with an error instead of training on.
 *
 * As with several GPUs in official StyleGAN, the minibatch standard deviation layer of D sees each worker's
 * share separately (groups never span workers), so a share is a multiple of the group size when the batch
 * allows. Noise maps come from a seed per step and worker, drawn from the loop's generator, so a run with a
 * given number of workers is deterministic and resumes exactly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Discriminator } from "../networks/discriminator.ts";
import type { Generator } from "../networks/generator.ts";
import type { Labels } from "../networks/labels.ts";
import type { DiscriminatorOptions, GeneratorOptions } from "../networks/options.ts";
import type { LossSettings, StepAugment } from "../train/step_grads.ts";
import { sliceAugmentParams } from "../train/augment_policy.ts";
import { checkPoolOptions, PoolError, ProcessWorker } from "./process_worker.ts";
import { bytesToFloats, floatBytes } from "./protocol.ts";
import type {
  DigestReply,
  GradientReply,
  StepRequest,
  TrainingInit,
  VerifyRequest,
  WeightUpdate,
} from "./training_protocol.ts";
import { ParameterLayout, readValues, trainableDigests, writeToLayout } from "./parameter_layout.ts";
import { SharedFloats } from "./shared_memory.ts";
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
  /**
   * Weights and gradients in shared memory (model/pool/shared_memory.ts) where it can be mapped (default);
   * false: on the pipes.
   */
  sharedMemory?: boolean;
}

/** A network of the pool: G ("g") or D ("d"). */
export type Network = "g" | "d";

/** Parameters of a network that a worker has not got yet: some, or all of them. */
type Stale = Set<string> | "all";

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
  readonly #groupSize: number;
  /** Every parameter of G, then of D: their places in the shared memory. */
  readonly #weights: { g: ParameterLayout; d: ParameterLayout };
  /** The trainable parameters (those with gradients), per worker where its gradients lie in the shared memory. */
  readonly #gradients: { g: ParameterLayout; d: ParameterLayout }[] = [];
  /** Per worker: what it has not got of each network (everything at first). */
  readonly #stale: Record<Network, Stale>[] = [];
  /** What the shared memory does not hold the latest values of yet. */
  #sharedStale: Record<Network, Stale> = { g: "all", d: "all" };
  #shared: SharedFloats | undefined;
  /** Why the floats travel on the pipes (shared memory off or not available). */
  #pipesBecause = "";
  #nextId = 0;

  private constructor(options: TrainingPoolOptions, G: Generator, D: Discriminator) {
    this.#options = {
      blasThreads: checkPoolOptions("training", options.workers, options.backend),
      startTimeoutMs: 120_000,
      ...options,
    };
    this.#groupSize = options.discriminator.mbstd_group_size ?? 4;
    const g = new ParameterLayout(G.params.entries());
    this.#weights = { g, d: new ParameterLayout(D.params.entries(), g.size) };
  }

  /** Start the workers and give each the networks' structure (checked against the loop's parameter keys). */
  static async start(options: TrainingPoolOptions, G: Generator, D: Discriminator): Promise<TrainingPool> {
    const pool = new TrainingPool(options, G, D);
    try {
      await pool.#mapSharedMemory(G, D);
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
        pool.#stale.push({ g: "all", d: "all" });
      }
      await Promise.all(pool.#workers.map(async (worker, i) => {
        await worker.ready;
        const init: TrainingInit = {
          type: "init",
          id: pool.#nextId++,
          generator: options.generator,
          discriminator: options.discriminator,
          loss: options.loss,
          gKeys: pool.#weights.g.keys(),
          dKeys: pool.#weights.d.keys(),
          gFloats: pool.#weights.g.size,
          dFloats: pool.#weights.d.size,
          shared: pool.#shared
            ? {
              path: pool.#shared.path,
              length: pool.#shared.floats.length,
              gradientOffset: pool.#gradients[i].g.base,
            }
            : null,
        };
        await worker.request(init);
      }));
      // Every worker has mapped it: the name can go (nothing is left behind if this process is killed).
      await pool.#shared?.unlink();
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /**
   * The shared memory: every parameter, then one gradient region per worker (as large as the larger
   * network's trainables); without it, every worker's gradient layout starts at 0 (packed on the pipes).
   */
  async #mapSharedMemory(G: Generator, D: Discriminator): Promise<void> {
    const trainable = (net: Generator | Discriminator) => net.params.entries().filter((p) => p.trainable);
    const [gTrainable, dTrainable] = [trainable(G), trainable(D)];
    const region = Math.max(new ParameterLayout(gTrainable).size, new ParameterLayout(dTrainable).size);
    const weights = this.#weights.g.size + this.#weights.d.size;
    const shared = this.#options.sharedMemory !== false;
    if (shared) {
      try {
        this.#shared = await SharedFloats.create(weights + this.#options.workers * region);
      } catch (e) {
        this.#pipesBecause = `shared memory unavailable: ${(e as Error).message.split("\n")[0]}`;
      }
    } else {
      this.#pipesBecause = "shared memory off";
    }
    for (let i = 0; i < this.#options.workers; i++) {
      const base = this.#shared ? weights + i * region : 0;
      this.#gradients.push({
        g: new ParameterLayout(gTrainable, base),
        d: new ParameterLayout(dTrainable, base),
      });
    }
  }

  /** Worker processes. */
  get size(): number {
    return this.#workers.length;
  }

  /** What the workers run, e.g. `wasm (XNNPACK SIMD + OpenBLAS sgemm (1 thread)…)`. */
  get detail(): string {
    return this.#workers[0]?.detail ?? "";
  }

  /** Where weights and gradients travel: `shared memory`, or `pipes (why)`. */
  get transport(): string {
    return this.#shared ? "shared memory" : `pipes (${this.#pipesBecause})`;
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

  /**
   * Parameters of a network changed in this process (an optimizer step: the keys it updated; without keys,
   * anything may have changed): each worker gets their values before its next request.
   */
  weightsChanged(network: Network, keys?: Iterable<string>): void {
    const changed = keys === undefined ? undefined : [...keys];
    for (const key of changed ?? []) this.#weights[network].slot(key); // an unknown key is an error here
    const add = (stale: Stale): Stale => {
      if (stale === "all" || changed === undefined) return "all";
      for (const key of changed) stale.add(key);
      return stale;
    };
    for (const stale of this.#stale) stale[network] = add(stale[network]);
    this.#sharedStale[network] = add(this.#sharedStale[network]);
  }

  /** The D loss and gradients of the whole batch, from its shares on the workers. */
  async discriminatorStep(inputs: DiscriminatorStepInputs): Promise<AveragedGradients> {
    const n = inputs.reals.shape[0];
    const [, h, w, c] = inputs.reals.shape;
    const [reals, gpMix] = await Promise.all([
      bytesOf(inputs.reals),
      inputs.gpMix ? bytesOf(inputs.gpMix) : undefined,
    ]);
    return this.#step("d", inputs, (start, count) => ({
      realsShape: [count, h, w, c],
      reals: rowsOf(reals, n, start, count),
      realLabels: inputs.realLabels ? labelsOf(inputs.realLabels, start, count) : null,
      useR1: inputs.useR1,
      r1Gamma: inputs.r1Gamma,
      gpMix: gpMix ? rowsOf(gpMix, n, start, count) : null,
    }));
  }

  /** The G loss and gradients of the whole batch, from its shares on the workers. */
  generatorStep(inputs: GeneratorStepInputs): Promise<AveragedGradients> {
    return this.#step("g", inputs, () => ({
      realsShape: null,
      reals: null,
      realLabels: null,
      useR1: false,
      r1Gamma: 0,
      gpMix: null,
    }));
  }

  /**
   * Check that every worker holds this process's trainable weights, bit for bit (after taking what changed):
   * a {@link PoolError} naming the worker and the network if not.
   */
  async verify(): Promise<void> {
    const workers = this.#workers.map((_, i) => i);
    const updates = await this.#updatesFor(workers);
    const [g, d] = await Promise.all([trainableDigests(this.#weights.g), trainableDigests(this.#weights.d)]);
    const replies = await Promise.all(workers.map((i) => {
      const request: VerifyRequest = { type: "verify", id: this.#nextId++, ...updates(i) };
      return this.#live(i).request<DigestReply>(request);
    }));
    replies.forEach((reply, i) => {
      for (const [net, name, want] of [["g", "G", g], ["d", "D", d]] as const) {
        const differs = Object.keys(want).find((key) => reply[net][key] !== want[key]);
        if (differs !== undefined) {
          throw new PoolError(
            `training worker ${this.#workers[i].pid} holds other ${name} weights than the training process ` +
              `(first: ${differs}; its copy went astray); stopping rather than training on it`,
          );
        }
      }
    });
  }

  /** A step's requests: what every share carries (latents, weights, noise seed) plus the D step's own fields. */
  async #step(
    type: Network,
    inputs: GeneratorStepInputs,
    own: (
      start: number,
      count: number,
    ) => Pick<StepRequest, "realsShape" | "reals" | "realLabels" | "useR1" | "r1Gamma" | "gpMix">,
  ): Promise<AveragedGradients> {
    const n = inputs.z.shape[0];
    const shares = splitBatch(n, this.#workers.length, this.#groupSize);
    const [z, z2, updates] = await Promise.all([
      bytesOf(inputs.z),
      inputs.z2 ? bytesOf(inputs.z2) : undefined,
      this.#updatesFor(shares.map((_, i) => i)),
    ]);
    const replies: Promise<GradientReply>[] = [];
    let start = 0;
    shares.forEach((count, i) => {
      const request: StepRequest = {
        type,
        id: this.#nextId++,
        depth: inputs.depth,
        alpha: inputs.alpha,
        ...updates(i),
        count,
        z: rowsOf(z, n, start, count),
        z2: z2 ? rowsOf(z2, n, start, count) : null,
        mixingCutoff: inputs.mixingCutoff ?? null,
        labels: inputs.labels ? labelsOf(inputs.labels, start, count) : null,
        noiseSeed: (inputs.noiseSeed + i) >>> 0,
        augment: inputs.augment ? sliceStepAugment(inputs.augment, start, count) : null,
        ...own(start, count),
      };
      replies.push(this.#live(i).request<GradientReply>(request, count));
      start += count;
    });
    return this.#average(type, n, shares, await Promise.all(replies));
  }

  /** Stop the workers (and unmap the shared memory). */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.close()));
    await this.#shared?.unlink();
    this.#shared?.close();
    this.#shared = undefined;
  }

  /** Worker `i`, or a {@link PoolError} if it died. */
  #live(i: number): ProcessWorker {
    const worker = this.#workers[i];
    if (!worker.alive) throw new PoolError(`training worker ${worker.pid} is no longer running`);
    return worker;
  }

  /**
   * The weight updates of `workers` (what each has not got of G and D), with the values written once into the
   * shared memory or packed for the pipes; a worker counts as having them once its request is built (a
   * failed request fails the step and the run).
   */
  async #updatesFor(workers: number[]) {
    const keysOf = (net: Network, stale: Stale) =>
      stale === "all" ? this.#weights[net].keys() : this.#weights[net].keys().filter((k) => stale.has(k));
    if (this.#shared) {
      for (const net of ["g", "d"] as const) {
        const stale = this.#sharedStale[net];
        if (stale !== "all" && stale.size === 0) continue;
        await writeToLayout(this.#weights[net], keysOf(net, stale), this.#shared.floats);
        this.#sharedStale[net] = new Set();
      }
    }
    // Packed values by key list: workers with the same stale keys (the usual case) share one copy.
    const packed = new Map<string, Promise<Uint8Array>>();
    const pack = (net: Network, keys: string[]) => {
      const id = `${net}\n${keys.join("\n")}`;
      if (!packed.has(id)) packed.set(id, readValues(this.#weights[net], keys).then(floatBytes));
      return packed.get(id)!;
    };
    const result = await Promise.all(workers.map(async (i) => {
      const update = async (net: Network): Promise<WeightUpdate | null> => {
        const stale = this.#stale[i][net];
        if (stale !== "all" && stale.size === 0) return null;
        const keys = keysOf(net, stale);
        return { keys, values: this.#shared ? null : await pack(net, keys) };
      };
      return { gWeights: await update("g"), dWeights: await update("d") };
    }));
    for (const i of workers) this.#stale[i] = { g: new Set(), d: new Set() };
    return (worker: number) => result[workers.indexOf(worker)];
  }

  /** Average losses and gradients weighted by share (the gradients inline or in each worker's region). */
  #average(type: Network, n: number, shares: number[], answers: GradientReply[]): AveragedGradients {
    let loss = 0;
    const sums = new Map<string, Float32Array>();
    answers.forEach((answer, i) => {
      const weight = shares[i] / n;
      loss += weight * answer.loss;
      const layout = this.#gradients[i][type];
      const values = answer.grads ? bytesToFloats(answer.grads) : this.#shared?.floats;
      if (!values) throw new PoolError("training worker sent no gradients");
      let offset = 0;
      for (const key of answer.keys) {
        let slot;
        try {
          slot = layout.slot(key);
        } catch {
          throw new PoolError(`training worker sent a gradient for unknown parameter ${key}`);
        }
        const size = slot.param.variable.size;
        const start = answer.grads ? offset : slot.offset;
        if (start + size > values.length) {
          throw new PoolError(
            `training worker sent ${values.length} gradient values, fewer than its keys need`,
          );
        }
        const sum = sums.get(key) ?? new Float32Array(size);
        for (let k = 0; k < size; k++) sum[k] += weight * values[start + k];
        sums.set(key, sum);
        offset += size;
      }
      if (answer.grads && offset !== values.length) {
        throw new PoolError(`training worker sent ${values.length} gradient values, expected ${offset}`);
      }
    });
    const grads = new Map<string, tf.Tensor>();
    for (const p of this.#gradients[0][type].params) {
      const sum = sums.get(p.key);
      if (sum) grads.set(p.key, tf.tensor(sum, p.variable.shape));
    }
    return { loss, grads };
  }
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
