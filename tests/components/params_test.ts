/** Attribute parsing of the widgets: seeds, ψ, depth, noise, model names, style ranges against a scale table. */
import assert from "node:assert/strict";
import type { ScaleEntry } from "../../components/model_info.ts";
import { R32_SCALE } from "./fixtures.ts";
import {
  compactList,
  fitRanges,
  listConverter,
  MAX_SEED,
  numericConverter,
  parseDepth,
  parseModelName,
  parseNoise,
  parsePsi,
  parsePsiList,
  parseSeed,
  parseSeedList,
  parseStyleLayersHeader,
  psiExtent,
  resolveRange,
  resolveRanges,
  scalePsis,
  SettingError,
  splitRanges,
} from "../../components/params.ts";

/** The same model without a ground resolution. */
const NO_GSD_SCALE: ScaleEntry[] = R32_SCALE.map((row) => ({
  ...row,
  metres_per_pixel: null,
  tile_extent_m: null,
  smallest_feature_m: null,
  holds: null,
}));

function rejects(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SettingError, `expected a SettingError, got ${e}`);
    assert.equal(e.field, field);
    assert.match(e.message, message);
    assert.ok(e.allowed.length > 0, "a SettingError says what is allowed");
    return true;
  });
}

Deno.test("parseSeed: integers 0 to 2^32 - 1, from attribute text or a number", () => {
  assert.equal(parseSeed("730"), 730);
  assert.equal(parseSeed(" 0 "), 0);
  assert.equal(parseSeed(904), 904);
  assert.equal(parseSeed(String(MAX_SEED)), MAX_SEED);
  rejects(() => parseSeed(undefined), "seed", /required/);
  rejects(() => parseSeed(""), "seed", /required/);
  rejects(() => parseSeed("abc"), "seed", /"abc" is not a whole number/);
  rejects(() => parseSeed("-1"), "seed", /"-1" is not a whole number/);
  rejects(() => parseSeed("7.5"), "seed", /not a whole number/);
  rejects(() => parseSeed(7.5), "seed", /not a whole number/);
  rejects(() => parseSeed("1e3"), "seed", /not a whole number/);
  rejects(() => parseSeed("4294967296"), "seed", /larger than 4294967295/);
  rejects(() => parseSeed("99999999999"), "seed", /not a whole number/);
});

Deno.test("parseSeedList: items and low-high ranges, as the server reads them", () => {
  assert.deepEqual(parseSeedList("730,904"), [730, 904]);
  assert.deepEqual(parseSeedList(" 91 , 388 "), [91, 388]);
  assert.deepEqual(parseSeedList("0-3,10"), [0, 1, 2, 3, 10]);
  assert.deepEqual(parseSeedList("5 - 6"), [5, 6]);
  assert.deepEqual(parseSeedList([1, 2]), [1, 2]);
  rejects(() => parseSeedList(""), "seeds", /no seeds/);
  rejects(() => parseSeedList(undefined, "src"), "src", /^Source seeds: no seeds given: seeds are integers/);
  rejects(() => parseSeedList("1,,2", "dst"), "dst", /empty item/);
  rejects(() => parseSeedList("1,x"), "seeds", /invalid seed "x".*not an integer/);
  rejects(() => parseSeedList("-3"), "seeds", /negative seeds are not allowed/);
  rejects(() => parseSeedList("9-2"), "seeds", /9-2.*2 is below 9/);
  rejects(() => parseSeedList("1.5"), "seeds", /invalid seed "1.5"/);
  rejects(() => parseSeedList("4294967296"), "seeds", /larger than 4294967295/);
  // An enormous range fails before it is expanded.
  rejects(() => parseSeedList("0-4294967295"), "seeds", /more than 1024 seeds/);
  rejects(() => parseSeedList("0-9", "seeds", 8), "seeds", /more than 8 seeds/);
});

Deno.test("parsePsi and parsePsiList: numbers from -2 to 2", () => {
  assert.equal(parsePsi("0.7"), 0.7);
  assert.equal(parsePsi("-0.5", "src-psi"), -0.5);
  assert.equal(parsePsi(".5"), 0.5);
  assert.equal(parsePsi(undefined), 1, "absent ψ is 1 (no truncation), the server's default");
  assert.equal(parsePsi("", "psi", 0.7), 0.7);
  rejects(() => parsePsi("abc"), "psi", /"abc" is not a number/);
  rejects(() => parsePsi("2.5", "dst-psi"), "dst-psi", /outside -2 to 2/);
  // Messages name the setting as the widget's label does, never by its attribute name.
  rejects(() => parsePsi("5", "src-psi"), "src-psi", /^Source ψ 5 is outside -2 to 2$/);
  rejects(() => parseSeedList("1,x", "dst"), "dst", /^Destination seeds: invalid seed "x"/);
  rejects(() => parsePsiList("0,3"), "psis", /^ψ columns 3 is outside/);
  rejects(() => splitRanges("fine"), "ranges", /^Style layers: "fine" is not a style range$/);
  rejects(() => parsePsi(Number.NaN), "psi", /not a number/);
  assert.deepEqual(parsePsiList("-1,-0.5,0,0.5,1"), [-1, -0.5, 0, 0.5, 1]);
  assert.deepEqual(parsePsiList([0.5, 1]), [0.5, 1]);
  rejects(() => parsePsiList(""), "psis", /no ψ values/);
  rejects(() => parsePsiList("0,,1"), "psis", /"\(empty\)" is not a number/);
  rejects(() => parsePsiList("0,3"), "psis", /3 is outside/);
});

Deno.test("parseDepth, parseNoise, parseModelName: optional, checked for form", () => {
  assert.equal(parseDepth(undefined), undefined);
  assert.equal(parseDepth("3"), 3);
  assert.equal(parseDepth(2), 2);
  rejects(() => parseDepth("x"), "depth", /not a whole number/);
  rejects(() => parseDepth("-1"), "depth", /not a whole number/);
  assert.equal(parseNoise(undefined), undefined);
  assert.equal(parseNoise("random"), "random");
  rejects(() => parseNoise("loud"), "noise", /not a noise mode/);
  assert.equal(parseModelName("reference-r32"), "reference-r32");
  assert.equal(parseModelName(""), undefined);
  rejects(() => parseModelName("../etc"), "model", /not a model name/);
});

Deno.test("converters: numbers become numbers, anything else stays text to be quoted; lists reflect joined", () => {
  assert.equal(numericConverter.fromAttribute("0.7"), 0.7);
  assert.equal(numericConverter.fromAttribute("-1"), -1);
  assert.equal(numericConverter.fromAttribute("abc"), "abc");
  assert.equal(numericConverter.fromAttribute(null), undefined);
  assert.equal(numericConverter.toAttribute(0.8), "0.8");
  assert.equal(numericConverter.toAttribute(undefined), null);
  assert.equal(listConverter.fromAttribute("730,904"), "730,904");
  assert.equal(listConverter.toAttribute([730, 904]), "730,904");
  assert.equal(listConverter.toAttribute("0-3"), "0-3");
  assert.equal(listConverter.toAttribute(null), null);
  assert.equal(compactList(" 730, 904 "), "730,904");
});

Deno.test("splitRanges: syntax only (layers or metres), before any model is known", () => {
  assert.deepEqual(splitRanges("0-5,5-10"), ["0-5", "5-10"]);
  assert.deepEqual(splitRanges(" 256m-32m , 2m,8"), ["256m-32m", "2m", "8"]);
  assert.deepEqual(splitRanges(["0-3", "4-7"]), ["0-3", "4-7"]);
  rejects(() => splitRanges(""), "ranges", /no style ranges/);
  rejects(() => splitRanges("0-3,fine"), "ranges", /"fine" is not a style range/);
  rejects(() => splitRanges("0-3-5"), "ranges", /not a style range/);
  rejects(() => splitRanges("-1"), "ranges", /not a style range/);
});

Deno.test("resolveRange: layer ranges must exist in the model", () => {
  assert.deepEqual(resolveRange("0-3", R32_SCALE), {
    text: "0-3",
    layers: [0, 3],
    depths: [0, 1],
    metresPerPixel: [19.5072, 9.7536],
  });
  assert.deepEqual(resolveRange("6", R32_SCALE).depths, [3, 3]);
  assert.deepEqual(resolveRange("5-7", R32_SCALE).depths, [2, 3]);
  // Out of bounds: the issue's example "5-10" does not fit the 8 style layers of a 32 px model.
  rejects(
    () => resolveRange("5-10", R32_SCALE),
    "ranges",
    /"5-10" goes past the last style layer 7 of this 32 px model/,
  );
  rejects(() => resolveRange("8", R32_SCALE), "ranges", /goes past the last style layer 7/);
  rejects(() => resolveRange("5-2", R32_SCALE), "ranges", /runs backwards/);
  assert.throws(() => resolveRange("5-10", R32_SCALE), (e: SettingError) => {
    assert.match(e.allowed, /^style layers 0-7 \(2 per depth, depths 0-3\)/);
    return true;
  });
});

Deno.test("resolveRange: metre ranges select the depths whose ground resolution they cover", () => {
  assert.deepEqual(resolveRange("20m-10m", R32_SCALE).layers, [0, 3]);
  assert.deepEqual(resolveRange("2.4m", R32_SCALE).layers, [6, 7], "rounded values match within 5 %");
  assert.deepEqual(resolveRange("10m-20m", R32_SCALE).layers, [0, 3], "either order");
  assert.deepEqual(resolveRange("0.02km-4.9m", R32_SCALE).depths, [0, 2]);
  rejects(
    () => resolveRange("256m-32m", R32_SCALE),
    "ranges",
    /contains none of this model's ground resolutions/,
  );
  rejects(() => resolveRange("1m", R32_SCALE), "ranges", /contains none/);
  rejects(
    () => resolveRange("20m", NO_GSD_SCALE),
    "ranges",
    /in metres but this model has no ground resolution/,
  );
  assert.equal(resolveRange("0-1", NO_GSD_SCALE).metresPerPixel, null);
});

Deno.test("resolveRanges: one range per destination row, or one for all", () => {
  assert.deepEqual(resolveRanges("0-3,4-7", 2, R32_SCALE).map((r) => r.layers), [[0, 3], [4, 7]]);
  assert.deepEqual(resolveRanges("4-7", 3, R32_SCALE).map((r) => r.text), ["4-7", "4-7", "4-7"]);
  rejects(() => resolveRanges("0-1,2-3,4-5", 2, R32_SCALE), "ranges", /3 ranges for 2 destinations/);
  rejects(() => resolveRanges("0-5,5-10", 2, R32_SCALE), "ranges", /"5-10" goes past/);
});

Deno.test("fitRanges: a new number of destination rows keeps one range per row", () => {
  assert.deepEqual(fitRanges(["0-3"], 4), ["0-3"], "one range for all stays one");
  assert.deepEqual(fitRanges(["0-3", "4-7"], 2), ["0-3", "4-7"]);
  assert.deepEqual(fitRanges(["0-3", "4-7"], 3), ["0-3", "4-7", "4-7"]);
  assert.deepEqual(fitRanges(["0-3", "4-7", "6-7"], 2), ["0-3", "4-7"]);
});

Deno.test("scalePsis: the slider's largest |ψ| scales every column and keeps the pattern", () => {
  assert.deepEqual(scalePsis([-1, -0.5, 0, 0.5, 1], 0.6), [-0.6, -0.3, 0, 0.3, 0.6]);
  assert.deepEqual(scalePsis([-1, -0.5, 0, 0.5, 1], 0.9), [-0.9, -0.45, 0, 0.45, 0.9]);
  assert.deepEqual(scalePsis([1, 0.7, 0.5, 0, -0.5, -1], 0.5), [0.5, 0.35, 0.25, 0, -0.25, -0.5]);
  assert.deepEqual(scalePsis([0, 0.5, 1], 2), [0, 1, 2]);
  assert.deepEqual(scalePsis([0, 0, 0], 1), [-1, 0, 1], "all-zero columns spread evenly");
  assert.deepEqual(scalePsis([0], 0.5), [0.5]);
  assert.equal(psiExtent([-0.9, 0.45]), 0.9);
  // Scaling down and back up returns the columns.
  assert.deepEqual(scalePsis(scalePsis([-1, -0.5, 0, 0.5, 1], 0.1), 1), [-1, -0.5, 0, 0.5, 1]);
});

Deno.test("parseStyleLayersHeader: the server's X-Style-Layers", () => {
  assert.deepEqual(parseStyleLayersHeader("0-3,4-7"), [[0, 3], [4, 7]]);
  assert.deepEqual(parseStyleLayersHeader("6"), [[6, 6]]);
  assert.equal(parseStyleLayersHeader(null), null);
  assert.equal(parseStyleLayersHeader("junk"), null);
});
