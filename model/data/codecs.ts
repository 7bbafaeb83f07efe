/**
 * imagescript's own PNG and JPEG wasm decoders, instantiated once per thread.
 *
 * `Image.decode` creates a new WebAssembly instance for every image and then converts JPEG's RGB to RGBA
 * one pixel at a time; on UC Merced's 256 px JPEGs that is about 7 ms per image against 2-3 ms for the
 * same decoder called directly, which made it most of a cold dataset load. The bytes are identical (it is
 * the same decoder; the tests compare them). These modules are imagescript internals (`wasm/node/*.js`,
 * stable at the pinned 1.3.1), so anything unexpected falls back to `Image.decode`.
 *
 * @module
 */
import { createRequire } from "node:module";
import { Image } from "imagescript";

/** Decoded pixels, interleaved, `bytesPerPixel` bytes each (1 grey, 3 RGB, 4 RGBA). */
export interface DecodedPixels {
  width: number;
  height: number;
  bytesPerPixel: 1 | 3 | 4;
  data: Uint8Array;
}

interface JpegCodec {
  decode(bytes: Uint8Array): { width: number; height: number; format: number; buffer: Uint8Array };
}

interface PngCodec {
  decode(bytes: Uint8Array): { width: number; height: number; framebuffer: Uint8Array };
}

interface CodecModule<T> {
  init(): Promise<T>;
}

/** libjpeg output formats as imagescript's JPEG module reports them. */
const JPEG_GREY = 0;
const JPEG_RGB = 1;

let jpegCodec: Promise<JpegCodec | undefined> | undefined;
let pngCodec: Promise<PngCodec | undefined> | undefined;

/** Decode JPEG bytes. Errors are the decoder's own (the caller names the file). */
export async function decodeJpegPixels(bytes: Uint8Array): Promise<DecodedPixels> {
  jpegCodec ??= loadCodec<JpegCodec>("imagescript/wasm/node/jpeg.js");
  const codec = await jpegCodec;
  if (codec) {
    let frame;
    try {
      frame = codec.decode(bytes);
    } catch (error) {
      jpegCodec = undefined; // a fresh instance next time, in case the failure left this one in a bad state
      throw error;
    }
    const { width, height, format, buffer } = frame;
    if (format === JPEG_RGB) return { width, height, bytesPerPixel: 3, data: buffer };
    if (format === JPEG_GREY) return { width, height, bytesPerPixel: 1, data: buffer };
    // CMYK and anything else: imagescript's public path knows the conversion.
  }
  return await decodeWithImage(bytes);
}

/** Decode PNG bytes (always RGBA: the decoder expands grey, palette and 16-bit samples). */
export async function decodePngPixels(bytes: Uint8Array): Promise<DecodedPixels> {
  pngCodec ??= loadCodec<PngCodec>("imagescript/wasm/node/png.js");
  const codec = await pngCodec;
  if (!codec) return await decodeWithImage(bytes);
  try {
    const { width, height, framebuffer } = codec.decode(bytes);
    return { width, height, bytesPerPixel: 4, data: framebuffer };
  } catch (error) {
    pngCodec = undefined;
    throw error;
  }
}

/** The public, slower path: a fresh decoder per image, RGBA out. */
async function decodeWithImage(bytes: Uint8Array): Promise<DecodedPixels> {
  const { width, height, bitmap } = await Image.decode(bytes);
  return {
    width,
    height,
    bytesPerPixel: 4,
    data: new Uint8Array(bitmap.buffer, bitmap.byteOffset, bitmap.byteLength),
  };
}

async function loadCodec<T>(specifier: string): Promise<T | undefined> {
  try {
    const require = createRequire(import.meta.url);
    return await (require(specifier) as CodecModule<T>).init();
  } catch {
    return undefined; // layout changed or not resolvable: Image.decode still works
  }
}
