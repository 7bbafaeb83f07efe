/**
 * Scale: each generator depth is a ground resolution. For a model of `resolution` px trained on
 * imagery of `gsd_m` metres per pixel, depth d renders 4·2^d px and
 *   gsd(d) = gsd_m · 2^(max_depth − d),   max_depth = log2(resolution) − 2,
 * while the tile always covers resolution · gsd_m metres. Style layers 2d and 2d+1 act at depth d.
 * Everything here is computed, never typed in.
 */

// The scale table is shared with the widgets (model/shared/rules.ts); re-exported so existing imports work.
export {
  featureGuide,
  formatMetres,
  groundResolutionAt,
  maxDepthOf,
  pixelsAt,
  scaleTable,
} from "./shared/rules.ts";
export type { ScaleRow } from "./shared/rules.ts";
