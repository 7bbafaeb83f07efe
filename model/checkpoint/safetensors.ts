/**
 * safetensors read and write, the checkpoint format shared with PyTorch and StyleGAN.pytorch exports.
 *
 * Layout: an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`, then the raw
 * little-endian data buffer that the offsets index. Writing follows the reference implementation (compact
 * JSON, `__metadata__` first, header padded with spaces to a multiple of 8 bytes, no holes in the buffer),
 * and lays tensors out by decreasing item size so every tensor is aligned to its element size.
 *
 * Every problem with a file is reported as a {@link CheckpointError} that names the file and, where there
 * is one, the tensor; typed-array RangeErrors never escape.
 *
 * @module
 */
import { dirname } from "node:path";
import { writeFileAtomic } from "../files.ts";

/**
 * The dtypes this module reads and writes (safetensors' names): the ones PyTorch and StyleGAN checkpoints
 * hold. Floats in every precision PyTorch saves weights in, and the integer buffers of its modules (I64 for
 * counters such as BatchNorm's `num_batches_tracked`, I32, U8 and BOOL for masks and indices).
 */
export const DTYPES = ["BOOL", "U8", "F16", "BF16", "I32", "F32", "F64", "I64"] as const;
/** A safetensors dtype name this module understands. */
export type Dtype = typeof DTYPES[number];

/**
 * Dtypes that exist in the safetensors specification but are not handled here (named in the error): the
 * 8-, 6- and 4-bit floats and complex numbers of quantised or special models, and integer widths no
 * StyleGAN checkpoint uses.
 */
const KNOWN_UNSUPPORTED = [
  "I8",
  "I16",
  "U16",
  "U32",
  "U64",
  "F8_E5M2",
  "F8_E4M3",
  "F8_E8M0",
  "F6_E2M3",
  "F6_E3M2",
  "F4",
  "C64",
];

/** Bytes per element of each dtype. */
const ITEM_SIZE: Record<Dtype, number> = {
  BOOL: 1,
  U8: 1,
  F16: 2,
  BF16: 2,
  I32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
};

/** The typed arrays tensor data is held in. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Uint16Array
  | Int32Array
  | BigInt64Array;

/** One tensor as read from a file. */
export interface SafeTensor {
  /** dtype of `data` in memory: `F32` for tensors stored as F16 or BF16 (and F64 when asked to narrow). */
  dtype: Dtype;
  /** dtype as stored in the file, so a writer can keep the original precision. */
  storedDtype: Dtype;
  /** Dimensions, outermost first (PyTorch order); `[]` is a scalar. */
  shape: number[];
  /**
   * Row-major elements; BOOL is a Uint8Array of 0/1, I64 a BigInt64Array. From
   * {@link readSafetensors} this may be a view into the whole file's buffer: use `data`, never `data.buffer`.
   */
  data: TensorData;
}

/** A parsed file: tensors in the order of the header, and the string metadata. */
export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** Options for {@link readSafetensors} and {@link parseSafetensors}. */
export interface ReadOptions {
  /** Return F64 tensors as Float32Array (dtype `F32`, storedDtype `F64`); TensorFlow.js has no float64. */
  float64ToFloat32?: boolean;
}

/**
 * One tensor to write. Float dtypes take numbers (F16/BF16 are rounded to nearest, ties to even);
 * integer dtypes take integers in range (I64 also bigints); BOOL takes 0/1 or booleans.
 */
export interface TensorToWrite {
  dtype: Dtype;
  shape: readonly number[];
  data: ArrayLike<number> | ArrayLike<bigint> | ArrayLike<boolean>;
}

/** Tensors to write, as a Map (order kept exactly) or a plain object (JS puts integer-like keys first). */
export type TensorsToWrite = Map<string, TensorToWrite> | Record<string, TensorToWrite>;

/** A checkpoint file that cannot be read or written; the message names the file and, if any, the tensor. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
  /** The file (or buffer name) concerned. */
  readonly file: string;
  /** The tensor concerned, when the problem is in one tensor. */
  readonly tensor?: string;

  /**
   * @param file path or name of the file, put at the start of the message.
   * @param problem what is wrong, and where useful what to do about it.
   */
  constructor(file: string, problem: string, options: { tensor?: string; cause?: unknown } = {}) {
    const where = options.tensor === undefined ? "" : `tensor "${options.tensor}": `;
    super(`${file}: ${where}${problem}`, { cause: options.cause });
    this.file = file;
    this.tensor = options.tensor;
  }
}

/** The reference implementation refuses larger headers; so do we, before decoding megabytes of garbage. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = "__metadata__";

// Typed arrays use the host's byte order and the format is little-endian; every platform Deno runs on is.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------------------
// Reading.

/**
 * Read a safetensors file.
 * @param path file to read.
 * @throws CheckpointError naming the file (and tensor) for a missing, unreadable or malformed file.
 */
export async function readSafetensors(path: string, options: ReadOptions = {}): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new CheckpointError(path, "file not found", { cause: error });
    }
    throw new CheckpointError(path, `cannot read the file: ${messageOf(error)}`, { cause: error });
  }
  // The buffer is ours alone, so aligned tensors may stay views into it instead of being copied.
  return guarded(path, () => parseBytes(bytes, path, options, true));
}

/**
 * Parse safetensors bytes already in memory. The returned tensors are copies: changing `bytes` later does not
 * change them.
 * @param sourceName the file or buffer name used in error messages.
 */
export function parseSafetensors(
  bytes: Uint8Array,
  sourceName: string,
  options: ReadOptions = {},
): SafetensorsFile {
  return guarded(sourceName, () => parseBytes(bytes, sourceName, options, false));
}

/** Run `body`, turning any unexpected error (e.g. a RangeError from a typed-array view) into a CheckpointError. */
function guarded<T>(file: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    throw new CheckpointError(file, `not a valid safetensors file: ${messageOf(error)}`, { cause: error });
  }
}

interface HeaderEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseBytes(
  bytes: Uint8Array,
  file: string,
  options: ReadOptions,
  mayShare: boolean,
): SafetensorsFile {
  if (!HOST_IS_LITTLE_ENDIAN) throw new CheckpointError(file, "big-endian hosts are not supported");
  if (bytes.length < 8) {
    throw new CheckpointError(
      file,
      `file is ${bytes.length} bytes, shorter than the 8-byte header length that starts a safetensors file`,
    );
  }
  const declaredLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (declaredLength > BigInt(bytes.length - 8)) {
    throw new CheckpointError(
      file,
      `header length ${declaredLength} is larger than the rest of the file (${bytes.length - 8} bytes): ` +
        "not a safetensors file, or a truncated one",
    );
  }
  const headerLength = Number(declaredLength);
  if (headerLength > MAX_HEADER_BYTES) {
    throw new CheckpointError(
      file,
      `header of ${headerLength} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit`,
    );
  }

  const headerText = decodeHeader(bytes.subarray(8, 8 + headerLength), file);
  const header = parseHeaderJson(headerText, file);
  const data = bytes.subarray(8 + headerLength);

  const metadata = readMetadata(header[METADATA_KEY], file);
  const entries = topLevelKeys(headerText, file)
    .filter((name) => name !== METADATA_KEY)
    .map((name) => readEntry(name, header[name], file));
  checkLayout(entries, data.length, file);

  const tensors = new Map<string, SafeTensor>();
  for (const entry of entries) {
    tensors.set(entry.name, decodeTensor(entry, data, options, mayShare));
  }
  return { tensors, metadata };
}

function decodeHeader(headerBytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch (error) {
    throw new CheckpointError(file, "header is not valid UTF-8: not a safetensors file", { cause: error });
  }
}

function parseHeaderJson(text: string, file: string): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    const start = JSON.stringify(text.slice(0, 40));
    throw new CheckpointError(file, `header is not JSON (${messageOf(error)}; it starts ${start})`, {
      cause: error,
    });
  }
  if (!isPlainObject(header)) {
    throw new CheckpointError(file, "header is JSON but not an object of tensors");
  }
  return header;
}

function readMetadata(value: unknown, file: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    throw new CheckpointError(file, `"${METADATA_KEY}" must be an object of strings`);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") {
      throw new CheckpointError(
        file,
        `metadata value "${key}" is ${describe(item)}, but safetensors metadata values must be strings`,
      );
    }
  }
  // fromEntries defines own properties, so a key such as "__proto__" is kept as data, not as a prototype.
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

function readEntry(name: string, value: unknown, file: string): HeaderEntry {
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem, { tensor: name });
  };
  if (!isPlainObject(value)) {
    return fail(`header entry is ${describe(value)}, expected {dtype, shape, data_offsets}`);
  }
  for (const field of ["dtype", "shape", "data_offsets"]) {
    if (!(field in value)) fail(`header entry lacks "${field}"`);
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== "string") return fail(`dtype is ${describe(dtype)}, expected a string`);
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    const why = KNOWN_UNSUPPORTED.includes(dtype)
      ? "is not supported by this reader"
      : "is not a safetensors dtype";
    fail(`dtype "${dtype}" ${why} (supported: ${DTYPES.join(", ")})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(`data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers [begin, end]`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end) fail(`data_offsets [${begin}, ${end}] end before they begin`);

  const itemSize = ITEM_SIZE[dtype as Dtype];
  const elements = elementCount(shape as number[]);
  if (elements === undefined || elements * itemSize !== end - begin) {
    const needed = elements === undefined ? "too many" : String(elements * itemSize);
    fail(
      `shape ${JSON.stringify(shape)} of ${dtype} needs ${needed} bytes, ` +
        `but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype: dtype as Dtype, shape: shape as number[], begin, end };
}

/**
 * Offsets must lie inside the data buffer and tensors must not share bytes. Gaps are tolerated: the reference
 * writer never leaves any, and a reader only needs every tensor to be where its header says.
 */
function checkLayout(entries: HeaderEntry[], dataLength: number, file: string): void {
  for (const entry of entries) {
    if (entry.end > dataLength) {
      throw new CheckpointError(
        file,
        `data_offsets [${entry.begin}, ${entry.end}] reach past the end of the ${dataLength}-byte data ` +
          "buffer: the file is truncated or its header is wrong",
        { tensor: entry.name },
      );
    }
  }
  const byStart = entries.filter((entry) => entry.end > entry.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < byStart.length; i++) {
    const previous = byStart[i - 1];
    const current = byStart[i];
    if (current.begin < previous.end) {
      throw new CheckpointError(
        file,
        `data_offsets [${current.begin}, ${current.end}] overlap those of tensor "${previous.name}" ` +
          `[${previous.begin}, ${previous.end}]`,
        { tensor: current.name },
      );
    }
  }
}

function decodeTensor(
  entry: HeaderEntry,
  data: Uint8Array,
  options: ReadOptions,
  mayShare: boolean,
): SafeTensor {
  const { dtype, shape } = entry;
  const count = entry.end - entry.begin;
  const itemSize = ITEM_SIZE[dtype];
  const start = data.byteOffset + entry.begin;
  // A typed array needs an aligned start; share the file's buffer when allowed and aligned, else copy.
  const source = mayShare && start % itemSize === 0 ? data : data.slice(entry.begin, entry.end);
  const buffer = source.buffer as ArrayBuffer;
  const offset = source === data ? start : 0;
  const length = count / itemSize;

  switch (dtype) {
    case "F16":
      return {
        dtype: "F32",
        storedDtype: dtype,
        shape,
        data: float16ToFloat32(new Uint16Array(buffer, offset, length)),
      };
    case "BF16":
      return {
        dtype: "F32",
        storedDtype: dtype,
        shape,
        data: bfloat16ToFloat32(new Uint16Array(buffer, offset, length)),
      };
    case "F64": {
      const values = new Float64Array(buffer, offset, length);
      if (options.float64ToFloat32) {
        return { dtype: "F32", storedDtype: dtype, shape, data: Float32Array.from(values) };
      }
      return { dtype, storedDtype: dtype, shape, data: values };
    }
    default:
      return { dtype, storedDtype: dtype, shape, data: new (ARRAY_TYPE[dtype])(buffer, offset, length) };
  }
}

/** The typed array that holds each dtype unconverted. */
const ARRAY_TYPE = {
  BOOL: Uint8Array,
  U8: Uint8Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I32: Int32Array,
  F32: Float32Array,
  F64: Float64Array,
  I64: BigInt64Array,
} as const;

/**
 * The top-level keys of a JSON object text, in the order written. `JSON.parse` moves integer-like keys
 * (a tensor named "0") to the front, and the file's order is what a user expects to see back.
 * The text is known to be valid JSON, so the scan only tracks strings and nesting.
 */
function topLevelKeys(text: string, file: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      const close = endOfString(text, i);
      if (depth === 1 && expectKey) {
        keys.push(JSON.parse(text.slice(i, close + 1)));
        expectKey = false;
      }
      i = close;
    } else if (char === "{" || char === "[") {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (char === "}" || char === "]") {
      depth--;
    } else if (char === "," && depth === 1) {
      expectKey = true;
    }
  }
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) throw new CheckpointError(file, "appears twice in the header", { tensor: key });
    seen.add(key);
  }
  return keys;
}

/** Index of the quote closing the JSON string that opens at `start`. */
function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  return text.length;
}

// ---------------------------------------------------------------------------------------------------------
// Writing.

/**
 * Encode tensors and string metadata as safetensors bytes.
 * @param tensors name → {dtype, shape, data}; a Map keeps its order in the header.
 * @param metadata string → string, stored as `__metadata__` (e.g. the training config as JSON).
 * @param targetName file or buffer name used in error messages.
 * @throws CheckpointError for an unknown dtype, a shape that does not match the data, values a dtype cannot
 *   hold, or non-string metadata.
 */
export function encodeSafetensors(
  tensors: TensorsToWrite,
  metadata?: Record<string, string>,
  targetName = "safetensors buffer",
): Uint8Array {
  return guarded(targetName, () => encode(tensors, metadata, targetName));
}

function encode(
  tensors: TensorsToWrite,
  metadata: Record<string, string> | undefined,
  file: string,
): Uint8Array {
  if (!HOST_IS_LITTLE_ENDIAN) throw new CheckpointError(file, "big-endian hosts are not supported");
  const named = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, tensor] of named) checkTensorToWrite(name, tensor, file);

  // Largest items first: with an 8-aligned data start every tensor then begins on a multiple of its item
  // size and the buffer has no holes, which the reference reader requires.
  const layout = named
    .map(([name, tensor], index) => ({ name, tensor, index, itemSize: ITEM_SIZE[tensor.dtype] }))
    .sort((a, b) => b.itemSize - a.itemSize || a.index - b.index);
  const offsets = new Map<string, [number, number]>();
  let dataLength = 0;
  for (const { name, tensor, itemSize } of layout) {
    const byteLength = tensor.data.length * itemSize;
    offsets.set(name, [dataLength, dataLength + byteLength]);
    dataLength += byteLength;
  }

  // The header lists tensors in the caller's order; offsets say where each one lies. It is joined by hand
  // because a JS object would move integer-like names ("0") to the front.
  const fields: string[] = [];
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    fields.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(checkMetadata(metadata, file))}`);
  }
  for (const [name, tensor] of named) {
    const entry = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: offsets.get(name) };
    fields.push(`${JSON.stringify(name)}:${JSON.stringify(entry)}`);
  }
  let headerBytes = new TextEncoder().encode(`{${fields.join(",")}}`);
  const padding = (8 - (headerBytes.length % 8)) % 8;
  if (padding > 0) {
    const padded = new Uint8Array(headerBytes.length + padding).fill(0x20); // spaces, as the reference pads
    padded.set(headerBytes);
    headerBytes = padded;
  }

  const out = new Uint8Array(8 + headerBytes.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  const dataStart = 8 + headerBytes.length;
  for (const { name, tensor } of layout) {
    const [begin] = offsets.get(name)!;
    writeTensorData(tensor, out.buffer, dataStart + begin, name, file);
  }
  return out;
}

function checkTensorToWrite(name: string, tensor: TensorToWrite, file: string): void {
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem, { tensor: name });
  };
  if (name === METADATA_KEY) fail(`"${METADATA_KEY}" is reserved for metadata and cannot name a tensor`);
  if (typeof tensor !== "object" || tensor === null) fail("expected {dtype, shape, data}");
  if (!(DTYPES as readonly string[]).includes(tensor.dtype)) {
    fail(`cannot write dtype ${JSON.stringify(tensor.dtype)} (supported: ${DTYPES.join(", ")})`);
  }
  if (!Array.isArray(tensor.shape) || !tensor.shape.every(isCount)) {
    fail(`shape ${JSON.stringify(tensor.shape)} is not a list of non-negative integers`);
  }
  if (tensor.data === null || typeof tensor.data !== "object" || typeof tensor.data.length !== "number") {
    fail("data is not an array or typed array");
  }
  const elements = elementCount(tensor.shape as number[]);
  if (elements !== tensor.data.length) {
    fail(
      `shape ${JSON.stringify(tensor.shape)} holds ${
        elements ?? "too many"
      } elements but data has ${tensor.data.length}`,
    );
  }
}

function checkMetadata(metadata: Record<string, string>, file: string): Record<string, string> {
  if (!isPlainObject(metadata)) throw new CheckpointError(file, "metadata must be an object of strings");
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") {
      throw new CheckpointError(
        file,
        `metadata value "${key}" is ${describe(value)}; safetensors metadata values must be strings ` +
          "(JSON.stringify structured values)",
      );
    }
  }
  return metadata;
}

/** Integer range of each integer dtype that takes numbers. */
const INTEGER_RANGE: Partial<Record<Dtype, [number, number]>> = {
  U8: [0, 255],
  I32: [-2147483648, 2147483647],
  BOOL: [0, 1],
};

function writeTensorData(
  tensor: TensorToWrite,
  buffer: ArrayBuffer,
  byteOffset: number,
  name: string,
  file: string,
) {
  const { dtype } = tensor;
  const source = tensor.data as ArrayLike<unknown>;
  const length = source.length;
  const fail = (index: number, why: string): never => {
    throw new CheckpointError(file, `element ${index} (${String(source[index])}) ${why} for ${dtype}`, {
      tensor: name,
    });
  };

  switch (dtype) {
    case "F32":
    case "F64": {
      const target = new (ARRAY_TYPE[dtype])(buffer, byteOffset, length);
      if (source instanceof Float32Array || source instanceof Float64Array) {
        target.set(source); // already numbers: no per-element checks needed
        return;
      }
      for (let i = 0; i < length; i++) {
        if (typeof source[i] !== "number") fail(i, "is not a number");
        target[i] = source[i] as number; // F32: the typed array rounds to nearest, as IEEE casts do
      }
      return;
    }
    case "F16":
    case "BF16": {
      const target = new Uint16Array(buffer, byteOffset, length);
      const toBits = dtype === "F16" ? toFloat16Bits : toBfloat16Bits;
      for (let i = 0; i < length; i++) {
        if (typeof source[i] !== "number") fail(i, "is not a number");
        target[i] = toBits(source[i] as number);
      }
      return;
    }
    case "I64": {
      const target = new (ARRAY_TYPE[dtype])(buffer, byteOffset, length);
      if (source instanceof ARRAY_TYPE[dtype]) {
        target.set(source as typeof target);
        return;
      }
      const [low, high] = [-(2n ** 63n), 2n ** 63n - 1n];
      for (let i = 0; i < length; i++) {
        const value = source[i];
        if (typeof value === "number" && !Number.isSafeInteger(value)) {
          fail(i, "is not a safe integer (pass a BigInt64Array or bigints for values beyond 2^53)");
        }
        if (typeof value !== "number" && typeof value !== "bigint") fail(i, "is not an integer");
        const big = BigInt(value as number | bigint);
        if (big < low || big > high) fail(i, "is out of range");
        target[i] = big;
      }
      return;
    }
    default: {
      const target = new (ARRAY_TYPE[dtype])(buffer, byteOffset, length);
      if (dtype !== "BOOL" && source instanceof ARRAY_TYPE[dtype]) {
        target.set(source as typeof target); // same typed array: every value already fits
        return;
      }
      const [low, high] = INTEGER_RANGE[dtype]!;
      for (let i = 0; i < length; i++) {
        const raw = source[i];
        const value = dtype === "BOOL" && typeof raw === "boolean" ? Number(raw) : raw;
        // Typed arrays would silently wrap 256 to 0 or truncate 1.5; a checkpoint must not change values.
        if (typeof value !== "number" || !Number.isInteger(value) || value < low || value > high) {
          fail(i, `is not an integer in [${low}, ${high}]`);
        }
        target[i] = value as number;
      }
    }
  }
}

/**
 * Write a safetensors file atomically: the bytes go to a temporary file in the same directory, which is
 * fsynced and then renamed over `path`. A crash or error never leaves a half-written checkpoint: on failure
 * the temporary file is removed and an existing `path` is untouched.
 * @throws CheckpointError naming `path`.
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorsToWrite,
  metadata?: Record<string, string>,
): Promise<void> {
  // Encode first: invalid tensors must fail before anything touches the disk.
  const bytes = encodeSafetensors(tensors, metadata, path);
  try {
    await writeFileAtomic(path, bytes);
  } catch (error) {
    throw new CheckpointError(path, `could not write the file: ${messageOf(error)}`, { cause: error });
  }
  await syncDirectory(dirname(path));
}

/** Persist the rename itself; best effort, since some platforms cannot open or sync a directory. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await Deno.open(directory, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Windows and some network file systems refuse this; the file itself was synced.
  }
}

// ---------------------------------------------------------------------------------------------------------
// Half-precision conversions.

/**
 * IEEE binary16 bits of a number, rounded to nearest with ties to even straight from the double (no
 * intermediate float32 rounding). Overflow gives ±infinity, tiny values subnormals or ±0, NaN 0x7E00.
 */
export function toFloat16Bits(value: number): number {
  return roundToSmallFloat(value, 5, 10);
}

/** bfloat16 bits of a number (8 exponent, 7 mantissa bits), rounded to nearest with ties to even. */
export function toBfloat16Bits(value: number): number {
  return roundToSmallFloat(value, 8, 7);
}

/** The number an IEEE binary16 bit pattern stands for. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * powerOfTwo(-24);
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * powerOfTwo(exponent - 25);
}

let float16Table: Float32Array | undefined;

/** Decode binary16 bit patterns to float32 (exact: every half value is a float32). */
function float16ToFloat32(bits: Uint16Array): Float32Array {
  // A 65536-entry table makes decoding a large F16 checkpoint a lookup per element.
  float16Table ??= Float32Array.from({ length: 65536 }, (_, pattern) => fromFloat16Bits(pattern));
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = float16Table[bits[i]];
  return out;
}

/** Decode bfloat16 bit patterns to float32: they are the top halves of float32 patterns. */
function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i] << 16;
  return out;
}

/**
 * Round a double to a binary float with `exponentBits` and `mantissaBits` (IEEE layout, with subnormals,
 * infinities and NaN), ties to even, and return its bit pattern. Works on the double's own bits so every
 * step is exact and there is exactly one rounding.
 */
function roundToSmallFloat(value: number, exponentBits: number, mantissaBits: number): number {
  const signBit = 1 << (exponentBits + mantissaBits);
  const exponentMask = (1 << exponentBits) - 1;
  const infinityBits = exponentMask << mantissaBits;
  if (Number.isNaN(value)) return infinityBits | (1 << (mantissaBits - 1)); // the canonical quiet NaN
  const sign = value < 0 || Object.is(value, -0) ? signBit : 0;
  const magnitude = Math.abs(value);
  if (magnitude === Infinity) return sign | infinityBits;

  const bias = (1 << (exponentBits - 1)) - 1;
  const minimumExponent = 1 - bias;
  if (magnitude < powerOfTwo(minimumExponent)) {
    // Subnormal (or zero): count units of the smallest subnormal; scaling by a power of two is exact.
    // Rounding up to 2^mantissaBits units yields the smallest normal, whose bits are exactly that count.
    return sign | roundHalfToEven(magnitude * powerOfTwo(mantissaBits - minimumExponent));
  }
  const [exponent, fraction52] = doubleParts(magnitude);
  let unbiased = exponent;
  let mantissa = roundHalfToEven(fraction52 * powerOfTwo(mantissaBits - 52));
  if (mantissa === 1 << mantissaBits) {
    mantissa = 0;
    unbiased += 1;
  }
  if (unbiased > bias) return sign | infinityBits;
  return sign | ((unbiased + bias) << mantissaBits) | mantissa;
}

/** Unbiased exponent and the 52 fraction bits (as an exact integer) of a positive normal double. */
function doubleParts(value: number): [number, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  return [((high >>> 20) & 0x7ff) - 1023, (high & 0xfffff) * 2 ** 32 + low];
}

/** 2^exponent for exponent in [-1022, 1023], built from bits so it is exact on every engine. */
function powerOfTwo(exponent: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, (exponent + 1023) << 20);
  return view.getFloat64(0);
}

function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const remainder = x - floor; // exact for the values used here
  if (remainder > 0.5) return floor + 1;
  if (remainder < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers.

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Product of a shape, or undefined when it is not a safe integer. */
function elementCount(shape: readonly number[]): number | undefined {
  let count = 1;
  for (const size of shape) count *= size;
  return Number.isSafeInteger(count) ? count : undefined;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
