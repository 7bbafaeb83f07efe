/**
 * Scale: each generator depth is a ground resolution. For a model of `resolution` px trained on
 * imagery of `gsd_m` metres per pixel, depth d renders 4·2^d px and
 *   gsd(d) = gsd_m · 2^(max_depth − d),   max_depth = log2(resolution) − 2,
 * while the tile always covers resolution · gsd_m metres. Style layers 2d and 2d+1 act at depth d.
 * Everything here is computed, never typed in.
 */

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
