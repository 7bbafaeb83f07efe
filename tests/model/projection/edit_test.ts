import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../../model/backend/select.ts";
import { batchInvariantWasm } from "../../support/backends.ts";
import { loadGenerator } from "../../../model/checkpoint/checkpoint.ts";
import { cellDlatents } from "../../../model/figures/dlatents.ts";
import { latentBatch } from "../../../model/generate.ts";
import { REFERENCE_MODEL } from "../../../model/pretrained/registry.ts";
import { editedDlatents } from "../../../model/projection/edit.ts";
import { RandomState } from "../../../model/seeds.ts";

async function setup() {
  await initBackend(batchInvariantWasm(), { quiet: true });
  return (await loadGenerator(REFERENCE_MODEL.file)).network;
}

Deno.test("editedDlatents: seed-only cells are exactly cellDlatents (truncation and mixing)", async () => {
  const G = await setup();
  try {
    const cells = [
      { seed: 730, psi: 0.7 },
      { seed: 904, psi: 1, cutoff: 4 },
      { seed: 387, psi: -0.5, mix: { seed: 190, psi: 0.5, layers: [2, 5] as [number, number] } },
    ];
    const expected = cellDlatents(G, cells);
    const ours = editedDlatents(
      G,
      cells.map((c) => ({
        source: { seed: c.seed },
        psi: c.psi,
        cutoff: c.cutoff,
        mix: c.mix && { source: { seed: c.mix.seed }, psi: c.mix.psi, layers: c.mix.layers },
      })),
    );
    assert.deepEqual(ours.dataSync(), expected.dataSync());
    tf.dispose([expected, ours]);
  } finally {
    G.dispose();
  }
});

Deno.test("editedDlatents: a projected w truncated toward a centre and mixed with a seed, worked out element by element", async () => {
  const G = await setup();
  try {
    const layers = G.numLayers;
    const size = G.options.dlatent_size;
    const projected = Float32Array.from(new RandomState(5).randn(layers * size));
    const avg = G.truncation.avgLatent.dataSync();
    const seedW = tf.tidy(() => G.mapping(latentBatch(G, [190]), 1).dataSync());
    const centre = Float32Array.from(new RandomState(6).randn(size));
    const out = editedDlatents(G, [
      { source: { dlatents: projected }, psi: 0.5, cutoff: 4 },
      { source: { dlatents: projected }, psi: 1, mix: { source: { seed: 190 }, psi: 1, layers: [2, 5] } },
      { source: { seed: 190 }, psi: 1, mix: { source: { dlatents: projected }, psi: 0, layers: [0, 0] } },
    ]).dataSync();
    const at = (cell: number, l: number, i: number) => out[(cell * layers + l) * size + i];
    for (let l = 0; l < layers; l++) {
      for (const i of [0, 7, size - 1]) {
        const w = projected[l * size + i];
        // ψ 0.5 on layers 0–3 toward the W average; the rest untouched.
        const truncated = l < 4 ? avg[i] + 0.5 * (w - avg[i]) : w;
        assert.ok(Math.abs(at(0, l, i) - truncated) < 1e-5, `cell 0 layer ${l}`);
        // Layers 2–5 from seed 190, the rest the projected w.
        assert.equal(at(1, l, i), l >= 2 && l <= 5 ? seedW[l * size + i] : w);
        // Layer 0 from the projected w at ψ 0 (its cutoff 8 covers it): the W average.
        assert.ok(
          Math.abs(at(2, l, i) - (l === 0 ? avg[i] : seedW[l * size + i])) < 1e-6,
          `cell 2 layer ${l}`,
        );
      }
    }
    // Toward another centre (a class's, or another projection).
    const custom = editedDlatents(G, [{ source: { dlatents: projected }, psi: 0.25, cutoff: layers }], centre)
      .dataSync();
    for (const i of [0, 100]) {
      assert.ok(Math.abs(custom[i] - (centre[i] + 0.25 * (projected[i] - centre[i]))) < 1e-5);
    }
  } finally {
    G.dispose();
  }
});

Deno.test("editedDlatents: bad sources and layer ranges are refused with what is wrong", async () => {
  const G = await setup();
  try {
    const size = G.options.dlatent_size;
    const good = new Float32Array(G.numLayers * size);
    assert.throws(() => editedDlatents(G, []), /at least one cell/);
    assert.throws(
      () => editedDlatents(G, [{ source: { dlatents: new Float32Array(size) }, psi: 1 }]),
      /must have 8 × 512 = 4096 values for this model, got 512/,
    );
    const nan = good.slice();
    nan[3] = NaN;
    assert.throws(() => editedDlatents(G, [{ source: { dlatents: nan }, psi: 1 }]), /non-finite/);
    assert.throws(
      () =>
        editedDlatents(G, [{
          source: { dlatents: good },
          psi: 1,
          mix: { source: { seed: 1 }, psi: 1, layers: [3, 8] },
        }]),
      /0 ≤ first ≤ last < 8, got 3..8/,
    );
    assert.throws(() => editedDlatents(G, [{ source: { seed: -1 }, psi: 1 }]), /seed -1 is not an integer/);
    assert.throws(
      () => editedDlatents(G, [{ source: { seed: 1 }, psi: 1 }], new Float32Array(3)),
      /centre must have 512 values/,
    );
  } finally {
    G.dispose();
  }
});
