/**
 * Tensor ↔ 8-bit image conversions and PNG/JPEG encoding (through imagescript, as the design asks).
 * The 8-bit rule is StyleGAN's: round((clamp(x, −1, 1) + 1) / 2 · 255).
 */
import * as tf from "@tensorflow/tfjs-core";
import { Image } from "imagescript";

/** An interleaved 8-bit raster. */
export interface Raster8 {
  width: number;
  height: number;
  /** Channels per pixel in `data` (1 grey, 3 RGB, or more for multi-band). */
  channels: number;
  data: Uint8Array;
}

/** NHWC images in about [−1, 1] → one 8-bit raster per image. */
export async function toRgb8(images: tf.Tensor4D): Promise<Raster8[]> {
  const [n, h, w, c] = images.shape;
  const scaled = tf.tidy(() => tf.round(tf.mul(tf.add(tf.clipByValue(images, -1, 1), 1), 127.5)));
  const values = await scaled.data();
  scaled.dispose();
  const out: Raster8[] = [];
  const size = h * w * c;
  for (let i = 0; i < n; i++) {
    out.push({
      width: w,
      height: h,
      channels: c,
      data: Uint8Array.from(values.subarray(i * size, (i + 1) * size)),
    });
  }
  return out;
}

/** An imagescript Image of a raster: grey for 1 channel, the first three bands as RGB otherwise. */
export function imageOf(raster: Raster8): Image {
  const { width, height, channels, data } = raster;
  const img = new Image(width, height);
  const bitmap = img.bitmap;
  for (let p = 0; p < width * height; p++) {
    const src = p * channels;
    const r = data[src];
    const g = channels >= 3 ? data[src + 1] : r;
    const b = channels >= 3 ? data[src + 2] : r;
    bitmap[p * 4] = r;
    bitmap[p * 4 + 1] = g;
    bitmap[p * 4 + 2] = b;
    bitmap[p * 4 + 3] = 255;
  }
  return img;
}

/**
 * PNG bytes of a raster. Deterministic: imagescript stamps a "Creation Time" text chunk with the current
 * time unless told otherwise, which would make the same pixels give different bytes (and ETags).
 */
export async function encodePng(raster: Raster8 | Image): Promise<Uint8Array> {
  const img = raster instanceof Image ? raster : imageOf(raster);
  return await img.encode(1, { creationTime: 0 });
}

/** JPEG bytes of a raster. */
export async function encodeJpeg(raster: Raster8 | Image, quality = 90): Promise<Uint8Array> {
  const img = raster instanceof Image ? raster : imageOf(raster);
  return await img.encodeJPEG(quality as Parameters<Image["encodeJPEG"]>[0]);
}
