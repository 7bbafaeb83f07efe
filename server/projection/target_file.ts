/**
 * The resampled target of a projection as the server hands it to its worker: `target.json` (everything of the
 * {@link ProjectionTarget} but its pixels: the resampling line, the source, the window, the place on the
 * ground) and `target.raw` (the 8-bit raster, interleaved by pixel). The server has decoded and resampled the
 * upload already, to refuse an unusable one before anything is stored; writing what it got lets the worker
 * start from it instead of decoding the upload a second time (a 40 M pixel JPEG or GeoTIFF takes seconds and
 * hundreds of MB to decode, the 64 px target is 12 KB).
 *
 * A raw file rather than a PNG: a GeoTIFF target may have any number of bands.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../../model/files.ts";
import type { ProjectionTarget } from "../../model/projection/target.ts";

/** `target.json`: the target without its pixels, and the raster's shape. */
interface TargetFile extends Omit<ProjectionTarget, "raster"> {
  format: "sgan-ts/projection-target/1";
  raster: { width: number; height: number; channels: number };
}

/** Write `target` into the projection folder `dir` (each file atomically). */
export async function writeTargetFiles(dir: string, target: ProjectionTarget): Promise<void> {
  const { raster, ...rest } = target;
  const file: TargetFile = {
    format: "sgan-ts/projection-target/1",
    ...rest,
    raster: { width: raster.width, height: raster.height, channels: raster.channels },
  };
  await writeFileAtomic(join(dir, "target.raw"), raster.data);
  await writeFileAtomic(join(dir, "target.json"), new TextEncoder().encode(JSON.stringify(file, null, 1)));
}

/**
 * The target written by {@link writeTargetFiles}, checked against the model it is projected into.
 * @throws Error naming the file when it is not one, or its raster does not fit the model.
 */
export async function readTargetFiles(
  dir: string,
  model: { resolution: number; channels: number },
): Promise<ProjectionTarget> {
  const path = join(dir, "target.json");
  const file = JSON.parse(await Deno.readTextFile(path)) as Partial<TargetFile>;
  if (file.format !== "sgan-ts/projection-target/1" || !file.raster) {
    throw new Error(`${path} is not a projection target (format sgan-ts/projection-target/1)`);
  }
  const { width, height, channels } = file.raster;
  if (width !== model.resolution || height !== model.resolution || channels !== model.channels) {
    throw new Error(
      `${path}: the target is ${width} × ${height} px with ${channels} band(s); the model makes ` +
        `${model.resolution} × ${model.resolution} px with ${model.channels}`,
    );
  }
  const data = await Deno.readFile(join(dir, "target.raw"));
  if (data.length !== width * height * channels) {
    throw new Error(
      `${join(dir, "target.raw")} holds ${data.length} bytes, not the ${width * height * channels} of a ` +
        `${width} × ${height} × ${channels} raster`,
    );
  }
  const { format: _format, raster: _shape, ...rest } = file as TargetFile;
  return { ...rest, raster: { width, height, channels, data } };
}
