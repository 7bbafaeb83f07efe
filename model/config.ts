/**
 * Training configuration in the spirit of yacs: typed defaults in code, merged with a YAML file, then
 * with `--set key=value` overrides (dotted keys, values type-checked, unknown keys rejected with the
 * list of valid ones), validated, then frozen. Defaults are official StyleGAN's; the knob names are
 * StyleGAN.pytorch's (`structure`, `sched.epochs`, `sched.batch_sizes`, `sched.fade_in_percentage`,
 * `output_dir`, `dataset.img_dir`, `dataset.folder`, `dataset.resolution`, `model.gen.*`).
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { DATASET_KINDS, type DatasetKind } from "./geo/normalization.ts";
import { parseAugmentPolicy, TRANSLATION_PADDINGS, type TranslationPadding } from "./train/augment_policy.ts";

/** The whole training configuration. */
export const TRAIN_DEFAULTS = {
  /** Run directory: checkpoints, samples, logs, metrics, dataset cache. */
  output_dir: "runs/default",
  /** `linear` = progressive growing with fade-in; `fixed` = train the final resolution only. */
  structure: "linear" as "linear" | "fixed",
  /** Tensor backend (auto | tensorflow | webgpu | wasm | cpu). */
  backend: "auto",
  /** Seed of every random stream of the run (weights, latents, batches, augmentation). */
  seed: 0,
  dataset: {
    /** A folder of images (folder: true, searched recursively) or a list file of paths (folder: false). */
    img_dir: "",
    folder: true,
    /** Training resolution in pixels (a power of two). */
    resolution: 64,
    /** Image channels (land cover: one per class). */
    channels: 3,
    /**
     * What the files hold: `rgb` (PNG/JPEG/TIFF as 8-bit images), `multiband` (GeoTIFF bands: uint8 as they
     * are, other types scaled by dataset statistics), `elevation` (one float band, scaled by dataset
     * statistics, generated back in metres), `landcover` (class codes, one channel per class).
     */
    kind: "rgb" as DatasetKind,
    /** GeoTIFF bands to train on, 1-based (empty: the first `channels`; land cover: band 1). */
    bands: [] as number[],
    /** Land cover: the class codes (0–255), one channel each. */
    classes: [] as number[],
    /** Land cover: class names, for legends (optional). */
    class_names: [] as string[],
    /** Land cover: a colour "#rrggbb" per class (empty: the file's colour map, else a qualitative palette). */
    palette: [] as string[],
    /** Ground sample distance of the source imagery, metres per pixel (UC Merced: 0.3048). */
    gsd_m: 0.3048,
    /**
     * Where the ground sample distance comes from: `auto` (the first file's GeoTIFF pixel size when it has
     * one in metres, else gsd_m), `geotiff` (required from the file) or `config` (always gsd_m).
     */
    gsd_source: "auto" as "auto" | "geotiff" | "config",
    /** Side of the source tiles in pixels, to scale gsd_m to the training resolution (0: read from the first image). */
    source_px: 0,
    /** Random x flips, y flips and 90° rotations (right for nadir imagery). */
    xflip: true,
    yflip: true,
    rot90: true,
  },
  model: {
    gen: {
      latent_size: 512,
      dlatent_size: 512,
      mapping_layers: 8,
      mapping_fmaps: 512,
      mapping_lrmul: 0.01,
      fmap_base: 8192,
      fmap_max: 512,
      fmap_decay: 1.0,
      blur_filter: [1, 2, 1] as number[],
      truncation_psi: 0.7,
      truncation_cutoff: 8,
      dlatent_avg_beta: 0.995,
      style_mixing_prob: 0.9,
    },
    dis: {
      fmap_base: 8192,
      fmap_max: 512,
      fmap_decay: 1.0,
      mbstd_group_size: 4,
      mbstd_num_features: 1,
      blur_filter: [1, 2, 1] as number[],
    },
    /** Adam settings of G and D (official StyleGAN: β1 0, β2 0.99, ε 1e-8, lr 0.001). */
    g_optim: { learning_rate: 0.001, beta_1: 0.0, beta_2: 0.99, eps: 1e-8 },
    d_optim: { learning_rate: 0.001, beta_1: 0.0, beta_2: 0.99, eps: 1e-8 },
    /** Learning rate per resolution where it differs from learning_rate (official: 128 → 0.0015, 256 → 0.002, 512+ → 0.003). */
    lrate_per_res: { "128": 0.0015, "256": 0.002, "512": 0.003, "1024": 0.003 } as Record<string, number>,
    /** Loss: `logistic` (non-saturating logistic G, logistic D), `wgan-gp`, `hinge`. */
    loss: "logistic" as "logistic" | "wgan-gp" | "hinge",
    /**
     * R1 penalty weight γ on reals (logistic; 0 = plain non-saturating loss without R1), or `auto`:
     * StyleGAN2-ADA's heuristic γ = 0.0002 · res² / minibatch at each depth's resolution and minibatch.
     */
    r1_gamma: 10.0 as number | "auto",
    /** Lazy R1: apply every k D steps, scaled by k (1 = every step). */
    r1_interval: 1,
    /** WGAN-GP: gradient-penalty weight λ and drift ε. */
    wgan_lambda: 10.0,
    wgan_epsilon: 0.001,
    /** Half-life of G's exponential moving average, in thousands of images. */
    g_ema_kimg: 10.0,
  },
  sched: {
    /** Epochs per depth (depth 0 = 4 px). */
    epochs: [4, 4, 4, 8, 16, 32, 64, 64, 64] as number[],
    /** Minibatch per depth. */
    batch_sizes: [32, 32, 32, 32, 16, 16, 8, 4, 2] as number[],
    /** Percentage of each depth's batches spent fading in its new block (alpha 0 → 1), per depth. */
    fade_in_percentage: [50, 50, 50, 50, 50, 50, 50, 50, 50] as number[],
  },
  /** Differentiable augmentation of D's inputs, reals and fakes (DiffAugment, Zhao et al. 2020). */
  augment: {
    /** Transforms, comma-separated: any of `color`, `translation`, `cutout` ("" = off). */
    policy: "",
    /** What `translation` moves in from outside the image: `zero` (the paper) or `reflect`. */
    translation_padding: "zero" as TranslationPadding,
  },
  /** Log a line every this many batches. */
  log_every: 20,
  /** Write a sample grid every this many batches (and at the end of every epoch). */
  sample_every: 200,
  /** Write a checkpoint every this many minutes (and at the end of every epoch). */
  checkpoint_minutes: 10,
  /** Compute MS-SWD every this many kimg into metrics.jsonl (0 = off). */
  metrics_kimg: 0,
  /** Images generated for the in-training MS-SWD. */
  metrics_images: 256,
  /** Stop after this many consecutive non-finite losses. */
  max_nan_steps: 5,
};

/** The shape of a training configuration (the defaults' types). */
export type TrainConfig = typeof TRAIN_DEFAULTS;

/** A configuration error; the message names the key and what is allowed. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const perDepth = z.array(z.number().positive()).min(1);
const powerOfTwo = z.number().int().refine(
  (v) => v >= 4 && Number.isInteger(Math.log2(v)),
  "must be a power of two ≥ 4",
);

/** Semantic checks on top of the type checks. */
const SCHEMA = z.object({
  output_dir: z.string().min(1),
  structure: z.enum(["linear", "fixed"]),
  backend: z.enum(["auto", "tensorflow", "webgpu", "wasm", "cpu"]),
  seed: z.number().int().min(0).max(0xffffffff),
  dataset: z.object({
    img_dir: z.string().min(1, "is required: a folder of images or a list file"),
    resolution: powerOfTwo,
    channels: z.number().int().min(1).max(64),
    kind: z.enum(DATASET_KINDS),
    bands: z.array(z.number().int().min(1, "band numbers start at 1 (GDAL numbering)")),
    classes: z.array(z.number().int().min(0).max(255)).refine(
      (codes) => new Set(codes).size === codes.length,
      "must not repeat a class code",
    ),
    class_names: z.array(z.string()),
    palette: z.array(z.string().regex(/^#[0-9a-fA-F]{6}$/, 'colours are "#rrggbb"')),
    gsd_m: z.number().positive(),
    gsd_source: z.enum(["auto", "geotiff", "config"]),
    source_px: z.number().int().min(0),
  }).passthrough(),
  model: z.object({
    gen: z.object({
      latent_size: z.number().int().positive(),
      mapping_layers: z.number().int().min(1),
      style_mixing_prob: z.number().min(0).max(1),
      truncation_psi: z.number(),
      dlatent_avg_beta: z.number().min(0).max(1),
    }).passthrough(),
    dis: z.object({ mbstd_group_size: z.number().int().min(0) }).passthrough(),
    loss: z.enum(["logistic", "wgan-gp", "hinge"]),
    r1_gamma: z.union([z.number().min(0), z.literal("auto")]),
    r1_interval: z.number().int().min(1),
    g_ema_kimg: z.number().min(0),
  }).passthrough(),
  sched: z.object({
    epochs: perDepth,
    batch_sizes: z.array(z.number().int().positive()).min(1),
    fade_in_percentage: z.array(z.number().min(0).max(100)).min(1),
  }),
  augment: z.object({
    policy: z.string().superRefine((text, ctx) => {
      try {
        parseAugmentPolicy(text);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: (e as Error).message });
      }
    }),
    translation_padding: z.enum(TRANSLATION_PADDINGS),
  }),
  log_every: z.number().int().positive(),
  sample_every: z.number().int().positive(),
  checkpoint_minutes: z.number().positive(),
  max_nan_steps: z.number().int().positive(),
}).passthrough();

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every valid dotted key of the defaults (leaves only). */
export function validKeys(tree: Record<string, unknown> = TRAIN_DEFAULTS, prefix = ""): string[] {
  const keys: string[] = [];
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    // lrate_per_res is a map keyed by resolution: its entries are free.
    if (isPlainObject(v) && key !== "model.lrate_per_res") keys.push(...validKeys(v, key));
    else keys.push(key);
  }
  return keys;
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return "list";
  if (v === null) return "null";
  return isPlainObject(v) ? "mapping" : typeof v;
}

/** Merge `override` into `base` (a copy), checking every key exists and has the default's type. */
function mergeChecked(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
  source: string,
  prefix = "",
): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(override)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (!(k in base)) throw unknownKey(key, source);
    out[k] = checkedValue(key, base[k], v, source, out[k]);
  }
  return out;
}

function checkedValue(key: string, def: unknown, v: unknown, source: string, current: unknown): unknown {
  if (key === "model.lrate_per_res") {
    if (!isPlainObject(v) || Object.values(v).some((x) => typeof x !== "number")) {
      throw new ConfigError(`${source}: ${key} must map resolutions to learning rates, e.g. {"128": 0.0015}`);
    }
    return { ...(current as object), ...v };
  }
  if (key === "model.r1_gamma" && v !== "auto" && typeof v !== "number") {
    throw new ConfigError(
      `${source}: ${key} must be a number or "auto" (γ = 0.0002 · res² / minibatch), got ${
        JSON.stringify(v)
      }`,
    );
  }
  if (key === "model.r1_gamma") return v;
  if (isPlainObject(def)) {
    if (!isPlainObject(v)) throw new ConfigError(`${source}: ${key} must be a mapping, got ${kindOf(v)}`);
    return mergeChecked(current as Record<string, unknown>, v, source, key);
  }
  if (kindOf(def) !== kindOf(v)) {
    throw new ConfigError(
      `${source}: ${key} must be a ${kindOf(def)}, got ${kindOf(v)} (${JSON.stringify(v)})`,
    );
  }
  if (Array.isArray(def) && def.length && (v as unknown[]).some((x) => typeof x !== typeof def[0])) {
    throw new ConfigError(`${source}: ${key} must be a list of ${typeof def[0]}s, got ${JSON.stringify(v)}`);
  }
  return v;
}

function unknownKey(key: string, source: string): ConfigError {
  return new ConfigError(`${source}: unknown key '${key}'; valid keys: ${validKeys().join(", ")}`);
}

/** Parse `key=value` (value as a YAML scalar or flow list) into a nested override object. */
export function parseOverride(text: string): Record<string, unknown> {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new ConfigError(`--set ${text}: expected key=value`);
  const key = text.slice(0, eq).trim();
  let value: unknown;
  try {
    value = parseYaml(text.slice(eq + 1));
  } catch (e) {
    throw new ConfigError(`--set ${key}: cannot parse value (${(e as Error).message.split("\n")[0]})`);
  }
  if (value === null && text.slice(eq + 1).trim() === "") value = "";
  const parts = key.split(".");
  const out: Record<string, unknown> = {};
  let node = out;
  parts.forEach((p, i) => {
    if (i === parts.length - 1) node[p] = value;
    else node = (node[p] = {}) as Record<string, unknown>;
  });
  if (!validKeys().includes(key) && !key.startsWith("model.lrate_per_res")) {
    const inside = validKeys().filter((k) => k.startsWith(key + "."));
    if (inside.length) {
      throw new ConfigError(`--set ${key}: a section, not a value; set one of ${inside.join(", ")}`);
    }
    throw unknownKey(key, "--set");
  }
  return out;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/** Validate a merged configuration; throws ConfigError naming the key. */
export function validateConfig(config: Record<string, unknown>): TrainConfig {
  const result = SCHEMA.safeParse(config);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(`${issue.path.join(".")}: ${issue.message}`);
  }
  const c = config as unknown as TrainConfig;
  checkDatasetKind(c.dataset);
  const depths = Math.log2(c.dataset.resolution) - 1;
  for (const key of ["epochs", "batch_sizes", "fade_in_percentage"] as const) {
    if (c.sched[key].length < depths) {
      throw new ConfigError(
        `sched.${key} has ${
          c.sched[key].length
        } entries; a ${c.dataset.resolution} px model has ${depths} depths`,
      );
    }
  }
  if (c.model.gen.truncation_cutoff > 2 * depths) {
    // Cutoffs beyond the style layers simply truncate all of them; clamp so the checkpoint is honest.
    (c.model.gen as { truncation_cutoff: number }).truncation_cutoff = 2 * depths;
  }
  return c;
}

/** The cross-field rules of dataset.kind (channels, bands, classes, palette). */
function checkDatasetKind(d: TrainConfig["dataset"]): void {
  const fail = (message: string) => {
    throw new ConfigError(`dataset: ${message}`);
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
  if (d.palette.length && d.palette.length !== d.classes.length) {
    fail(`dataset.palette has ${d.palette.length} colour(s) for ${d.classes.length} classes`);
  }
  if (d.class_names.length && d.class_names.length !== d.classes.length) {
    fail(`dataset.class_names has ${d.class_names.length} name(s) for ${d.classes.length} classes`);
  }
}

/**
 * Build the final, frozen configuration: defaults ← YAML file (if any) ← each `--set` override.
 */
export async function loadConfig(file: string | undefined, overrides: string[] = []): Promise<TrainConfig> {
  let merged = structuredClone(TRAIN_DEFAULTS) as unknown as Record<string, unknown>;
  if (file) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new ConfigError(`${file}: cannot read (${(e as Error).message})`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (e) {
      throw new ConfigError(`${file}: not valid YAML (${(e as Error).message.split("\n")[0]})`);
    }
    if (parsed !== null && !isPlainObject(parsed)) {
      throw new ConfigError(`${file}: the top level must be a mapping`);
    }
    merged = mergeChecked(merged, (parsed ?? {}) as Record<string, Json>, file);
  }
  for (const text of overrides) {
    merged = mergeChecked(merged, parseOverride(text), `--set ${text.split("=")[0]}`);
  }
  return deepFreeze(validateConfig(merged));
}

/** The configuration from a JSON text (a checkpoint header or a run's config file), re-validated. */
export function configFromJson(text: string, source: string): TrainConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(parsed)) throw new ConfigError(`${source}: not a configuration object`);
  return deepFreeze(
    validateConfig(
      mergeChecked(structuredClone(TRAIN_DEFAULTS) as unknown as Record<string, unknown>, parsed, source),
    ),
  );
}

/** The learning rate at a resolution (official per-resolution overrides, else the base rate). */
export function learningRateAt(config: TrainConfig, resolution: number, base: number): number {
  return config.model.lrate_per_res[String(resolution)] ?? base;
}
