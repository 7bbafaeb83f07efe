/**
 * Load a training dataset: list the images, decode them once into square tiles of the training resolution
 * (on worker threads), and keep them in one uint8 array, cached in the run directory so later epochs and
 * resumed runs start at once.
 *
 * What the files hold is the dataset's kind (see {@link loadTrainingDataset}): 8-bit images (`rgb`, the
 * default), GeoTIFF bands (`multiband`: uint8 as they are, other types normalised by dataset statistics),
 * `elevation` (float, normalised by dataset statistics) or `landcover` (one channel per class). GeoTIFF
 * datasets must be consistent: one band count, one sample type and one pixel size; a file that differs
 * stops the load with an error naming it. Any kind may carry land-use labels per image (`labels`: from
 * folders or a CSV; model/data/labels.ts).
 *
 * Bad data is never silent: one unreadable file among many is a warning naming it and a count; none usable,
 * more than half unusable, or fewer images than asked for (`minImages`, the batch size) is a DatasetError.
 *
 * The parts: sources.ts lists the files, geo_plan.ts plans GeoTIFF kinds, tiles.ts caches or decodes,
 * labels.ts and label_csv.ts label; this module puts them in that order.
 *
 * @module
 */
import { resolve } from "node:path";
import { type DatasetSource, findHeldOutFiles, listImageFiles } from "./sources.ts";
import { realRoot } from "./confine.ts";
import { DatasetError } from "./errors.ts";
import { geoPlan, IMAGE_PLAN, sourceInfoOf } from "./geo_plan.ts";
import { CONSOLE_LOG, loadTiles } from "./tiles.ts";
import {
  checkClassSizes,
  type DatasetLabels,
  folderLabels,
  indexLabels,
  type LabelSource,
} from "./labels.ts";
import { csvClasses } from "./label_csv.ts";
import type { DatasetLog, FloatDataset, ImageDataset, LoadDatasetOptions } from "./dataset_types.ts";
import type { LinearNormalization, Normalization } from "../geo/normalization.ts";

export { DatasetError } from "./errors.ts";
export type { SkippedFile } from "./cache.ts";
export type {
  DatasetLog,
  DatasetSourceInfo,
  FloatDataset,
  ImageDataset,
  LoadDatasetOptions,
} from "./dataset_types.ts";
export type { LabelSource } from "./labels.ts";
export { MIN_FILES_FOR_WORKERS } from "./tiles.ts";

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
 * per-band minimum and maximum for `elevation` and non-byte `multiband`. With `labels`, each tile's class.
 * @throws DatasetError with a message naming the path or file at fault; nothing is written then.
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
  const root = await rootOf(options);
  const files = await listImageFiles(options, { allowHoldout: options.allowHoldout, root });
  if (options.allowHoldout) await warnAboutHeldOut(files, options, options.log ?? CONSOLE_LOG);

  // Label the listed files before decoding, so that a bad CSV stops the load at once.
  const listed = options.labels ? await labelFiles(files, options.labels, root) : undefined;
  const minPerClass = options.minPerClass ?? 1;
  if (listed) checkClassSizes(listed, minPerClass);
  const labelOf = new Map(listed ? files.map((file, i) => [file, listed.labels[i]]) : []);
  const labelsOf = (used: readonly string[]) => Int32Array.from(used, (file) => labelOf.get(file)!);

  // Decide how files become tiles (GeoTIFF kinds look at the first file), then cache or decode them.
  const plan = kind === "rgb" ? IMAGE_PLAN : await geoPlan(files, options, channels, root);
  const loaded = await loadTiles(files, options, plan, {
    started,
    root,
    // Skipped files can leave a class short: refused before the cache is written.
    check: listed && ((used) => checkClassSizes({ ...listed, labels: labelsOf(used) }, minPerClass)),
  });
  const { normalization: cachedNormalization, ...rest } = loaded;
  const source = plan.reference ? sourceInfoOf(plan.reference) : undefined;
  const labelled = listed ? { classNames: [...listed.classNames], labels: labelsOf(loaded.files) } : {};
  if (plan.dtype === "float32") {
    return {
      ...rest,
      data: loaded.data as Float32Array,
      normalization: cachedNormalization as LinearNormalization,
      source,
      ...labelled,
    };
  }
  const normalization: Normalization = plan.normalization ??
    { kind: "rgb", scaling: "uint8", channels, source_bands: null };
  return { ...rest, data: loaded.data as Uint8Array, normalization, source, ...labelled };
}

/** The labels of the listed files from their folders or a CSV. */
async function labelFiles(
  files: string[],
  source: LabelSource,
  root: string | undefined,
): Promise<DatasetLabels> {
  if (source.kind === "folder") return folderLabels(files);
  const classes = await csvClasses(files, source.csv, source, root);
  return indexLabels(classes, `the label CSV ${resolve(source.csv)} (column "${source.classColumn}")`);
}

/** The real path of the options' data root, or undefined without one. */
async function rootOf(options: LoadDatasetOptions): Promise<string | undefined> {
  return options.dataRoot === undefined ? undefined : await realRoot(options.dataRoot);
}

async function warnAboutHeldOut(files: string[], source: DatasetSource, log: DatasetLog): Promise<void> {
  const heldOut = await findHeldOutFiles(files, resolve(source.img_dir), source.folder);
  if (heldOut && heldOut.files.length > 0) {
    log.warn(
      `dataset: allowHoldout is set: training includes ${heldOut.files.length} held-out image(s) from ${heldOut.list}`,
    );
  }
}
