/** The scale table's plain-language lines: one per depth, never repeated by neighbours. */
import assert from "node:assert/strict";
import { featureGuide, scaleTable } from "../../model/scale.ts";

Deno.test("featureGuide: consecutive depths (halving feature sizes) get their own line", () => {
  // UC Merced (0.3048 m/px, 256 px), NAIP at 5 m, the 64 px default model at 1.2192 m/px: 2·gsd·2^k metres.
  for (const [resolution, gsd] of [[256, 0.3048], [256, 5], [64, 1.2192], [32, 2.4384]]) {
    const lines = scaleTable(resolution, gsd).map((row) => row.holds);
    for (let d = 1; d < lines.length; d++) {
      assert.notEqual(lines[d], lines[d - 1], `${resolution} px at ${gsd} m: depths ${d - 1} and ${d}`);
    }
  }
  // Bucket edges by hand: the line changes exactly where the size halves.
  assert.match(featureGuide(39), /^large buildings/);
  assert.match(featureGuide(25), /^large buildings/);
  assert.match(featureGuide(24.9), /^buildings and roads/);
  assert.match(featureGuide(2.44), /^cars and markings/);
  assert.match(featureGuide(1.22), /^fine texture/);
  assert.match(featureGuide(0.61), /^finest texture/);
  assert.match(featureGuide(5000), /^regional pattern/);
  assert.match(featureGuide(640), /^land-use pattern/);
});
