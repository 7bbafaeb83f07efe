/**
 * Prepare tiles on worker threads. Decoding is the cost of a cold dataset load (about 2.5 ms per 256 px
 * UC Merced JPEG in imagescript's wasm decoder, single-threaded, plus reading and resampling), so
 * spreading it over the machine's cores divides a large load by about their number. With zero workers the
 * same work runs in this thread.
 *
 * @module
 */
import { DatasetError } from "./errors.ts";
import { type PreparedTile, prepareTile, type TileMode } from "./prepare.ts";

/** Message to a decode worker. */
export interface TileRequest {
  id: number;
  path: string;
  resolution: number;
  channels: number;
  /** How the file becomes a tile (default: an 8-bit image). */
  mode?: TileMode;
  /** The data root (a real path) the file must lie under, if any. */
  root?: string;
}

/** Reply from a decode worker: a tile, or why the file could not be used. */
export type TileResponse =
  | ({ id: number; ok: true } & PreparedTile)
  | { id: number; ok: false; message: string; badFile: boolean };

/** Prepares tiles of one resolution and channel count; {@link TilePool.close} must be called when done. */
export interface TilePool {
  /** Worker threads used (0: this thread). */
  readonly workers: number;
  /** How many tiles to keep in flight for the pool to stay busy. */
  readonly concurrency: number;
  /** Prepare one file; rejects with a DatasetError naming the file when it is not a usable image. */
  prepare(path: string): Promise<PreparedTile>;
  /** Stop the workers; pending requests are rejected. */
  close(): void;
}

/** The worker count used when none is given: one per core, at most 8 (beyond that file reading dominates). */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1));
}

/**
 * A pool of `workers` decode threads (0: decode in this thread).
 * @throws Error when a worker cannot be started (for example without read permission for the module).
 */
export function createTilePool(
  resolution: number,
  channels: number,
  workers: number,
  mode: TileMode = { kind: "image" },
  root?: string,
): TilePool {
  if (workers <= 0) {
    // Two files in flight let reading one overlap decoding the other.
    return {
      workers: 0,
      concurrency: 2,
      prepare: (path) => prepareTile(path, resolution, channels, mode, root),
      close() {},
    };
  }
  return new WorkerTilePool(resolution, channels, workers, mode, root);
}

interface Pending {
  resolve(tile: PreparedTile): void;
  reject(error: Error): void;
}

class WorkerTilePool implements TilePool {
  readonly workers: number;
  readonly concurrency: number;
  #threads: { worker: Worker; pending: Map<number, Pending> }[] = [];
  #nextId = 0;
  #closed = false;

  constructor(
    readonly resolution: number,
    readonly channels: number,
    workers: number,
    readonly mode: TileMode = { kind: "image" },
    readonly root?: string,
  ) {
    this.workers = workers;
    // Two requests per worker so that each has the next file ready when it finishes one.
    this.concurrency = 2 * workers;
    const url = new URL("./decode_worker.ts", import.meta.url);
    for (let i = 0; i < workers; i++) {
      const thread = { worker: new Worker(url, { type: "module" }), pending: new Map<number, Pending>() };
      thread.worker.onmessage = (event: MessageEvent<TileResponse>) =>
        this.#settle(thread.pending, event.data);
      thread.worker.onerror = (event: ErrorEvent) => {
        event.preventDefault(); // report through the pending promises instead of crashing the process
        this.#failAll(thread.pending, new Error(`decode worker failed: ${event.message}`));
      };
      this.#threads.push(thread);
    }
  }

  prepare(path: string): Promise<PreparedTile> {
    if (this.#closed) return Promise.reject(new Error("the decode pool is closed"));
    // The least busy thread gets the file (ties go to the first), which balances slow and fast images.
    const thread = this.#threads.reduce((best, t) => t.pending.size < best.pending.size ? t : best);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      const request: TileRequest = {
        id,
        path,
        resolution: this.resolution,
        channels: this.channels,
        mode: this.mode,
        root: this.root,
      };
      thread.worker.postMessage(request);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const thread of this.#threads) {
      thread.worker.terminate();
      this.#failAll(thread.pending, new Error("the decode pool was closed"));
    }
  }

  #settle(pending: Map<number, Pending>, response: TileResponse): void {
    const waiting = pending.get(response.id);
    if (!waiting) return;
    pending.delete(response.id);
    if (response.ok) {
      const { id: _id, ok: _ok, ...tile } = response;
      waiting.resolve(tile);
    } else {
      // A bad file stays a DatasetError across the thread boundary, so the caller can count it and go on.
      waiting.reject(response.badFile ? new DatasetError(response.message) : new Error(response.message));
    }
  }

  #failAll(pending: Map<number, Pending>, error: Error): void {
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  }
}
