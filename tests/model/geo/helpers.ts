/** Shared fixtures of the GeoTIFF tests: the real sample files, temporary folders, damaged copies. */
import { join } from "node:path";
import { GEOTIFF_DIR } from "../../support/paths.ts";
import { encodeGeoTiff, type GeoTiffImage } from "../../../model/geo/write.ts";

/** The ten NAIP dates (4 bands uint8, 5 m, EPSG:26914), sorted. */
export const NAIP_FILES = [...Deno.readDirSync(join(GEOTIFF_DIR, "naip"))]
  .map((e) => e.name)
  .filter((n) => n.endsWith(".tif"))
  .sort()
  .map((n) => join(GEOTIFF_DIR, "naip", n));
export const NAIP = NAIP_FILES[0];
export const DSM = join(GEOTIFF_DIR, "elevation/dsm.tif");
export const DTM = join(GEOTIFF_DIR, "elevation/dtm.tif");
export const HAG = join(GEOTIFF_DIR, "elevation/hag.tif");

/** A temporary folder, removed after `body` whatever happens. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "sgan-geo-test-" });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Names in a folder (empty when it does not exist). */
export function listNames(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** Write a GeoTIFF with our encoder (no atomic rename needed in tests). */
export async function writeTiff(path: string, image: GeoTiffImage): Promise<void> {
  await Deno.writeFile(path, await encodeGeoTiff(image));
}

/** Set the value of a SHORT tag in the first IFD of a little-endian TIFF we wrote (e.g. Compression, 259). */
export function patchShortTag(bytes: Uint8Array, tag: number, value: number): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const ifd = view.getUint32(4, true);
  const count = view.getUint16(ifd, true);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + 12 * i;
    if (view.getUint16(entry, true) === tag) {
      view.setUint16(entry + 8, value, true);
      return out;
    }
  }
  throw new Error(`tag ${tag} not found`);
}

export { runCli } from "../../support/cli.ts";

/**
 * A synthetic land-cover raster: class codes in quadrant blocks with a diagonal band, `noData` in the
 * top-left corner pixel when given.
 */
export function landCoverCodes(size: number, codes: number[], seed: number, noData?: number): Uint8Array {
  const out = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const quadrant = (x < size / 2 ? 0 : 1) + (y < size / 2 ? 0 : 2);
      const onDiagonal = Math.abs(x - y - seed) < 3;
      out[y * size + x] = codes[onDiagonal ? codes.length - 1 : (quadrant + seed) % (codes.length - 1)];
    }
  }
  if (noData !== undefined) out[0] = noData;
  return out;
}
