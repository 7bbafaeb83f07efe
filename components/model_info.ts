/**
 * A model as `/api/models/{name}` describes it, and the words the widgets make of its scale table: metres per
 * pixel, tile extent, range labels such as "layers 0–3 · 19.5–9.8 m/px: large buildings and open spaces to
 * buildings and roads", and the
 * length of a scale bar. Every metre comes from the server's table; none is typed in. Pure: no DOM, no fetch.
 *
 * @module
 */
import { formatMetres } from "../model/shared/rules.ts";

/** One row of a model's scale table; the metre fields are null when the model records no ground resolution. */
export interface ScaleEntry {
  /** Generator depth (0 = 4 px). */
  depth: number;
  /** Tile side in pixels at this depth. */
  pixels: number;
  /** Ground sample distance at this depth, metres per pixel. */
  metres_per_pixel: number | null;
  /** Tile side on the ground, metres. */
  tile_extent_m: number | null;
  /** The two style layers that act at this depth. */
  style_layers: [number, number];
  /** Smallest ground feature this depth can hold (two pixels), metres. */
  smallest_feature_m: number | null;
  /** What typically appears at that size ("block layout: street grid, squares, sports grounds"). */
  holds: string | null;
}

/** What the widgets use of a model's description. */
export interface ModelInfo {
  name: string;
  resolution: number;
  channels: number;
  style_layers: number;
  depths: number;
  kimg: number | null;
  gsd_m: number | null;
  tile_extent_m: number | null;
  truncation: { psi: number; cutoff: number };
  scale: ScaleEntry[];
  /**
   * A conditional model's classes (land uses), by label index: the values of `class=`. Empty for an
   * unconditional model; absent from servers older than class-aware inference.
   */
  classes?: string[];
}

/** The classes a model offers (none for an unconditional model or a server that lists none). */
export function modelClasses(info: ModelInfo | undefined): readonly string[] {
  const classes = info?.classes;
  return Array.isArray(classes) ? classes.filter((c): c is string => typeof c === "string") : [];
}

/** Whether a value looks like a model description (a guard against a proxy's HTML or an older server). */
export function isModelInfo(value: unknown): value is ModelInfo {
  const v = value as ModelInfo;
  return typeof v === "object" && v !== null && typeof v.name === "string" &&
    typeof v.resolution === "number" &&
    Array.isArray(v.scale) && v.scale.length > 0 &&
    v.scale.every((row) => typeof row.depth === "number" && Array.isArray(row.style_layers));
}

/** Metres compactly, as the server's figures write them (0.3 m, 2.4 m, 19.5 m, 78 m, 1.2 km): the server's rule. */
export { formatMetres };

/** A range of ground resolutions, coarse first: "19.5–4.9 m/px" (one value when both ends agree). */
export function formatResolutionRange([coarse, fine]: readonly [number, number]): string {
  if (coarse === fine) return `${formatMetres(coarse)}/px`;
  const sameUnit = (coarse >= 1000) === (fine >= 1000);
  // "19.5–4.9 m/px": the unit once, after both numbers.
  const number = (m: number) => formatMetres(m).replace(/ k?m$/, "");
  return sameUnit
    ? `${number(coarse)}–${number(fine)} ${fine >= 1000 ? "km" : "m"}/px`
    : `${formatMetres(coarse)}–${formatMetres(fine)}/px`;
}

/** The headline of a scale row's `holds` ("block layout"), or null. */
export function featureHeadline(holds: string | null | undefined): string | null {
  if (!holds) return null;
  return holds.split(":")[0].trim() || null;
}

/** "layers 0–3" or "layer 6". */
export function formatLayerWords([first, last]: readonly [number, number]): string {
  return first === last ? `layer ${first}` : `layers ${first}–${last}`;
}

/**
 * A style range in both vocabularies, with what the whole range holds: "layers 0–5 · 19.5–4.9 m/px: large
 * buildings and open spaces to small buildings" (from the coarsest depth's line to the finest's; one line for a
 * single depth).
 */
export function rangeLabel(
  range: { layers: readonly [number, number]; depths: readonly [number, number] },
  scale: readonly ScaleEntry[],
): string {
  const layers = formatLayerWords(range.layers);
  const coarse = scale[range.depths[0]];
  const fine = scale[range.depths[1]];
  if (!coarse || !fine || coarse.metres_per_pixel === null || fine.metres_per_pixel === null) return layers;
  const metres = formatResolutionRange([coarse.metres_per_pixel, fine.metres_per_pixel]);
  const coarseWords = featureHeadline(coarse.holds);
  const fineWords = featureHeadline(fine.holds);
  const words = coarseWords && fineWords && coarseWords !== fineWords
    ? `${coarseWords} to ${fineWords}`
    : coarseWords ?? fineWords;
  return `${layers} · ${metres}${words ? `: ${words}` : ""}`;
}

/** The layer range of the depths `first`…`last` (both inclusive). */
export function depthRangeLayers(first: number, last: number): [number, number] {
  return [2 * first, 2 * last + 1];
}

/** The ranges a control offers: every run of whole depths, coarse to fine (depth d holds layers 2d, 2d+1). */
export function depthAlignedRanges(
  scale: readonly ScaleEntry[],
): { text: string; layers: [number, number]; depths: [number, number] }[] {
  const out: { text: string; layers: [number, number]; depths: [number, number] }[] = [];
  for (let first = 0; first < scale.length; first++) {
    for (let last = first; last < scale.length; last++) {
      const layers = depthRangeLayers(first, last);
      out.push({ text: `${layers[0]}-${layers[1]}`, layers, depths: [first, last] });
    }
  }
  return out;
}

/** The scale row for a depth (the model's last when undefined), or undefined when it does not exist. */
export function scaleRowAt(scale: readonly ScaleEntry[], depth: number | undefined): ScaleEntry | undefined {
  return depth === undefined ? scale[scale.length - 1] : scale.find((row) => row.depth === depth);
}

/** A scale bar: its length on the ground and its share of the tile's width. */
export interface ScaleBar {
  metres: number;
  /** Length as a fraction of the tile side (0–1). */
  fraction: number;
  /** "20 m". */
  label: string;
}

/**
 * The longest round length (1, 2 or 5 × 10^k metres) that takes at most `maxFraction` of a tile
 * `extentM` metres across; null when the extent is unknown.
 */
export function scaleBarFor(extentM: number | null | undefined, maxFraction = 0.4): ScaleBar | null {
  if (!extentM || !(extentM > 0) || !Number.isFinite(extentM)) return null;
  const limit = extentM * maxFraction;
  const power = 10 ** Math.floor(Math.log10(limit));
  const metres = [5, 2, 1].map((k) => k * power).find((m) => m <= limit * (1 + 1e-9)) ?? power;
  return { metres, fraction: metres / extentM, label: formatMetres(metres) };
}

/**
 * A tile's ground scale in words: "2.4 m/px · tile 78 m × 78 m · 32 px (depth 3)", or what is known without a
 * ground resolution.
 */
export function groundCaption(row: ScaleEntry, pixels = row.pixels): string {
  const size = `${pixels} px (depth ${row.depth})`;
  if (row.tile_extent_m === null) return `${size} · this model records no ground resolution`;
  const mpp = row.tile_extent_m / pixels;
  const extent = formatMetres(row.tile_extent_m);
  return `${formatMetres(mpp)}/px · tile ${extent} × ${extent} · ${size}`;
}

/** ψ for labels: a real minus sign, no trailing zeros. */
export function formatPsi(psi: number): string {
  return psi < 0 ? `−${-psi}` : String(psi);
}
