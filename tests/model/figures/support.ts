/** Small rasters and pixel probes for the figure tests. */
import type { Image } from "imagescript";
import type { Raster8 } from "../../../model/images.ts";

/** A solid raster of one colour. */
export function solid(size: number, rgb: number[], channels = 3): Raster8 {
  const data = new Uint8Array(size * size * channels);
  for (let p = 0; p < size * size; p++) {
    for (let k = 0; k < channels; k++) data[p * channels + k] = rgb[k] ?? rgb[0];
  }
  return { width: size, height: size, channels, data };
}

/** RGB of a canvas pixel. */
export function pixel(image: Image, x: number, y: number): number[] {
  const p = (y * image.width + x) * 4;
  return [image.bitmap[p], image.bitmap[p + 1], image.bitmap[p + 2]];
}
