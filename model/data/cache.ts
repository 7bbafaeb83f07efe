/**
 * The per-resolution dataset cache: all tiles of a dataset at one resolution, decoded once and stored as
 * raw bytes in the run directory, so later epochs and resumed runs skip decoding.
 *
 * File `dataset-{R}px-{C}ch-{key}.bin`:
 *
 * ```
 * 8 bytes   magic "SGANDSET"
 * 4 bytes   header length H, uint32 little-endian
 * H bytes   JSON header (UTF-8), padded with spaces so the data starts at a multiple of 8
 * N·R·R·C   tiles, uint8, [N, R, R, C] row-major (NHWC); float32 little-endian (4 bytes each) when the
 *           header says `"dtype": "float32"` (elevation and other datasets normalised by statistics)
 * ```
 *
 * The key hashes everything the bytes depend on: the sorted file list with each file's size and
 * modification time, the resolution, the channels, how files become tiles (for GeoTIFF datasets: bands,
 * classes, float or bytes) and {@link CACHE_FORMAT_VERSION}; so an edited, added or
 * removed image gives a new key and a fresh decode. A cache is only used when its header matches what was
 * asked for, its length is exact and the checksum of its data verifies; anything else is reported as a
 * problem and rebuilt, never trusted. Files are written to a temporary name and renamed, so a crash never
 * leaves a half-written cache under the real name.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../files.ts";
import { DatasetError, messageOf } from "./errors.ts";

/**
 * Bump when the bytes for the same inputs change (decoding, cropping, resampling, layout), so that
 * caches written by older code are rebuilt rather than trusted.
 */
export const CACHE_FORMAT_VERSION = 1;

const MAGIC = "SGANDSET";
const PREFIX_BYTES = 12; // magic + header length

/** Size and modification time of one source file; `size: -1` marks a file that could not be stat'ed. */
export interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
}

/** Sample type of cached tiles. */
export type CacheDtype = "uint8" | "float32";

/** A file left out of the dataset, and why. */
export interface SkippedFile {
  file: string;
  reason: string;
}

/** What a cache file says about itself. */
export interface CacheHeader {
  format: "sgan-dataset";
  version: number;
  /** The key of {@link datasetCacheKey}; equal to the one in the file name. */
  key: string;
  resolution: number;
  channels: number;
  /** Number of tiles stored. */
  count: number;
  /** The source file of each tile, in order. */
  files: string[];
  /** Files that could not be used when the cache was built (reported again on every load). */
  skipped: SkippedFile[];
  /** Images smaller than the resolution, upscaled when the cache was built. */
  upscaled: number;
  /** {@link checksum} of the tile bytes. */
  checksum: string;
  /** Sample type of the tiles; absent in caches of 8-bit datasets (and in those written before floats). */
  dtype?: CacheDtype;
  /** How the tiles were normalised (float datasets: the statistics), returned with the tiles. */
  normalization?: unknown;
  /** ISO time of writing, for people reading the header. */
  created: string;
}

/** A cache's content as read back. */
export interface CacheContent {
  header: CacheHeader;
  /** The tiles, [count, resolution, resolution, channels], as bytes (view them as Float32Array when `header.dtype` is float32). */
  data: Uint8Array;
}

/**
 * Stat every source file (in parallel, a few at a time). Missing or unreadable files get `size: -1` and
 * are left for the decoder to report, so a list with one missing file behaves like one bad file.
 */
export async function stampFiles(files: readonly string[]): Promise<FileStamp[]> {
  const stamps: FileStamp[] = new Array(files.length);
  let next = 0;
  const lane = async () => {
    while (next < files.length) {
      const i = next++;
      try {
        const info = await Deno.stat(files[i]);
        stamps[i] = { path: files[i], size: info.size, mtimeMs: info.mtime?.getTime() ?? 0 };
      } catch {
        stamps[i] = { path: files[i], size: -1, mtimeMs: 0 };
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  return stamps;
}

/**
 * The cache key: 16 hex digits of SHA-256 over the file stamps, resolution, channels and format version,
 * and `variant` when given (what else the tiles depend on, e.g. the GeoTIFF tile mode; 8-bit image
 * datasets give none, so their keys are those of earlier versions).
 */
export async function datasetCacheKey(
  stamps: readonly FileStamp[],
  resolution: number,
  channels: number,
  variant?: string,
): Promise<string> {
  const identity = JSON.stringify({
    version: CACHE_FORMAT_VERSION,
    resolution,
    channels,
    files: stamps.map((s) => [s.path, s.size, s.mtimeMs]),
    ...(variant === undefined ? {} : { variant }),
  });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(identity));
  return Array.from(new Uint8Array(digest).subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Where the cache for a key lives: `cacheDir/dataset-{R}px-{C}ch-{key}.bin`. */
export function datasetCachePath(
  cacheDir: string,
  resolution: number,
  channels: number,
  key: string,
): string {
  return join(cacheDir, `dataset-${resolution}px-${channels}ch-${key}.bin`);
}

/**
 * A fast 64-bit checksum (two 32-bit multiplicative lanes over 32-bit words, about 1.4 GB/s here; SHA-256
 * through WebCrypto ran at 0.2 GB/s, seconds per 256 px dataset). Not cryptographic: it guards against
 * damaged or truncated files, not tampering. Each step of the first lane is a bijection of its state, so
 * changing any single word always changes the result.
 */
export function checksum(bytes: Uint8Array): string {
  const wordCount = bytes.byteLength >>> 2;
  const aligned = bytes.byteOffset % 4 === 0;
  const words = aligned ? new Uint32Array(bytes.buffer, bytes.byteOffset, wordCount) : undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x01000193 | 0;
  for (let i = 0; i < wordCount; i++) {
    const word = words ? words[i] : view.getUint32(4 * i, true);
    h1 = Math.imul(h1 ^ word, 0x9e3779b1);
    h2 = Math.imul((h2 + word) | 0, 0x85ebca77) ^ (h2 >>> 13);
  }
  for (let i = wordCount * 4; i < bytes.byteLength; i++) h1 = Math.imul(h1 ^ bytes[i], 0x9e3779b1);
  h1 = Math.imul(h1 ^ bytes.byteLength, 0x9e3779b1); // the length too, so trailing zeros count
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
}

/** What a cache read expects to find. */
export interface CacheExpectation {
  key: string;
  resolution: number;
  channels: number;
  /** Default uint8. */
  dtype?: CacheDtype;
}

/**
 * Read and verify a cache file.
 * @returns the content; `{ problem }` saying why an existing file cannot be trusted; or undefined when
 *   there is no file.
 */
export async function readDatasetCache(
  path: string,
  expected: CacheExpectation,
): Promise<CacheContent | { problem: string } | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    return { problem: `cannot open it: ${messageOf(error)}` };
  }
  try {
    return await readOpenCache(file, expected);
  } catch (error) {
    return { problem: `cannot read it: ${messageOf(error)}` };
  } finally {
    file.close();
  }
}

async function readOpenCache(
  file: Deno.FsFile,
  expected: CacheExpectation,
): Promise<CacheContent | { problem: string }> {
  const size = (await file.stat()).size;
  const prefix = new Uint8Array(PREFIX_BYTES);
  if (
    size < PREFIX_BYTES || !(await readFully(file, prefix)) ||
    new TextDecoder().decode(prefix.subarray(0, 8)) !== MAGIC
  ) {
    return { problem: "it is not a dataset cache (bad magic bytes)" };
  }
  const headerLength = new DataView(prefix.buffer).getUint32(8, true);
  const dataStart = PREFIX_BYTES + headerLength;
  const headerBytes = new Uint8Array(headerLength);
  if (dataStart > size || !(await readFully(file, headerBytes))) {
    return { problem: "its header is truncated" };
  }
  let header: CacheHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(headerBytes));
  } catch (error) {
    return { problem: `its header is not valid JSON (${messageOf(error)})` };
  }
  const problem = headerProblem(header, expected);
  if (problem) return { problem };
  // Check the length before allocating: a damaged header must not make us read (or allocate) nonsense.
  const sampleBytes = (expected.dtype ?? "uint8") === "float32" ? 4 : 1;
  const dataLength = header.count * expected.resolution * expected.resolution * expected.channels *
    sampleBytes;
  if (size !== dataStart + dataLength) {
    return { problem: `it has ${size} bytes where its header implies ${dataStart + dataLength}` };
  }
  // Read straight into the tile array: one allocation, no copy (Deno.readFile of a few hundred MB was
  // 3-5 times slower here).
  const data = new Uint8Array(dataLength);
  if (!(await readFully(file, data))) return { problem: "it is shorter than its header says" };
  if (checksum(data) !== header.checksum) return { problem: "its data does not match its checksum" };
  return { header, data };
}

/** Fill `buffer` from the file's current position; false if the file ends first. */
async function readFully(file: Deno.FsFile, buffer: Uint8Array): Promise<boolean> {
  const chunk = 64 << 20; // large reads, but bounded so one call never asks the OS for gigabytes
  for (let offset = 0; offset < buffer.length;) {
    const read = await file.read(buffer.subarray(offset, Math.min(buffer.length, offset + chunk)));
    if (read === null) return false;
    offset += read;
  }
  return true;
}

function headerProblem(header: CacheHeader, expected: CacheExpectation): string | undefined {
  if (typeof header !== "object" || header === null || header.format !== "sgan-dataset") {
    return "its header is not a dataset-cache header";
  }
  if (header.version !== CACHE_FORMAT_VERSION) {
    return `it was written by format version ${header.version}; this code writes ${CACHE_FORMAT_VERSION}`;
  }
  for (const field of ["key", "resolution", "channels"] as const) {
    if (header[field] !== expected[field]) {
      return `its ${field} is ${JSON.stringify(header[field])}, expected ${JSON.stringify(expected[field])}`;
    }
  }
  if ((header.dtype ?? "uint8") !== (expected.dtype ?? "uint8")) {
    return `its tiles are ${header.dtype ?? "uint8"}, expected ${expected.dtype ?? "uint8"}`;
  }
  if (!Number.isInteger(header.count) || header.count < 0) return "its tile count is invalid";
  if (!Array.isArray(header.files) || header.files.length !== header.count) {
    return "its file list does not match its tile count";
  }
  if (!Array.isArray(header.skipped) || typeof header.checksum !== "string") {
    return "its header is incomplete";
  }
  return undefined;
}

/**
 * Write a cache atomically: a temporary file in the same folder (so the rename never crosses file
 * systems), synced, then renamed over `path`. On failure the temporary file is removed.
 * @param header everything but the checksum and creation time, which are filled in here.
 * @throws DatasetError naming `path`.
 */
export async function writeDatasetCache(
  path: string,
  header: Omit<CacheHeader, "format" | "version" | "checksum" | "created">,
  data: Uint8Array | Float32Array,
): Promise<void> {
  if (data instanceof Float32Array) {
    if (header.dtype !== "float32") {
      throw new TypeError("float32 tiles need a cache header with dtype float32");
    }
    data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const full: CacheHeader = {
    format: "sgan-dataset",
    version: CACHE_FORMAT_VERSION,
    ...header,
    checksum: checksum(data),
    created: new Date().toISOString(),
  };
  let json = JSON.stringify(full);
  // Pad so the tiles start 8-byte aligned: typed-array views over them need no copy.
  json += " ".repeat((8 - ((PREFIX_BYTES + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const prefix = new Uint8Array(PREFIX_BYTES);
  prefix.set(new TextEncoder().encode(MAGIC));
  new DataView(prefix.buffer).setUint32(8, headerBytes.length, true);

  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, [prefix, headerBytes, data]);
  } catch (error) {
    throw new DatasetError(`cannot write the dataset cache ${path}: ${messageOf(error)}`, { cause: error });
  }
}
