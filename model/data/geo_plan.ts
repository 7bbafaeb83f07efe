/**
 * How the files of a dataset become tiles: 8-bit images as they are ({@link IMAGE_PLAN}), or a plan for a
 * GeoTIFF dataset made from its first readable file (bands, land-cover classes, float normalisation), and the
 * check that every other GeoTIFF matches that file.
 *
 * @module
 */
import { OutsideRootError, withFileInside } from "./confine.ts";
import { DatasetError, messageOf } from "./errors.ts";
import type { SourceFacts, TileMode } from "./prepare.ts";
import type { DatasetSourceInfo, LoadDatasetOptions } from "./dataset_types.ts";
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

/** How the files of a dataset become tiles, and what to check. */
export interface TilePlan {
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

/** 8-bit images (PNG, JPEG, TIFF), decoded as they are. */
export const IMAGE_PLAN: TilePlan = { mode: { kind: "image" }, dtype: "uint8" };

/**
 * Plan a GeoTIFF dataset (`options.kind` other than rgb) from its first readable file and the options.
 * @param root the real data root, or undefined (no confinement).
 */
export async function geoPlan(
  files: string[],
  options: LoadDatasetOptions,
  channels: number,
  root: string | undefined,
): Promise<TilePlan> {
  const kind = options.kind!;
  const reference = await firstReadableHeader(files, root);
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

/** The facts of a plan's reference file that the dataset reports. */
export function sourceInfoOf(info: GeoTiffInfo): DatasetSourceInfo {
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

/**
 * Why a GeoTIFF does not belong with the dataset's first file (band count, sample type, pixel size), or
 * undefined when it does. Pixel sizes agree within one part in a million.
 */
export function inconsistency(
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
