/**
 * Messages between the pools and their worker processes. Each message is one MessagePack value on the
 * child's stdin (requests) or stdout (replies); MessagePack carries the float and byte buffers as binary, and
 * `decodeMultiStream` splits the byte stream back into messages, so no framing is written here.
 *
 * @module
 */
import { decodeMultiStream, encode } from "@msgpack/msgpack";
import type { NoiseMode } from "../layers/noise_layer.ts";

/** A checkpoint as the parent loaded it: the worker loads the same file and checks its SHA-256. */
export interface ModelRef {
  file: string;
  /** Hex SHA-256 of the file's bytes. */
  fingerprint: string;
}

/** Parent → worker: synthesize images from dlatents. */
export interface SynthesisRequest {
  type: "synthesize";
  id: number;
  model: ModelRef;
  depth: number;
  noise: NoiseMode;
  /** [images, num_layers, dlatent_size]. */
  shape: [number, number, number];
  /** Little-endian float32 dlatents, row-major in `shape`. */
  dlatents: Uint8Array;
}

/** Worker → parent: the 8-bit images of a request, one after another. */
export interface SynthesisResult {
  type: "result";
  id: number;
  width: number;
  height: number;
  channels: number;
  /** `images × height × width × channels` bytes. */
  data: Uint8Array;
}

/** Write one message (any MessagePack-able value). */
export async function writeMessage(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  message: unknown,
): Promise<void> {
  await writer.write(encode(message));
}

/** The messages of a byte stream, in order. */
export async function* readMessages<T>(stream: ReadableStream<Uint8Array>): AsyncGenerator<T> {
  for await (const value of decodeMultiStream(stream)) yield value as T;
}

/** Float32 values as little-endian bytes (a view, no copy). */
export function floatBytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Little-endian bytes as float32 values (copies when the bytes are not 4-byte aligned). */
export function bytesToFloats(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) {
    throw new Error(`float32 data of ${bytes.byteLength} bytes (not a multiple of 4)`);
  }
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
}
