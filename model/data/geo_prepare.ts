/**
 * One GeoTIFF → one training tile, for the datasets that are not plain images (see {@link TileMode}):
 * byte bands as they are (RGB + NIR), float samples for statistics (elevation, uint16 bands), and
 * categorical rasters as one-hot channels (land cover). Reading goes through model/geo/read.ts; its
 * errors become DatasetErrors naming the file, so one bad file among many is skipped like a bad image.
 *
 * @module
 */
import { GeoTiffError, type GeoTiffInfo, isNoDataValue, readGeoTiff } from "../geo/read.ts";
import type { Raster8 } from "../images.ts";
import { DatasetError, messageOf } from "./errors.ts";
import { type ResampleMethod, toTrainingTile } from "./resize.ts";
import { toFloatTrainingTile } from "./resize_float.ts";

/** How a file becomes a tile. */
export type TileMode =
  /** PNG, JPEG or TIFF through decode.ts (RGB or grey, 8-bit; the default). */
  | { kind: "image" }
  /** uint8 GeoTIFF bands as they are (1-based band numbers). */
  | { kind: "bands"; bands: number[] }
  /** Any sample type as float32, NoData as NaN, to be normalised with dataset statistics afterwards. */
  | { kind: "float"; bands: number[] }
  /** A categorical band as one channel per class, 255 where the pixel has the class and 0 elsewhere. */
  | { kind: "classes"; band: number; classes: number[] };

/** What a source file is, for the dataset's consistency checks. */
export interface SourceFacts {
  bands: number;
  dtype: string;
  /** Pixel size in map units, or null without georeferencing. */
  pixelSize: [number, number] | null;
  /** Pixel size in metres, or null without georeferencing (or in degrees). */
  pixelSizeM: [number, number] | null;
  noData: number | null;
}

/** A geo tile: uint8 (bands, classes) or float32 with NaN for NoData (float). */
export interface GeoTile {
  data: Uint8Array | Float32Array;
  method: ResampleMethod;
  sourceWidth: number;
  sourceHeight: number;
  source: SourceFacts;
}

/** The facts of a header. */
export function sourceFactsOf(info: GeoTiffInfo): SourceFacts {
  return {
    bands: info.bands,
    dtype: info.dtype,
    pixelSize: info.geo?.pixelSize ?? null,
    pixelSizeM: info.geo?.pixelSizeM ?? null,
    noData: info.noData,
  };
}

/**
 * Read `path` and make a `resolution`-px tile of it as `mode` says.
 * @throws DatasetError naming the file (unreadable, wrong type, unknown class, entirely NoData, ...).
 */
export async function prepareGeoTile(
  path: string,
  resolution: number,
  channels: number,
  mode: Exclude<TileMode, { kind: "image" }>,
): Promise<GeoTile> {
  const bands = mode.kind === "classes" ? [mode.band] : mode.bands;
  let raster;
  try {
    raster = await readGeoTiff(path, { bands });
  } catch (error) {
    if (error instanceof GeoTiffError) throw new DatasetError(error.message, { cause: error });
    throw new DatasetError(`cannot read ${path}: ${messageOf(error)}`, { cause: error });
  }
  const { width, height, data, noData } = raster;
  const source = sourceFactsOf(raster);
  const pixels = width * height;

  if (mode.kind === "float") {
    const values = new Float32Array(data.length);
    let valid = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (isNoDataValue(v, noData)) values[i] = NaN;
      else {
        values[i] = v;
        valid++;
      }
    }
    if (valid === 0) {
      throw new DatasetError(`${path} holds no valid pixels (all NoData${noDataNote(noData)})`);
    }
    const { raster: tile, method } = toFloatTrainingTile(
      { width, height, channels, data: values },
      resolution,
    );
    return { data: tile.data, method, sourceWidth: width, sourceHeight: height, source };
  }

  if (mode.kind === "bands") {
    // A source of another sample type gives only its facts: the loader refuses the mixed dataset as a whole.
    if (!(data instanceof Uint8Array)) {
      return { data: new Uint8Array(0), method: "none", sourceWidth: width, sourceHeight: height, source };
    }
    const { raster: tile, method } = toTrainingTile({ width, height, channels, data }, resolution);
    return { data: tile.data, method, sourceWidth: width, sourceHeight: height, source };
  }

  // Classes: one-hot bytes, so that the 8-bit cache, area averaging (class fractions) and the
  // [−1, 1] mapping of image datasets serve land cover unchanged.
  const index = new Map(mode.classes.map((code, i) => [code, i]));
  const oneHot = new Uint8Array(pixels * channels);
  let valid = 0;
  for (let p = 0; p < pixels; p++) {
    const code = data[p];
    if (isNoDataValue(code, noData)) continue;
    const k = index.get(code);
    if (k === undefined) {
      const y = Math.floor(p / width);
      throw new DatasetError(
        `${path} has the class code ${code} (at column ${p - y * width}, row ${y}), which is not in ` +
          `dataset.classes [${mode.classes.join(", ")}]; add it, or mark it as NoData in the file`,
      );
    }
    oneHot[p * channels + k] = 255;
    valid++;
  }
  if (valid === 0) throw new DatasetError(`${path} holds no valid pixels (all NoData${noDataNote(noData)})`);
  const raster8: Raster8 = { width, height, channels, data: oneHot };
  const { raster: tile, method } = toTrainingTile(raster8, resolution);
  return { data: tile.data, method, sourceWidth: width, sourceHeight: height, source };
}

function noDataNote(noData: number | null): string {
  return noData === null ? "" : `: every pixel is ${noData}`;
}
