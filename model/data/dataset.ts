/**
 * Load a training dataset: list the images, decode them once into square tiles of the training resolution
 * (on worker threads), and keep them in one uint8 array, cached in the run directory so later epochs and
 * resumed runs start at once.
 *
 * What the files hold is the dataset's kind (see {@link loadTrainingDataset}): 8-bit images (`rgb`, the
 * default), GeoTIFF bands (`multiband`: uint8 as they are, other types normalised by dataset statistics),
 * `elevation` (float, normalised by dataset statistics) or `landcover` (one channel per class). GeoTIFF
 * datasets must be consistent: one band count, one sample type and one pixel size; a file that differs
 * stops the load with an error naming it.
 *
 * Bad data is never silent: one unreadable file among many is a warning naming it and a count; none usable,
 * more than half unusable, or fewer images than asked for (`minImages`, the batch size) is a DatasetError.
 *
 * @module
 */
import { type DatasetSource, findHeldOutFiles, listImageFiles } from "./sources.ts";
import { OutsideRootError, realRoot, withFileInside } from "./confine.ts";
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
import type { SourceFacts, TileMode } from "./prepare.ts";
import { GeoTiffError, type GeoTiffInfo, readGeoTiffInfo } from "../geo/read.ts";
import {
  bandStatistics,
  type DatasetKind,
  defaultPalette,
  type LinearNormalization,
  type Normalization,
  normalizeInPlace,
  rgbToHex,
} from "../geo/normalization.ts";

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
  /**
   * The data root: every file read (list file, images) must lie under it, links followed, checked on the file
   * opened (see confine.ts). Undefined: no confinement (the CLI on a user's own files).
   */
  dataRoot?: string;
  /** Fewest usable images accepted, e.g. the largest minibatch; fewer is a DatasetError. Default 1. */
  minImages?: number;
  /**
   * Decode threads. Default: one per core (at most 8) from {@link MIN_FILES_FOR_WORKERS} files on, else 0
   * (this thread).
   */
  workers?: number;
  /** What the files hold (default `rgb`: PNG, JPEG or TIFF decoded to 8-bit, as before GeoTIFF datasets). */
  kind?: DatasetKind;
  /** GeoTIFF bands to train on, 1-based (default: the first `channels`; land cover: band 1). */
  bands?: number[];
  /** Land cover: the class codes, one channel each, in channel order. */
  classes?: number[];
  /** Land cover: a colour "#rrggbb" per class (default: the file's colour map, else a qualitative palette). */
  palette?: string[];
  /** Land cover: class names, for legends. */
  classNames?: string[];
}

/** The first GeoTIFF of a dataset: its size and georeferencing, the reference for the others. */
export interface DatasetSourceInfo {
  path: string;
  width: number;
  height: number;
  bands: number;
  dtype: string;
  /** Pixel size in metres, or null (no georeferencing, or in degrees). */
  pixelSizeM: [number, number] | null;
  crs: { epsg: number | null; name: string | null } | null;
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
  /** How the tiles map to [−1, 1] and back (stored in checkpoints); set by {@link loadTrainingDataset}. */
  normalization?: Normalization;
  /** The first source file, for GeoTIFF kinds (multiband, elevation, landcover). */
  source?: DatasetSourceInfo;
}

/** A dataset normalised by its statistics (elevation, non-byte bands): float tiles in about [−1, 1]. */
export interface FloatDataset extends Omit<ImageDataset, "data" | "normalization"> {
  /** float32 tiles, NHWC, normalised; NoData filled with the tile's valid mean. */
  data: Float32Array;
  normalization: LinearNormalization;
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
 * Load (or reuse the cache of) a dataset of 8-bit tiles at one resolution: `rgb` images, uint8
 * `multiband` GeoTIFFs, `landcover` (one-hot bytes). Float datasets need {@link loadTrainingDataset}.
 * @throws DatasetError with a message naming the path or file at fault.
 */
export async function loadDataset(options: LoadDatasetOptions): Promise<ImageDataset> {
  const dataset = await loadTrainingDataset(options);
  if (dataset.data instanceof Float32Array) {
    const { dtype } = (dataset as FloatDataset).normalization;
    throw new DatasetError(
      `the dataset ${resolve(options.img_dir)} holds ${dtype} samples, which train as floats; ` +
        `load it with loadTrainingDataset`,
    );
  }
  return dataset as ImageDataset;
}

/**
 * Load (or reuse the cache of) a dataset of any kind at one resolution, with its normalization:
 * 8-bit tiles for `rgb`, uint8 `multiband` and `landcover`; float tiles normalised by the dataset's
 * per-band minimum and maximum for `elevation` and non-byte `multiband`.
 * @throws DatasetError with a message naming the path or file at fault.
 */
export async function loadTrainingDataset(options: LoadDatasetOptions): Promise<ImageDataset | FloatDataset> {
  const started = performance.now();
  const { resolution, channels = 3, kind = "rgb" } = options;
  for (const [name, value] of [["resolution", resolution], ["channels", channels]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new DatasetError(`dataset ${name} must be a positive integer, got ${value}`);
    }
  }

  // List the images (the hold-out guard runs here).
  const files = await listImageFiles(options, {
    allowHoldout: options.allowHoldout,
    root: await rootOf(options),
  });
  if (options.allowHoldout) await warnAboutHeldOut(files, options, options.log ?? CONSOLE_LOG);

  // Decide how files become tiles (GeoTIFF kinds look at the first file).
  const plan = kind === "rgb" ? IMAGE_PLAN : await geoPlan(files, options, channels);
  const loaded = await loadTiles(files, options, plan, started);
  const { normalization: cachedNormalization, ...rest } = loaded;
  const source = plan.reference ? sourceInfoOf(plan.reference) : undefined;
  if (plan.dtype === "float32") {
    return {
      ...rest,
      data: loaded.data as Float32Array,
      normalization: cachedNormalization as LinearNormalization,
      source,
    };
  }
  const normalization: Normalization = plan.normalization ??
    { kind: "rgb", scaling: "uint8", channels, source_bands: null };
  return { ...rest, data: loaded.data as Uint8Array, normalization, source };
}

/** How the files of a dataset become tiles, and what to check. */
interface TilePlan {
  mode: TileMode;
  dtype: "uint8" | "float32";
  /** Part of the cache key (undefined for 8-bit images: their keys predate GeoTIFF datasets). */
  variant?: string;
  /** The first file's header: every file must match its bands, sample type and pixel size. */
  reference?: GeoTiffInfo;
  /** The normalization of 8-bit plans (float plans compute theirs from the tiles). */
  normalization?: Normalization;
  /** Float plans: statistics, NoData fill and normalisation of the decoded tiles, in place. */
  finish?: (data: Float32Array, count: number) => LinearNormalization;
}

const IMAGE_PLAN: TilePlan = { mode: { kind: "image" }, dtype: "uint8" };

/** Plan a GeoTIFF dataset from its first readable file and the options. */
async function geoPlan(files: string[], options: LoadDatasetOptions, channels: number): Promise<TilePlan> {
  const kind = options.kind!;
  const reference = await firstReadableHeader(files, await rootOf(options));
  const where = `dataset.kind ${kind}`;
  const bandNumbers = (wanted: number) => {
    const bands = options.bands?.length
      ? [...options.bands]
      : Array.from({ length: wanted }, (_, b) => b + 1);
    if (bands.length !== wanted) {
      throw new DatasetError(`dataset.bands lists ${bands.length} band(s) but ${where} needs ${wanted}`);
    }
    const missing = bands.find((b) => !Number.isInteger(b) || b < 1 || b > reference.bands);
    if (missing !== undefined) {
      throw new DatasetError(
        `${reference.path} has ${reference.bands} band(s); ${where} with ${wanted} channel(s) asks for band ${missing}`,
      );
    }
    return bands;
  };

  if (kind === "landcover") {
    const classes = options.classes ?? [];
    if (classes.length < 2 || classes.length !== channels) {
      throw new DatasetError(
        `dataset.kind landcover needs dataset.classes (the class codes, at least 2) and dataset.channels equal ` +
          `to their number; got ${classes.length} class(es) and ${channels} channel(s)`,
      );
    }
    if (options.bands && options.bands.length > 1) {
      throw new DatasetError(
        `dataset.kind landcover reads one band of class codes; dataset.bands lists ${options.bands.length}`,
      );
    }
    const band = bandNumbers(1)[0];
    if (reference.dtype.startsWith("float")) {
      throw new DatasetError(
        `${reference.path} holds ${reference.dtype} samples; land-cover classes must be integer codes`,
      );
    }
    const fromFile = reference.colorMap;
    const palette = options.palette?.length
      ? options.palette
      : fromFile && classes.every((c) => c < fromFile.length)
      ? classes.map((c) => rgbToHex(fromFile[c]))
      : defaultPalette(classes.length);
    if (palette.length !== classes.length) {
      throw new DatasetError(`dataset.palette has ${palette.length} colour(s) for ${classes.length} classes`);
    }
    const mode: TileMode = { kind: "classes", band, classes: [...classes] };
    return {
      mode,
      dtype: "uint8",
      variant: JSON.stringify(mode),
      reference,
      normalization: {
        kind: "landcover",
        scaling: "onehot",
        channels,
        classes: [...classes],
        palette,
        ...(options.classNames?.length ? { class_names: [...options.classNames] } : {}),
        source_bands: [band],
      },
    };
  }

  if (kind === "elevation" && channels !== 1) {
    throw new DatasetError(
      `dataset.kind elevation trains one band; set dataset.channels to 1 (got ${channels})`,
    );
  }
  const bands = bandNumbers(channels);
  if (kind === "multiband" && reference.dtype === "uint8") {
    const mode: TileMode = { kind: "bands", bands };
    return {
      mode,
      dtype: "uint8",
      variant: JSON.stringify(mode),
      reference,
      normalization: { kind: "multiband", scaling: "uint8", channels, source_bands: bands },
    };
  }
  const mode: TileMode = { kind: "float", bands };
  return {
    mode,
    dtype: "float32",
    variant: JSON.stringify(mode),
    reference,
    finish: (data, count) => normaliseFloatTiles(data, count, channels, kind, reference, bands),
  };
}

/** The header of the first file that can be read (a bad first file is left to the decode pass to report). */
async function firstReadableHeader(files: string[], root: string | undefined): Promise<GeoTiffInfo> {
  let first: unknown;
  for (const file of files) {
    try {
      return await withFileInside(file, root, readGeoTiffInfo);
    } catch (error) {
      first ??= error;
      if (!(error instanceof GeoTiffError || error instanceof OutsideRootError)) break;
    }
  }
  throw new DatasetError(`no file of the dataset can be read as a GeoTIFF; the first: ${messageOf(first)}`, {
    cause: first,
  });
}

/** Statistics over the valid pixels of all tiles; NoData filled with each tile's valid mean; then (x − offset) / scale. */
function normaliseFloatTiles(
  data: Float32Array,
  count: number,
  channels: number,
  kind: DatasetKind,
  reference: GeoTiffInfo,
  bands: number[],
): LinearNormalization {
  const stats = bandStatistics(data, channels);
  const empty = stats.findIndex((s) => s.valid_pixels === 0);
  if (empty >= 0) {
    throw new DatasetError(
      `band ${bands[empty]} has no valid pixels in any file of the dataset (all NoData)`,
    );
  }
  const tileLength = data.length / Math.max(count, 1);
  for (let t = 0; t < count; t++) {
    const tile = data.subarray(t * tileLength, (t + 1) * tileLength);
    const own = bandStatistics(tile, channels);
    for (let i = 0; i < tile.length; i++) {
      if (tile[i] !== tile[i]) {
        const b = i % channels;
        tile[i] = own[b].valid_pixels > 0 ? own[b].mean : stats[b].mean;
      }
    }
  }
  normalizeInPlace(data, stats);
  const vertical = reference.geo?.crs.geoKeys.VerticalUnitsGeoKey;
  const unit = kind !== "elevation"
    ? null
    : vertical === 9002
    ? "ft"
    : vertical === 9003
    ? "US survey ft"
    : "m";
  return {
    kind: kind === "elevation" ? "elevation" : "multiband",
    scaling: "linear",
    channels,
    dtype: reference.dtype as LinearNormalization["dtype"],
    bands: stats,
    source_bands: bands,
    no_data: reference.noData,
    unit,
  };
}

function sourceInfoOf(info: GeoTiffInfo): DatasetSourceInfo {
  return {
    path: info.path,
    width: info.width,
    height: info.height,
    bands: info.bands,
    dtype: info.dtype,
    pixelSizeM: info.geo?.pixelSizeM ?? null,
    crs: info.geo ? { epsg: info.geo.crs.epsg, name: info.geo.crs.name } : null,
  };
}

/** What {@link loadTiles} gives: the dataset fields, with tiles of the plan's sample type. */
type LoadedTiles = Omit<ImageDataset, "data" | "normalization" | "source"> & {
  data: Uint8Array | Float32Array;
  normalization?: unknown;
};

/** List → cache or decode → (float plans) normalise → cache. */
async function loadTiles(
  files: string[],
  options: LoadDatasetOptions,
  plan: TilePlan,
  started: number,
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
  const decodedImages = await decodeAll(files, resolution, channels, options, log, plan);
  const { count, data, usedFiles, skipped, upscaled } = decodedImages;
  reportSkipped(skipped, files.length, log);
  reportUpscaled(upscaled, resolution, log);
  checkEnough(count, minImages, options);
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
    await rootOf(options),
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

/** The real path of the options' data root, or undefined without one. */
async function rootOf(options: LoadDatasetOptions): Promise<string | undefined> {
  return options.dataRoot === undefined ? undefined : await realRoot(options.dataRoot);
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

/**
 * Why a GeoTIFF does not belong with the dataset's first file (band count, sample type, pixel size), or
 * undefined when it does. Pixel sizes agree within one part in a million.
 */
function inconsistency(
  file: string,
  facts: SourceFacts | undefined,
  reference: GeoTiffInfo,
): DatasetError | undefined {
  if (!facts || file === reference.path) return undefined;
  const mixed = (what: string, here: string, there: string) =>
    new DatasetError(
      `mixed ${what} in one dataset: ${file} has ${here} but ${reference.path} has ${there}; ` +
        `a dataset must be consistent (cut it with deno task tiles from matching rasters)`,
    );
  if (facts.bands !== reference.bands) {
    return mixed("band counts", `${facts.bands} band(s)`, `${reference.bands}`);
  }
  if (facts.dtype !== reference.dtype) return mixed("sample types", facts.dtype, reference.dtype);
  const ref = reference.geo?.pixelSize ?? null;
  const own = facts.pixelSize;
  const unit = reference.geo?.crs.unit.metres === 1 ? " m" : "";
  const size = (p: [number, number] | null) => (p ? `a ${p[0]} × ${p[1]}${unit} pixel` : "no georeferencing");
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
  if (
    (ref === null) !== (own === null) || (ref && own && !(close(ref[0], own[0]) && close(ref[1], own[1])))
  ) {
    return mixed("pixel sizes", size(own), size(ref));
  }
  return undefined;
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
