/**
 * Style-layer ranges for depth mixing, written either as layers (`0-5`, `8`) or as ground resolution
 * (`256m-32m`, `2m`, `1.2km-300m`). A ground range selects the depths whose metres per pixel fall inside it
 * (bounds match within {@link METRES_TOLERANCE}, so the rounded values the scale table prints work), and
 * depth d contributes style layers 2d and 2d + 1. Metres come from `model/scale.ts`, never typed in.
 *
 * @module
 */
import { formatMetres, groundResolutionAt, maxDepthOf } from "../scale.ts";

/** Relative slack on metre bounds: 2.4 m matches 2.4384 m/px. Depths are a factor 2 apart, so 5 % is unambiguous. */
export const METRES_TOLERANCE = 0.05;

/** How a range may be written, for error messages and documentation. */
export const STYLE_RANGE_SYNTAX =
  'a style-layer range "first-last" (e.g. "0-5" or "8") or a ground-resolution range ' +
  'in metres per pixel, coarse to fine (e.g. "256m-32m", "2m", "1.2km-300m")';

/** A range resolved against one model. */
export interface StyleRange {
  /** As written. */
  text: string;
  /** First and last style layer taken from the source (inclusive). */
  layers: [number, number];
  /** First and last generator depth those layers act at (inclusive). */
  depths: [number, number];
  /** Ground resolution at the first and last depth (m/px, coarse first); absent when the model has no gsd. */
  metresPerPixel?: [number, number];
}

/** What a range is resolved against. */
export interface RangeModel {
  /** Model resolution in pixels (a power of two ≥ 4). */
  resolution: number;
  /** Metres per pixel at full resolution, if known. */
  gsdM?: number | null;
}

/** A range that is malformed or does not fit the model; `allowed` says what would. */
export class StyleRangeError extends Error {
  override name = "StyleRangeError";
  constructor(message: string, readonly allowed: string) {
    super(message);
  }
}

const LAYER_ITEM = String.raw`(\d{1,4})(?:\s*-\s*(\d{1,4}))?`;
// Units in either case, spelled out rather than by the `i` flag: the source is also a JSON-schema pattern.
const NUMBER = String.raw`(\d{1,7}(?:\.\d{1,6})?)\s*([mM]|[kK][mM])`;
const METRE_ITEM = String.raw`${NUMBER}(?:\s*-\s*${NUMBER})?`;
const LAYER_RANGE = new RegExp(`^${LAYER_ITEM}$`);
const METRE_RANGE = new RegExp(`^${METRE_ITEM}$`);

/**
 * One item of a style-range list as a regular-expression source without anchors or flags (the API documents the
 * `ranges` parameter with it).
 */
export const STYLE_RANGE_ITEM_PATTERN = `(?:${LAYER_ITEM}|${METRE_ITEM})`;

/** Whether `text` is written as a range at all (checked before any model is known). */
export function isStyleRangeSyntax(text: string): boolean {
  const t = text.trim();
  return LAYER_RANGE.test(t) || METRE_RANGE.test(t);
}

/** Resolve a comma-separated list of ranges against a model. */
export function parseStyleRanges(list: string, model: RangeModel): StyleRange[] {
  return list.split(",").map((item) => parseStyleRange(item, model));
}

/** Resolve one range against a model. Throws {@link StyleRangeError}. */
export function parseStyleRange(text: string, model: RangeModel): StyleRange {
  const t = text.trim();
  const maxDepth = maxDepthOf(model.resolution);
  const lastLayer = 2 * maxDepth + 1;
  const layerAllowed =
    `style layers 0-${lastLayer} (2 per depth, depths 0-${maxDepth}), or ${STYLE_RANGE_SYNTAX}`;
  const layerMatch = LAYER_RANGE.exec(t);
  if (layerMatch) {
    const first = Number(layerMatch[1]);
    const last = layerMatch[2] === undefined ? first : Number(layerMatch[2]);
    if (last < first) {
      throw new StyleRangeError(`style range "${t}" runs backwards (${last} < ${first})`, layerAllowed);
    }
    if (last > lastLayer) {
      throw new StyleRangeError(
        `style range "${t}" goes past the last style layer ${lastLayer} of this ${model.resolution} px model`,
        layerAllowed,
      );
    }
    return withMetres({ text: t, layers: [first, last], depths: [first >> 1, last >> 1] }, model);
  }
  const metreMatch = METRE_RANGE.exec(t);
  if (!metreMatch) throw new StyleRangeError(`"${t}" is not a style range`, layerAllowed);
  if (!model.gsdM) {
    throw new StyleRangeError(
      `style range "${t}" is in metres but this model has no ground resolution (gsd_m)`,
      `style layers 0-${lastLayer}`,
    );
  }
  const a = metres(metreMatch[1], metreMatch[2]);
  const b = metreMatch[3] === undefined ? a : metres(metreMatch[3], metreMatch[4]);
  const [low, high] = [Math.min(a, b) / (1 + METRES_TOLERANCE), Math.max(a, b) * (1 + METRES_TOLERANCE)];
  const depths: number[] = [];
  for (let depth = 0; depth <= maxDepth; depth++) {
    const mpp = groundResolutionAt(depth, model.resolution, model.gsdM);
    if (mpp >= low && mpp <= high) depths.push(depth);
  }
  if (depths.length === 0) {
    const table = Array.from(
      { length: maxDepth + 1 },
      (_, d) => `${formatMetres(groundResolutionAt(d, model.resolution, model.gsdM!))} (depth ${d})`,
    ).join(", ");
    throw new StyleRangeError(
      `style range "${t}" contains none of this model's ground resolutions`,
      `ranges covering some of: ${table}`,
    );
  }
  const [first, last] = [depths[0], depths[depths.length - 1]];
  return withMetres({ text: t, layers: [2 * first, 2 * last + 1], depths: [first, last] }, model);
}

/** Layer range as "a-b" (or "a" for a single layer). */
export function formatLayers([first, last]: [number, number]): string {
  return first === last ? `${first}` : `${first}-${last}`;
}

function metres(value: string, unit: string): number {
  return Number(value) * (unit.toLowerCase() === "km" ? 1000 : 1);
}

function withMetres(range: StyleRange, model: RangeModel): StyleRange {
  if (!model.gsdM) return range;
  const [first, last] = range.depths;
  return {
    ...range,
    metresPerPixel: [
      groundResolutionAt(first, model.resolution, model.gsdM),
      groundResolutionAt(last, model.resolution, model.gsdM),
    ],
  };
}
