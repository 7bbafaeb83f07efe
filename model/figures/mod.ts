/**
 * Figures: sample grids, truncation-trick and depth-mixing figures. Tensors in (the dlatents of each tile),
 * rasters in, imagescript images out; no files except the optional label font, no HTTP.
 *
 * @module
 */
export { drawFigure, type FigureGrid, pasteRaster, resizeRaster, scaleBar } from "./canvas.ts";
export { cellDlatents, type StyleCell, type StyleSource } from "./dlatents.ts";
export { drawSampleGrid, type FigureStyle, sampleGridCells, type SampleGridSpec } from "./grid.ts";
export { DEFAULT_FONT_PATHS, LabelFont, loadLabelFont } from "./labels.ts";
export {
  drawMixingFigure,
  type MixingCellInfo,
  mixingCellInfo,
  mixingCells,
  type MixingFigureSpec,
  rangeLabel,
} from "./mixing.ts";
export {
  formatLayers,
  isStyleRangeSyntax,
  METRES_TOLERANCE,
  parseStyleRange,
  parseStyleRanges,
  STYLE_RANGE_SYNTAX,
  type StyleRange,
  StyleRangeError,
} from "./style_ranges.ts";
export { drawTruncationFigure, truncationCells, type TruncationFigureSpec } from "./truncation.ts";
