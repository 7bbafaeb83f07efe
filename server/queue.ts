/**
 * The generation queue. Synthesis runs as many batches at once as its {@link Synthesizer} allows: one in the
 * server process (the backend is single-threaded, and one batch at a time bounds memory), one per worker
 * process with a pool. Before choosing a batch the queue yields to the event loop, so requests that arrived
 * meanwhile join it: jobs for the same model, depth and noise mode are cut into one batch of up to
 * `maxBatchImages` images and `maxBatchPixels` output pixels (and, with several free workers, a share of the
 * queued images, so one large figure spreads over them), and every job still gets exactly its own tiles
 * (each cell carries its own seed, ψ and style ranges; see `cellDlatents`).
 *
 * A full queue refuses new work with {@link QueueFullError} (503 + Retry-After) instead of growing without bound:
 * by image count, and by the estimated wait (measured seconds per output pixel × pixels ahead).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { cellDlatents, type StyleCell } from "../model/figures/dlatents.ts";
import type { Raster8 } from "../model/images.ts";
import type { NoiseMode } from "../model/layers/noise_layer.ts";
import { pixelsAt } from "../model/scale.ts";
import type { QueueOptions } from "./config.ts";
import { QueueFullError } from "./errors.ts";
import type { LoadedModel } from "./models.ts";
import { InProcessSynthesizer, type Synthesizer } from "./synthesizer.ts";

/** Work for the queue: one tile per cell. */
export interface SynthesisJob {
  model: LoadedModel;
  /** Output depth (already checked against the model). */
  depth: number;
  noise: NoiseMode;
  cells: StyleCell[];
  /** Aborting before the job starts removes it from the queue. */
  signal?: AbortSignal;
}

/** Counters, for tests and monitoring. */
export interface QueueStats {
  /** Images waiting (not yet in a batch). */
  queuedImages: number;
  /** Jobs not yet finished. */
  jobs: number;
  /** Synthesis batches run so far. */
  batches: number;
  /** Images generated so far. */
  images: number;
  /** Most images in one batch so far. */
  largestBatch: number;
  /** Jobs refused because the queue was full. */
  refused: number;
  /** Current estimate of synthesis seconds per output pixel (of one batch running alone). */
  secondsPerPixel: number;
  /** Batches running now. */
  running: number;
  /** Batches that may run at once. */
  parallelism: number;
  /** Most batches that ran at once so far. */
  mostRunning: number;
}

interface Pending {
  job: SynthesisJob;
  key: string;
  /** Output pixels per image. */
  pixels: number;
  /** Index of the next cell to put in a batch. */
  next: number;
  /** Tiles in cell order (filled as batches finish). */
  results: Raster8[];
  /** Tiles done. */
  done: number;
  resolve: (rasters: Raster8[]) => void;
  reject: (error: unknown) => void;
  settled: boolean;
  onAbort?: () => void;
}

interface Slice {
  pending: Pending;
  start: number;
  count: number;
}

/** Initial guess of wasm synthesis cost (measured on 2 cores: about 4-7 µs per output pixel). */
const INITIAL_SECONDS_PER_PIXEL = 6e-6;

/** The queue; one per server. */
export class GenerationQueue {
  readonly options: QueueOptions;
  readonly synthesizer: Synthesizer;
  #pending: Pending[] = [];
  #queuedImages = 0;
  #queuedPixels = 0;
  #running = 0;
  #scheduled = false;
  #stats = { batches: 0, images: 0, largestBatch: 0, refused: 0, mostRunning: 0 };
  #secondsPerPixel = INITIAL_SECONDS_PER_PIXEL;

  constructor(options: QueueOptions, synthesizer: Synthesizer = new InProcessSynthesizer()) {
    this.options = options;
    this.synthesizer = synthesizer;
  }

  /** Generate the job's tiles (in cell order). Rejects with {@link QueueFullError} when the queue is full. */
  submit(job: SynthesisJob): Promise<Raster8[]> {
    if (job.cells.length === 0) return Promise.resolve([]);
    if (job.signal?.aborted) return Promise.reject(job.signal.reason);
    const side = pixelsAt(job.depth);
    const pixels = side * side;
    const full = this.#queuedImages + job.cells.length > this.options.maxQueuedImages ||
      (this.#queuedImages > 0 && this.estimatedWaitS() > this.options.maxWaitS);
    if (full) {
      this.#stats.refused++;
      return Promise.reject(new QueueFullError(this.retryAfterS()));
    }
    return new Promise<Raster8[]>((resolve, reject) => {
      const pending: Pending = {
        job,
        key: `${job.model.info.name}\u0000${job.model.fingerprint}\u0000${job.depth}\u0000${job.noise}`,
        pixels,
        next: 0,
        results: new Array(job.cells.length),
        done: 0,
        resolve,
        reject,
        settled: false,
      };
      if (job.signal) {
        pending.onAbort = () => {
          if (pending.next === 0) this.#fail(pending, job.signal!.reason);
        };
        job.signal.addEventListener("abort", pending.onAbort, { once: true });
      }
      this.#pending.push(pending);
      this.#queuedImages += job.cells.length;
      this.#queuedPixels += job.cells.length * pixels;
      this.#schedule();
    });
  }

  /** Seconds until the work queued now would be done (an estimate). */
  estimatedWaitS(): number {
    return this.#queuedPixels * this.#secondsPerPixel / this.synthesizer.parallelism;
  }

  /** Seconds a refused client should wait before retrying. */
  retryAfterS(): number {
    return Math.min(300, Math.max(1, Math.ceil(this.estimatedWaitS())));
  }

  /** Counters. */
  stats(): QueueStats {
    return {
      ...this.#stats,
      queuedImages: this.#queuedImages,
      jobs: this.#pending.length,
      secondsPerPixel: this.#secondsPerPixel,
      running: this.#running,
      parallelism: this.synthesizer.parallelism,
    };
  }

  /** Start batches on the next macrotask: requests that arrived during the last batch get queued before we choose. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.#pump();
    }, 0);
  }

  #pump(): void {
    while (this.#running < this.synthesizer.parallelism) {
      const batch = this.#takeBatch(this.synthesizer.parallelism - this.#running);
      if (batch.length === 0) return;
      this.#running++;
      this.#stats.mostRunning = Math.max(this.#stats.mostRunning, this.#running);
      this.#run(batch).finally(() => {
        this.#running--;
        this.#schedule();
      });
    }
  }

  /**
   * The next batch: the oldest job's next cells, then (when batching) cells of later jobs with the same key.
   * With `freeSlots` > 1 a batch takes at most its share of the queued images, so the free workers split them.
   */
  #takeBatch(freeSlots: number): Slice[] {
    const head = this.#pending.find((p) => p.next < p.job.cells.length);
    if (!head) return [];
    const byPixels = Math.floor(this.options.maxBatchPixels / head.pixels);
    const share = Math.ceil(this.#queuedImages / freeSlots);
    let room = Math.max(1, Math.min(this.options.maxBatchImages, byPixels, share));
    const batch: Slice[] = [];
    for (const pending of this.#pending) {
      if (room === 0) break;
      if (pending.key !== head.key || pending.next >= pending.job.cells.length) continue;
      if (!this.options.batching && pending !== head) continue;
      const count = Math.min(room, pending.job.cells.length - pending.next);
      batch.push({ pending, start: pending.next, count });
      pending.next += count;
      room -= count;
      this.#queuedImages -= count;
      this.#queuedPixels -= count * pending.pixels;
    }
    return batch;
  }

  async #run(batch: Slice[]): Promise<void> {
    const { model, depth, noise } = batch[0].pending.job;
    const G = model.generator;
    const images = batch.reduce((n, s) => n + s.count, 0);
    const started = performance.now();
    let dlatents: tf.Tensor3D | undefined;
    try {
      dlatents = tf.tidy(() => {
        const parts = batch.map((s) =>
          cellDlatents(G, s.pending.job.cells.slice(s.start, s.start + s.count))
        );
        return parts.length === 1 ? parts[0] : tf.concat(parts, 0);
      });
      const rasters = await this.synthesizer.synthesize(model, dlatents, depth, noise);
      let offset = 0;
      for (const slice of batch) {
        // Batches of one job may finish out of order: each slice goes to its cells' places.
        for (let k = 0; k < slice.count; k++) slice.pending.results[slice.start + k] = rasters[offset + k];
        offset += slice.count;
        slice.pending.done += slice.count;
        if (slice.pending.done === slice.pending.job.cells.length) this.#finish(slice.pending);
      }
    } catch (error) {
      for (const slice of batch) this.#fail(slice.pending, error);
    } finally {
      dlatents?.dispose();
    }
    const seconds = (performance.now() - started) / 1000;
    const measured = seconds / (images * batch[0].pending.pixels);
    this.#secondsPerPixel = 0.8 * this.#secondsPerPixel + 0.2 * measured;
    this.#stats.batches++;
    this.#stats.images += images;
    this.#stats.largestBatch = Math.max(this.#stats.largestBatch, images);
  }

  #finish(pending: Pending): void {
    if (pending.settled) return;
    this.#settle(pending);
    pending.resolve(pending.results);
  }

  #fail(pending: Pending, error: unknown): void {
    if (pending.settled) return;
    const left = pending.job.cells.length - pending.next;
    this.#queuedImages -= left;
    this.#queuedPixels -= left * pending.pixels;
    pending.next = pending.job.cells.length;
    this.#settle(pending);
    pending.reject(error);
  }

  #settle(pending: Pending): void {
    pending.settled = true;
    if (pending.onAbort) pending.job.signal?.removeEventListener("abort", pending.onAbort);
    const index = this.#pending.indexOf(pending);
    if (index >= 0) this.#pending.splice(index, 1);
  }
}
