/**
 * Hyper-parameters of StyleGAN's networks, named as in the paper's code and StyleGAN.pytorch, declared once
 * each (type, range, official StyleGAN's default, meaning) as zod schemas. The training configuration's
 * `model.gen` and `model.dis` sections are picks of these schemas (model/config/schema.ts), so a default or a
 * description is written here and nowhere else.
 */
import { z } from "zod";

/** Growing structure: `linear` = progressive growing with fade-in; `fixed` = final resolution only. */
export const STRUCTURE = z.enum(["linear", "fixed"]).default("linear").describe(
  "`linear` = progressive growing with fade-in; `fixed` = train the final resolution only.",
);
export type Structure = z.output<typeof STRUCTURE>;

const resolution = z.number().int().describe("Resolution in pixels, a power of two ≥ 4.");
const numChannels = z.number().int().min(1).max(64).default(3).describe(
  "Image channels (3 = RGB; more for multi-band imagery, one per class for land cover).",
);
const nonlinearity = z.enum(["lrelu", "relu"]).default("lrelu");
const blurFilter = z.array(z.number()).nullable().default([1, 2, 1]);
const fmapBase = z.number().int().positive().default(8192).describe(
  "Feature maps: nf(stage) = min(fmap_base / 2^(stage·fmap_decay), fmap_max).",
);
const fmapDecay = z.number().default(1.0).describe("See fmap_base.");
const fmapMax = z.number().int().positive().default(512).describe("See fmap_base.");
const useWscale = z.boolean().default(true).describe("Equalized learning rate.");

/** Generator hyper-parameters (G_mapping + G_synthesis + truncation). */
export const GENERATOR_OPTIONS = z.strictObject({
  resolution: resolution.describe("Output resolution in pixels, a power of two ≥ 4."),
  num_channels: numChannels,
  latent_size: z.number().int().positive().default(512).describe("Size of z."),
  dlatent_size: z.number().int().positive().default(512).describe("Size of w."),
  mapping_layers: z.number().int().min(1).default(8).describe("Dense layers in the mapping network."),
  mapping_fmaps: z.number().int().positive().default(512).describe("Width of the hidden mapping layers."),
  mapping_lrmul: z.number().positive().default(0.01).describe(
    "Learning-rate multiplier of the mapping network.",
  ),
  mapping_nonlinearity: nonlinearity.describe("Activation of the mapping network."),
  normalize_latents: z.boolean().default(true).describe("Pixel-normalise z before mapping."),
  fmap_base: fmapBase,
  fmap_decay: fmapDecay,
  fmap_max: fmapMax,
  use_styles: z.boolean().default(true).describe("AdaIN styles from w."),
  const_input_layer: z.boolean().default(true).describe(
    "Learned constant 4×4 input (else a dense layer from w).",
  ),
  use_noise: z.boolean().default(true).describe("Per-pixel noise inputs."),
  nonlinearity: nonlinearity.describe("Activation of the synthesis network."),
  use_wscale: useWscale,
  use_pixel_norm: z.boolean().default(false).describe(
    "Pixelwise feature normalisation (PGGAN; off in StyleGAN).",
  ),
  use_instance_norm: z.boolean().default(true).describe("Instance normalisation before each style."),
  blur_filter: blurFilter.describe("Low-pass filter taps after each upscaling, or null for none."),
  structure: STRUCTURE,
  truncation_psi: z.number().default(0.7).describe("Default ψ of the truncation trick at inference."),
  truncation_cutoff: z.number().int().min(0).default(8).describe(
    "Style layers (from the coarsest) that truncation affects.",
  ),
  dlatent_avg_beta: z.number().min(0).max(1).default(0.995).describe("Decay of the running average of w."),
  style_mixing_prob: z.number().min(0).max(1).default(0.9).describe(
    "Probability of style mixing during training.",
  ),
  label_size: z.number().int().min(0).default(0).describe(
    "Classes the generator is conditioned on (land-use labels), 0 = unconditional. Official StyleGAN's " +
      "label_size: the one-hot label is embedded (class_embedding.weight, [classes, latent_size]) and " +
      "concatenated with z before the pixel norm and the mapping layers. Set from the dataset's labels.",
  ),
});

/** Generator hyper-parameters. */
export type GeneratorOptions = z.output<typeof GENERATOR_OPTIONS>;

/** Official StyleGAN defaults for the generator (resolution must be given). */
export const GENERATOR_DEFAULTS: Omit<GeneratorOptions, "resolution"> = Object.freeze(
  GENERATOR_OPTIONS.omit({ resolution: true }).parse({}),
);

/** Discriminator hyper-parameters. */
export const DISCRIMINATOR_OPTIONS = z.strictObject({
  resolution: resolution.describe("Input resolution in pixels, a power of two ≥ 4."),
  num_channels: numChannels,
  fmap_base: fmapBase,
  fmap_decay: fmapDecay,
  fmap_max: fmapMax,
  nonlinearity: nonlinearity.describe("Activation."),
  use_wscale: useWscale,
  mbstd_group_size: z.number().int().min(0).default(4).describe(
    "Group size of the minibatch standard deviation layer (≤ 1 disables it).",
  ),
  mbstd_num_features: z.number().int().min(1).default(1).describe(
    "Channels the minibatch stddev layer appends.",
  ),
  blur_filter: blurFilter.describe("Low-pass filter taps before each downscaling conv, or null for none."),
  structure: STRUCTURE,
  label_size: z.number().int().min(0).default(0).describe(
    "Classes of a conditional discriminator, 0 = unconditional. Official D_basic: the last dense layer has " +
      "one output per class and the score is the output of the image's class. Set from the dataset's labels.",
  ),
  label_head: z.enum(["per-class", "projection"]).default("per-class").describe(
    "How a conditional discriminator scores: `per-class` (official D_basic: one output per class, the " +
      "image's class picks its own, so each output learns from that class's images only) or `projection` " +
      "(Miyato & Koyama 2018, as StyleGAN2-ADA: one more output shared by all images, plus the class's; " +
      "the last dense layer's row of a class is its embedding, dotted with D's features).",
  ),
});

/** Discriminator hyper-parameters. */
export type DiscriminatorOptions = z.output<typeof DISCRIMINATOR_OPTIONS>;

/** Official StyleGAN defaults for the discriminator. */
export const DISCRIMINATOR_DEFAULTS: Omit<DiscriminatorOptions, "resolution"> = Object.freeze(
  DISCRIMINATOR_OPTIONS.omit({ resolution: true }).parse({}),
);

/** Feature maps at a stage (stage s works at 2^(s+1) px). */
export function featureMaps(
  stage: number,
  o: { fmap_base: number; fmap_decay: number; fmap_max: number },
): number {
  return Math.min(Math.trunc(o.fmap_base / 2 ** (stage * o.fmap_decay)), o.fmap_max);
}

/** log2 of a resolution, checking it is a power of two ≥ 4. */
export function resolutionLog2(resolution: number): number {
  const l = Math.log2(resolution);
  if (!Number.isInteger(l) || l < 2) {
    throw new Error(`resolution must be a power of two ≥ 4, got ${resolution}`);
  }
  return l;
}
