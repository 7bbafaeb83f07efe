/**
 * Generated tiles as GIS files: the generator's NHWC output (about [−1, 1]) turned back into what the
 * model was trained on, using the checkpoint's normalization (model/geo/normalization.ts):
 *
 * - 8-bit bands (RGB, RGB + NIR) → uint8 GeoTIFF, every band;
 * - elevation (and other `linear` data) → float32 GeoTIFF in the data's units (metres), or the source's
 *   integer type for integer bands;
 * - land cover → argmax over the class channels → a paletted uint8 GeoTIFF of class codes;
 *
 * with the pixel size of the output depth, gsd(depth) = gsd_full · 2^(max_depth − depth) (model/scale.ts),
 * at the origin (0, 0) unless one is given, and a CRS only when one is given (a generated tile is nowhere).
 * PNG previews: RGB from chosen bands, a hillshade for elevation (Horn, 315°, 45°), the palette for land cover.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { encodePng, type Raster8 } from "../images.ts";
import { groundResolutionAt, pixelsAt } from "../scale.ts";
import { hillshade } from "./hillshade.ts";
import { denormalize, hexToRgb, type Normalization } from "./normalization.ts";
import type { GeoTransform, SampleArray } from "./read.ts";
import { type GeoTiffImage, northUpGeoTransform, writeGeoTiff } from "./write.ts";
import { writeFileAtomic } from "../files.ts";

/** One generated tile in data units. */
export interface GeneratedRaster {
  width: number;
  height: number;
  /** Bands in `data` (1 for land cover: the class codes). */
  bands: number;
  /** Band-interleaved samples: uint8 bands, float32 (or the source's integer type) values, or class codes. */
  data: SampleArray;
  normalization: Normalization;
}

/** Where generated tiles go on the ground. */
export interface OutputPlacement {
  /** Resolution of the model (its full-resolution tile side, px). */
  resolution: number;
  /** Ground sample distance at full resolution, m/px (the checkpoint's gsd_m). */
  gsdM: number;
  /** Depth of the tiles (default: the deepest, full resolution). */
  depth?: number;
  /** Map coordinates of the upper-left corner (default [0, 0]). */
  origin?: [number, number];
  /** CRS of `origin`, e.g. { epsg: 26914 } (default none). */
  crs?: { epsg: number; name?: string };
}

/**
 * The generator's images → tiles in data units, as the normalization says.
 * @throws RangeError when the channel count does not match the normalization.
 */
export async function decodeGenerated(
  images: tf.Tensor4D,
  normalization: Normalization,
): Promise<GeneratedRaster[]> {
  const [n, height, width, channels] = images.shape;
  if (channels !== normalization.channels) {
    throw new RangeError(
      `the images have ${channels} channel(s) but the normalization is for ${normalization.channels}`,
    );
  }
  const values = await images.data() as Float32Array;
  const size = height * width * channels;
  const out: GeneratedRaster[] = [];
  for (let i = 0; i < n; i++) {
    const image = values.subarray(i * size, (i + 1) * size);
    out.push({ width, height, ...samplesOf(image, channels, normalization), normalization });
  }
  return out;
}

function samplesOf(
  image: Float32Array,
  channels: number,
  norm: Normalization,
): { bands: number; data: SampleArray } {
  if (norm.scaling === "uint8") {
    // StyleGAN's 8-bit rule, as toRgb8.
    return {
      bands: channels,
      data: Uint8Array.from(image, (v) => Math.round((Math.max(-1, Math.min(1, v)) + 1) * 127.5)),
    };
  }
  if (norm.scaling === "linear") {
    const values = denormalize(image, norm.bands);
    const integer = INTEGER_RANGES[norm.dtype];
    if (!integer) return { bands: channels, data: values };
    const [Type, min, max] = integer;
    return { bands: channels, data: Type.from(values, (v) => Math.max(min, Math.min(max, Math.round(v)))) };
  }
  // One-hot: the class of the largest channel (the first on ties).
  const pixels = image.length / channels;
  const codes = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let best = 0;
    for (let c = 1; c < channels; c++) if (image[p * channels + c] > image[p * channels + best]) best = c;
    codes[p] = norm.classes[best];
  }
  return { bands: 1, data: codes };
}

type IntegerArrayType = { from(values: ArrayLike<number>, map: (v: number) => number): SampleArray };
const INTEGER_RANGES: Partial<Record<string, [IntegerArrayType, number, number]>> = {
  uint8: [Uint8Array, 0, 255],
  int8: [Int8Array, -128, 127],
  uint16: [Uint16Array, 0, 65535],
  int16: [Int16Array, -32768, 32767],
  uint32: [Uint32Array, 0, 4294967295],
  int32: [Int32Array, -2147483648, 2147483647],
};

/**
 * The geotransform of a tile generated at `placement.depth`: pixel size gsd(depth), north up.
 * @throws RangeError when `widthPx` is not the depth's tile side.
 */
export function outputGeoTransform(widthPx: number, placement: OutputPlacement): GeoTransform {
  const depth = placement.depth ?? Math.log2(placement.resolution) - 2;
  if (pixelsAt(depth) !== widthPx) {
    throw new RangeError(`a tile of ${widthPx} px is not depth ${depth} (${pixelsAt(depth)} px)`);
  }
  const pixel = groundResolutionAt(depth, placement.resolution, placement.gsdM);
  return northUpGeoTransform(placement.origin ?? [0, 0], pixel);
}

/** The GeoTIFF of a generated tile (see the module note), ready for {@link writeGeoTiff}. */
export function generatedGeoTiff(raster: GeneratedRaster, placement: OutputPlacement): GeoTiffImage {
  const norm = raster.normalization;
  const geo = {
    geoTransform: outputGeoTransform(raster.width, placement),
    crs: placement.crs ? { epsg: placement.crs.epsg, name: placement.crs.name ?? null } : undefined,
  };
  const base = {
    width: raster.width,
    height: raster.height,
    bands: raster.bands,
    data: raster.data,
    geo,
    compress: true,
  };
  if (norm.scaling === "onehot") {
    const colorMap: [number, number, number][] = Array.from({ length: 256 }, () => [0, 0, 0]);
    norm.classes.forEach((code, k) => (colorMap[code] = hexToRgb(norm.palette[k])));
    const names = norm.class_names?.length
      ? `; classes ${norm.classes.map((c, k) => `${c}=${norm.class_names![k]}`).join(", ")}`
      : "";
    return { ...base, photometric: "palette", colorMap, description: `generated land cover${names}` };
  }
  if (norm.scaling === "linear") {
    const unit = norm.unit ? ` (${norm.unit})` : "";
    const bandNames = norm.band_names ?? (norm.kind === "elevation" ? [`elevation${unit}`] : undefined);
    return { ...base, photometric: "minisblack", bandNames, description: `generated ${norm.kind}${unit}` };
  }
  return {
    ...base,
    photometric: raster.bands >= 3 ? "rgb" : "minisblack",
    bandNames: norm.band_names,
    description: `generated ${norm.kind}`,
  };
}

/** Write a generated tile as a GeoTIFF (atomically). */
export async function writeGeneratedGeoTiff(
  path: string,
  raster: GeneratedRaster,
  placement: OutputPlacement,
): Promise<void> {
  await writeGeoTiff(path, generatedGeoTiff(raster, placement));
}

/** Options of {@link previewRaster}. */
export interface PreviewOptions {
  /** Bands shown as red, green, blue (1-based; default 1, 2, 3, or grey from band 1 with fewer bands). */
  rgbBands?: [number, number, number];
  /** Elevation: pixel size in metres for the hillshade's slopes (default 1). */
  pixelSizeM?: number;
  /** Elevation: vertical exaggeration (default 1). */
  zFactor?: number;
}

/**
 * An 8-bit RGB picture of a generated tile: chosen bands (non-byte bands stretched by the dataset's
 * minimum and maximum), a hillshade for elevation, the palette for land cover.
 */
export function previewRaster(raster: GeneratedRaster, options: PreviewOptions = {}): Raster8 {
  const { width, height, bands, data, normalization: norm } = raster;
  const pixels = width * height;
  const out = new Uint8Array(pixels * 3);
  if (norm.scaling === "onehot") {
    const colours = new Map(norm.classes.map((code, k) => [code, hexToRgb(norm.palette[k])]));
    for (let p = 0; p < pixels; p++) out.set(colours.get(data[p]) ?? [0, 0, 0], 3 * p);
    return { width, height, channels: 3, data: out };
  }
  if (norm.kind === "elevation") {
    const toMetres = norm.unit === "ft" ? 0.3048 : norm.unit === "US survey ft" ? 1200 / 3937 : 1;
    const shade = hillshade(data, width, height, options.pixelSizeM ?? 1, options.pixelSizeM ?? 1, {
      zFactor: (options.zFactor ?? 1) * toMetres,
    });
    for (let p = 0; p < pixels; p++) out.fill(shade[p], 3 * p, 3 * p + 3);
    return { width, height, channels: 3, data: out };
  }
  const chosen = options.rgbBands ?? (bands >= 3 ? [1, 2, 3] : [1, 1, 1]);
  for (const b of chosen) {
    if (!Number.isInteger(b) || b < 1 || b > bands) {
      throw new RangeError(`preview band ${b} does not exist: the tile has ${bands} band(s)`);
    }
  }
  const stretch = norm.scaling === "linear"
    ? chosen.map((b) => {
      const { min, max } = norm.bands[b - 1];
      return (v: number) => Math.round(max > min ? ((v - min) / (max - min)) * 255 : 127);
    })
    : chosen.map(() => (v: number) => v);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) {
      out[3 * p + c] = Math.max(0, Math.min(255, stretch[c](data[p * bands + chosen[c] - 1])));
    }
  }
  return { width, height, channels: 3, data: out };
}

/** PNG bytes of {@link previewRaster}. */
export async function previewPng(raster: GeneratedRaster, options: PreviewOptions = {}): Promise<Uint8Array> {
  return await encodePng(previewRaster(raster, options));
}

/**
 * Write generated tiles as `DIR/{name}.tif` plus `DIR/{name}.png` previews, one per name; returns the paths.
 * The images are those of `generateImages` (NHWC, about [−1, 1]) at `placement.depth`.
 */
export async function writeGeneratedTiles(
  images: tf.Tensor4D,
  names: string[],
  normalization: Normalization,
  placement: OutputPlacement,
  outDir: string,
  preview: PreviewOptions & { png?: boolean } = {},
): Promise<string[]> {
  const rasters = await decodeGenerated(images, normalization);
  if (rasters.length !== names.length) {
    throw new RangeError(`${rasters.length} images for ${names.length} names`);
  }
  await Deno.mkdir(outDir, { recursive: true });
  const depth = placement.depth ?? Math.log2(placement.resolution) - 2;
  const pixelSizeM = groundResolutionAt(depth, placement.resolution, placement.gsdM);
  const written: string[] = [];
  for (let i = 0; i < rasters.length; i++) {
    const tif = `${outDir}/${names[i]}.tif`;
    await writeGeneratedGeoTiff(tif, rasters[i], placement);
    written.push(tif);
    if (preview.png ?? true) {
      const png = `${outDir}/${names[i]}.png`;
      await writeFileAtomic(png, await previewPng(rasters[i], { pixelSizeM, ...preview }));
      written.push(png);
    }
  }
  return written;
}
