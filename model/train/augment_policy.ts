/**
 * DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"): which
 * transforms a run uses, and the random parameters of one batch. No tensors here (model/train/augment.ts
 * applies them), so that the configuration can check a policy and the training loop can draw the parameters
 * once, in one place, for its own process and for the data-parallel workers alike (they get the parameters
 * of their share of the batch in the step request).
 *
 * The parameters follow the paper's reference code (`DiffAugment_pytorch.py`), per image:
 * - `color`: brightness x + b, b ~ U(−0.5, 0.5); saturation (x − m_c)·s + m_c about the mean over channels,
 *   s ~ U(0, 2); contrast (x − m)·c + m about the image mean, c ~ U(0.5, 1.5); in that order.
 * - `translation`: out(i, j) = in(i + dy, j + dx), dy and dx integers in [−t, t], t = ⌊size/8 + ½⌋, outside
 *   the image zero (the paper) or the image reflected (`augment.translation_padding: reflect`).
 * - `cutout`: a square of side ⌊size/2 + ½⌋ centred at (cy, cx) ∈ [0, size]² (clipped by the border) zeroed.
 *
 * @module
 */
import type { RandomState } from "../seeds.ts";

/** The transforms of DiffAugment, in the order they are applied. */
export const AUGMENT_TRANSFORMS = ["color", "translation", "cutout"] as const;
export type AugmentTransform = typeof AUGMENT_TRANSFORMS[number];

/** How `translation` fills what moves in from outside the image. */
export const TRANSLATION_PADDINGS = ["zero", "reflect"] as const;
export type TranslationPadding = typeof TRANSLATION_PADDINGS[number];

/** Fraction of the size a translation moves at most, and the side of the cutout square (the paper's). */
const TRANSLATION_RATIO = 1 / 8;
const CUTOUT_RATIO = 1 / 2;

/**
 * The transforms of a policy text such as `"color,translation,cutout"` (comma-separated, spaces ignored, each
 * at most once; "" = none), in application order. Throws an Error naming the bad entry and the valid names.
 */
export function parseAugmentPolicy(text: string): AugmentTransform[] {
  const names = text.split(",").map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!(AUGMENT_TRANSFORMS as readonly string[]).includes(name)) {
      throw new Error(`unknown policy '${name}'; valid names: ${AUGMENT_TRANSFORMS.join(", ")}`);
    }
  }
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) throw new Error(`'${repeated}' is listed twice`);
  return AUGMENT_TRANSFORMS.filter((t) => names.includes(t));
}

/** The random parameters of one batch of `count` images of `size` px (one entry per image in each list). */
export interface AugmentParams {
  /** Images in the batch. */
  count: number;
  /** Pixels per side of the images the parameters were drawn for. */
  size: number;
  color?: {
    /** Added to every pixel. */
    brightness: number[];
    /** Factor of the distance from the pixel's mean over channels. */
    saturation: number[];
    /** Factor of the distance from the image's mean. */
    contrast: number[];
  };
  translation?: {
    padding: TranslationPadding;
    /** out(i, j) = in(i + rows, j + cols). */
    rows: number[];
    cols: number[];
  };
  cutout?: {
    /** Centre of the zeroed square (row, column), in [0, size]. */
    rows: number[];
    cols: number[];
  };
}

/** Largest translation at `size` px (the paper: int(size · 1/8 + 0.5)). */
export function maxTranslation(size: number): number {
  return Math.floor(size * TRANSLATION_RATIO + 0.5);
}

/** Side of the cutout square at `size` px (the paper: int(size · 1/2 + 0.5)). */
export function cutoutSide(size: number): number {
  return Math.floor(size * CUTOUT_RATIO + 0.5);
}

/**
 * Draw one batch's parameters from the run's generator: for each transform of `policy` in order, each of its
 * quantities for every image in turn. Nothing is drawn for an empty policy, so a run without augmentation
 * keeps exactly the random stream it had before augmentation existed.
 */
export function drawAugmentParams(
  rng: RandomState,
  count: number,
  size: number,
  policy: readonly AugmentTransform[],
  padding: TranslationPadding = "zero",
): AugmentParams {
  const draw = (f: (u: number) => number) => Array.from({ length: count }, () => f(rng.randomSample()));
  /** An integer uniform in [low, high] from u ∈ [0, 1). */
  const integer = (low: number, high: number) => (u: number) => low + Math.floor(u * (high - low + 1));
  const params: AugmentParams = { count, size };
  if (policy.includes("color")) {
    params.color = {
      brightness: draw((u) => u - 0.5),
      saturation: draw((u) => u * 2),
      contrast: draw((u) => u + 0.5),
    };
  }
  if (policy.includes("translation")) {
    const t = maxTranslation(size);
    params.translation = { padding, rows: draw(integer(-t, t)), cols: draw(integer(-t, t)) };
  }
  if (policy.includes("cutout")) {
    // The reference draws the centre from [0, size + 1 − side % 2): for odd sides the square stays centred.
    const high = size - (cutoutSide(size) % 2);
    params.cutout = { rows: draw(integer(0, high)), cols: draw(integer(0, high)) };
  }
  return params;
}

/** Whether the parameters change anything (an empty policy's do not). */
export function augmentsAnything(params: AugmentParams | undefined): params is AugmentParams {
  return !!params && !!(params.color || params.translation || params.cutout);
}

/** The parameters of images [start, start + count) (a data-parallel worker's share). */
export function sliceAugmentParams(params: AugmentParams, start: number, count: number): AugmentParams {
  const rows = (values: number[]) => values.slice(start, start + count);
  const out: AugmentParams = { count, size: params.size };
  if (params.color) {
    const { brightness, saturation, contrast } = params.color;
    out.color = { brightness: rows(brightness), saturation: rows(saturation), contrast: rows(contrast) };
  }
  if (params.translation) {
    const t = params.translation;
    out.translation = { padding: t.padding, rows: rows(t.rows), cols: rows(t.cols) };
  }
  if (params.cutout) out.cutout = { rows: rows(params.cutout.rows), cols: rows(params.cutout.cols) };
  return out;
}
