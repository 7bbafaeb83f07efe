/**
 * The SWD per pyramid level with the ground resolution of each level, as a table for people and a JSON
 * record for metrics.jsonl. Level k of a model of R px at g m/px is R/2^k px at g·2^k m/px, taken from
 * model/scale.ts (depth = log2(R/2^k) − 2), never typed in.
 *
 * @module
 */
import { groundResolutionAt, maxDepthOf } from "../scale.ts";
import { mean, SWD_DEFAULTS, type SWDOptions } from "./swd.ts";

/** One pyramid level of the report. */
export interface SWDLevel {
  /** Pyramid level: 0 is full resolution, each next one half the pixels per side. */
  level: number;
  /** Side of the level, px. */
  pixels: number;
  /** Generator depth of the same size (0 = 4 px). */
  depth: number;
  /** Ground resolution of the level, metres per pixel. */
  metres_per_pixel: number;
  /** Sliced Wasserstein distance ×1e3 at this level. */
  swd_x1e3: number;
}

/** A whole evaluation: levels finest first, their average, and how it was measured. */
export interface SWDReport {
  metric: "swd";
  /** Side of the compared images, px. */
  resolution: number;
  /** Ground resolution at full resolution, metres per pixel. */
  gsd_m: number;
  levels: SWDLevel[];
  /** Mean of the per-level values (PGGAN's `SWDx1e3_avg`). */
  average_x1e3: number;
  /** The metric's hyper-parameters and seed. */
  options: SWDOptions;
}

/** Attach pixels and metres to per-level distances (finest first) of `resolution` px images at `gsdM` m/px. */
export function swdLevels(swd: number[], resolution: number, gsdM: number): SWDLevel[] {
  const maxDepth = maxDepthOf(resolution);
  return swd.map((value, level) => {
    const depth = maxDepth - level;
    return {
      level,
      pixels: resolution / 2 ** level,
      depth,
      metres_per_pixel: groundResolutionAt(depth, resolution, gsdM),
      swd_x1e3: value,
    };
  });
}

/** The report of one comparison. */
export function swdReport(
  swd: number[],
  resolution: number,
  gsdM: number,
  options: Partial<SWDOptions> = {},
): SWDReport {
  return {
    metric: "swd",
    resolution,
    gsd_m: gsdM,
    levels: swdLevels(swd, resolution, gsdM),
    average_x1e3: mean(swd),
    options: { ...SWD_DEFAULTS, ...options },
  };
}

/** Metres per pixel with 3 significant digits, without a trailing exponent (0.305, 4.88, 19.5). */
function formatMpp(m: number): string {
  return m >= 100 ? m.toFixed(0) : m.toPrecision(3);
}

/**
 * The table `deno task eval` prints:
 * ```
 * level    px    m/px   SWD×1e3
 *     0    64   0.305     12.34
 * ...
 * average                 15.67
 * ```
 */
export function formatSWDTable(report: SWDReport): string {
  const header = `${"level".padEnd(7)}${"px".padStart(5)}${"m/px".padStart(9)}${"SWD×1e3".padStart(11)}`;
  const rows = report.levels.map((l) =>
    `${String(l.level).padStart(5).padEnd(7)}${String(l.pixels).padStart(5)}${
      formatMpp(l.metres_per_pixel).padStart(9)
    }` +
    `${l.swd_x1e3.toFixed(2).padStart(11)}`
  );
  const average = `${"average".padEnd(21)}${report.average_x1e3.toFixed(2).padStart(11)}`;
  return [header, ...rows, average].join("\n");
}
