import assert from "node:assert/strict";
import { groundResolutionAt } from "../../../model/scale.ts";
import {
  formatLayers,
  isStyleRangeSyntax,
  parseStyleRange,
  parseStyleRanges,
  StyleRangeError,
} from "../../../model/figures/style_ranges.ts";

/** A 256 px model at 1 m/px: depths 0-6 are 64, 32, 16, 8, 4, 2, 1 m/px. */
const M256 = { resolution: 256, gsdM: 1 };
/** The reference model: 32 px at 2.4384 m/px (19.5, 9.75, 4.88, 2.44 m/px). */
const REF = { resolution: 32, gsdM: 2.4384 };

Deno.test("layer ranges", () => {
  assert.deepEqual(parseStyleRange("0-5", M256), {
    text: "0-5",
    layers: [0, 5],
    depths: [0, 2],
    metresPerPixel: [64, 16],
  });
  assert.deepEqual(parseStyleRange(" 8 ", M256).layers, [8, 8]);
  assert.deepEqual(parseStyleRange("5 - 13", M256).depths, [2, 6]);
  assert.equal(parseStyleRange("0-3", { resolution: 32 }).metresPerPixel, undefined);
  assert.throws(() => parseStyleRange("5-3", M256), /backwards/);
  assert.throws(() => parseStyleRange("0-14", M256), /past the last style layer 13/);
  assert.throws(
    () => parseStyleRange("5-10", REF),
    (e: unknown) => e instanceof StyleRangeError && /0-7/.test(e.allowed),
  );
});

Deno.test("ground ranges select the depths whose metres per pixel fall inside, then their two layers each", () => {
  // The examples on a 1 m/px model.
  assert.deepEqual(parseStyleRange("256m-32m", M256).layers, [0, 3]); // 64, 32 m/px → depths 0-1
  assert.deepEqual(parseStyleRange("16m-2m", M256).layers, [4, 11]); // 16, 8, 4, 2 → depths 2-5
  assert.deepEqual(parseStyleRange("2m-16m", M256).layers, [4, 11], "either order");
  assert.deepEqual(parseStyleRange("1m", M256).layers, [12, 13]);
  assert.deepEqual(parseStyleRange("0.064km-0.032km", M256).layers, [0, 3]);
  // Rounded values from the scale table match (within 5 %).
  assert.deepEqual(parseStyleRange("19.5m-4.9m", REF).depths, [0, 2]);
  assert.deepEqual(parseStyleRange("2.4m", REF).layers, [6, 7]);
  const range = parseStyleRange("20m-9m", REF);
  assert.deepEqual(range.metresPerPixel, [
    groundResolutionAt(0, 32, 2.4384),
    groundResolutionAt(1, 32, 2.4384),
  ]);
  // Nothing inside: the error lists what exists, in metres from the scale table.
  assert.throws(
    () => parseStyleRange("256m-32m", REF),
    (e: unknown) => e instanceof StyleRangeError && /19\.5 m \(depth 0\)/.test(e.allowed),
  );
  assert.throws(() => parseStyleRange("3m", REF), StyleRangeError); // between 2.44 and 4.88
  assert.throws(() => parseStyleRange("2m", { resolution: 32 }), /no ground resolution/);
});

Deno.test("lists, syntax and formatting", () => {
  assert.deepEqual(parseStyleRanges("0-3,20m-9m", REF).map((r) => r.layers), [[0, 3], [0, 3]]);
  for (const ok of ["0-5", "8", "256m-32m", "2.4m", "1.2km-300m", "1 - 2", "10M"]) {
    assert.ok(isStyleRangeSyntax(ok), ok);
  }
  for (const bad of ["", "-", "a-b", "5m-3", "1e3m", "0-5-6", "m", "-3"]) {
    assert.ok(!isStyleRangeSyntax(bad), bad);
  }
  assert.throws(() => parseStyleRange("x", REF), StyleRangeError);
  assert.equal(formatLayers([2, 2]), "2");
  assert.equal(formatLayers([0, 5]), "0-5");
});
