/**
 * The tiles of a listed dataset: from the run's cache when it matches the files exactly, else decoded (on
 * worker threads from {@link MIN_FILES_FOR_WORKERS} files on) by the dataset's tile plan and cached. Bad files
 * are skipped with a warning naming them; too few usable ones is a DatasetError, raised before anything is
 * written.
 *
 * @module
 */
import { resolve } from "node:path";
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
import type { TileMode } from "./prepare.ts";
import type { DatasetSource } from "./sources.ts";
import type { DatasetLog, ImageDataset, LoadDatasetOptions } from "./dataset_types.ts";
import { IMAGE_PLAN, inconsistency, type TilePlan } from "./geo_plan.ts";

/**
 * Below this many files, decoding in this thread is as quick: starting the workers (each loads the
 * decoders) costs about 0.3 s, and on 2 cores the break-even measured here was about 256 UC Merced tiles.
 */
export const MIN_FILES_FOR_WORKERS = 256;

/** How many skipped files are named one by one before the rest are summarised. */
const MAX_NAMED_WARNINGS = 10;

/** The default log: warnings to the console, information dropped. */
export const CONSOLE_LOG: DatasetLog = { info() {}, warn: (message) => console.warn(message) };

/** What {@link loadTiles} gives: the dataset fields, with tiles of the plan's sample type. */
export type LoadedTiles = Omit<ImageDataset, "data" | "normalization" | "source"> & {
  data: Uint8Array | Float32Array;
  normalization?: unknown;
};

/** How {@link loadTiles} runs. */
export interface LoadTilesContext {
  /** `performance.now()` when the load began, for the reported time. */
  started: number;
  /** The real data root, or undefined (no confinement). */
  root: string | undefined;
  /**
   * Called with the usable files (cache hit or fresh decode) before anything is written; throws to refuse
   * them (the labels' per-class counts).
   */
  check?: (usedFiles: readonly string[]) => void;
}

/** Cache or decode → check → (float plans) normalise → cache. */
export async function loadTiles(
  files: string[],
  options: LoadDatasetOptions,
  plan: TilePlan,
  { started, root, check }: LoadTilesContext,
): Promise<LoadedTiles> {
  const { resolution, channels = 3, cacheDir, log = CONSOLE_LOG, onProgress, minImages = 1 } = options;
  const float = plan.dtype === "float32";

  // Reuse the cache when it matches these files exactly.
  let cachePath: string | undefined;
  let key = "";
  if (cacheDir !== undefined) {
    const stamps = await stampFiles(files);
    key = await datasetCacheKey(stamps, resolution, channels, plan.variant);
    cachePath = datasetCachePath(cacheDir, resolution, channels, key);
    const cached = await readDatasetCache(cachePath, { key, resolution, channels, dtype: plan.dtype });
    if (cached && "header" in cached && (!float || cached.header.normalization)) {
      const { header } = cached;
      const data = float
        ? new Float32Array(cached.data.buffer, cached.data.byteOffset, cached.data.byteLength / 4)
        : cached.data;
      reportSkipped(header.skipped, files.length, log);
      reportUpscaled(header.upscaled, resolution, log);
      checkEnough(header.count, minImages, options);
      check?.(header.files);
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
        normalization: header.normalization,
      };
    }
    if (cached) {
      const problem = "problem" in cached ? cached.problem : "it has no normalization";
      log.warn(`dataset cache ${cachePath} is not used because ${problem}; rebuilding it`);
    }
  }

  // Decode every file into its tile.
  const decodedImages = await decodeAll(files, resolution, channels, options, log, plan, root);
  const { count, data, usedFiles, skipped, upscaled } = decodedImages;
  reportSkipped(skipped, files.length, log);
  reportUpscaled(upscaled, resolution, log);
  checkEnough(count, minImages, options);
  check?.(usedFiles);
  const normalization = plan.finish?.(data as Float32Array, count);

  if (cachePath !== undefined) {
    await writeDatasetCache(cachePath, {
      key,
      resolution,
      channels,
      count,
      files: usedFiles,
      skipped,
      upscaled,
      ...(float ? { dtype: "float32" as const, normalization } : {}),
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
    normalization,
  };
}

interface DecodedImages {
  count: number;
  data: Uint8Array | Float32Array;
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
  plan: TilePlan = IMAGE_PLAN,
  root?: string,
): Promise<DecodedImages> {
  const tileBytes = resolution * resolution * channels; // samples per tile (bytes for 8-bit plans)
  const total = files.length;
  const tiles = plan.dtype === "float32"
    ? new Float32Array(total * tileBytes)
    : new Uint8Array(total * tileBytes);
  const ok = new Uint8Array(total);
  const failures: (SkippedFile & { index: number })[] = [];
  let upscaled = 0;
  let done = 0;
  let next = 0;
  let fatal: unknown;
  let inconsistent: DatasetError | undefined;

  const pool = openPool(
    resolution,
    channels,
    options.workers ?? (total >= MIN_FILES_FOR_WORKERS ? defaultWorkerCount() : 0),
    log,
    plan.mode,
    root,
  );
  try {
    const lane = async () => {
      while (next < total && fatal === undefined && !inconsistent && failures.length <= total / 2) {
        const index = next++;
        try {
          const tile = await pool.prepare(files[index]);
          if (plan.reference) {
            inconsistent ??= inconsistency(files[index], tile.source, plan.reference);
            if (inconsistent) break;
          }
          (tiles as Uint8Array).set(tile.data as Uint8Array, index * tileBytes);
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
  if (inconsistent) throw inconsistent;
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
function openPool(
  resolution: number,
  channels: number,
  workers: number,
  log: DatasetLog,
  mode: TileMode = { kind: "image" },
  root?: string,
): TilePool {
  try {
    return createTilePool(resolution, channels, workers, mode, root);
  } catch (error) {
    log.info(`dataset: decoding in the main thread (could not start decode workers: ${messageOf(error)})`);
    return createTilePool(resolution, channels, 0, mode, root);
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
