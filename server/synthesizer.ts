/**
 * Where the generation queue runs the synthesis network: in this process, or on a pool of worker processes
 * that use every core (see `model/pool/synthesis_pool.ts`). The queue computes dlatents itself (mapping and
 * truncation are cheap) and hands them over; either way every tile comes back as an 8-bit raster.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Raster8, toRgb8 } from "../model/images.ts";
import type { NoiseMode } from "../model/layers/noise_layer.ts";
import { defaultPoolSize, GenerationRestartedError, SynthesisPool } from "../model/pool/synthesis_pool.ts";
import type { Runtime } from "../model/runtime.ts";
import { GenerationRestartedApiError } from "./errors.ts";
import type { LoadedModel } from "./models.ts";

/** Runs synthesis batches for the queue. */
export interface Synthesizer {
  /** Batches the queue may run at once. */
  readonly parallelism: number;
  /** One line for logs: where synthesis runs. */
  readonly description: string;
  /** Tiles for dlatents [N, num_layers, dlatent_size] (the caller keeps and disposes `dlatents`). */
  synthesize(model: LoadedModel, dlatents: tf.Tensor3D, depth: number, noise: NoiseMode): Promise<Raster8[]>;
  /** Stop (for pools: the worker processes). */
  close(): Promise<void>;
}

/** Synthesis in this process, one batch at a time (the tensor backend is single-threaded). */
export class InProcessSynthesizer implements Synthesizer {
  readonly parallelism = 1;
  get description(): string {
    return `in the server process (${tf.getBackend()})`;
  }

  async synthesize(model: LoadedModel, dlatents: tf.Tensor3D, depth: number, noise: NoiseMode) {
    const images = model.generator.gSynthesis.apply(dlatents, { depth, noise });
    try {
      return await toRgb8(images);
    } finally {
      images.dispose();
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Synthesis on worker processes: as many batches at once as there are workers. */
export class PoolSynthesizer implements Synthesizer {
  readonly pool: SynthesisPool;
  constructor(pool: SynthesisPool) {
    this.pool = pool;
  }

  get parallelism(): number {
    return this.pool.size;
  }

  get description(): string {
    return `${this.pool.size} worker processes, each ${this.pool.detail}`;
  }

  async synthesize(model: LoadedModel, dlatents: tf.Tensor3D, depth: number, noise: NoiseMode) {
    const values = await dlatents.data() as Float32Array;
    try {
      return await this.pool.synthesize(
        { file: model.file, fingerprint: model.fingerprint },
        values,
        dlatents.shape,
        { depth, noise },
      );
    } catch (error) {
      // The pool has retried the batch once already; the client is better served by a retry soon than a 500.
      if (error instanceof GenerationRestartedError) {
        console.error(error.message);
        throw new GenerationRestartedApiError();
      }
      throw error;
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * Worker processes for `workers` ("auto": one per core on the single-threaded CPU backends wasm and cpu,
 * none on GPU backends or a one-core machine); 0 when none are wanted.
 */
export function poolSizeFor(workers: number | "auto", backend: string): number {
  return workers === "auto" ? defaultPoolSize(backend) : workers;
}

/**
 * The synthesizer for `workers` on the active backend: a started pool (whose workers run with `runtime`'s
 * settings), or this process when no workers are wanted. A pool that cannot start is reported through `warn`
 * and synthesis stays in this process.
 */
export async function createSynthesizer(
  workers: number | "auto",
  warn: (message: string) => void = console.error,
  runtime?: Runtime,
): Promise<Synthesizer> {
  const backend = tf.getBackend();
  const size = poolSizeFor(workers, backend);
  if (size === 0) return new InProcessSynthesizer();
  if (backend !== "wasm" && backend !== "cpu") {
    warn(`SGAN_WORKERS=${workers}: worker processes run only on the wasm and cpu backends, not ${backend}`);
    return new InProcessSynthesizer();
  }
  try {
    return new PoolSynthesizer(await SynthesisPool.start({ workers: size, backend, runtime }));
  } catch (e) {
    warn(`generation workers could not start (${(e as Error).message}); generating in the server process`);
    return new InProcessSynthesizer();
  }
}
