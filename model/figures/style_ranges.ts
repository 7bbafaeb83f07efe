/**
 * Style-layer ranges for depth mixing, written either as layers (`0-5`, `8`) or as ground resolution
 * (`256m-32m`, `2m`, `1.2km-300m`). A ground range selects the depths whose metres per pixel fall inside it
 * (bounds match within {@link METRES_TOLERANCE}, so the rounded values the scale table prints work), and
 * depth d contributes style layers 2d and 2d + 1. Metres come from `model/scale.ts`, never typed in.
 *
 * @module
 */
// Style ranges are shared with the widgets (model/shared/rules.ts); re-exported so existing imports work.
export {
  formatLayers,
  isStyleRangeSyntax,
  METRES_TOLERANCE,
  parseLayerSpan,
  parseStyleRange,
  parseStyleRanges,
  STYLE_RANGE_ITEM_PATTERN,
  STYLE_RANGE_SYNTAX,
  StyleRangeError,
} from "../shared/rules.ts";
export type { RangeModel, StyleRange } from "../shared/rules.ts";
