/**
 * How much memory a training configuration needs, estimated from the configuration alone (nothing is built), so
 * that settings which cannot fit are refused before a process starts and dies with "Array buffer allocation
 * failed". Two parts:
 *
 * - **Parameters**, counted exactly (the formula below equals the trainable variables of the built networks;
 *   the test checks it by hand and against a built network). Training keeps, in float32: G, its EMA copy Gs,
 *   D, Adam's two moments and one gradient of G and of D: 5 × G + 4 × D values.
 * - **Activations**, a deliberate upper-side estimate: for every depth, its minibatch times the feature-map
 *   values of G's and D's layers at that depth (channels × pixels, summed over the levels present), times
 *   {@link TENSORS_PER_LAYER} tensors kept for the backward pass; the largest depth counts.
 *
 * The machine's memory is an argument (the entry points read `Deno.systemMemoryInfo()` once and pass it).
 *
 * @module
 */
import type { TrainConfig } from "../config.ts";
import { featureMaps, resolutionLog2 } from "../networks/options.ts";
import { DISCRIMINATOR_DEFAULTS, GENERATOR_DEFAULTS } from "../networks/options.ts";
import { discriminatorOptionsOf, generatorOptionsOf } from "./loop.ts";

/**
 * Float32 tensors of a layer's size kept at the peak of a training step (forward and backward of G and D, the R1
 * penalty's second pass included). Measured with `tf.profile` (peakBytes) on the wasm backend, R1 on every step,
 * fmap_base 512 / fmap_max 64, fixed structure: 245 MiB at 32 px × 16, 283 MiB at 64 px × 8, 177 MiB at
 * 16 px × 32, i.e. about 19 per layer. Set above that: refusing a configuration that would just fit is cheaper
 * than a job that dies an hour in.
 */
export const TENSORS_PER_LAYER = 24;

/** Fraction of the machine's memory a training run may plan to use (the server, the OS and caches keep the rest). */
export const MEMORY_FRACTION = 0.8;

/** Parameter counts and the memory estimate of a configuration, in values and bytes. */
export interface TrainingMemory {
  /** Trainable parameters of G (mapping + synthesis) and of D. */
  generatorParameters: number;
  discriminatorParameters: number;
  /** Bytes of parameters, EMA copy, Adam moments and gradients. */
  parameterBytes: number;
  /** Bytes of activations at the most demanding depth, and that depth's resolution and minibatch. */
  activationBytes: number;
  peakResolution: number;
  peakBatch: number;
  /** parameterBytes + activationBytes. */
  totalBytes: number;
}

/** A configuration whose estimated memory exceeds the limit; the message gives both numbers. */
export class TrainingMemoryError extends Error {
  override name = "TrainingMemoryError";
}

/** Trainable parameters of the generator of `config` (see the module comment for the layout counted). */
export function generatorParameterCount(config: TrainConfig): number {
  const o = { ...GENERATOR_DEFAULTS, ...generatorOptionsOf(config) };
  const L = resolutionLog2(o.resolution);
  const nf = (stage: number) => featureMaps(stage, o);
  const dense = (inputs: number, outputs: number) => inputs * outputs + outputs;
  // Mapping: latent → mapping_fmaps → … → dlatent, mapping_layers dense layers with biases.
  let mapping = 0;
  for (let i = 0; i < o.mapping_layers; i++) {
    const inputs = i === 0 ? o.latent_size : o.mapping_fmaps;
    const outputs = i === o.mapping_layers - 1 ? o.dlatent_size : o.mapping_fmaps;
    mapping += dense(inputs, outputs);
  }
  // One epilogue: a noise weight per channel, a style (w → scale and shift per channel).
  const epilogue = (c: number) => (o.use_noise ? c : 0) + (o.use_styles ? dense(o.dlatent_size, 2 * c) : 0);
  const conv3 = (inputs: number, outputs: number) => 9 * inputs * outputs + outputs;
  // 4×4 block: the constant (16 values per channel) and its bias, or a dense layer from w; epilogue, conv, epilogue.
  const c0 = nf(1);
  let synthesis = (o.const_input_layer ? 16 * c0 + c0 : dense(o.dlatent_size, 16 * c0)) + 2 * epilogue(c0) +
    conv3(c0, c0);
  // Each further level: an upscaling conv from the previous level's channels, a conv, two epilogues.
  for (let level = 3; level <= L; level++) {
    const inputs = nf(level - 2);
    const c = nf(level - 1);
    synthesis += conv3(inputs, c) + conv3(c, c) + 2 * epilogue(c);
  }
  // A 1×1 toRGB per level (all levels: progressive growing fades between them).
  for (let level = 2; level <= L; level++) synthesis += nf(level - 1) * o.num_channels + o.num_channels;
  return mapping + synthesis;
}

/** Trainable parameters of the discriminator of `config`. */
export function discriminatorParameterCount(config: TrainConfig): number {
  const o = { ...DISCRIMINATOR_DEFAULTS, ...discriminatorOptionsOf(config) };
  const L = resolutionLog2(o.resolution);
  const nf = (stage: number) => featureMaps(stage, o);
  const conv3 = (inputs: number, outputs: number) => 9 * inputs * outputs + outputs;
  let total = 0;
  // Blocks from the full resolution down to 8 px: a conv, then a downscaling conv to the coarser channels.
  for (let level = L; level >= 3; level--) {
    total += conv3(nf(level - 1), nf(level - 1)) + conv3(nf(level - 1), nf(level - 2));
  }
  // 4×4 block: minibatch stddev channels, a conv, a dense layer over the 16 pixels, the score.
  const extra = o.mbstd_group_size > 1 ? o.mbstd_num_features : 0;
  total += conv3(nf(1) + extra, nf(1)) + (16 * nf(1) * nf(0) + nf(0)) + (nf(0) + 1);
  // A 1×1 fromRGB per level.
  for (let level = L; level >= 2; level--) total += o.num_channels * nf(level - 1) + nf(level - 1);
  return total;
}

/** The estimate for `config` (see the module comment). */
export function estimateTrainingMemory(config: TrainConfig): TrainingMemory {
  const generatorParameters = generatorParameterCount(config);
  const discriminatorParameters = discriminatorParameterCount(config);
  const parameterBytes = 4 * (5 * generatorParameters + 4 * discriminatorParameters);
  const g = { ...GENERATOR_DEFAULTS, ...generatorOptionsOf(config) };
  const d = { ...DISCRIMINATOR_DEFAULTS, ...discriminatorOptionsOf(config) };
  const L = resolutionLog2(config.dataset.resolution);
  const batches = config.sched.batch_sizes;
  let activationBytes = 0;
  let peakResolution = 4;
  let peakBatch = batches[0];
  let featureValues = 0; // per image, summed over the levels trained so far
  for (let level = 2; level <= L; level++) {
    const pixels = 4 ** level; // (2^level)²
    // G: two layers of nf(level − 1) channels; D: two layers at this level too.
    featureValues += 2 * pixels * featureMaps(level - 1, g) + 2 * pixels * featureMaps(level - 1, d);
    const batch = batches[Math.min(level - 2, batches.length - 1)];
    const bytes = 4 * TENSORS_PER_LAYER * batch * featureValues;
    if (bytes >= activationBytes) {
      activationBytes = bytes;
      peakResolution = 2 ** level;
      peakBatch = batch;
    }
  }
  return {
    generatorParameters,
    discriminatorParameters,
    parameterBytes,
    activationBytes,
    peakResolution,
    peakBatch,
    totalBytes: parameterBytes + activationBytes,
  };
}

/**
 * Throw {@link TrainingMemoryError} when `config`'s estimate exceeds {@link MEMORY_FRACTION} of `memoryBytes`
 * (the machine's memory); returns the estimate otherwise.
 */
export function checkTrainingMemory(config: TrainConfig, memoryBytes: number): TrainingMemory {
  const estimate = estimateTrainingMemory(config);
  const limit = MEMORY_FRACTION * memoryBytes;
  if (!(estimate.totalBytes <= limit)) {
    throw new TrainingMemoryError(
      `these settings need about ${gib(estimate.totalBytes)} of memory (${
        formatCount(estimate.generatorParameters)
      } G and ${formatCount(estimate.discriminatorParameters)} D parameters: ${
        gib(estimate.parameterBytes)
      } ` +
        `with the EMA copy, Adam moments and gradients; activations ${gib(estimate.activationBytes)} at ` +
        `${estimate.peakResolution} px, minibatch ${estimate.peakBatch}); the limit is ${gib(limit)} ` +
        `(${Math.round(MEMORY_FRACTION * 100)}% of this machine's ${gib(memoryBytes)}). ` +
        "Lower model.gen.latent_size, dlatent_size, mapping_fmaps, fmap_base/fmap_max or sched.batch_sizes",
    );
  }
  return estimate;
}

function gib(bytes: number): string {
  const [value, unit] = bytes >= 2 ** 30 ? [bytes / 2 ** 30, "GiB"] : [bytes / 2 ** 20, "MiB"];
  return `${value >= 100 ? value.toFixed(0) : value.toPrecision(3)} ${unit}`;
}

function formatCount(n: number): string {
  if (n < 1e6) return String(n);
  return `${n < 1e8 ? (n / 1e6).toPrecision(3) : Math.round(n / 1e6).toLocaleString("en-US")} M`;
}
