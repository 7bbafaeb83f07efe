/**
 * One file → one training tile: read, decode, centre-crop, resample. The unit of work of a dataset load,
 * shared by the in-process path and the decode workers so both produce identical bytes.
 *
 * @module
 */
import { decodeImageFile } from "./decode.ts";
import { type ResampleMethod, toTrainingTile } from "./resize.ts";

/** A prepared training tile. */
export interface PreparedTile {
  /** `resolution`² × `channels` bytes, interleaved (HWC). */
  data: Uint8Array;
  /** How the image was resampled ("bilinear" means it was smaller than the resolution and upscaled). */
  method: ResampleMethod;
  /** Size of the decoded image before cropping, for the upscaling note. */
  sourceWidth: number;
  sourceHeight: number;
}

/**
 * Decode `path` and turn it into a `resolution` × `resolution` tile of `channels` bands.
 * @throws DatasetError naming the file when it cannot be read or decoded.
 */
export async function prepareTile(path: string, resolution: number, channels: number): Promise<PreparedTile> {
  const decoded = await decodeImageFile(path, { channels });
  const { raster, method } = toTrainingTile(decoded, resolution);
  return { data: raster.data, method, sourceWidth: decoded.width, sourceHeight: decoded.height };
}
