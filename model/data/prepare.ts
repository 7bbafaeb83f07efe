/**
 * One file → one training tile: read, decode, centre-crop, resample. The unit of work of a dataset load,
 * shared by the in-process path and the decode workers so both produce identical bytes.
 *
 * @module
 */
import { withFileInside } from "./confine.ts";
import { decodeImageFile } from "./decode.ts";
import { type ResampleMethod, toTrainingTile } from "./resize.ts";
import { prepareGeoTile, type SourceFacts, type TileMode } from "./geo_prepare.ts";

export type { SourceFacts, TileMode } from "./geo_prepare.ts";

/** A prepared training tile. */
export interface PreparedTile {
  /**
   * `resolution`² × `channels` samples, interleaved (HWC): bytes, or float32 (NaN for NoData) in the
   * `float` tile mode.
   */
  data: Uint8Array | Float32Array;
  /** How the image was resampled ("bilinear" means it was smaller than the resolution and upscaled). */
  method: ResampleMethod;
  /** Size of the decoded image before cropping, for the upscaling note. */
  sourceWidth: number;
  sourceHeight: number;
  /** Bands, sample type, pixel size of a GeoTIFF source (geo tile modes only), for consistency checks. */
  source?: SourceFacts;
}

/**
 * Decode `path` and turn it into a `resolution` × `resolution` tile of `channels` bands.
 * @param mode how (default: an 8-bit image through decode.ts).
 * @param root the data root (a real path): files whose real path leaves it are refused unread (confine.ts).
 * @throws DatasetError naming the file when it cannot be read or decoded, or lies outside `root`.
 */
export async function prepareTile(
  path: string,
  resolution: number,
  channels: number,
  mode: TileMode = { kind: "image" },
  root?: string,
): Promise<PreparedTile> {
  if (mode.kind !== "image") {
    return await withFileInside(path, root, (file) => prepareGeoTile(file, resolution, channels, mode));
  }
  const decoded = await decodeImageFile(path, { channels, root });
  const { raster, method } = toTrainingTile(decoded, resolution);
  return { data: raster.data, method, sourceWidth: decoded.width, sourceHeight: decoded.height };
}
