/**
 * The land-use check of generated tiles: ask the classifier (model/metrics/landuse.ts) which land use each
 * tile looks like. For any model, the spread of predicted classes (do all land uses occur?); for a
 * conditional model, per class the share of its tiles classified as the class they were generated for (the
 * "classification accuracy score" idea). The classifier's own hold-out accuracy is reported beside it: a
 * share can only be read against what the classifier gets right on real tiles.
 */
import type { ByteImage } from "./swd.ts";
import { type LandUseClassifier, predictClasses, tilesToInput } from "./landuse.ts";

/** What the check found. */
export interface LandUseCheck {
  /** The classifier's hold-out accuracy on real tiles (0–1), when it was recorded. */
  classifier_holdout_accuracy: number | null;
  tiles: number;
  /** Generated tiles predicted as each class (every class listed, zeros too). */
  predicted: Record<string, number>;
  /** Classes predicted for at least one tile, of all the classifier knows. */
  classes_occurring: number;
  classes_known: number;
  /** Conditional models: per class the tiles generated for it, and the share classified as it. */
  per_class?: Record<string, { generated: number; share_as_own_class: number }>;
  /** Conditional models: classes most of whose tiles are classified as that class. */
  classes_mostly_recognised?: number;
}

/**
 * Classify generated tiles. `generatedAs` (conditional models) names the class each tile was generated for,
 * in the generator's class names; classes the classifier does not know are refused.
 */
export function landUseCheck(
  classifier: LandUseClassifier,
  tiles: ByteImage[],
  generatedAs?: string[],
): LandUseCheck {
  const { resolution, classNames, channels, holdoutAccuracy } = classifier.info;
  if (tiles.length === 0) throw new RangeError("no tiles to classify");
  const size = tiles[0].width;
  if (tiles[0].channels !== channels) {
    throw new RangeError(`the classifier reads ${channels}-channel tiles; these have ${tiles[0].channels}`);
  }
  if (size < resolution || size % resolution !== 0) {
    throw new RangeError(
      `the classifier reads ${resolution} px tiles; ${size} px tiles cannot be box-averaged to it`,
    );
  }
  if (generatedAs) {
    const unknown = [...new Set(generatedAs)].filter((c) => !classNames.includes(c));
    if (unknown.length) {
      throw new RangeError(`the classifier does not know the class(es) ${unknown.join(", ")}`);
    }
  }
  const data = new Uint8Array(tiles.length * size * size * channels);
  tiles.forEach((t, i) => data.set(t.data, i * t.data.length));
  const x = tilesToInput(data, tiles.length, size, channels, resolution);
  const predicted = predictClasses(classifier, x);
  x.dispose();

  const counts: Record<string, number> = Object.fromEntries(classNames.map((c) => [c, 0]));
  predicted.forEach((p) => counts[classNames[p]]++);
  const check: LandUseCheck = {
    classifier_holdout_accuracy: holdoutAccuracy ?? null,
    tiles: tiles.length,
    predicted: counts,
    classes_occurring: Object.values(counts).filter((n) => n > 0).length,
    classes_known: classNames.length,
  };
  if (generatedAs) {
    const perClass: Record<string, { generated: number; share_as_own_class: number }> = {};
    generatedAs.forEach((c, i) => {
      const entry = perClass[c] ??= { generated: 0, share_as_own_class: 0 };
      entry.generated++;
      if (classNames[predicted[i]] === c) entry.share_as_own_class++;
    });
    for (const entry of Object.values(perClass)) entry.share_as_own_class /= entry.generated;
    check.per_class = perClass;
    check.classes_mostly_recognised = Object.values(perClass).filter((e) =>
      e.share_as_own_class > 0.5
    ).length;
  }
  return check;
}

/** The check as lines for a terminal. */
export function formatLandUseCheck(check: LandUseCheck): string {
  const pct = (v: number) => `${(100 * v).toFixed(0)} %`;
  const lines = [
    `land-use check (classifier hold-out accuracy ${
      check.classifier_holdout_accuracy === null ? "unknown" : pct(check.classifier_holdout_accuracy)
    }): ${check.classes_occurring} of ${check.classes_known} classes occur among ${check.tiles} tiles`,
  ];
  for (const [name, n] of Object.entries(check.predicted)) {
    const own = check.per_class?.[name];
    const tail = own
      ? `   generated ${own.generated}, ${pct(own.share_as_own_class)} classified as ${name}`
      : "";
    lines.push(`  ${name.padEnd(20)} ${String(n).padStart(5)} predicted${tail}`);
  }
  if (check.classes_mostly_recognised !== undefined) {
    lines.push(
      `  ${check.classes_mostly_recognised} classes: most of their tiles classified as their own class`,
    );
  }
  return lines.join("\n");
}
