/**
 * The body of `POST /api/train`: a training configuration with the keys of the YAML files (checked by
 * model/config.ts, so an error names the key), plus an optional top-level `name`, the model name the finished
 * generator is published as. The dataset is confined to SGAN_DATA_ROOT: `dataset.img_dir` and `dataset.label_csv`
 * themselves (no `..`, nothing whose real path leaves the root) and every image it yields (a list file's entries,
 * a folder's files reached through symbolic links), since a list file names its images relative to its own
 * folder or absolutely.
 *
 * @module
 */
import { ConfigError, configFromJson, type TrainConfig, validKeys } from "../../model/config.ts";
import { DatasetError, listImageFiles } from "../../model/data/sources.ts";
import { checkTrainingMemory, MEMORY_FRACTION, TrainingMemoryError } from "../../model/train/memory.ts";
import { ValidationError } from "../errors.ts";
import { MODEL_NAME_PATTERN } from "../models.ts";
import { isInside, resolveDataPath } from "../security.ts";

/** A validated training request. */
export interface TrainRequest {
  /** Model name to publish the finished generator as (undefined: the job chooses one). */
  name?: string;
  /**
   * The validated configuration; `dataset.img_dir` is the real path under the data root. `output_dir` is still
   * the posted one: the job replaces it with its own run directory.
   */
  config: TrainConfig;
}

/** What a body may hold, for error messages. */
const BODY_ALLOWED =
  'a JSON training configuration with the keys of the YAML files in configs/ (e.g. {"dataset": {"img_dir": ' +
  '"tiles/train.txt", "folder": false, "resolution": 64}}), plus an optional "name"';

/** Source name in configuration error messages. */
const SOURCE = "body";

/**
 * Validate a parsed JSON body and confine its dataset to `dataRoot`. Throws {@link ValidationError} (400)
 * naming the field, or ForbiddenError (403) when the server has no data root. With `memoryBytes` (the
 * machine's memory), settings whose estimated training memory exceeds its share are a 400 giving the limit.
 */
export async function parseTrainRequest(
  body: unknown,
  dataRoot: string | undefined,
  memoryBytes?: number,
): Promise<TrainRequest> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError(null, "the body must be a JSON object", BODY_ALLOWED);
  }
  const { name, ...settings } = body as Record<string, unknown>;
  if (name !== undefined && (typeof name !== "string" || !MODEL_NAME_PATTERN.test(name))) {
    throw new ValidationError(
      "name",
      "name must be a model name",
      "1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  }
  const config = checkedConfig(settings);
  if (memoryBytes !== undefined) checkMemory(config, memoryBytes);
  const imgDir = await resolveDataPath(dataRoot, config.dataset.img_dir, "dataset.img_dir");
  await checkImagesInside(dataRoot!, imgDir, config.dataset.folder);
  const confined = structuredClone(config) as TrainConfig;
  confined.dataset.img_dir = imgDir;
  if (config.dataset.labels === "csv") {
    // The label CSV is read by the trainer too: the same confinement as the images (relative to the root).
    confined.dataset.label_csv = await resolveDataPath(
      dataRoot,
      config.dataset.label_csv,
      "dataset.label_csv",
    );
  }
  // A warm start's networks are read by the trainer too: confined like the dataset.
  for (const key of ["generator", "discriminator"] as const) {
    if (config.init[key]) {
      confined.init[key] = await resolveDataPath(dataRoot, config.init[key], `init.${key}`);
    }
  }
  return { name: name as string | undefined, config: confined };
}

/** The configuration, or a 400 naming the key at fault. */
function checkedConfig(settings: Record<string, unknown>): TrainConfig {
  try {
    return configFromJson(JSON.stringify(settings), SOURCE);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // The list of valid keys goes into `allowed`, not into the message.
    const message = e.message.replace(/; valid keys: .*$/s, "");
    throw new ValidationError(e.key, message, e.unknownKey ? validKeys() : BODY_ALLOWED);
  }
}

/** Settings that cannot fit in memory: a 400 with the estimate and the limit (model/train/memory.ts). */
function checkMemory(config: TrainConfig, memoryBytes: number): void {
  try {
    checkTrainingMemory(config, memoryBytes);
  } catch (e) {
    if (!(e instanceof TrainingMemoryError)) throw e;
    throw new ValidationError(
      "model",
      e.message,
      `settings whose estimated training memory is at most ${
        Math.floor(MEMORY_FRACTION * memoryBytes)
      } bytes (${Math.round(MEMORY_FRACTION * 100)}% of the server's memory)`,
    );
  }
}

/**
 * Every image the dataset yields must lie under the root, symbolic links followed (a file that does not exist
 * is checked by its path: the trainer reports it missing).
 */
async function checkImagesInside(dataRoot: string, imgDir: string, folder: boolean): Promise<void> {
  const root = await Deno.realPath(dataRoot);
  const shown = (text: string) => text.replaceAll(root, "$SGAN_DATA_ROOT");
  let files: string[];
  try {
    files = await listImageFiles({ img_dir: imgDir, folder }, { allowHoldout: true });
  } catch (e) {
    if (!(e instanceof DatasetError)) throw e;
    throw new ValidationError(
      "dataset.img_dir",
      shown(e.message),
      "an image folder or a list file of images",
    );
  }
  for (const file of files) {
    let real = file;
    try {
      real = await Deno.realPath(file);
    } catch {
      // missing: its own path decides
    }
    if (!isInside(root, real)) {
      throw new ValidationError(
        "dataset.img_dir",
        `the dataset names an image outside the data root: ${shown(file)}`,
        folder
          ? "a folder whose images (links followed) all lie under the data root"
          : "a list file whose entries (relative to its folder, or absolute) all lie under the data root",
      );
    }
  }
}
