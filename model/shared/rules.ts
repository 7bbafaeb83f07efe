/**
 * The rules the server and the widgets share, in one dependency-free module: how seed lists are written and
 * expanded, how style ranges (layers or metres per pixel) resolve against a model, and the depth ↔ pixels ↔
 * metres ↔ style layers table, all with the server's exact messages. `server/` uses it through
 * `model/seeds.ts`, `model/scale.ts` and `model/figures/style_ranges.ts` (which re-export it); `components/`
 * imports it directly, so the widgets bundle includes it and a typo is refused in the same words before any
 * request. It imports nothing, so bundling it brings no tensor code along: the rule "components talk to the
 * server over HTTP only" still holds at run time.
 *
 * Scale: for a model of `resolution` px trained on imagery of `gsd_m` metres per pixel, depth d renders
 * 4·2^d px and gsd(d) = gsd_m · 2^(max_depth − d), max_depth = log2(resolution) − 2, while the tile always
 * covers resolution · gsd_m metres. Style layers 2d and 2d+1 act at depth d. Everything is computed, never
 * typed in.
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------------------------
// Seed lists.

/** Largest seed numpy's `RandomState(int)` accepts. */
export const MAX_SEED = 0xffffffff;

/** Default cap on how many seeds one list may expand to; stops `0-4294967295` from exhausting memory. */
export const DEFAULT_MAX_SEEDS = 10_000;

/** How a seed list may be written (the tail of every seed-list message). */
export const SEED_SYNTAX = `seeds are integers from 0 to ${MAX_SEED}, separated by commas, ` +
  `with ranges written low-high (e.g. "730,904", "0-99" or "1,5-7")`;

/**
 * Parse a user's seed list such as `730,904`, `0-99` or `1, 5-7` into numbers, in the order written
 * (duplicates are kept: a figure may show the same seed twice). Whitespace around items and dashes is ignored.
 * @param text the list as typed on a command line or in a query string.
 * @param maxCount the most seeds the list may expand to (default {@link DEFAULT_MAX_SEEDS}).
 * @throws Error naming the offending item and the allowed syntax.
 */
export function parseSeeds(text: string, maxCount: number = DEFAULT_MAX_SEEDS): number[] {
  if (text.trim() === "") throw new Error(`no seeds given: ${SEED_SYNTAX}`);
  const seeds: number[] = [];
  for (const rawItem of text.split(",")) {
    const item = rawItem.trim();
    if (item === "") throw new Error(`empty item in seed list "${text}": ${SEED_SYNTAX}`);
    const [low, high] = parseSeedItem(item);
    const count = high - low + 1;
    // Check before expanding, so an enormous range fails fast instead of allocating.
    if (seeds.length + count > maxCount) {
      throw new Error(
        `seed list "${text}" expands to more than ${maxCount} seeds (at "${item}"); ask for at most ${maxCount}`,
      );
    }
    for (let seed = low; seed <= high; seed++) seeds.push(seed);
  }
  return seeds;
}

/** One item of a seed list as an inclusive [low, high] range. */
function parseSeedItem(item: string): [number, number] {
  const match = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(item);
  if (!match) {
    const why = /^-\s*\d+$/.test(item)
      ? "negative seeds are not allowed"
      : "not an integer or a low-high range";
    throw new Error(`invalid seed "${item}": ${why}; ${SEED_SYNTAX}`);
  }
  const low = parseSeedNumber(match[1], item);
  const high = match[2] === undefined ? low : parseSeedNumber(match[2], item);
  if (high < low) throw new Error(`invalid seed range "${item}": ${high} is below ${low}; ${SEED_SYNTAX}`);
  return [low, high];
}

function parseSeedNumber(digits: string, item: string): number {
  const value = Number(digits);
  if (value > MAX_SEED) {
    throw new Error(
      `invalid seed "${item}": ${digits} is larger than ${MAX_SEED} (2^32 - 1); ${SEED_SYNTAX}`,
    );
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// The scale table.

/** One row of the depth ↔ pixels ↔ metres ↔ style layers table. */
export interface ScaleRow {
  /** Generator depth (0 = 4 px). */
  depth: number;
  /** Tile side in pixels at this depth. */
  pixels: number;
  /** Ground sample distance at this depth, metres per pixel. */
  metres_per_pixel: number;
  /** Tile side on the ground, metres (the same at every depth). */
  tile_extent_m: number;
  /** The two style layers that act at this depth. */
  style_layers: [number, number];
  /** Smallest ground feature this depth can represent (two pixels, Nyquist), metres. */
  smallest_feature_m: number;
  /** What typically appears at that size in aerial imagery (a guide, not a measurement). */
  holds: string;
}

/** The deepest depth of a model of this resolution. */
export function maxDepthOf(resolution: number): number {
  const l = Math.log2(resolution);
  if (!Number.isInteger(l) || l < 2) {
    throw new RangeError(`resolution must be a power of two ≥ 4, got ${resolution}`);
  }
  return l - 2;
}

/** Ground resolution (m/px) at `depth` of a `resolution`-px model whose full resolution is `gsdM` m/px. */
export function groundResolutionAt(depth: number, resolution: number, gsdM: number): number {
  const maxDepth = maxDepthOf(resolution);
  if (!Number.isInteger(depth) || depth < 0 || depth > maxDepth) {
    throw new RangeError(`depth must be an integer in [0, ${maxDepth}], got ${depth}`);
  }
  return gsdM * 2 ** (maxDepth - depth);
}

/** Pixels per side at `depth`. */
export function pixelsAt(depth: number): number {
  return 4 * 2 ** depth;
}

/**
 * What features of a given size are in aerial imagery, one line per octave: consecutive depths halve the
 * smallest feature, so each depth of a model gets its own line ("headline: examples"; a guide, not a
 * measurement). Sizes are the smallest feature a depth holds (two pixels).
 */
const FEATURE_GUIDE: readonly [minSizeM: number, holds: string][] = [
  [800, "regional pattern: towns, forests, lakes"],
  [400, "land-use pattern: fields, water bodies, built-up vs open land"],
  [200, "district layout: neighbourhoods, large fields, rivers"],
  [100, "block pattern: blocks, main roads, parks"],
  [50, "block layout: street grid, squares, sports grounds"],
  [25, "large buildings and open spaces: big roofs, car parks, courts"],
  [12.5, "buildings and roads: single roofs, road lanes, tree clusters"],
  [6.25, "small buildings: houses, courtyards, rows of trees"],
  [3.125, "houses and trees: roof shapes, single trees, gardens"],
  [1.5625, "cars and markings: cars, single trees, road markings"],
  [0.78125, "fine texture: roof detail, foliage, pavement"],
];

/** A plain-language guide to what features of a given size are in aerial imagery. */
export function featureGuide(sizeM: number): string {
  for (const [minSize, holds] of FEATURE_GUIDE) if (sizeM >= minSize) return holds;
  return "finest texture: paving joints, leaves, roof materials";
}

/** The whole scale table of a model. */
export function scaleTable(resolution: number, gsdM: number): ScaleRow[] {
  const maxDepth = maxDepthOf(resolution);
  const rows: ScaleRow[] = [];
  for (let depth = 0; depth <= maxDepth; depth++) {
    const mpp = groundResolutionAt(depth, resolution, gsdM);
    rows.push({
      depth,
      pixels: pixelsAt(depth),
      metres_per_pixel: mpp,
      tile_extent_m: resolution * gsdM,
      style_layers: [2 * depth, 2 * depth + 1],
      smallest_feature_m: 2 * mpp,
      holds: featureGuide(2 * mpp),
    });
  }
  return rows;
}

/** Format metres compactly (0.3 m, 19.5 m, 1.2 km). */
export function formatMetres(m: number): string {
  if (m >= 1000) return `${+(m / 1000).toPrecision(3)} km`;
  if (m >= 10) return `${+m.toFixed(1)} m`;
  return `${+m.toPrecision(2)} m`;
}

// ---------------------------------------------------------------------------------------------------------------
// Style ranges.

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
const LAYER_RANGE = new RegExp(`^${LAYER_ITEM}$`);

/** A layer range as written ("0-5", "8") → [first, last]; null when it is not written as one. */
export function parseLayerSpan(text: string): [number, number] | null {
  const match = LAYER_RANGE.exec(text.trim());
  if (!match) return null;
  const first = Number(match[1]);
  return [first, match[2] === undefined ? first : Number(match[2])];
}
// Units in either case, spelled out rather than by the `i` flag: the source is also a JSON-schema pattern.
const NUMBER = String.raw`(\d{1,7}(?:\.\d{1,6})?)\s*([mM]|[kK][mM])`;
const METRE_ITEM = String.raw`${NUMBER}(?:\s*-\s*${NUMBER})?`;
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
