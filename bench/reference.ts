/**
 * StyleGAN.pytorch (huangzh13, PyTorch 1.13, 2 threads, OpenBLAS) measured on this machine kind
 * (2 cores), as recorded in the project's issues; batch 8. These are the denominators of the ratios.
 */
import type { GeneratorOptions } from "../model/networks/options.ts";

export type ChannelPreset = "default" | "reduced";

/** The two channel presets the benchmarks use. */
export const CHANNEL_PRESETS: Record<ChannelPreset, Partial<GeneratorOptions>> = {
  default: { fmap_base: 8192, fmap_max: 512 },
  reduced: { fmap_base: 2048, fmap_max: 128 },
};

/** `--channels NAME` checked: the preset's name, or an error that lists the presets. */
export function channelPresetFlag(name: string | undefined): ChannelPreset {
  if (name === undefined || !(name in CHANNEL_PRESETS)) {
    throw new Error(`--channels must be one of ${Object.keys(CHANNEL_PRESETS)}, got ${name}`);
  }
  return name as ChannelPreset;
}

/** Generation images/s by channel preset and resolution. */
export const GENERATE_REFERENCE: Record<ChannelPreset, Record<number, number>> = {
  default: { 32: 16.2, 64: 5.94, 128: 3.32 },
  reduced: { 32: 196.7, 64: 91.0, 128: 44.0 },
};

/** Training images/s (one D step + one G step, R1 every step, mixing on) by preset and resolution. */
export const TRAIN_REFERENCE: Record<ChannelPreset, Record<number, number>> = {
  default: { 32: 0.73, 64: 0.30 },
  reduced: { 32: 10.2, 64: 4.63 },
};
