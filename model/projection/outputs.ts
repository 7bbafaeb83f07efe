/**
 * What a projection leaves on disk: the w (JSON), the reconstruction (PNG, and a GeoTIFF at the target's
 * place when the target was one), the resampled target (PNG), and report.json. Written only after the
 * projection succeeded, each file atomically.
 *
 * @module
 */
import { writeFileAtomic } from "../files.ts";
import { writeGeoTiff } from "../geo/write.ts";
import { encodePng, type Raster8, toRgb8 } from "../images.ts";
import type { ProjectionResult } from "./project.ts";
import type { ProjectionTarget } from "./target.ts";

/** The w file (`w.json`): what `w:<id>` reads back (as a figure cell's given dlatents, model/figures/dlatents.ts). */
export interface ProjectedW {
  format: "sgan-ts/projected-w/1";
  num_layers: number;
  dlatent_size: number;
  w_plus: boolean;
  /** Row-major [num_layers][dlatent_size]. */
  dlatents: number[];
  /** The optimised noise maps, layer order, when noise was optimised ([size][size] each, row-major). */
  noise_maps?: { size: number; data: number[] }[];
}

/** PSNR in dB of two 8-bit rasters of the same shape. */
export function psnr8(a: Raster8, b: Raster8): number {
  if (a.data.length !== b.data.length) throw new RangeError("psnr8: rasters of different sizes");
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i] - b.data[i]) ** 2;
  const mse = sum / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10(255 ** 2 / mse);
}

/** The files written, relative to the output folder. */
export interface WrittenProjection {
  files: string[];
  psnr: number;
  reconstruction: Raster8;
}

/** Write a finished projection into `dir` (created); `report` is merged into report.json. */
export async function writeProjection(
  dir: string,
  target: ProjectionTarget,
  result: ProjectionResult,
  report: Record<string, unknown>,
): Promise<WrittenProjection> {
  const reconstruction = (await toRgb8(result.reconstruction))[0];
  const psnr = psnr8(reconstruction, target.raster);
  const w: ProjectedW = {
    format: "sgan-ts/projected-w/1",
    num_layers: result.numLayers,
    dlatent_size: result.dlatentSize,
    w_plus: result.wPlus,
    dlatents: Array.from(result.dlatents),
    noise_maps: result.noiseMaps?.map((m) => ({ size: m.size, data: Array.from(m.data) })),
  };
  await Deno.mkdir(dir, { recursive: true });
  const files = ["w.json", "reconstruction.png", "target.png"];
  await writeFileAtomic(`${dir}/w.json`, new TextEncoder().encode(JSON.stringify(w)));
  await writeFileAtomic(`${dir}/reconstruction.png`, await encodePng(reconstruction));
  await writeFileAtomic(`${dir}/target.png`, await encodePng(target.raster));
  if (target.geo) {
    // The same ground as the resampled target: its geotransform (the model's pixel size), its CRS.
    await writeGeoTiff(`${dir}/reconstruction.tif`, {
      width: reconstruction.width,
      height: reconstruction.height,
      bands: reconstruction.channels,
      data: reconstruction.data,
      photometric: reconstruction.channels >= 3 ? "rgb" : "minisblack",
      geo: { geoTransform: target.geo.geoTransform, crs: target.geo.crs },
      description: `projection of ${target.source.path}`,
      compress: true,
    });
    files.push("reconstruction.tif");
  }
  files.push("report.json");
  const full = {
    ...report,
    target: {
      file: target.source.path,
      format: target.source.format,
      size: [target.source.width, target.source.height],
      window: target.window,
      resampling: target.description,
      gsd_m: target.gsdM,
      geotransform: target.geo?.geoTransform ?? null,
      epsg: target.geo?.crs.epsg ?? null,
    },
    steps: result.lossCurve.length,
    seconds: result.seconds,
    w_plus: result.wPlus,
    w_std: result.wStats.std,
    final_losses: result.finalLosses,
    psnr_db: psnr,
    loss_curve: result.lossCurve,
    files,
  };
  await writeFileAtomic(`${dir}/report.json`, new TextEncoder().encode(JSON.stringify(full, null, 2) + "\n"));
  return { files, psnr, reconstruction };
}
