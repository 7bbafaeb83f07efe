/** `deno task scale`: the computed depth ↔ metres table of a checkpoint, the embedded model by default. */
import assert from "node:assert/strict";
import { checkpointScale, formatScaleTable } from "../../../model/geo/scale_report.ts";
import { REFERENCE_MODEL } from "../../../model/pretrained/registry.ts";
import { runCli } from "./helpers.ts";

Deno.test("deno task scale", async (t) => {
  await t.step("the embedded model: 32 px at 2.4384 m, every row computed", async () => {
    const scale = await checkpointScale(REFERENCE_MODEL.file);
    assert.deepEqual([scale.resolution, scale.channels, scale.kind, scale.gsdM], [32, 3, "rgb", 2.4384]);
    assert.deepEqual(scale.rows!.map((r) => r.metres_per_pixel), [19.5072, 9.7536, 4.8768, 2.4384]);
    assert.deepEqual(scale.rows!.map((r) => r.style_layers), [[0, 1], [2, 3], [4, 5], [6, 7]]);
    const text = formatScaleTable(scale);
    assert.match(text, /gsd\(depth\) = 2\.4384 m × 2\^\(3 − depth\)/);
    assert.match(text, /^\s+1\s+8\s+9\.75 m\s+2–3\s+19\.5 m\s+buildings/m);
    const override = await checkpointScale(REFERENCE_MODEL.file, 1);
    assert.deepEqual(override.rows!.map((r) => r.metres_per_pixel), [8, 4, 2, 1]);
  });

  await t.step("the command: a checkpoint, --json, and a clear error for a missing file", async () => {
    const plain = await runCli("scale.ts", ["--checkpoint", REFERENCE_MODEL.file]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(
      plain.stdout,
      /^reference-r32: 32 px, 3 channel\(s\) \(rgb\), 2\.44 m\/px at full resolution; every depth covers the same 78 m tile/,
    );
    const json = await runCli("scale.ts", ["--checkpoint", REFERENCE_MODEL.file, "--json", "--gsd", "0.5"]);
    assert.equal(JSON.parse(json.stdout).rows[0].metres_per_pixel, 4);
    const missing = await runCli("scale.ts", ["--checkpoint", "/nonexistent/G.safetensors"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /\/nonexistent\/G\.safetensors: file not found/);
    const bad = await runCli("scale.ts", ["--gsd", "-1"]);
    assert.equal(bad.code, 2);
  });
});
