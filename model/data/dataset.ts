/**
 * Load a training dataset: list the images, decode them once into square tiles of the training resolution
 * (on worker threads), and keep them in one uint8 array, cached in the run directory so later epochs and
 * resumed runs start at once.
 *
 * Bad data is never silent: one unreadable file among many is a warning naming it and a count; none usable,
 * more than half unusable, or fewer images than asked for (`minImages`, the batch size) is a DatasetError.
 *
 * @module
 */
import { type DatasetSource, findHeldOutFiles, listImageFiles } from "./sources.ts";
import { createTilePool, defaultWorkerCount, type TilePool } from "./decode_pool.ts";
import {
  datasetCacheKey,
  datasetCachePath,
  readDatasetCache,
  type SkippedFile,
  stampFiles,
  writeDatasetCache,
} from "./cache.ts";
import { DatasetError, messageOf } from "./errors.ts";
import { resolve } from "node:path";

export { DatasetError } from "./errors.ts";
export type { SkippedFile } from "./cache.ts";

/** Where dataset messages go; the trainer passes its run log. */
export interface DatasetLog {
  info(message: string): void;
  warn(message: string): void;
}

/** Options of {@link loadDataset}: the `dataset` config fields plus where to cache and whom to tell. */
export interface LoadDatasetOptions extends DatasetSource {
  /** Side of the square training tiles in pixels. */
  resolution: number;
  /** Channels per pixel (3: RGB). TIFFs give their first `channels` bands. */
  channels?: number;
  /** Folder for the cache file (the run directory); without it every load decodes. */
  cacheDir?: string;
  /** Messages; by default warnings go to the console and information is dropped. */
  log?: DatasetLog;
  /** Called as files are prepared (`done` of `total`), for a progress bar; once with (total, total) on a cache hit. */
  onProgress?: (done: number, total: number) => void;
  /** Allow images of the hold-out split (see sources.ts); off by default. */
  allowHoldout?: boolean;
  /** Fewest usable images accepted, e.g. the largest minibatch; fewer is a DatasetError. Default 1. */
  minImages?: number;
  /**
   * Decode threads. Default: one per core (at most 8) from {@link MIN_FILES_FOR_WORKERS} files on, else 0
   * (this thread).
   */
  workers?: number;
}

/** A dataset in memory: every tile of one resolution, row-major [count, resolution, resolution, channels]. */
export interface ImageDataset {
  /** Number of usable images (tiles in `data`). */
  count: number;
  resolution: number;
  channels: number;
  /** uint8 tiles, NHWC. */
  data: Uint8Array;
  /** The source file of each tile, in order (sorted paths). */
  files: string[];
  /** Files left out, and why (each was logged as a warning). */
  skipped: SkippedFile[];
  /** Whether the tiles came from the cache (no file was decoded). */
  fromCache: boolean;
  /** The cache file used or written, when a cacheDir was given. */
  cachePath?: string;
  /** Files decoded in this load (0 on a cache hit). */
  decoded: number;
  /** Wall time of the load, seconds. */
  seconds: number;
}

/**
 * Below this many files, decoding in this thread is as quick: starting the workers (each loads the
 * decoders) costs about 0.3 s, and on 2 cores the break-even measured here was about 256 UC Merced tiles.
 */
export const MIN_FILES_FOR_WORKERS = 256;

/** How many skipped files are named one by one before the rest are summarised. */
const MAX_NAMED_WARNINGS = 10;

const CONSOLE_LOG: DatasetLog = { info() {}, warn: (message) => console.warn(message) };

/**
 * Load (or reuse the cache of) a dataset at one resolution.
 * @throws DatasetError with a message naming the path or file at fault.
 */
export async function loadDataset(options: LoadDatasetOptions): Promise<ImageDataset> {
  const started = performance.now();
  const { resolution, channels = 3, cacheDir, log = CONSOLE_LOG, onProgress, minImages = 1 } = options;
  for (const [name, value] of [["resolution", resolution], ["channels", channels]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new DatasetError(`dataset ${name} must be a positive integer, got ${value}`);
    }
  }

  // List the images (the hold-out guard runs here).
  const files = await listImageFiles(options, { allowHoldout: options.allowHoldout });
  if (options.allowHoldout) await warnAboutHeldOut(files, options, log);

  // Reuse the cache when it matches these files exactly.
  let cachePath: string | undefined;
  let key = "";
  if (cacheDir !== undefined) {
    const stamps = await stampFiles(files);
    key = await datasetCacheKey(stamps, resolution, channels);
    cachePath = datasetCachePath(cacheDir, resolution, channels, key);
    const cached = await readDatasetCache(cachePath, { key, resolution, channels });
    if (cached && "header" in cached) {
      const { header, data } = cached;
      reportSkipped(header.skipped, files.length, log);
      reportUpscaled(header.upscaled, resolution, log);
      checkEnough(header.count, minImages, options);
      onProgress?.(files.length, files.length);
      const seconds = (performance.now() - started) / 1000;
      log.info(
        `dataset: ${header.count} images at ${resolution} px from the cache ${cachePath} (${
          seconds.toFixed(1)
        } s)`,
      );
      const { count, files: usedFiles, skipped } = header;
      return {
        count,
        resolution,
        channels,
        data,
        files: usedFiles,
        skipped,
        fromCache: true,
        cachePath,
        decoded: 0,
        seconds,
      };
    }
    if (cached) log.warn(`dataset cache ${cachePath} is not used because ${cached.problem}; rebuilding it`);
  }

  // Decode every file into its tile.
  const decodedImages = await decodeAll(files, resolution, channels, options, log);
  const { count, data, usedFiles, skipped, upscaled } = decodedImages;
  reportSkipped(skipped, files.length, log);
  reportUpscaled(upscaled, resolution, log);
  checkEnough(count, minImages, options);

  if (cachePath !== undefined) {
    await writeDatasetCache(cachePath, {
      key,
      resolution,
      channels,
      count,
      files: usedFiles,
      skipped,
      upscaled,
    }, data);
  }
  const seconds = (performance.now() - started) / 1000;
  log.info(
    `dataset: decoded ${count} images to ${resolution} px in ${seconds.toFixed(1)} s` +
      (cachePath ? `; cached in ${cachePath}` : ""),
  );
  return {
    count,
    resolution,
    channels,
    data,
    files: usedFiles,
    skipped,
    fromCache: false,
    cachePath,
    decoded: files.length,
    seconds,
  };
}

interface DecodedImages {
  count: number;
  data: Uint8Array;
  usedFiles: string[];
  skipped: SkippedFile[];
  upscaled: number;
}

/** Prepare all tiles, a few at a time; stops early once more than half of the files have failed. */
async function decodeAll(
  files: string[],
  resolution: number,
  channels: number,
  options: LoadDatasetOptions,
  log: DatasetLog,
): Promise<DecodedImages> {
  const tileBytes = resolution * resolution * channels;
  const total = files.length;
  const tiles = new Uint8Array(total * tileBytes);
  const ok = new Uint8Array(total);
  const failures: (SkippedFile & { index: number })[] = [];
  let upscaled = 0;
  let done = 0;
  let next = 0;
  let fatal: unknown;

  const pool = openPool(
    resolution,
    channels,
    options.workers ?? (total >= MIN_FILES_FOR_WORKERS ? defaultWorkerCount() : 0),
    log,
  );
  try {
    const lane = async () => {
      while (next < total && fatal === undefined && failures.length <= total / 2) {
        const index = next++;
        try {
          const tile = await pool.prepare(files[index]);
          tiles.set(tile.data, index * tileBytes);
          ok[index] = 1;
          if (tile.method === "bilinear") upscaled++;
        } catch (error) {
          if (error instanceof DatasetError) {
            failures.push({ index, file: files[index], reason: error.message });
          } else fatal ??= error;
        }
        done++; // not inside the ?.() call below: optional chaining would skip the increment too
        options.onProgress?.(done, total);
      }
    };
    await Promise.all(Array.from({ length: Math.min(pool.concurrency, total) }, lane));
  } finally {
    pool.close();
  }
  if (fatal !== undefined) {
    throw new DatasetError(`loading the dataset failed: ${messageOf(fatal)}`, { cause: fatal });
  }

  failures.sort((a, b) => a.index - b.index);
  const skipped = failures.map(({ file, reason }) => ({ file, reason }));
  const usable = done - failures.length;
  if (usable === 0 || failures.length > total / 2) {
    // Not one bad file but a wrong source: say so rather than train on what little is left.
    const what = usable === 0
      ? `none of the ${done === total ? "" : "first "}${done} image(s) could be used`
      : `more than half of the ${total} images could not be used (${failures.length} of the ${done} tried)`;
    throw new DatasetError(`${what} in ${resolve(options.img_dir)}; the first: ${failures[0].reason}`);
  }

  // Close the gaps left by skipped files, keeping the sorted order.
  const usedFiles: string[] = [];
  for (let i = 0; i < total; i++) {
    if (!ok[i]) continue;
    if (usedFiles.length !== i) {
      tiles.copyWithin(usedFiles.length * tileBytes, i * tileBytes, (i + 1) * tileBytes);
    }
    usedFiles.push(files[i]);
  }
  const count = usedFiles.length;
  const data = count === total ? tiles : tiles.slice(0, count * tileBytes);
  return { count, data, usedFiles, skipped, upscaled };
}

/** Worker threads when they can be started, else this thread (said once in the log). */
function openPool(resolution: number, channels: number, workers: number, log: DatasetLog): TilePool {
  try {
    return createTilePool(resolution, channels, workers);
  } catch (error) {
    log.info(`dataset: decoding in the main thread (could not start decode workers: ${messageOf(error)})`);
    return createTilePool(resolution, channels, 0);
  }
}

function reportSkipped(skipped: readonly SkippedFile[], total: number, log: DatasetLog): void {
  if (skipped.length === 0) return;
  for (const { reason } of skipped.slice(0, MAX_NAMED_WARNINGS)) {
    log.warn(`dataset: skipping a bad file: ${reason}`);
  }
  const more = skipped.length - MAX_NAMED_WARNINGS;
  log.warn(
    `dataset: skipped ${skipped.length} of ${total} files` +
      (more > 0 ? ` (${more} more not named above)` : ""),
  );
}

async function warnAboutHeldOut(files: string[], source: DatasetSource, log: DatasetLog): Promise<void> {
  const heldOut = await findHeldOutFiles(files, resolve(source.img_dir), source.folder);
  if (heldOut && heldOut.files.length > 0) {
    log.warn(
      `dataset: allowHoldout is set: training includes ${heldOut.files.length} held-out image(s) from ${heldOut.list}`,
    );
  }
}

function reportUpscaled(upscaled: number, resolution: number, log: DatasetLog): void {
  if (upscaled === 0) return;
  log.warn(
    `dataset: ${upscaled} image(s) smaller than ${resolution} px were upscaled (bilinear); ` +
      `they hold less detail than the resolution suggests`,
  );
}

/** Fewer images than one minibatch would make every step fail; say so before training starts. */
function checkEnough(count: number, minImages: number, source: DatasetSource): void {
  if (count >= minImages) return;
  throw new DatasetError(
    `the dataset ${resolve(source.img_dir)} has ${count} usable image(s) but at least ${minImages} are ` +
      `needed (one minibatch); add images or lower the minibatch size`,
  );
}
