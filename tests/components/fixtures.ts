/** Data the component tests share. */
import type { ModelInfo, ScaleEntry } from "../../components/model_info.ts";

/** The scale table /api/models gives for the embedded 32 px model at 2.4384 m/px. */
export const R32_SCALE: ScaleEntry[] = [
  [0, 4, 19.5072, "block layout and open space: street grid, parks, large roofs"],
  [1, 8, 9.7536, "buildings, road lanes, tree clusters, courts"],
  [2, 16, 4.8768, "buildings, road lanes, tree clusters, courts"],
  [3, 32, 2.4384, "houses, cars, single trees, road markings"],
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
