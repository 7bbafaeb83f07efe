/**
 * Hyper-parameters of StyleGAN's networks, named as in the paper's code and StyleGAN.pytorch,
 * with official StyleGAN's defaults in one place.
 */

/** Growing structure: `linear` = progressive growing with fade-in; `fixed` = final resolution only. */
export type Structure = "linear" | "fixed";

/** Generator hyper-parameters (G_mapping + G_synthesis + truncation). */
export interface GeneratorOptions {
  /** Output resolution in pixels, a power of two ≥ 4. */
  resolution: number;
  /** Image channels (3 = RGB; more for multi-band imagery). */
  num_channels: number;
  /** Size of z. */
  latent_size: number;
  /** Size of w. */
  dlatent_size: number;
  /** Dense layers in the mapping network. */
  mapping_layers: number;
  /** Width of the hidden mapping layers. */
  mapping_fmaps: number;
  /** Learning-rate multiplier of the mapping network. */
  mapping_lrmul: number;
  /** Activation of the mapping network. */
  mapping_nonlinearity: "lrelu" | "relu";
  /** Pixel-normalise z before mapping. */
  normalize_latents: boolean;
  /** Feature maps: nf(stage) = min(fmap_base / 2^(stage·fmap_decay), fmap_max). */
  fmap_base: number;
  /** See fmap_base. */
  fmap_decay: number;
  /** See fmap_base. */
  fmap_max: number;
  /** AdaIN styles from w. */
  use_styles: boolean;
  /** Learned constant 4×4 input (else a dense layer from w). */
  const_input_layer: boolean;
  /** Per-pixel noise inputs. */
  use_noise: boolean;
  /** Activation of the synthesis network. */
  nonlinearity: "lrelu" | "relu";
  /** Equalized learning rate. */
  use_wscale: boolean;
  /** Pixelwise feature normalisation (PGGAN; off in StyleGAN). */
  use_pixel_norm: boolean;
  /** Instance normalisation before each style. */
  use_instance_norm: boolean;
  /** Low-pass filter after upscaling, or null for none. */
  blur_filter: number[] | null;
  /** Progressive (`linear`) or fixed-resolution training. */
  structure: Structure;
  /** Default ψ of the truncation trick at inference. */
  truncation_psi: number;
  /** Style layers (from the coarsest) that truncation affects. */
  truncation_cutoff: number;
  /** Decay of the running average of w. */
  dlatent_avg_beta: number;
  /** Probability of style mixing during training. */
  style_mixing_prob: number;
  /**
   * Classes the generator is conditioned on (land-use labels), 0 = unconditional. Official StyleGAN's
   * `label_size`: the one-hot label is embedded (`class_embedding.weight`, [classes, latent_size]) and
   * concatenated with z before the pixel norm and the mapping layers.
   */
  label_size: number;
}

/** Official StyleGAN defaults for the generator (resolution must be given). */
export const GENERATOR_DEFAULTS: Omit<GeneratorOptions, "resolution"> = {
  num_channels: 3,
  latent_size: 512,
  dlatent_size: 512,
  mapping_layers: 8,
  mapping_fmaps: 512,
  mapping_lrmul: 0.01,
  mapping_nonlinearity: "lrelu",
  normalize_latents: true,
  fmap_base: 8192,
  fmap_decay: 1.0,
  fmap_max: 512,
  use_styles: true,
  const_input_layer: true,
  use_noise: true,
  nonlinearity: "lrelu",
  use_wscale: true,
  use_pixel_norm: false,
  use_instance_norm: true,
  blur_filter: [1, 2, 1],
  structure: "linear",
  truncation_psi: 0.7,
  truncation_cutoff: 8,
  dlatent_avg_beta: 0.995,
  style_mixing_prob: 0.9,
  label_size: 0,
};

/** Discriminator hyper-parameters. */
export interface DiscriminatorOptions {
  /** Input resolution in pixels, a power of two ≥ 4. */
  resolution: number;
  /** Image channels. */
  num_channels: number;
  /** See GeneratorOptions.fmap_base. */
  fmap_base: number;
  fmap_decay: number;
  fmap_max: number;
  /** Activation. */
  nonlinearity: "lrelu" | "relu";
  /** Equalized learning rate. */
  use_wscale: boolean;
  /** Group size of the minibatch standard deviation layer (≤ 1 disables it). */
  mbstd_group_size: number;
  /** Channels it appends. */
  mbstd_num_features: number;
  /** Low-pass filter before each downscaling conv, or null. */
  blur_filter: number[] | null;
  /** Progressive or fixed. */
  structure: Structure;
  /**
   * Classes of the conditional discriminator, 0 = unconditional. Official `D_basic`: the last dense layer has
   * one output per class and the score is the output of the image's class.
   */
  label_size: number;
}

/** Official StyleGAN defaults for the discriminator. */
export const DISCRIMINATOR_DEFAULTS: Omit<DiscriminatorOptions, "resolution"> = {
  num_channels: 3,
  fmap_base: 8192,
  fmap_decay: 1.0,
  fmap_max: 512,
  nonlinearity: "lrelu",
  use_wscale: true,
  mbstd_group_size: 4,
  mbstd_num_features: 1,
  blur_filter: [1, 2, 1],
  structure: "linear",
  label_size: 0,
};

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
