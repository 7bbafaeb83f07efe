/**
 * A pool of synthesis worker processes, so that generation uses every core.
 *
 * tfjs's wasm backend runs in one thread under Deno (its threaded build needs classic Web Workers, which Deno
 * does not have), and OpenBLAS can spread only the convolutions over the cores: the rest of a generator pass
 * stays on one. Several processes, each with its own backend and a share of the BLAS threads, run whole
 * passes side by side. They are processes, not Worker threads, because OpenBLAS's OpenMP build corrupts its
 * heap when called from several threads of one process at once (seen under `deno test --parallel`).
 *
 * The parent computes dlatents (mapping and truncation are cheap) and sends them with the checkpoint's path
 * and SHA-256; a worker loads that file once, checks the hash, runs the synthesis network and answers with
 * 8-bit images. A worker that dies is started again on the next request; the batches it had in flight are run
 * once more on another worker (the least busy live one, or its own replacement when there is no other), and only
 * when that fails too does the batch fail, with {@link GenerationRestartedError}.
 *
 * @module
 */
import type { Raster8 } from "../images.ts";
import type { NoiseMode } from "../layers/noise_layer.ts";
import { checkPoolOptions, PoolError, ProcessWorker, WorkerExitError } from "./process_worker.ts";
import { floatBytes, type ModelRef, type SynthesisResult } from "./protocol.ts";
import { type Runtime, runtimeToEnv } from "../runtime.ts";

export type { ModelRef } from "./protocol.ts";
export { defaultPoolSize, PoolError, WorkerExitError } from "./process_worker.ts";

/** A batch was lost twice to a dying worker: the pool is starting replacements, a retry soon may succeed. */
export class GenerationRestartedError extends PoolError {
  override name = "GenerationRestartedError";
}
export { fileFingerprint } from "../files.ts";

/** Options of {@link SynthesisPool.start}. */
export interface SynthesisPoolOptions {
  /** Worker processes (≥ 1). */
  workers: number;
  /** Backend each worker uses: `wasm` or `cpu` (the GPU backends gain nothing from processes). */
  backend: string;
  /** OpenBLAS threads per worker (default: the cores divided among the workers, at least 1). */
  blasThreads?: number;
  /** Generators each worker keeps loaded (default 4). */
  maxModels?: number;
  /**
   * The runtime the workers run with, but for `backend` and `blasThreads`: the parent's, so that a worker's
   * OpenBLAS, fused kernels and flags are the parent's. Without it they read this process's variables.
   */
  runtime?: Runtime;
  /** How long a worker may take to start (default 120 s: the first start may compile the wasm). */
  startTimeoutMs?: number;
  /** Where worker stderr lines go (default: this process's stderr, prefixed with the worker's pid). */
  log?: (line: string) => void;
}

/** Worker processes that run the synthesis network; see the module comment. */
export class SynthesisPool {
  readonly #options:
    & Required<Omit<SynthesisPoolOptions, "log" | "runtime">>
    & Pick<SynthesisPoolOptions, "log" | "runtime">;
  readonly #workers: (ProcessWorker | undefined)[];
  #nextId = 0;
  #closed = false;

  private constructor(options: SynthesisPoolOptions) {
    this.#options = {
      blasThreads: checkPoolOptions("synthesis", options.workers, options.backend),
      maxModels: 4,
      startTimeoutMs: 120_000,
      ...options,
    };
    this.#workers = new Array(options.workers).fill(undefined);
  }

  /** Start `workers` processes and wait until each has its backend up. */
  static async start(options: SynthesisPoolOptions): Promise<SynthesisPool> {
    const pool = new SynthesisPool(options);
    try {
      await Promise.all(pool.#workers.map((_, i) => pool.#worker(i)));
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
    return this.#workers.find((w) => w?.alive)?.detail ?? "";
  }

  /** Process ids of the live workers (for memory reports and tests). */
  pids(): number[] {
    return this.#workers.filter((w): w is ProcessWorker => !!w?.alive).map((w) => w.pid);
  }

  /**
   * Synthesize images from dlatents [images, num_layers, dlatent_size] with the generator in `model`.
   * `parts` > 1 splits the images into that many near-equal chunks on the least busy workers (one batch
   * over every core); by default the whole batch goes to the least busy worker.
   */
  async synthesize(
    model: ModelRef,
    dlatents: Float32Array,
    shape: [number, number, number],
    run: { depth: number; noise: NoiseMode; parts?: number },
  ): Promise<Raster8[]> {
    if (this.#closed) throw new PoolError("the synthesis pool is closed");
    const [n, layers, size] = shape;
    if (dlatents.length !== n * layers * size) {
      throw new RangeError(
        `dlatents hold ${dlatents.length} values, shape [${shape}] needs ${n * layers * size}`,
      );
    }
    const parts = Math.max(1, Math.min(n, run.parts ?? 1, this.#workers.length));
    const chunks: Promise<Raster8[]>[] = [];
    let start = 0;
    for (let p = 0; p < parts; p++) {
      const count = Math.floor(n / parts) + (p < n % parts ? 1 : 0);
      const slice = dlatents.subarray(start * layers * size, (start + count) * layers * size);
      start += count;
      const request = {
        type: "synthesize",
        model,
        depth: run.depth,
        noise: run.noise,
        shape: [count, layers, size],
        dlatents: floatBytes(slice),
      };
      chunks.push(this.#runWithRetry(request, count));
    }
    return (await Promise.all(chunks)).flat();
  }

  /** One batch on the least busy worker; lost to a dying worker, once more on another. */
  async #runWithRetry(request: Record<string, unknown>, count: number): Promise<Raster8[]> {
    const first = this.#leastBusy();
    try {
      const worker = await this.#worker(first);
      return rastersOf(
        await worker.request<SynthesisResult>({ ...request, id: this.#nextId++ }, count),
        count,
      );
    } catch (error) {
      if (!(error instanceof WorkerExitError) || this.#closed) throw error;
      try {
        const worker = await this.#worker(this.#leastBusy(first));
        return rastersOf(
          await worker.request<SynthesisResult>({ ...request, id: this.#nextId++ }, count),
          count,
        );
      } catch (again) {
        if (!(again instanceof WorkerExitError)) throw again;
        throw new GenerationRestartedError(
          `a synthesis worker stopped during this batch and the retry on another stopped too (${again.message}); ` +
            "generation restarted",
          { cause: again },
        );
      }
    }
  }

  /** Stop every worker (waits for requests in flight). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w?.close()));
  }

  /** The least busy worker's index; with `avoid`, another one if there is another (a retry's choice). */
  #leastBusy(avoid?: number): number {
    const candidates = this.#workers.map((_, i) => i).filter((i) =>
      i !== avoid || this.#workers.length === 1
    );
    const load = (w: ProcessWorker | undefined) => (w?.alive ? w.busy : 0);
    return candidates.reduce((best, i) => (load(this.#workers[i]) < load(this.#workers[best]) ? i : best));
  }

  /** Worker `i`, started (again) if it is not running. */
  async #worker(i: number): Promise<ProcessWorker> {
    let worker = this.#workers[i];
    if (!worker || !worker.alive) {
      worker = new ProcessWorker({
        script: "synthesis_worker.ts",
        name: "synthesis worker",
        env: {
          ...(this.#options.runtime && runtimeToEnv(this.#options.runtime)),
          SGAN_BACKEND: this.#options.backend,
          SGAN_BLAS_THREADS: String(this.#options.blasThreads),
          SGAN_POOL_MAX_MODELS: String(this.#options.maxModels),
        },
        startTimeoutMs: this.#options.startTimeoutMs,
        log: this.#options.log,
      });
      this.#workers[i] = worker;
    }
    await worker.ready;
    return worker;
  }
}

/** The images of a synthesis reply, checked against the count asked for. */
function rastersOf(reply: SynthesisResult, images: number): Raster8[] {
  const { width, height, channels, data } = reply;
  const size = width * height * channels;
  if (data.length !== size * images) {
    throw new PoolError(`synthesis worker sent ${data.length} bytes for ${images} images`);
  }
  const rasters: Raster8[] = [];
  for (let i = 0; i < images; i++) {
    rasters.push({ width, height, channels, data: data.slice(i * size, (i + 1) * size) });
  }
  return rasters;
}
