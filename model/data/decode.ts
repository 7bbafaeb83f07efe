/**
 * Decode one image file into an interleaved 8-bit raster. PNG and JPEG go through imagescript's decoders
 * (see codecs.ts), TIFF and GeoTIFF through geotiff (as the design asks). The format is recognised from the first bytes, not the file
 * name, so a text file renamed `.png` fails with a message that says what it is not.
 *
 * Every error is a DatasetError that names the file: the caller decides whether one bad file is a warning
 * (one among many) or fatal (most of them).
 *
 * @module
 */
import { fromArrayBuffer, type GeoTIFFImage } from "geotiff";
import type { Raster8 } from "../images.ts";
import { decodeJpegPixels, decodePngPixels } from "./codecs.ts";
import { OutsideRootError, readFileInside } from "./confine.ts";
import { DatasetError, messageOf } from "./errors.ts";

export type { Raster8 } from "../images.ts";

/** The container formats the decoder recognises. */
export type ImageFormat = "png" | "jpeg" | "tiff";

/** Options of {@link decodeImage}. */
export interface DecodeOptions {
  /** Channels per pixel in the result: 1 (grey) or 3 (RGB) for PNG/JPEG; any band count for TIFF. */
  channels?: number;
  /** The data root (a real path): the file is read only when it lies under it (see confine.ts). */
  root?: string;
}

/** TIFF PhotometricInterpretation values whose samples are not colour bands as they stand. */
const PHOTOMETRIC_NEEDS_CONVERSION = new Map<number, string>([
  [0, "WhiteIsZero"],
  [3, "Palette"],
  [5, "CMYK"],
  [6, "YCbCr"],
  [8, "CIELab"],
]);

/** The format named by a file's first bytes (its magic number), or undefined for anything else. */
export function detectFormat(bytes: Uint8Array): ImageFormat | undefined {
  const starts = (...magic: number[]) => magic.every((value, i) => bytes[i] === value);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (starts(0xff, 0xd8, 0xff)) return "jpeg";
  // Classic TIFF (42) and BigTIFF (43), little- and big-endian.
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return "tiff";
  if (starts(0x49, 0x49, 0x2b, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2b)) return "tiff";
  return undefined;
}

/**
 * Read and decode an image file.
 * @throws DatasetError naming `path` when it cannot be read or decoded.
 */
export async function decodeImageFile(path: string, options: DecodeOptions = {}): Promise<Raster8> {
  let bytes: Uint8Array;
  try {
    bytes = await readFileInside(path, options.root);
  } catch (error) {
    if (error instanceof OutsideRootError) throw error;
    const why = error instanceof Deno.errors.NotFound ? "file not found" : messageOf(error);
    throw new DatasetError(`cannot read ${path}: ${why}`, { cause: error });
  }
  return await decodeImage(bytes, path, options);
}

/**
 * Decode PNG, JPEG or TIFF bytes into an interleaved raster of `channels` bands (default 3).
 *
 * - PNG/JPEG: RGB, alpha dropped (aerial tiles have no meaningful transparency); `channels: 1` gives
 *   BT.601 luma.
 * - TIFF: the first `channels` bands; a single band is replicated to 3 when `channels` is 3. uint8 samples
 *   are taken as they are. Anything else (uint16, int16, float32, ...) is stretched from the image's own
 *   min..max (finite values, GDAL NoData excluded) to 0..255 and NoData becomes 0. That per-image stretch
 *   loses absolute radiometry and heights: it serves only `dataset.kind: rgb` (pictures). Elevation and
 *   other non-byte bands train through `dataset.kind: elevation | multiband` (model/data/geo_prepare.ts),
 *   scaled by dataset statistics that the checkpoint keeps.
 * @param name the file name used in error messages.
 * @throws DatasetError naming `name`.
 */
export async function decodeImage(
  bytes: Uint8Array,
  name: string,
  options: DecodeOptions = {},
): Promise<Raster8> {
  const channels = options.channels ?? 3;
  if (!Number.isInteger(channels) || channels < 1) {
    throw new RangeError(`channels must be a positive integer, got ${channels}`);
  }
  const format = detectFormat(bytes);
  if (!format) {
    throw new DatasetError(`${name} is not a PNG, JPEG or TIFF image (${describeStart(bytes)})`);
  }
  try {
    return format === "tiff"
      ? await decodeTiff(bytes, name, channels)
      : await decodePngOrJpeg(bytes, name, channels, format);
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    // The decoders' own messages are terse ("jpg: failed to decode"; geotiff may throw undefined on a
    // truncated strip), so say what usually causes them.
    throw new DatasetError(
      `cannot decode ${format.toUpperCase()} ${name}: ${messageOf(error)} (truncated or corrupt file?)`,
      { cause: error },
    );
  }
}

async function decodePngOrJpeg(
  bytes: Uint8Array,
  name: string,
  channels: number,
  format: "png" | "jpeg",
): Promise<Raster8> {
  if (channels !== 1 && channels !== 3) {
    throw new DatasetError(`${name} has 3 colour bands (RGB); cannot make ${channels} channels from it`);
  }
  const { width, height, bytesPerPixel: stride, data: source } = format === "jpeg"
    ? await decodeJpegPixels(bytes)
    : await decodePngPixels(bytes);
  if (stride === channels) return { width, height, channels, data: source }; // RGB or grey JPEG as decoded
  const pixels = width * height;
  const data = new Uint8Array(pixels * channels);
  for (let p = 0, src = 0, dst = 0; p < pixels; p++, src += stride, dst += channels) {
    if (stride === 1) {
      data.fill(source[src], dst, dst + channels); // grey JPEG → RGB
    } else if (channels === 3) {
      data[dst] = source[src]; // alpha, if any, dropped: aerial tiles have no meaningful transparency
      data[dst + 1] = source[src + 1];
      data[dst + 2] = source[src + 2];
    } else {
      data[dst] = luma(source[src], source[src + 1], source[src + 2]);
    }
  }
  return { width, height, channels, data };
}

async function decodeTiff(bytes: Uint8Array, name: string, channels: number): Promise<Raster8> {
  // geotiff wants an ArrayBuffer of exactly the file (readFile's buffer may be larger than the view).
  const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes.buffer as ArrayBuffer
    : bytes.slice().buffer;
  const tiff = await fromArrayBuffer(buffer);
  const image = await tiff.getImage(0); // the full-resolution image; later ones are overviews
  const width = image.getWidth();
  const height = image.getHeight();
  const photometric = image.fileDirectory.getValue("PhotometricInterpretation") as number | undefined;
  const conversion = photometric === undefined ? undefined : PHOTOMETRIC_NEEDS_CONVERSION.get(photometric);
  if (conversion) return await decodeTiffAsRgb(image, name, channels, conversion);

  const bands = image.getSamplesPerPixel();
  let samples: number[];
  if (bands >= channels) samples = range(channels);
  else if (bands === 1 && channels === 3) samples = [0]; // grey or a single measurement: replicate below
  else throw new DatasetError(`${name} has ${bands} band(s); cannot make ${channels} channels from it`);

  const raster = await image.readRasters({ interleave: true, samples });
  const isUint8 = samples.every((s) =>
    image.getBitsPerSample(s) === 8 && (image.getSampleFormat(s) ?? 1) === 1
  );
  let data = isUint8 && raster instanceof Uint8Array ? raster : stretchToUint8(raster, image.getGDALNoData());
  if (samples.length < channels) data = replicateBand(data, channels);
  return { width, height, channels, data };
}

/** Colour models whose samples must be converted (palette, YCbCr, ...) go through geotiff's readRGB. */
async function decodeTiffAsRgb(image: GeoTIFFImage, name: string, channels: number, model: string) {
  if (channels !== 1 && channels !== 3) {
    throw new DatasetError(
      `${name} is a ${model} TIFF, read as RGB; cannot make ${channels} channels from it`,
    );
  }
  const rgb = await image.readRGB({ interleave: true });
  const width = image.getWidth();
  const height = image.getHeight();
  const pixels = width * height;
  let data = rgb instanceof Uint8Array ? rgb : Uint8Array.from(rgb as ArrayLike<number>);
  if (channels === 1) {
    const grey = new Uint8Array(pixels);
    for (let p = 0; p < pixels; p++) grey[p] = luma(data[3 * p], data[3 * p + 1], data[3 * p + 2]);
    data = grey;
  }
  return { width, height, channels, data };
}

/**
 * Stretch non-uint8 samples to 0..255 by the min..max of this image (all bands together, so the balance
 * between bands survives). Non-finite values and `noData` become 0; a constant image becomes all 0.
 */
export function stretchToUint8(values: ArrayLike<number>, noData: number | null = null): Uint8Array {
  let min = Infinity;
  let max = -Infinity;
  const isValid = (v: number) => Number.isFinite(v) && v !== noData;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!isValid(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const out = new Uint8Array(values.length);
  if (!(max > min)) return out;
  const scale = 255 / (max - min);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = isValid(v) ? Math.round((v - min) * scale) : 0;
  }
  return out;
}

/** A one-band raster repeated into `channels` bands. */
function replicateBand(band: Uint8Array, channels: number): Uint8Array {
  const out = new Uint8Array(band.length * channels);
  for (let p = 0; p < band.length; p++) out.fill(band[p], p * channels, (p + 1) * channels);
  return out;
}

/** ITU-R BT.601 luma, the usual RGB → grey for photographs. */
function luma(r: number, g: number, b: number): number {
  return Math.round(0.299 * r + 0.587 * g + 0.114 * b);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * What a file's start looks like, for "not an image" errors, without quoting it: these messages reach API
 * clients through the training events, and a file's bytes are not theirs to read.
 */
function describeStart(bytes: Uint8Array): string {
  if (bytes.length === 0) return "the file is empty";
  const head = bytes.subarray(0, 16);
  const printable = head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  return printable ? "it looks like a text file" : "its first bytes match no image signature";
}
