/**
 * Where the tests find their data. What every test needs lives in the repository (tests/fixtures, see its
 * README); the full datasets, which only a few tests need, are found through one setting: `SGAN_DATA_DIR`, else
 * `../shared/data` beside the repository. Tests that need them are ignored, with one line saying why, when absent.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** The fixtures committed with the repository. */
export const FIXTURES_DIR = `${REPO_ROOT}/tests/fixtures`;

/** The StyleGAN.pytorch reference fixture (weights, inputs, outputs). */
export const FIXTURE_DIR = `${FIXTURES_DIR}/stylegan-pytorch-r32`;

/** A sample of the UC Merced land-use dataset, laid out as the full one (images/<class>/, train.txt, holdout.txt). */
export const UCMERCED_DIR = `${FIXTURES_DIR}/ucmerced_sample`;

/** Real GeoTIFFs: two NAIP clips (4 bands, 5 m, EPSG:26914) and three elevation rasters (2 m, EPSG:26918). */
export const GEOTIFF_DIR = `${FIXTURES_DIR}/geotiff`;

/** The folder holding the full datasets: `SGAN_DATA_DIR`, else `../shared/data` beside the repository. */
export const DATA_DIR = Deno.env.get("SGAN_DATA_DIR") || `${REPO_ROOT}/../shared/data`;

/** The full UC Merced dataset (1,890 training and 105 hold-out tiles). */
export const FULL_UCMERCED_DIR = `${DATA_DIR}/ucmerced_landuse`;

/** The full GeoTIFF samples (ten NAIP dates, elevation). */
export const FULL_GEOTIFF_DIR = `${DATA_DIR}/geotiff-samples`;

const announced = new Set<string>();

/**
 * `ignore` for a test that needs the full dataset in `dir` (under DATA_DIR): true when it is absent, and then
 * one line, once per dataset, says what is missing and how to get it.
 */
export function ignoreWithoutData(dir: string): boolean {
  if (existsSync(dir)) return false;
  if (!announced.has(dir)) {
    announced.add(dir);
    console.log(
      `ignored: ${dir} is missing; the tests that need the full dataset run when SGAN_DATA_DIR names a folder ` +
        `holding it (see tests/fixtures/README.md)`,
    );
  }
  return true;
}
