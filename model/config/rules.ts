/**
 * The rules of a training configuration that relate several keys (the schema checks each key alone). They run
 * on a parsed configuration; each failure is a ConfigError naming the section or key.
 */
import { ConfigError } from "./errors.ts";
import type { TrainConfig } from "./schema.ts";

/** Check the cross-key rules and clamp `model.gen.truncation_cutoff`; returns the (mutated) configuration. */
export function applyRules(c: TrainConfig): TrainConfig {
  checkDatasetKind(c.dataset);
  const depths = Math.log2(c.dataset.resolution) - 1;
  for (const key of ["epochs", "batch_sizes", "fade_in_percentage"] as const) {
    if (c.sched[key].length < depths) {
      throw new ConfigError(
        `sched.${key} has ${
          c.sched[key].length
        } entries; a ${c.dataset.resolution} px model has ${depths} depths`,
        `sched.${key}`,
      );
    }
  }
  if (c.model.gen.truncation_cutoff > 2 * depths) {
    // Cutoffs beyond the style layers simply truncate all of them; clamp so the checkpoint is honest.
    c.model.gen.truncation_cutoff = 2 * depths;
  }
  return c;
}

/** The cross-field rules of dataset.kind (channels, bands, classes, palette) and of dataset.labels. */
function checkDatasetKind(d: TrainConfig["dataset"]): void {
  const fail = (message: string) => {
    throw new ConfigError(`dataset: ${message}`, "dataset");
  };
  if (d.kind === "landcover") {
    if (d.classes.length < 2) fail("kind landcover needs dataset.classes, the class codes (at least 2)");
    if (d.channels !== d.classes.length) {
      fail(
        `kind landcover trains one channel per class: set dataset.channels to ${d.classes.length}, got ${d.channels}`,
      );
    }
    if (d.bands.length > 1) {
      fail(`kind landcover reads one band of class codes; dataset.bands lists ${d.bands.length}`);
    }
  } else {
    if (d.classes.length || d.palette.length || d.class_names.length) {
      fail(`classes, class_names and palette are for kind landcover (kind is ${d.kind})`);
    }
    if (d.kind === "elevation" && d.channels !== 1) {
      fail(`kind elevation trains one band: set dataset.channels to 1, got ${d.channels}`);
    }
    if (d.bands.length && d.bands.length !== d.channels) {
      fail(`dataset.bands lists ${d.bands.length} band(s) for ${d.channels} channel(s)`);
    }
    if (d.kind === "rgb" && d.bands.length) fail("dataset.bands selects GeoTIFF bands: use kind multiband");
  }
  if (d.labels === "csv" && !d.label_csv) {
    throw new ConfigError(
      "dataset: labels csv needs dataset.label_csv, the CSV file of labels",
      "dataset.label_csv",
    );
  }
  if (d.labels !== "csv" && d.label_csv) {
    throw new ConfigError(
      `dataset: label_csv is for labels csv (labels is ${d.labels})`,
      "dataset.label_csv",
    );
  }
  if (d.palette.length && d.palette.length !== d.classes.length) {
    fail(`dataset.palette has ${d.palette.length} colour(s) for ${d.classes.length} classes`);
  }
  if (d.class_names.length && d.class_names.length !== d.classes.length) {
    fail(`dataset.class_names has ${d.class_names.length} name(s) for ${d.classes.length} classes`);
  }
}
