/**
 * The denominators of the benchmarks' ratios: StyleGAN.pytorch's images/s, preferably measured in the same run
 * (the JSON lines of bench/reference/stylegan_torch.py, `--reference FILE`), else the figures recorded below,
 * which every row that uses them labels as a fallback.
 */
import { z } from "zod";
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

/**
 * FALLBACK ONLY. StyleGAN.pytorch (huangzh13, PyTorch 1.13, 2 threads, OpenBLAS) measured on an earlier machine of
 * this kind (2 cores), as recorded in the project's issues; batch 8. Today's machine runs PyTorch about 1.4× faster,
 * so ratios against these are stale: measure PyTorch in the same run instead (bench/reference/cpu_same_run.sh).
 * Generation images/s by channel preset and resolution.
 */
export const GENERATE_REFERENCE: Record<ChannelPreset, Record<number, number>> = {
  default: { 32: 16.2, 64: 5.94, 128: 3.32 },
  reduced: { 32: 196.7, 64: 91.0, 128: 44.0 },
};

/** FALLBACK ONLY (see {@link GENERATE_REFERENCE}). Training images/s (one D step + one G step, R1 every step). */
export const TRAIN_REFERENCE: Record<ChannelPreset, Record<number, number>> = {
  default: { 32: 0.73, 64: 0.30 },
  reduced: { 32: 10.2, 64: 4.63 },
};

/** What a benchmark row times. */
export type BenchTask = "generate" | "train";

/** Where a row's PyTorch figure comes from: the file measured in this run, or the recorded constants above. */
export type ReferenceSource = "same run" | "recorded fallback";

/** A row's denominator: PyTorch's images/s (null: none for this case) and where it comes from. */
export interface ReferenceFigure {
  img_per_s: number | null;
  source: ReferenceSource;
}

/**
 * One JSON line of stylegan_torch.py. Lines written before it timed training have no `task` (generation);
 * a training case it skipped has `img_per_s: null`; `config` names a training config (its file name without
 * `.yaml`) timed in place of a channel preset.
 */
const TorchRow = z.object({
  task: z.enum(["generate", "train"]).default("generate"),
  res: z.number().int().positive(),
  channels: z.string().nullable().optional(),
  config: z.string().nullable().optional(),
  batch: z.number().int().positive(),
  tf32: z.union([z.enum(["on", "off"]), z.boolean()]).optional(),
  img_per_s: z.number().positive().nullable(),
});

/** PyTorch's images/s measured in one run, by task, resolution, case (preset or config name) and batch. */
export class MeasuredReference {
  private constructor(readonly file: string, private readonly figures: Map<string, number>) {}

  /**
   * The JSON lines in `text` (other lines, e.g. the script's progress, are skipped). Strict float32 rows
   * (tf32 off) win over TF32 ones for the same case: the project computes in float32.
   */
  static parse(text: string, file: string): MeasuredReference {
    const figures = new Map<string, number>();
    text.split("\n").forEach((line, i) => {
      if (!line.trim().startsWith("{")) return;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (e) {
        throw new Error(`${file}:${i + 1}: not JSON (${(e as Error).message})`);
      }
      const parsed = TorchRow.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`${file}:${i + 1}: field '${issue.path.join(".")}': ${issue.message}`);
      }
      const row = parsed.data;
      const name = row.config ?? row.channels;
      if (!name) throw new Error(`${file}:${i + 1}: a row needs 'channels' or 'config'`);
      if (row.img_per_s === null) return; // a case the script skipped (over its budget)
      const key = referenceKey(row.task, row.res, name, row.batch);
      const strict = row.tf32 === undefined || row.tf32 === "off" || row.tf32 === false;
      if (strict || !figures.has(key)) figures.set(key, row.img_per_s);
    });
    if (figures.size === 0) {
      throw new Error(
        `${file}: no PyTorch timing rows (JSON lines with task, res, channels, batch, img_per_s)`,
      );
    }
    return new MeasuredReference(file, figures);
  }

  static async read(file: string): Promise<MeasuredReference> {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new Error(`${file}: cannot read the PyTorch reference (${(e as Error).message})`);
    }
    return MeasuredReference.parse(text, file);
  }

  /** Images/s of one case, or undefined when the file has none for it. */
  get(task: BenchTask, res: number, name: string, batch: number): number | undefined {
    return this.figures.get(referenceKey(task, res, name, batch));
  }
}

function referenceKey(task: BenchTask, res: number, name: string, batch: number): string {
  return `${task}/${res}/${name}/${batch}`;
}

/**
 * The denominator of a bench-preset case: from the same run's file when one is given (null when it lacks the
 * case: a ratio against another machine's figure would read as if measured together), else the recorded
 * fallback (which exists for batch 8 only).
 */
export function presetReference(
  measured: MeasuredReference | undefined,
  task: BenchTask,
  res: number,
  preset: ChannelPreset,
  batch: number,
): ReferenceFigure {
  if (measured) return { img_per_s: measured.get(task, res, preset, batch) ?? null, source: "same run" };
  const recorded = batch === 8
    ? (task === "generate" ? GENERATE_REFERENCE : TRAIN_REFERENCE)[preset][res]
    : undefined;
  return { img_per_s: recorded ?? null, source: "recorded fallback" };
}
