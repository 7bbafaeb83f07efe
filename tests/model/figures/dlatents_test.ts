import { FIXTURE_DIR } from "../../support/paths.ts";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadGenerator } from "../../../model/checkpoint/checkpoint.ts";
import { readSafetensors } from "../../../model/checkpoint/safetensors.ts";
import { cellDlatents } from "../../../model/figures/dlatents.ts";
import { latentBatch } from "../../../model/generate.ts";
import { REFERENCE_MODEL } from "../../../model/pretrained/registry.ts";
import { RandomState } from "../../../model/seeds.ts";
import { initBackend } from "../../../model/backend/select.ts";
import { batchInvariantWasm } from "../../support/backends.ts";

const IO = `${FIXTURE_DIR}/io.safetensors`;
const SEEDS = [730, 904, 387, 190];

Deno.test("cellDlatents: truncation as G.mapping, bit for bit; mixing takes exactly the chosen layers", async (t) => {
  // XNNPACK's own kernels: the optional OpenBLAS ones vary in the last bit with the batch size.
  await initBackend(batchInvariantWasm(), { quiet: true });
  const { network: G } = await loadGenerator(REFERENCE_MODEL.file);
  try {
    await t.step("matches G.mapping per cell, with different ψ and cutoffs in one batch", async () => {
      const cells = [{ seed: 730, psi: 0.7 }, { seed: 904, psi: 1 }, { seed: 387, psi: -0.5, cutoff: 4 }, {
        seed: 190,
        psi: 0,
        cutoff: 8,
      }];
      const w = cellDlatents(G, cells);
      for (const [i, cell] of cells.entries()) {
        const expected = tf.tidy(() =>
          G.mapping(latentBatch(G, [cell.seed]), cell.psi, cell.cutoff ?? G.options.truncation_cutoff)
        );
        const row = tf.slice(w, [i, 0, 0], [1, -1, -1]);
        assert.deepEqual(await row.data(), await expected.data(), `cell ${i}`);
        tf.dispose([row, expected]);
      }
      w.dispose();
    });

    await t.step("matches the StyleGAN.pytorch fixture's truncated w", async () => {
      const io = (await readSafetensors(IO)).tensors;
      for (const psi of [0.7, -0.5]) {
        const reference = io.get(`w_psi${psi}`)!.data as Float32Array;
        const w = cellDlatents(G, SEEDS.map((seed) => ({ seed, psi })));
        const mine = await w.data();
        w.dispose();
        let worst = 0;
        for (let i = 0; i < mine.length; i++) worst = Math.max(worst, Math.abs(mine[i] - reference[i]));
        assert.ok(worst < 1e-4, `psi ${psi}: max error ${worst}`);
      }
    });

    await t.step("mixing: layers a..b from the source, the rest from the destination", async () => {
      const dst = cellDlatents(G, [{ seed: 387, psi: 0.7 }]);
      const src = cellDlatents(G, [{ seed: 730, psi: -0.5 }]);
      const mixed = cellDlatents(G, [{ seed: 387, psi: 0.7, mix: { seed: 730, psi: -0.5, layers: [2, 5] } }]);
      const [d, s, m] = await Promise.all([dst.array(), src.array(), mixed.array()]);
      for (let layer = 0; layer < G.numLayers; layer++) {
        assert.deepEqual(m[0][layer], layer >= 2 && layer <= 5 ? s[0][layer] : d[0][layer], `layer ${layer}`);
      }
      tf.dispose([dst, src, mixed]);
    });

    await t.step("no tensors leak", () => {
      const before = tf.memory().numTensors;
      cellDlatents(G, [{ seed: 1, psi: 0.5, mix: { seed: 2, psi: 1, layers: [0, 1] } }]).dispose();
      assert.equal(tf.memory().numTensors, before);
      assert.throws(() => cellDlatents(G, []), RangeError);
    });
  } finally {
    G.dispose();
  }
});

Deno.test("cellDlatents with given dlatents (a projected w): truncated toward the W average and mixed with seeds, worked out element by element; bad ones refused", async () => {
  await initBackend(batchInvariantWasm(), { quiet: true });
  const { network: G } = await loadGenerator(REFERENCE_MODEL.file);
  try {
    const layers = G.numLayers;
    const size = G.options.dlatent_size;
    const projected = Float32Array.from(new RandomState(5).randn(layers * size));
    const avg = G.truncation.avgLatent.dataSync();
    const seedW = tf.tidy(() => G.mapping(latentBatch(G, [190]), 1).dataSync());
    const w = cellDlatents(G, [
      { seed: 0, dlatents: projected, psi: 0.5, cutoff: 4 },
      { seed: 0, dlatents: projected, psi: 1, mix: { seed: 190, psi: 1, layers: [2, 5] } },
      { seed: 190, psi: 1, mix: { seed: 0, dlatents: projected, psi: 0, layers: [0, 0] } },
    ]);
    const out = w.dataSync();
    w.dispose();
    const at = (cell: number, l: number, i: number) => out[(cell * layers + l) * size + i];
    for (let l = 0; l < layers; l++) {
      for (const i of [0, 7, size - 1]) {
        const given = projected[l * size + i];
        // ψ 0.5 on layers 0–3 toward the W average; the rest untouched.
        const truncated = l < 4 ? avg[i] + 0.5 * (given - avg[i]) : given;
        assert.ok(Math.abs(at(0, l, i) - truncated) < 1e-5, `cell 0 layer ${l}`);
        // Layers 2–5 from seed 190, the rest the given w (ψ = 1: bit for bit).
        assert.equal(at(1, l, i), l >= 2 && l <= 5 ? seedW[l * size + i] : given, `cell 1 layer ${l}`);
        // Layer 0 from the given w at ψ 0 (the default cutoff covers it): the W average.
        assert.ok(
          Math.abs(at(2, l, i) - (l === 0 ? avg[i] : seedW[l * size + i])) < 1e-6,
          `cell 2 layer ${l}`,
        );
      }
    }
    assert.throws(
      () => cellDlatents(G, [{ seed: 0, dlatents: new Float32Array(size), psi: 1 }]),
      /given dlatents must have 8 × 512 values for this model, got 512/,
    );
    const nan = projected.slice();
    nan[3] = NaN;
    assert.throws(() => cellDlatents(G, [{ seed: 0, dlatents: nan, psi: 1 }]), /non-finite values/);
    const infinite = projected.slice();
    infinite[9] = -Infinity;
    assert.throws(
      () =>
        cellDlatents(G, [{ seed: 1, psi: 1, mix: { seed: 0, dlatents: infinite, psi: 1, layers: [0, 1] } }]),
      /non-finite values/,
    );
  } finally {
    G.dispose();
  }
});
