/**
 * How a dataset's values map to the generator's range [−1, 1] and back: the `normalization` stored in
 * every checkpoint of a run, so that generated tiles come back as what was trained on (8-bit bands,
 * metres of elevation, land-cover classes with their colours).
 *
 * - `uint8`: byte bands (RGB, RGB + NIR, ...): x / 127.5 − 1, StyleGAN's own rule.
 * - `linear`: any other samples (float32 elevation, uint16 bands): per band, the dataset's valid minimum and
 *   maximum map to −1 and 1, i.e. (x − offset) / scale with offset = (max + min) / 2, scale = (max − min) / 2.
 *   Mean and standard deviation are kept beside them for reference.
 * - `onehot`: categorical rasters: one channel per class, 1 where the pixel has that class and −1 elsewhere;
 *   outputs are read back by argmax and drawn with the palette.
 *
 * JSON field names are snake_case, as the configuration's.
 *
 * @module
 */
import { z } from "zod";

/** What a dataset holds. */
export const DATASET_KINDS = ["rgb", "multiband", "elevation", "landcover"] as const;
export type DatasetKind = typeof DATASET_KINDS[number];

/** Statistics of one band over the valid (not NoData) pixels of the training tiles. */
export interface BandStatistics {
  min: number;
  max: number;
  mean: number;
  std: number;
  /** Training value = (x − offset) / scale. */
  offset: number;
  scale: number;
  /** Valid pixels counted. */
  valid_pixels: number;
}

/** Byte bands: x / 127.5 − 1. */
export interface Uint8Normalization {
  kind: "rgb" | "multiband";
  scaling: "uint8";
  channels: number;
  /** Source bands used, 1-based; null when they were the first `channels` of each image. */
  source_bands: number[] | null;
  band_names?: string[];
}

/** Float or wide-integer bands, scaled by dataset statistics. */
export interface LinearNormalization {
  kind: "multiband" | "elevation";
  scaling: "linear";
  channels: number;
  /** The sample type of the source files, used again for outputs (float32 elevation, uint16 bands). */
  dtype: "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "float64";
  bands: BandStatistics[];
  source_bands: number[] | null;
  /** The NoData value of the sources (NoData pixels were filled before training). */
  no_data: number | null;
  /** Unit of the values ("m" for elevation). */
  unit: string | null;
  band_names?: string[];
}

/** Categorical rasters, one-hot. */
export interface OneHotNormalization {
  kind: "landcover";
  scaling: "onehot";
  channels: number;
  /** Class codes of the source raster, one per channel. */
  classes: number[];
  /** Colour of each class, "#rrggbb". */
  palette: string[];
  class_names?: string[];
  source_bands: number[] | null;
}

export type Normalization = Uint8Normalization | LinearNormalization | OneHotNormalization;

/** Metadata key of checkpoints that holds the normalization JSON. */
export const NORMALIZATION_KEY = "normalization";

const HEX = /^#[0-9a-fA-F]{6}$/;
const bandsSchema = z.array(z.number().int().min(1)).nullable();
const SCHEMA = z.discriminatedUnion("scaling", [
  z.object({
    kind: z.enum(["rgb", "multiband"]),
    scaling: z.literal("uint8"),
    channels: z.number().int().min(1),
    source_bands: bandsSchema,
    band_names: z.array(z.string()).optional(),
  }),
  z.object({
    kind: z.enum(["multiband", "elevation"]),
    scaling: z.literal("linear"),
    channels: z.number().int().min(1),
    dtype: z.enum(["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"]),
    bands: z.array(z.object({
      min: z.number(),
      max: z.number(),
      mean: z.number(),
      std: z.number(),
      offset: z.number(),
      scale: z.number().positive(),
      valid_pixels: z.number().int().min(0),
    })).min(1),
    source_bands: bandsSchema,
    no_data: z.number().nullable(),
    unit: z.string().nullable(),
    band_names: z.array(z.string()).optional(),
  }),
  z.object({
    kind: z.literal("landcover"),
    scaling: z.literal("onehot"),
    channels: z.number().int().min(2),
    classes: z.array(z.number().int().min(0).max(255)).min(2),
    palette: z.array(z.string().regex(HEX)),
    class_names: z.array(z.string()).optional(),
    source_bands: bandsSchema,
  }),
]);

/**
 * Parse and check a normalization (from a checkpoint header).
 * @throws Error naming `source` and the field at fault.
 */
export function parseNormalization(text: string, source: string): Normalization {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: '${NORMALIZATION_KEY}' is not valid JSON (${(error as Error).message})`);
  }
  const result = SCHEMA.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`${source}: '${NORMALIZATION_KEY}' ${issue.path.join(".") || "value"}: ${issue.message}`);
  }
  const n = result.data as Normalization;
  const perChannel = n.scaling === "linear"
    ? n.bands.length
    : n.scaling === "onehot"
    ? n.classes.length
    : n.channels;
  if (perChannel !== n.channels) {
    throw new Error(
      `${source}: '${NORMALIZATION_KEY}' describes ${perChannel} channel(s) but says ${n.channels}`,
    );
  }
  if (n.scaling === "onehot" && n.palette.length !== n.classes.length) {
    throw new Error(
      `${source}: '${NORMALIZATION_KEY}' has ${n.palette.length} palette colours for ${n.classes.length} classes`,
    );
  }
  return n;
}

/**
 * The normalization of a checkpoint: its `normalization` metadata, or, for checkpoints written before
 * there was one (and PyTorch imports), 8-bit bands of the generator's channel count.
 */
export function normalizationOf(
  metadata: Record<string, string>,
  channels: number,
  source: string,
): Normalization {
  const text = metadata[NORMALIZATION_KEY];
  if (text === undefined) {
    return { kind: channels === 3 ? "rgb" : "multiband", scaling: "uint8", channels, source_bands: null };
  }
  const n = parseNormalization(text, source);
  if (n.channels !== channels) {
    throw new Error(
      `${source}: the normalization is for ${n.channels} channel(s) but the generator has ${channels}`,
    );
  }
  return n;
}

/**
 * Per-band statistics of band-interleaved float samples, NaN marking NoData.
 * Bands without a single valid value get `valid_pixels: 0` (the caller decides whether that is an error).
 */
export function bandStatistics(data: Float32Array, bands: number): BandStatistics[] {
  const n = new Float64Array(bands);
  const sum = new Float64Array(bands);
  const min = new Float64Array(bands).fill(Infinity);
  const max = new Float64Array(bands).fill(-Infinity);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== v) continue;
    const b = i % bands;
    n[b]++;
    sum[b] += v;
    if (v < min[b]) min[b] = v;
    if (v > max[b]) max[b] = v;
  }
  const mean = Array.from(sum, (s, b) => (n[b] ? s / n[b] : 0));
  const squares = new Float64Array(bands);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== v) continue;
    const d = v - mean[i % bands];
    squares[i % bands] += d * d;
  }
  return Array.from({ length: bands }, (_, b) => {
    if (!n[b]) return { min: 0, max: 0, mean: 0, std: 0, offset: 0, scale: 1, valid_pixels: 0 };
    const half = (max[b] - min[b]) / 2;
    return {
      min: min[b],
      max: max[b],
      mean: mean[b],
      std: Math.sqrt(squares[b] / n[b]),
      offset: (max[b] + min[b]) / 2,
      // A constant band maps to 0; any positive scale inverts exactly.
      scale: half > 0 ? half : 1,
      valid_pixels: n[b],
    };
  });
}

/** Map data values to training values in place: (x − offset) / scale per band. NaN stays NaN. */
export function normalizeInPlace(data: Float32Array, bands: BandStatistics[]): void {
  const k = bands.length;
  for (let i = 0; i < data.length; i++) {
    const s = bands[i % k];
    data[i] = (data[i] - s.offset) / s.scale;
  }
}

/** Training values back to data values: x · scale + offset per band. */
export function denormalize(values: ArrayLike<number>, bands: BandStatistics[]): Float32Array {
  const k = bands.length;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const s = bands[i % k];
    out[i] = values[i] * s.scale + s.offset;
  }
  return out;
}

/**
 * A qualitative palette for classes without colours: Tableau 20 (distinct, colour-blind aware in its
 * first ten), repeated with a darker shade beyond twenty classes.
 */
export function defaultPalette(count: number): string[] {
  const base = [
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#a0cbe8",
    "#ffbe7d",
    "#8cd17d",
    "#b6992d",
    "#f1ce63",
    "#86bcb6",
    "#d37295",
    "#fabfd2",
    "#d4a6c8",
    "#79706e",
  ];
  return Array.from({ length: count }, (_, i) => {
    const colour = base[i % base.length];
    if (i < base.length) return colour;
    const [r, g, b] = hexToRgb(colour).map((v) => Math.round(v * 0.6));
    return rgbToHex([r, g, b]);
  });
}

/** "#rrggbb" → [r, g, b]. */
export function hexToRgb(hex: string): [number, number, number] {
  if (!HEX.test(hex)) throw new RangeError(`not a colour "#rrggbb": ${hex}`);
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** [r, g, b] → "#rrggbb". */
export function rgbToHex([r, g, b]: readonly number[]): string {
  return "#" +
    [r, g, b].map((v) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, "0")).join("");
}
