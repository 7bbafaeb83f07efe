/**
 * The types of the dataset loader (model/data/dataset.ts): what it is asked for and what it gives. Kept apart so
 * that the loader's parts (RGB tiles, GeoTIFF plans, labels) share them without importing one another.
 *
 * @module
 */
import type { SkippedFile } from "./cache.ts";
import type { DatasetSource } from "./sources.ts";
import type { LabelSource } from "./labels.ts";
import type { DatasetKind, LinearNormalization, Normalization } from "../geo/normalization.ts";

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
  /** Where each image's land-use label comes from (model/data/labels.ts); undefined: no labels. */
  labels?: LabelSource;
  /**
   * Labelled datasets: fewest usable images per class (e.g. the minibatch-standard-deviation group of the
   * largest minibatch); a class with fewer is a DatasetError naming it. Default 1.
   */
  minPerClass?: number;
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
  /** Labelled datasets: the class names, sorted; a label is an index into them. */
  classNames?: string[];
  /** Labelled datasets: each tile's class, in the order of `files`. */
  labels?: Int32Array;
}

/** A dataset normalised by its statistics (elevation, non-byte bands): float tiles in about [−1, 1]. */
export interface FloatDataset extends Omit<ImageDataset, "data" | "normalization"> {
  /** float32 tiles, NHWC, normalised; NoData filled with the tile's valid mean. */
  data: Float32Array;
  normalization: LinearNormalization;
}
