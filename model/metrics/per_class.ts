/**
 * MS-SWD per land-use class: the reals and the fakes of each class compared on their own, with the same metric
 * (directions, neighbourhoods, seed) as the overall figure. A conditional model that draws a plausible patch
 * distribution overall can still give one class another class's texture; only a per-class comparison shows it.
 *
 * A class's reals are the images in a folder of that name (UC Merced's `images/<class>/<file>`, the same rule
 * as `dataset.labels: folder`). With a handful of images per class (the hold-out list has 5) each figure is
 * noisier than the overall one: compare it with the same class's floor measured the same way.
 *
 * @module
 */
import type { ByteImage, SlicedWassersteinMetric } from "./swd.ts";
import { type SWDReport, swdReport } from "./report.ts";

/** Images with the class each belongs to. */
export interface ClassifiedImages {
  images: ByteImage[];
  /** One class name per image. */
  classes: string[];
}

/** One class's comparison. */
export interface ClassSWD extends SWDReport {
  class: string;
  /** Images of the class in each set. */
  real_count: number;
  fake_count: number;
}

/**
 * The per-class reports, in the order of `classes` (default: the reals' classes, sorted). A class needs images
 * on both sides; one missing from either is a RangeError naming it, never a silent skip.
 */
export function perClassSWD(
  metric: SlicedWassersteinMetric,
  reals: ClassifiedImages,
  fakes: ClassifiedImages,
  gsdM: number,
  classes: string[] = [...new Set(reals.classes)].sort(),
): ClassSWD[] {
  const pick = (set: ClassifiedImages, name: string) => set.images.filter((_, i) => set.classes[i] === name);
  return classes.map((name) => {
    const real = pick(reals, name);
    const fake = pick(fakes, name);
    if (real.length === 0) throw new RangeError(`class '${name}' has no real images (folder '${name}')`);
    if (fake.length === 0) throw new RangeError(`class '${name}' has no generated or fake images`);
    const swd = metric.distance(metric.describe(real), metric.describe(fake));
    return {
      class: name,
      real_count: real.length,
      fake_count: fake.length,
      ...swdReport(swd, metric.resolution, gsdM, metric.options),
    };
  });
}

/** A table for people: a row per class, a column per level (finest first), the average last. */
export function formatPerClassTable(rows: ClassSWD[]): string {
  if (rows.length === 0) return "";
  const width = Math.max(5, ...rows.map((r) => r.class.length)) + 2;
  const levels = rows[0].levels.map((l) => `${+l.metres_per_pixel.toPrecision(3)} m`);
  const header = "class".padEnd(width) + "n".padStart(7) + levels.map((l) => l.padStart(10)).join("") +
    "average".padStart(10);
  const lines = rows.map((r) =>
    r.class.padEnd(width) + `${r.real_count}/${r.fake_count}`.padStart(7) +
    r.levels.map((l) => l.swd_x1e3.toFixed(1).padStart(10)).join("") + r.average_x1e3.toFixed(1).padStart(10)
  );
  return [header, ...lines].join("\n");
}
