/**
 * Image sets for the metric: a folder of images or a list file, decoded with imagescript, centre-cropped
 * and box-downscaled to the size being compared. Deliberately small: the training datasets (caches,
 * GeoTIFF, augmentation) live in model/data/; this reads just what `deno task eval` compares.
 *
 * @module
 */
import { Image } from "imagescript";
import type { ByteImage } from "./swd.ts";

/** File name endings read from a folder (case-insensitive): what imagescript's `Image.decode` reads. */
export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", ".tif", ".tiff"] as const;

/** A problem with an image set the user named (missing, empty, unreadable); the message says which file. */
export class ImageSetError extends Error {
  override name = "ImageSetError";
}

function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

function dirnameOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

async function statOrFail(path: string, what: string): Promise<Deno.FileInfo> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ImageSetError(`${what} '${path}' does not exist`);
    throw new ImageSetError(`cannot read ${what} '${path}': ${(e as Error).message}`);
  }
}

/** Image files under a folder, recursively, in sorted relative-path order; hidden entries are skipped. */
async function listFolder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string) => {
    const entries: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(folder)) if (!entry.name.startsWith(".")) entries.push(entry);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (isImageName(entry.name)) found.push(path);
    }
  };
  await walk(dir.replace(/\/+$/, "") || "/");
  if (found.length === 0) {
    throw new ImageSetError(`folder '${dir}' holds no images (${IMAGE_EXTENSIONS.join(", ")})`);
  }
  return found;
}

/** Paths named by a list file: one per line, relative to the list's folder; blank lines and `#` comments skipped. */
async function listFile(file: string): Promise<string[]> {
  if (isImageName(file)) {
    throw new ImageSetError(`'${file}' is an image; give its folder or a list file of image paths`);
  }
  const bytes = await Deno.readFile(file);
  let text: string;
  try {
    if (bytes.includes(0)) throw new Error("binary");
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ImageSetError(`'${file}' is neither a folder nor a text list of image paths`);
  }
  const base = dirnameOf(file);
  const paths = text.split(/\r?\n/).map((line) => line.trim()).filter((line) =>
    line !== "" && !line.startsWith("#")
  )
    .map((line) => (line.startsWith("/") ? line : `${base}/${line}`));
  if (paths.length === 0) throw new ImageSetError(`list '${file}' names no images`);
  return paths;
}

/**
 * The image paths of a set: every image under a folder (recursively, sorted), or the lines of a list file
 * (paths relative to the list's folder, in the list's order).
 */
export async function listImageSet(source: string): Promise<string[]> {
  const info = await statOrFail(source, "image set");
  return info.isDirectory ? await listFolder(source) : await listFile(source);
}

/**
 * `count` paths spread evenly over `paths` (indices ⌊i · length / count⌋), so a subset of a class-sorted
 * list such as UC Merced's train.txt still covers every class.
 */
export function spreadSubset<T>(items: T[], count: number): T[] {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`count must be a positive integer, got ${count}`);
  }
  if (count > items.length) {
    throw new ImageSetError(`asked for ${count} images but the set holds only ${items.length}`);
  }
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]);
}

/** Decode a PNG, JPEG or TIFF file into an RGB raster (alpha dropped; grey files come back as equal RGB). */
export async function decodeImageFile(path: string): Promise<ByteImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ImageSetError(`image '${path}' does not exist`);
    throw new ImageSetError(`cannot read image '${path}': ${(e as Error).message}`);
  }
  let image: Image;
  try {
    const decoded = await Image.decode(bytes);
    if (!(decoded instanceof Image)) throw new Error("not a still image");
    image = decoded;
  } catch (e) {
    throw new ImageSetError(`'${path}' is not a readable PNG, JPEG or TIFF image (${(e as Error).message})`);
  }
  const { width, height, bitmap } = image;
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    data[p * 3] = bitmap[p * 4];
    data[p * 3 + 1] = bitmap[p * 4 + 1];
    data[p * 3 + 2] = bitmap[p * 4 + 2];
  }
  return { width, height, channels: 3, data };
}

/** numpy's `np.round` (half to even), so block averages land where PGGAN's `downscale_minibatch` puts them. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Per output index, the source pixels it covers and their weights (area averaging along one axis). */
function boxWeights(source: number, target: number): Array<Array<[number, number]>> {
  const scale = source / target;
  return Array.from({ length: target }, (_, i) => {
    const start = i * scale;
    const end = (i + 1) * scale;
    const taps: Array<[number, number]> = [];
    for (let s = Math.floor(start); s < Math.min(source, Math.ceil(end)); s++) {
      const cover = Math.min(end, s + 1) - Math.max(start, s);
      if (cover > 1e-12) taps.push([s, cover / scale]);
    }
    return taps;
  });
}

/**
 * Resample a region of an image to `outWidth × outHeight` by area averaging (a box filter: each output
 * pixel is the mean of the source area it covers, fractional pixels weighted). Returns float64 values.
 */
function boxResample(
  image: ByteImage,
  region: { x: number; y: number; width: number; height: number },
  outWidth: number,
  outHeight: number,
): Float64Array {
  const { channels, data, width } = image;
  const columns = boxWeights(region.width, outWidth);
  const rows = boxWeights(region.height, outHeight);
  const horizontal = new Float64Array(region.height * outWidth * channels);
  for (let y = 0; y < region.height; y++) {
    const srcRow = ((region.y + y) * width + region.x) * channels;
    for (let x = 0; x < outWidth; x++) {
      for (const [s, w] of columns[x]) {
        for (let c = 0; c < channels; c++) {
          horizontal[(y * outWidth + x) * channels + c] += w * data[srcRow + s * channels + c];
        }
      }
    }
  }
  const out = new Float64Array(outHeight * outWidth * channels);
  const rowLength = outWidth * channels;
  for (let y = 0; y < outHeight; y++) {
    for (const [s, w] of rows[y]) {
      for (let i = 0; i < rowLength; i++) out[y * rowLength + i] += w * horizontal[s * rowLength + i];
    }
  }
  return out;
}

function toBytes(values: Float64Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(255, Math.max(0, roundHalfEven(values[i])));
  return out;
}

/**
 * The centred square of an image, box-downscaled to `size` px (exact block averages when the square's side
 * is a multiple of `size`). Enlarging is refused: it would invent detail the metric then measures.
 */
export function centreCropResize(image: ByteImage, size: number): ByteImage {
  const side = Math.min(image.width, image.height);
  if (side < size) {
    throw new ImageSetError(
      `a ${image.width}×${image.height} px image is smaller than the ${size} px being compared`,
    );
  }
  const region = {
    x: Math.floor((image.width - side) / 2),
    y: Math.floor((image.height - side) / 2),
    width: side,
    height: side,
  };
  if (side === size && image.width === image.height) return image;
  return {
    width: size,
    height: size,
    channels: image.channels,
    data: toBytes(boxResample(image, region, size, size)),
  };
}

/**
 * The blurry baseline: box-average the image down to `size` px, then enlarge it back with bilinear
 * interpolation (pixel centres aligned, edges clamped; OpenCV's INTER_LINEAR, PIL's BILINEAR when enlarging).
 * Everything finer than `size` px is lost; coarse layout and colour are kept.
 */
export function blurThrough(image: ByteImage, size = 16): ByteImage {
  const { width, height, channels } = image;
  if (size > width || size > height) {
    throw new RangeError(`cannot blur a ${width}×${height} px image through ${size} px`);
  }
  const small = boxResample(image, { x: 0, y: 0, width, height }, size, size);
  const axis = (n: number) =>
    Array.from({ length: n }, (_, i) => {
      const s = Math.min(size - 1, Math.max(0, ((i + 0.5) * size) / n - 0.5));
      const lo = Math.floor(s);
      return { lo, hi: Math.min(size - 1, lo + 1), t: s - lo };
    });
  const xs = axis(width);
  const ys = axis(height);
  const out = new Float64Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const { lo: y0, hi: y1, t: ty } = ys[y];
    for (let x = 0; x < width; x++) {
      const { lo: x0, hi: x1, t: tx } = xs[x];
      for (let c = 0; c < channels; c++) {
        const top = small[(y0 * size + x0) * channels + c] * (1 - tx) +
          small[(y0 * size + x1) * channels + c] * tx;
        const bottom = small[(y1 * size + x0) * channels + c] * (1 - tx) +
          small[(y1 * size + x1) * channels + c] * tx;
        out[(y * width + x) * channels + c] = top * (1 - ty) + bottom * ty;
      }
    }
  }
  return { width, height, channels, data: toBytes(out) };
}

/** Transforms `deno task eval --fake-transform` offers, by name. */
export const FAKE_TRANSFORMS: Readonly<Record<string, (image: ByteImage) => ByteImage>> = Object.freeze({
  /** Shrunk to 16 px by box averaging and enlarged back bilinearly: the "blurry" reference. */
  blur16: (image: ByteImage) => blurThrough(image, 16),
});

/** A decoded set, each image `size` px square. */
export interface ImageSet {
  /** Where each image came from, in order. */
  paths: string[];
  images: ByteImage[];
}

/**
 * Read a folder or list file as `size` px images (centre-cropped, box-downscaled).
 * @param count read only this many, spread evenly over the set (default: all).
 */
export async function readImageSet(source: string, size: number, count?: number): Promise<ImageSet> {
  let paths = await listImageSet(source);
  if (count !== undefined) paths = spreadSubset(paths, count);
  const images: ByteImage[] = [];
  for (const path of paths) {
    const image = await decodeImageFile(path);
    try {
      images.push(centreCropResize(image, size));
    } catch (e) {
      throw new ImageSetError(`'${path}': ${(e as Error).message}`);
    }
  }
  return { paths, images };
}

/** Side of the first image of a set (its shorter side), to default the compared size to. */
export async function firstImageSide(source: string): Promise<number> {
  const [first] = await listImageSet(source);
  const image = await decodeImageFile(first);
  return Math.min(image.width, image.height);
}
