/**
 * The training configuration as one strict zod schema: every key declared once, with its type, its range, its
 * default (official StyleGAN's) and its description. The knob names are StyleGAN.pytorch's (`structure`,
 * `sched.epochs`, `sched.batch_sizes`, `sched.fade_in_percentage`, `output_dir`, `dataset.img_dir`,
 * `dataset.folder`, `dataset.resolution`, `model.gen.*`); `model.gen` and `model.dis` are picks of the
 * networks' own schemas. The YAML files, `--set` and the body of `POST /api/train` are all checked against it
 * (model/config/load.ts), the settings reference docs/settings.md is generated from it and the API's JSON
 * schema is `z.toJSONSchema(TRAIN_CONFIG_SCHEMA, { io: "input" })`.
 *
 * Sections take `.prefault({})` (zod 4's "default before parsing"), so that an absent section gets every
 * default of its keys. Rules that relate several keys live in model/config/rules.ts.
 */
import { z } from "zod";
import { DATASET_KINDS } from "../geo/normalization.ts";
import { DISCRIMINATOR_OPTIONS, GENERATOR_OPTIONS, STRUCTURE } from "../networks/options.ts";
import { AUGMENT_TRANSFORMS, parseAugmentPolicy, TRANSLATION_PADDINGS } from "../train/augment_policy.ts";

/** Every policy written without spaces: each transform at most once, in any order ("" = none). */
function policySpellings(): string[] {
  const out: string[] = [];
  const extend = (prefix: string[]) => {
    out.push(prefix.join(","));
    for (const t of AUGMENT_TRANSFORMS) if (!prefix.includes(t)) extend([...prefix, t]);
  };
  extend([]);
  return out;
}

const powerOfTwo = z.number().int().refine(
  (v) => v >= 4 && Number.isInteger(Math.log2(v)),
  "must be a power of two ≥ 4",
).meta({
  // JSON Schema cannot say "power of two": the API's body schema lists them, up to 4 · 2^16.
  enum: Array.from({ length: 17 }, (_, i) => 4 * 2 ** i),
});
const perDepth = <T extends z.ZodType>(entry: T) => z.array(entry).min(1);

/** Adam's settings (official StyleGAN: β1 0, β2 0.99, ε 1e-8, lr 0.001). */
const adam = (network: string) =>
  z.strictObject({
    learning_rate: z.number().default(0.001).describe(
      `Adam learning rate of ${network} (see model.lrate_per_res).`,
    ),
    beta_1: z.number().default(0.0).describe("Adam β1."),
    beta_2: z.number().default(0.99).describe("Adam β2."),
    eps: z.number().default(1e-8).describe("Adam ε."),
  }).prefault({}).describe(`Adam optimiser of ${network}.`);

const IMG_DIR_REQUIRED = "is required: a folder of images or a list file";

const DATASET = z.strictObject({
  // No default: a run must name its images.
  img_dir: z.string({ error: (issue) => issue.input === undefined ? IMG_DIR_REQUIRED : undefined })
    .min(1, IMG_DIR_REQUIRED).describe(
      "A folder of images (folder: true, searched recursively) or a list file of paths (folder: false). Required.",
    ),
  folder: z.boolean().default(true).describe("img_dir is a folder (true) or a list file (false)."),
  resolution: powerOfTwo.default(64).describe("Training resolution in pixels (a power of two ≥ 4)."),
  channels: GENERATOR_OPTIONS.shape.num_channels,
  kind: z.enum(DATASET_KINDS).default("rgb").describe(
    "What the files hold: `rgb` (PNG/JPEG/TIFF as 8-bit images), `multiband` (GeoTIFF bands: uint8 as they " +
      "are, other types scaled by dataset statistics), `elevation` (one float band, scaled by dataset " +
      "statistics, generated back in metres), `landcover` (class codes, one channel per class).",
  ),
  bands: z.array(z.int().min(1, "band numbers start at 1 (GDAL numbering)")).default([]).describe(
    "GeoTIFF bands to train on, 1-based (empty: the first `channels`; land cover: band 1).",
  ),
  classes: z.array(z.int().min(0).max(255)).refine(
    (codes) => new Set(codes).size === codes.length,
    "must not repeat a class code",
  ).meta({ uniqueItems: true }).default([]).describe(
    "Land cover: the class codes (0–255), one channel each.",
  ),
  class_names: z.array(z.string()).default([]).describe("Land cover: class names, for legends (optional)."),
  palette: z.array(z.string().regex(/^#[0-9a-fA-F]{6}$/, 'colours are "#rrggbb"')).default([]).describe(
    'Land cover: a colour "#rrggbb" per class (empty: the file\'s colour map, else a qualitative palette).',
  ),
  gsd_m: z.number().positive().default(0.3048).describe(
    "Ground sample distance of the source imagery, metres per pixel (UC Merced: 0.3048).",
  ),
  gsd_source: z.enum(["auto", "geotiff", "config"]).default("auto").describe(
    "Where the ground sample distance comes from: `auto` (the first file's GeoTIFF pixel size when it has " +
      "one in metres, else gsd_m), `geotiff` (required from the file) or `config` (always gsd_m).",
  ),
  source_px: z.int().min(0).default(0).describe(
    "Side of the source tiles in pixels, to scale gsd_m to the training resolution (0: read from the first image).",
  ),
  xflip: z.boolean().default(true).describe("Random x flips (augmentation)."),
  yflip: z.boolean().default(true).describe("Random y flips (right for nadir imagery)."),
  rot90: z.boolean().default(true).describe("Random 90° rotations (right for nadir imagery)."),
  labels: z.enum(["none", "folder", "csv"]).default("none").describe(
    "Land-use labels per image, for a class-conditional model: `none`, `folder` (the name of the folder " +
      "holding each image, e.g. UC Merced's images/<class>/) or `csv` (a column of label_csv). At least two " +
      "classes, each with at least one mbstd group (model.dis.mbstd_group_size) of images.",
  ),
  label_csv: z.string().default("").describe(
    "labels: csv: the CSV file, with a header row (a relative path is taken like img_dir's).",
  ),
  label_column: z.string().min(1).default("class").describe("labels: csv: the column holding the class."),
  label_file_column: z.string().min(1).default("file").describe(
    "labels: csv: the column naming the image: a path relative to the CSV's folder (or absolute), or a " +
      "file name matched on the image's base name.",
  ),
})
  // A missing section parses as {}, so that the message is the one about img_dir (its type says it needs one).
  .prefault({} as { img_dir: string })
  .describe("The training images.");

const MODEL = z.strictObject({
  gen: GENERATOR_OPTIONS.pick({
    latent_size: true,
    dlatent_size: true,
    mapping_layers: true,
    mapping_fmaps: true,
    mapping_lrmul: true,
    fmap_base: true,
    fmap_max: true,
    fmap_decay: true,
    blur_filter: true,
    truncation_psi: true,
    truncation_cutoff: true,
    dlatent_avg_beta: true,
    style_mixing_prob: true,
  }).prefault({}).describe(
    "Generator hyper-parameters (resolution, channels and structure come from above).",
  ),
  dis: DISCRIMINATOR_OPTIONS.pick({
    fmap_base: true,
    fmap_max: true,
    fmap_decay: true,
    mbstd_group_size: true,
    mbstd_num_features: true,
    blur_filter: true,
    label_head: true,
  }).prefault({}).describe("Discriminator hyper-parameters."),
  g_optim: adam("G"),
  d_optim: adam("D"),
  lrate_per_res: z.record(z.string(), z.number()).default({
    "128": 0.0015,
    "256": 0.002,
    "512": 0.003,
    "1024": 0.003,
  }).describe(
    'Learning rate per resolution in pixels where it differs from learning_rate, e.g. {"128": 0.0015} ' +
      "(official: 128 → 0.0015, 256 → 0.002, 512+ → 0.003); entries merge with these.",
  ),
  loss: z.enum(["logistic", "wgan-gp", "hinge"]).default("logistic").describe(
    "Loss: `logistic` (non-saturating logistic G, logistic D), `wgan-gp`, `hinge`.",
  ),
  r1_gamma: z.union([z.number().min(0, { error: 'must be a number ≥ 0 or "auto"' }), z.literal("auto")], {
    error: (issue) => `must be a number ≥ 0 or "auto", got ${JSON.stringify(issue.input)}`,
  }).default(10.0).describe(
    "R1 penalty weight γ on reals (logistic; 0 = plain non-saturating loss without R1), or `auto`: " +
      "StyleGAN2-ADA's heuristic γ = 0.0002 · res² / minibatch at each depth's resolution and minibatch.",
  ),
  r1_interval: z.int().min(1).default(1).describe(
    "Lazy R1: apply every k D steps, scaled by k (1 = every step).",
  ),
  wgan_lambda: z.number().default(10.0).describe("WGAN-GP: gradient-penalty weight λ."),
  wgan_epsilon: z.number().default(0.001).describe("WGAN-GP: drift weight ε."),
  g_ema_kimg: z.number().min(0).default(10.0).describe(
    "Half-life of G's exponential moving average, in thousands of images.",
  ),
}).prefault({}).describe("Networks, optimisers and losses.");

const SCHED = z.strictObject({
  epochs: perDepth(z.number().positive()).default([4, 4, 4, 8, 16, 32, 64, 64, 64]).describe(
    "Epochs per depth (depth 0 = 4 px).",
  ),
  batch_sizes: perDepth(z.int().positive()).default([32, 32, 32, 32, 16, 16, 8, 4, 2]).describe(
    "Minibatch per depth.",
  ),
  fade_in_percentage: perDepth(z.number().min(0).max(100)).default([50, 50, 50, 50, 50, 50, 50, 50, 50])
    .describe("Percentage of each depth's batches spent fading in its new block (alpha 0 → 1), per depth."),
}).prefault({}).describe("The progressive schedule, one entry per depth.");

const AUGMENT = z.strictObject({
  policy: z.string().superRefine((text, ctx) => {
    try {
      parseAugmentPolicy(text);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
    }
  }).meta({
    // JSON Schema cannot say "each name at most once": the API's body schema lists the spellings (16).
    enum: policySpellings(),
  }).default("").describe(
    'DiffAugment transforms, comma-separated: any of `color`, `translation`, `cutout` ("" = off).',
  ),
  translation_padding: z.enum(TRANSLATION_PADDINGS).default("zero").describe(
    "What `translation` moves in from outside the image: `zero` (the paper) or `reflect`.",
  ),
}).prefault({}).describe(
  "Differentiable augmentation of D's inputs, reals and fakes, in the D and G steps and inside R1 " +
    "(DiffAugment, Zhao et al. 2020).",
);

const INIT = z.strictObject({
  generator: z.string().default("").describe(
    "Warm start: a trained generator (.safetensors, e.g. model/pretrained/ucmerced-64.safetensors) whose " +
      'weights start a fresh run\'s G and its moving average instead of random ones ("" = random). Same ' +
      "resolution, channels and widths; an unconditional one may start a conditional run (its classes then " +
      "start out drawing what it drew, see model/train/warm_start.ts). Ignored on resume.",
  ),
  discriminator: z.string().default("").describe(
    "Warm start: a trained discriminator (.safetensors, e.g. model/pretrained/ucmerced-64.discriminator.safetensors) " +
      'whose weights start a fresh run\'s D ("" = random), to continue a published model when its run folder ' +
      "is gone: the same architecture exactly (resolution, channels, classes, label_head, widths). Ignored on resume.",
  ),
  d_warmup_kimg: z.number().min(0).default(0).describe(
    "Warm start: train only D for this many kimg first (G's steps are skipped), so that a fresh D judges a " +
      "trained G before G follows its gradients.",
  ),
}).prefault({}).describe("Starting from trained weights (transfer) instead of random ones.");

/** The training configuration: every key, its type, range, default and description. */
export const TRAIN_CONFIG_SCHEMA = z.strictObject({
  output_dir: z.string().min(1).default("runs/default").describe(
    "Run directory: checkpoints, samples, logs, metrics, dataset cache.",
  ),
  structure: STRUCTURE,
  backend: z.enum(["auto", "tensorflow", "webgpu", "wasm", "cpu"]).default("auto").describe(
    "Tensor backend (auto | tensorflow | webgpu | wasm | cpu).",
  ),
  seed: z.int().min(0).max(0xffffffff).default(0).describe(
    "Seed of every random stream of the run (weights, latents, batches, augmentation).",
  ),
  dataset: DATASET,
  model: MODEL,
  sched: SCHED,
  augment: AUGMENT,
  init: INIT,
  log_every: z.int().positive().default(20).describe("Log a line every this many batches."),
  sample_every: z.int().positive().default(200).describe(
    "Write a sample grid every this many batches (and at the end of every epoch).",
  ),
  checkpoint_minutes: z.number().positive().default(10).describe(
    "Write a checkpoint every this many minutes (and at the end of every epoch).",
  ),
  metrics_kimg: z.number().min(0).default(0).describe(
    "Compute MS-SWD every this many kimg into metrics.jsonl (0 = off).",
  ),
  metrics_images: z.int().positive().default(256).describe("Images generated for the in-training MS-SWD."),
  max_nan_steps: z.int().positive().default(5).describe(
    "Stop after this many consecutive non-finite losses.",
  ),
}).describe(
  "A training configuration (the YAML files in configs/, `--set key=value`, the body of POST /api/train).",
);

/** A training configuration, every key present. */
export type TrainConfig = z.output<typeof TRAIN_CONFIG_SCHEMA>;

/** Official StyleGAN's defaults of every key; `dataset.img_dir` has none (a run must name its images) and is "". */
export const TRAIN_DEFAULTS: TrainConfig = defaults();

function defaults(): TrainConfig {
  const config = TRAIN_CONFIG_SCHEMA.parse({ dataset: { img_dir: "placeholder" } });
  config.dataset.img_dir = "";
  // Frozen: it is the base every configuration is merged onto (model/config/load.ts), never to be changed.
  const freeze = (v: unknown) => {
    if (typeof v !== "object" || v === null) return;
    Object.values(v).forEach(freeze);
    Object.freeze(v);
  };
  freeze(config);
  return config;
}

/**
 * The JSON schema of a configuration as a caller writes it (every key optional but `dataset.img_dir`), for
 * the API's documents: what `POST /api/train` accepts.
 */
export function trainConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(TRAIN_CONFIG_SCHEMA, { io: "input" }) as unknown as {
    properties: { dataset: { default?: unknown } };
    required?: string[];
  };
  // dataset's prefault only routes a missing section to the message about img_dir: the section is required.
  delete schema.properties.dataset.default;
  schema.required = ["dataset"];
  return schema;
}

type Schema = z.core.$ZodType;

/** The schema under the wrappers that do not change what a value is (default, prefault, optional). */
export function unwrapped(schema: Schema): Schema {
  const def = schema._zod.def as { type: string; innerType?: Schema };
  return ["default", "prefault", "optional"].includes(def.type) ? unwrapped(def.innerType!) : schema;
}

/** The key schemas of an object schema, else undefined. */
export function shapeOf(schema: Schema): Record<string, Schema> | undefined {
  const def = unwrapped(schema)._zod.def as { type: string; shape?: Record<string, Schema> };
  return def.type === "object" ? def.shape : undefined;
}

/** Every valid dotted key of a schema's sections, leaves only (a record such as lrate_per_res is a leaf). */
function leafKeys(schema: Schema, prefix = ""): string[] {
  const shape = shapeOf(schema);
  if (!shape) return [prefix];
  return Object.entries(shape).flatMap(([k, child]) => leafKeys(child, prefix ? `${prefix}.${k}` : k));
}

const VALID_KEYS = Object.freeze(leafKeys(TRAIN_CONFIG_SCHEMA));

/** Every valid dotted key of the training configuration (leaves only). */
export function validKeys(): string[] {
  return [...VALID_KEYS];
}
