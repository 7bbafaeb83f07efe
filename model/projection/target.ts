/**
 * The target of a projection: a PNG, JPEG or GeoTIFF resampled to the model's resolution and ground
 * resolution, with a one-line account of what was done ("0.6 m/px → 1.2 m/px, 128 → 64 px (box average)").
 *
 * 1. The header gives the size (nothing decoded yet): more than `maxPixels` is refused.
 * 2. The ground covered by the model's tile (resolution × the model's m/px) is cut from the centre of the
 *    image, as source pixels: the source's m/px comes from the GeoTIFF, or from the caller for PNG/JPEG. When
 *    the image is smaller than that, its largest centred square is used (and the line says how far off).
 *    Without a known ground resolution on either side, the largest centred square is used as is.
 * 3. That square is box-averaged down to the resolution (model/data/resize.ts: exact area averaging), or
 *    bilinearly up by at most `maxUpsample` (more is refused: the model would be asked for detail the
 *    image does not hold).
 *
 * A GeoTIFF's CRS and geotransform travel with the result, adjusted to the crop and the new pixel size, so a
 * reconstruction written with them lies on the same ground. Every refusal is a {@link TargetError} naming the
 * file and the reason.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { decodeImage, detectFormat, type ImageFormat, stretchToUint8 } from "../data/decode.ts";
import { messageOf } from "../data/errors.ts";
import { areaResize, bilinearResize } from "../data/resize.ts";
import type { Raster8 } from "../images.ts";
import {
  type GeoTiffFile,
  type GeoTransform,
  isNoDataValue,
  openGeoTiff,
  type PixelWindow,
  windowGeoTransform,
} from "../geo/read.ts";
import { jpegDimensions, pngDimensions } from "./image_header.ts";

/** Why a target was refused (for the API: too-large → 413, not-an-image → 415, the rest → 422). */
export type TargetErrorReason =
  | "unreadable"
  | "not-an-image"
  | "corrupt"
  | "too-large"
  | "no-ground-resolution"
  | "no-data"
  | "bands"
  | "upsampling";

/** A target that cannot be used; the message names the file. */
export class TargetError extends Error {
  override name = "TargetError";
  constructor(
    readonly file: string,
    readonly reason: TargetErrorReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** What the model needs, and the limits. */
export interface TargetOptions {
  /** The model's tile side, px. */
  resolution: number;
  /** The model's channels (1 or 3 for PNG/JPEG; any for GeoTIFF). */
  channels: number;
  /** The model's ground resolution, m/px (the checkpoint's gsd_m), if known. */
  modelGsdM?: number;
  /** The source's ground resolution, m/px: needed for PNG/JPEG to match scales, overrides a GeoTIFF's. */
  sourceGsdM?: number;
  /** Refuse images with more pixels than this, by their header (default 40 M, e.g. 6,300 × 6,300). */
  maxPixels?: number;
  /** Largest upsampling factor accepted (default 2). */
  maxUpsample?: number;
}

/** Defaults of the limits. */
export const TARGET_LIMITS = Object.freeze({ maxPixels: 40_000_000, maxUpsample: 2 });

/** A resampled target. */
export interface ProjectionTarget {
  /** resolution × resolution × channels, 8-bit. */
  raster: Raster8;
  /** One line: what was done. */
  description: string;
  source: { path: string; format: ImageFormat; width: number; height: number; gsdM: number | null };
  /** The square of the source used, in its pixels. */
  window: PixelWindow;
  /** Ground resolution of the target tile, m/px (null when unknown). */
  gsdM: number | null;
  /** Where the target tile lies, for a GeoTIFF source: its geotransform (target pixels) and CRS. */
  geo?: {
    geoTransform: GeoTransform;
    crs: { epsg: number | null; name: string | null; geoKeys: Record<string, unknown> };
  };
}

/**
 * Load and resample a projection target.
 * @throws TargetError naming `path`.
 */
export async function loadTarget(path: string, options: TargetOptions): Promise<ProjectionTarget> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ? "file not found" : messageOf(error);
    throw new TargetError(path, "unreadable", `cannot read ${path}: ${why}`, { cause: error });
  }
  return await targetFromBytes(bytes, path, options);
}

/**
 * {@link loadTarget} for bytes already in memory (an upload); `name` is used in messages. GeoTIFF bytes are
 * written to a temporary file, since the GeoTIFF reader opens files (it reads headers without the pixels).
 */
export async function targetFromBytes(
  bytes: Uint8Array,
  name: string,
  options: TargetOptions,
): Promise<ProjectionTarget> {
  const format = detectFormat(bytes);
  if (!format) {
    throw new TargetError(name, "not-an-image", `${name} is not a PNG, JPEG or TIFF image`);
  }
  if (format === "tiff") return await tiffTarget(bytes, name, options);
  return await pictureTarget(bytes, name, format, options);
}

/** [1, H, W, C] in [−1, 1] (x / 127.5 − 1, as StyleGAN's data pipeline) of a target raster. */
export function targetTensor(raster: Raster8): tf.Tensor4D {
  const { width, height, channels, data } = raster;
  return tf.tensor4d(Float32Array.from(data, (v) => v / 127.5 - 1), [1, height, width, channels]);
}

async function pictureTarget(
  bytes: Uint8Array,
  name: string,
  format: "png" | "jpeg",
  options: TargetOptions,
): Promise<ProjectionTarget> {
  const size = format === "png" ? pngDimensions(bytes) : jpegDimensions(bytes);
  if (!size) {
    throw new TargetError(
      name,
      "corrupt",
      `${name}: the ${format.toUpperCase()} header is cut short or malformed (truncated file?)`,
    );
  }
  checkPixels(name, size.width, size.height, options);
  if (options.channels !== 1 && options.channels !== 3) {
    throw new TargetError(
      name,
      "bands",
      `${name} is a ${format.toUpperCase()} (RGB); the model needs ${options.channels} bands: give a GeoTIFF`,
    );
  }
  const plan = planCrop(size.width, size.height, options.sourceGsdM ?? null, options);
  let decoded: Raster8;
  try {
    decoded = await decodeImage(bytes, name, { channels: options.channels });
  } catch (error) {
    throw new TargetError(name, "corrupt", messageOf(error), { cause: error });
  }
  const cropped = cropRaster(decoded, plan.window);
  return finish(name, format, size, plan, cropped, options);
}

async function tiffTarget(
  bytes: Uint8Array,
  name: string,
  options: TargetOptions,
): Promise<ProjectionTarget> {
  const dir = await Deno.makeTempDir({ prefix: "sgan-target-" });
  const temporary = `${dir}/target.tif`;
  let file: GeoTiffFile | undefined;
  try {
    await Deno.writeFile(temporary, bytes);
    try {
      file = await openGeoTiff(temporary);
    } catch (error) {
      throw new TargetError(name, "corrupt", messageOf(error).replaceAll(temporary, name), { cause: error });
    }
    const info = file.info;
    checkPixels(name, info.width, info.height, options);
    if (info.bands < options.channels) {
      throw new TargetError(
        name,
        "bands",
        `${name} has ${info.bands} band(s); the model needs ${options.channels}`,
      );
    }
    let sourceGsd = options.sourceGsdM ?? null;
    if (sourceGsd === null && info.geo) {
      if (!info.geo.pixelSizeM) {
        throw new TargetError(
          name,
          "no-ground-resolution",
          `${name} is in ${info.geo.crs.unit.name}s (${
            info.geo.crs.name ?? "a geographic CRS"
          }), not metres: ` +
            "give its ground resolution in m/px (--gsd), or reproject it to a projected CRS",
        );
      }
      sourceGsd = (info.geo.pixelSizeM[0] + info.geo.pixelSizeM[1]) / 2;
    }
    const plan = planCrop(info.width, info.height, sourceGsd, options);
    const bands = Array.from({ length: options.channels }, (_, b) => b + 1);
    let raster;
    try {
      raster = await file.read({ window: plan.window, bands });
    } catch (error) {
      throw new TargetError(name, "corrupt", messageOf(error).replaceAll(temporary, name), { cause: error });
    }
    const missing = noDataPixels(raster.data, bands.length, info.noData);
    if (missing > 0) {
      throw new TargetError(
        name,
        "no-data",
        `${name}: ${
          threeDigits(100 * missing / (plan.window.width * plan.window.height))
        } % of the pixels used ` +
          "are NoData (NaN or GDAL_NODATA); projection needs a complete tile",
      );
    }
    const data = info.dtype === "uint8"
      ? Uint8Array.from(raster.data)
      : stretchToUint8(raster.data, info.noData);
    const cropped: Raster8 = {
      width: plan.window.width,
      height: plan.window.height,
      channels: bands.length,
      data,
    };
    const target = finish(name, "tiff", info, plan, cropped, options);
    if (info.bands > options.channels) target.description += `; bands 1–${options.channels} of ${info.bands}`;
    if (info.geo) {
      const gt = windowGeoTransform(info.geo.geoTransform, plan.window);
      const k = plan.window.width / options.resolution;
      target.geo = {
        geoTransform: [gt[0], gt[1] * k, gt[2] * k, gt[3], gt[4] * k, gt[5] * k],
        crs: { epsg: info.geo.crs.epsg, name: info.geo.crs.name, geoKeys: info.geo.crs.geoKeys },
      };
    }
    return target;
  } finally {
    await file?.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function checkPixels(name: string, width: number, height: number, options: TargetOptions): void {
  const max = options.maxPixels ?? TARGET_LIMITS.maxPixels;
  if (width * height > max) {
    throw new TargetError(
      name,
      "too-large",
      `${name} is ${width} × ${height} px (${
        (width * height / 1e6).toFixed(0)
      } M pixels), over the limit of ` +
        `${(max / 1e6).toFixed(0)} M: cut the site out first`,
    );
  }
  if (width < 1 || height < 1) {
    throw new TargetError(name, "corrupt", `${name} has no pixels (${width} × ${height})`);
  }
}

interface CropPlan {
  window: PixelWindow;
  sourceGsd: number | null;
}

/** The centred square to use: the model tile's ground extent in source pixels, or the largest square. */
function planCrop(width: number, height: number, sourceGsd: number | null, options: TargetOptions): CropPlan {
  if (sourceGsd !== null && !(sourceGsd > 0 && Number.isFinite(sourceGsd))) {
    throw new RangeError(`the source ground resolution must be a positive number of m/px, got ${sourceGsd}`);
  }
  let side = Math.min(width, height);
  if (sourceGsd !== null && options.modelGsdM) {
    side = Math.min(side, Math.max(1, Math.round(options.resolution * options.modelGsdM / sourceGsd)));
  }
  return {
    window: {
      x: Math.floor((width - side) / 2),
      y: Math.floor((height - side) / 2),
      width: side,
      height: side,
    },
    sourceGsd,
  };
}

function finish(
  name: string,
  format: ImageFormat,
  size: { width: number; height: number },
  plan: CropPlan,
  cropped: Raster8,
  options: TargetOptions,
): ProjectionTarget {
  const res = options.resolution;
  const side = plan.window.width;
  const maxUp = options.maxUpsample ?? TARGET_LIMITS.maxUpsample;
  let raster: Raster8;
  let method: string;
  if (side > res) {
    raster = areaResize(cropped, res, res);
    method = "box average";
  } else if (side < res) {
    if (res / side > maxUp) {
      throw new TargetError(
        name,
        "upsampling",
        `${name}: the tile would be ${side} px upsampled ×${threeDigits(res / side)} to ${res} px ` +
          `(at most ×${maxUp}); give a larger image or a finer one`,
      );
    }
    raster = bilinearResize(cropped, res, res);
    method = `bilinear upsampling ×${threeDigits(res / side)}`;
  } else {
    raster = cropped;
    method = "no resampling";
  }
  const gsdM = plan.sourceGsd !== null ? plan.sourceGsd * side / res : null;
  const parts: string[] = [];
  if (plan.sourceGsd !== null) {
    parts.push(
      `${threeDigits(plan.sourceGsd)} m/px → ${threeDigits(gsdM!)} m/px, ${side} → ${res} px (${method})`,
    );
  } else {
    const assumed = options.modelGsdM ? `, taken as the model's ${threeDigits(options.modelGsdM)} m/px` : "";
    parts.push(`ground resolution unknown${assumed}; ${side} → ${res} px (${method})`);
  }
  if (side < size.width || side < size.height) {
    parts.push(`centre ${side} × ${side} of ${size.width} × ${size.height} px`);
  }
  if (gsdM !== null && options.modelGsdM && Math.abs(gsdM / options.modelGsdM - 1) > 0.02) {
    parts.push(
      `the image covers ${threeDigits(side * plan.sourceGsd!)} m, the model's tile ${
        threeDigits(res * options.modelGsdM)
      } m`,
    );
  }
  return {
    raster,
    description: parts.join("; "),
    source: { path: name, format, width: size.width, height: size.height, gsdM: plan.sourceGsd },
    window: plan.window,
    gsdM,
  };
}

/** A number with 3 significant digits and no trailing zeros (0.6, 1.22, 78, ×1.6). */
export function threeDigits(value: number): string {
  return String(Number(value.toPrecision(3)));
}

function cropRaster(raster: Raster8, window: PixelWindow): Raster8 {
  const { channels, data } = raster;
  if (window.x === 0 && window.y === 0 && window.width === raster.width && window.height === raster.height) {
    return raster;
  }
  const out = new Uint8Array(window.width * window.height * channels);
  const rowBytes = window.width * channels;
  for (let y = 0; y < window.height; y++) {
    const from = ((window.y + y) * raster.width + window.x) * channels;
    out.set(data.subarray(from, from + rowBytes), y * rowBytes);
  }
  return { width: window.width, height: window.height, channels, data: out };
}

/** Pixels with any band NoData or NaN. */
function noDataPixels(data: ArrayLike<number>, bands: number, noData: number | null): number {
  let count = 0;
  for (let p = 0; p < data.length; p += bands) {
    for (let b = 0; b < bands; b++) {
      if (isNoDataValue(data[p + b], noData)) {
        count++;
        break;
      }
    }
  }
  return count;
}
