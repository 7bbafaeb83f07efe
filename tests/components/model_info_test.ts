/** Scale words of the widgets: metres, range labels in layers and ground resolution, the scale bar. */
import assert from "node:assert/strict";
import {
  depthAlignedRanges,
  featureHeadline,
  formatMetres,
  formatPsi,
  formatResolutionRange,
  groundCaption,
  isModelInfo,
  rangeLabel,
  scaleBarFor,
  scaleRowAt,
} from "../../components/model_info.ts";
import { resolveRange } from "../../components/params.ts";
import { R32_INFO, R32_SCALE } from "./fixtures.ts";

Deno.test("formatMetres writes metres as the server's figures do", () => {
  assert.equal(formatMetres(0.3), "0.3 m");
  assert.equal(formatMetres(2.4384), "2.4 m");
  assert.equal(formatMetres(9.7536), "9.8 m");
  assert.equal(formatMetres(19.5072), "19.5 m");
  assert.equal(formatMetres(78.0288), "78 m");
  assert.equal(formatMetres(1234), "1.23 km");
  assert.equal(formatResolutionRange([19.5072, 4.8768]), "19.5–4.9 m/px");
  assert.equal(formatResolutionRange([2.4384, 2.4384]), "2.4 m/px");
  assert.equal(formatResolutionRange([2400, 300]), "2.4 km–300 m/px");
});

Deno.test("rangeLabel names a range in style layers and in ground resolution, with what it carries", () => {
  assert.equal(
    rangeLabel(resolveRange("0-5", R32_SCALE), R32_SCALE),
    "layers 0–5 · 19.5–4.9 m/px: large buildings and open spaces to small buildings",
  );
  assert.equal(
    rangeLabel(resolveRange("6-7", R32_SCALE), R32_SCALE),
    "layers 6–7 · 2.4 m/px: houses and trees",
  );
  assert.equal(
    rangeLabel(resolveRange("6", R32_SCALE), R32_SCALE),
    "layer 6 · 2.4 m/px: houses and trees",
  );
  const noGsd = R32_SCALE.map((row) => ({ ...row, metres_per_pixel: null, holds: null }));
  assert.equal(rangeLabel({ layers: [0, 3], depths: [0, 1] }, noGsd), "layers 0–3");
  assert.equal(featureHeadline("buildings, road lanes: courts"), "buildings, road lanes");
  assert.equal(featureHeadline(null), null);
});

Deno.test("depthAlignedRanges offers every run of whole depths, coarse first", () => {
  const ranges = depthAlignedRanges(R32_SCALE).map((r) => r.text);
  assert.deepEqual(ranges, ["0-1", "0-3", "0-5", "0-7", "2-3", "2-5", "2-7", "4-5", "4-7", "6-7"]);
});

Deno.test("scaleBarFor picks a round length of at most 40 % of the tile", () => {
  assert.deepEqual(scaleBarFor(78.0288), { metres: 20, fraction: 20 / 78.0288, label: "20 m" });
  assert.equal(scaleBarFor(76.8)!.metres, 20);
  assert.equal(scaleBarFor(2000)!.label, "500 m");
  assert.equal(scaleBarFor(12)!.metres, 2);
  assert.equal(scaleBarFor(4)!.metres, 1);
  assert.equal(scaleBarFor(1.2)!.metres, 0.2);
  assert.equal(scaleBarFor(null), null);
  assert.equal(scaleBarFor(0), null);
});

Deno.test("groundCaption: metres per pixel, tile extent and pixels at a depth", () => {
  assert.equal(
    groundCaption(scaleRowAt(R32_SCALE, undefined)!),
    "2.4 m/px · tile 78 m × 78 m · 32 px (depth 3)",
  );
  assert.equal(groundCaption(scaleRowAt(R32_SCALE, 1)!), "9.8 m/px · tile 78 m × 78 m · 8 px (depth 1)");
  assert.equal(scaleRowAt(R32_SCALE, 9), undefined);
  const noGsd = { ...R32_SCALE[0], tile_extent_m: null, metres_per_pixel: null };
  assert.match(groundCaption(noGsd), /records no ground resolution/);
});

Deno.test("isModelInfo and formatPsi", () => {
  assert.ok(isModelInfo(R32_INFO));
  assert.ok(!isModelInfo({ name: "x" }));
  assert.ok(!isModelInfo(null));
  assert.equal(formatPsi(-0.5), "−0.5");
  assert.equal(formatPsi(0.7), "0.7");
});
