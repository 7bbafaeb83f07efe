/** Where the read-only shared data lives: `SGAN_SHARED_DIR`, else `../shared` beside the repository. */
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

export const SHARED_DIR = Deno.env.get("SGAN_SHARED_DIR") ?? `${REPO_ROOT}/../shared`;

/** The StyleGAN.pytorch reference fixture. */
export const FIXTURE_DIR = `${SHARED_DIR}/fixtures/stylegan-pytorch-r32`;

/** The UC Merced land-use dataset. */
export const UCMERCED_DIR = `${SHARED_DIR}/data/ucmerced_landuse`;

/** Real GeoTIFFs (NAIP, elevation). */
export const GEOTIFF_DIR = `${SHARED_DIR}/data/geotiff-samples`;
