/**
 * The training data of a run: the dataset module's cached tiles (and, with dataset.labels, each image's class)
 * behind the loop's {@link TrainingData}.
 */
import type { TrainConfig } from "../config.ts";
import { DatasetError, type FloatDataset, type LabelSource, loadTrainingDataset } from "../data/dataset.ts";
import { BatchSampler, type BatchSamplerState, batchToTensor } from "../data/batches.ts";
import { realRoot, withFileInside } from "../data/confine.ts";
import { decodeImageFile } from "../data/decode.ts";
import type { TrainingData } from "./loop.ts";
import type { RunDir } from "./run_dir.ts";
import type { ImageDataset } from "../data/dataset.ts";
import type { Raster8 } from "../images.ts";
import { readGeoTiffInfo } from "../geo/read.ts";

/**
 * Load (or reuse the cache of) the configured dataset and serve shuffled, augmented batches.
 * The ground sample distance at the training resolution is the source's (the first GeoTIFF's pixel size,
 * or dataset.gsd_m; see dataset.gsd_source) scaled by source size / resolution.
 * @param dataRoot every file read must lie under it (links followed, checked on the opened file), or undefined.
 */
export async function openTrainingData(
  config: TrainConfig,
  run: RunDir,
  log: (line: string) => void,
  dataRoot?: string,
): Promise<TrainingData> {
  const d = config.dataset;
  const largestBatch = Math.max(...config.sched.batch_sizes.slice(0, Math.log2(d.resolution) - 1));
  // Each class must fill one minibatch-standard-deviation group (the group is cut to the minibatch).
  const mbstdGroup = Math.min(config.model.dis.mbstd_group_size, largestBatch);
  let lastPercent = -1;
  const dataset = await loadTrainingDataset({
    img_dir: d.img_dir,
    folder: d.folder,
    resolution: d.resolution,
    channels: d.channels,
    kind: d.kind,
    bands: d.bands.length ? [...d.bands] : undefined,
    classes: [...d.classes],
    palette: [...d.palette],
    classNames: [...d.class_names],
    labels: labelSource(d),
    minPerClass: Math.max(1, mbstdGroup),
    cacheDir: run.cache,
    dataRoot,
    minImages: largestBatch,
    log: { info: log, warn: (m) => log(`warning: ${m}`) },
    onProgress: (done, total) => {
      const percent = Math.floor((100 * done) / total);
      if (percent % 10 === 0 && percent !== lastPercent) {
        lastPercent = percent;
        log(`dataset: ${done}/${total} images prepared`);
      }
    },
  });
  log(
    `dataset: ${dataset.count} images at ${d.resolution} px in ${dataset.seconds.toFixed(1)} s` +
      (dataset.fromCache ? " (from cache)" : "") +
      (dataset.skipped.length ? `, ${dataset.skipped.length} skipped` : ""),
  );
  if (dataset.classNames && dataset.labels) {
    const counts = dataset.classNames.map(() => 0);
    for (const label of dataset.labels) counts[label]++;
    const from = d.labels === "csv" ? d.label_csv : "the folders";
    const range = `${Math.min(...counts)} to ${Math.max(...counts)} images each`;
    log(`dataset: ${dataset.classNames.length} classes from ${from} (${range})`);
  }
  const root = dataRoot === undefined ? undefined : await realRoot(dataRoot);
  const source = await groundSampleDistance(config, dataset.files[0], log, root);
  const sampler = new BatchSampler(dataset, config.seed);
  const labels = dataset.labels;
  const augment = { xflip: d.xflip, yflip: d.yflip, rot90: d.rot90 };
  return {
    count: dataset.count,
    gsdM: source.gsdM * source.sidePx / d.resolution,
    normalization: dataset.normalization,
    // The sampler starts a new permutation by itself when an epoch's whole batches are used up.
    classNames: dataset.classNames,
    labels,
    // The labels follow the sampler's indices, so a resumed sampler gives the same labels with the same images.
    nextBatch: (size) => {
      const indices = sampler.nextBatch(size);
      const images = batchToTensor(dataset, indices, augment, sampler.augmentRng);
      return labels ? { images, labels: Int32Array.from(indices, (i) => labels[i]) } : { images };
    },
    evalImages: (n, resolution) => evalImages(dataset, n, resolution),
    getState: () => sampler.getState(),
    setState: (state) => sampler.setState(state as BatchSamplerState),
  };
}

/** The dataset's label keys as the loader's {@link LabelSource}; undefined for `labels: none`. */
export function labelSource(d: TrainConfig["dataset"]): LabelSource | undefined {
  if (d.labels === "none") return undefined;
  if (d.labels === "folder") return { kind: "folder" };
  return { kind: "csv", csv: d.label_csv, classColumn: d.label_column, fileColumn: d.label_file_column };
}

/**
 * The source's ground sample distance (m/px) and the side of the centre square of the first file (the
 * source size that it refers to), as dataset.gsd_source says: `auto` takes a GeoTIFF's pixel size when
 * the first file has one in metres, else dataset.gsd_m; `geotiff` requires it; `config` uses gsd_m.
 */
export async function groundSampleDistance(
  config: TrainConfig,
  firstFile: string,
  log: (line: string) => void = () => {},
  root?: string,
): Promise<{ gsdM: number; sidePx: number; from: "geotiff" | "config" }> {
  const d = config.dataset;
  if (d.gsd_source !== "config") {
    const info = await withFileInside(firstFile, root, readGeoTiffInfo).catch((error) => {
      if (d.gsd_source === "geotiff") {
        throw new DatasetError(`dataset.gsd_source is geotiff but ${error.message}`);
      }
      return undefined;
    });
    const pixel = info?.geo?.pixelSizeM;
    if (pixel && info) {
      if (Math.abs(pixel[0] - pixel[1]) > 1e-3 * pixel[0]) {
        log(`warning: ${firstFile} has rectangular pixels (${pixel[0]} × ${pixel[1]} m); using the x size`);
      }
      const sidePx = d.source_px > 0 ? d.source_px : Math.min(info.width, info.height);
      log(`dataset: ground sample distance ${pixel[0]} m/px from ${firstFile} (GeoTIFF pixel size)`);
      return { gsdM: pixel[0], sidePx, from: "geotiff" };
    }
    if (d.gsd_source === "geotiff") {
      throw new DatasetError(
        `dataset.gsd_source is geotiff but ${firstFile} has no pixel size in metres ` +
          `(${
            info?.geo ? `its CRS is in ${info.geo.crs.unit.name}` : "no georeferencing"
          }); set dataset.gsd_m ` +
          `and dataset.gsd_source: config`,
      );
    }
  }
  const sidePx = d.source_px > 0 ? d.source_px : await sourceSide(firstFile, root);
  return { gsdM: d.gsd_m, sidePx, from: "config" };
}

/** Side of the centre square of the first image, the source size that dataset.gsd_m refers to. */
async function sourceSide(file: string, root: string | undefined): Promise<number> {
  try {
    const info = await withFileInside(file, root, readGeoTiffInfo);
    return Math.min(info.width, info.height);
  } catch {
    const raster = await decodeImageFile(file, { root });
    return Math.min(raster.width, raster.height);
  }
}

/**
 * `n` real tiles spread evenly over the dataset (lists are often sorted by class), box-averaged down to
 * `resolution`: the reference set of the in-training MS-SWD.
 */
function evalImages(dataset: ImageDataset | FloatDataset, n: number, resolution: number): Raster8[] {
  const { resolution: full, channels, data } = dataset;
  const factor = full / resolution;
  if (!Number.isInteger(factor) || factor < 1) {
    throw new RangeError(`cannot shrink ${full} px tiles to ${resolution} px`);
  }
  const count = Math.min(n, dataset.count);
  const out: Raster8[] = [];
  for (let i = 0; i < count; i++) {
    const index = Math.floor((i * dataset.count) / count);
    // Float tiles (normalised to about [−1, 1]) become bytes by the rule generated images follow (toRgb8).
    const tile = data instanceof Float32Array
      ? Uint8Array.from(
        data.subarray(index * full * full * channels, (index + 1) * full * full * channels),
        (v) => Math.round((Math.max(-1, Math.min(1, v)) + 1) * 127.5),
      )
      : data.subarray(index * full * full * channels, (index + 1) * full * full * channels);
    const small = new Uint8Array(resolution * resolution * channels);
    for (let y = 0; y < resolution; y++) {
      for (let x = 0; x < resolution; x++) {
        for (let c = 0; c < channels; c++) {
          let sum = 0;
          for (let dy = 0; dy < factor; dy++) {
            for (let dx = 0; dx < factor; dx++) {
              sum += tile[((y * factor + dy) * full + x * factor + dx) * channels + c];
            }
          }
          small[(y * resolution + x) * channels + c] = Math.round(sum / (factor * factor));
        }
      }
    }
    out.push({ width: resolution, height: resolution, channels, data: small });
  }
  return out;
}
