/** Data the component tests share. */
import type { ModelInfo, ScaleEntry } from "../../components/model_info.ts";

/** The scale table /api/models gives for the embedded 32 px model at 2.4384 m/px. */
export const R32_SCALE: ScaleEntry[] = [
  [0, 4, 19.5072, "large buildings and open spaces: big roofs, car parks, courts"],
  [1, 8, 9.7536, "buildings and roads: single roofs, road lanes, tree clusters"],
  [2, 16, 4.8768, "small buildings: houses, courtyards, rows of trees"],
  [3, 32, 2.4384, "houses and trees: roof shapes, single trees, gardens"],
].map(([depth, pixels, mpp, holds]) => ({
  depth: depth as number,
  pixels: pixels as number,
  metres_per_pixel: mpp as number,
  tile_extent_m: 78.0288,
  style_layers: [2 * (depth as number), 2 * (depth as number) + 1] as [number, number],
  smallest_feature_m: 2 * (mpp as number),
  holds: holds as string,
}));

/** The embedded default model as /api/models describes it (the fields the widgets read). */
export const R32_INFO: ModelInfo = {
  name: "reference-r32",
  resolution: 32,
  channels: 3,
  style_layers: 8,
  depths: 4,
  kimg: 0,
  gsd_m: 2.4384,
  tile_extent_m: 78.0288,
  truncation: { psi: 0.7, cutoff: 8 },
  scale: R32_SCALE,
};
