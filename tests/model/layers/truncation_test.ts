/**
 * The truncation trick with one ψ and cutoff per row (the server batches tiles of different requests), against
 * avg + ψ (w − avg) worked here in float32 on a 3 × 4 × 2 example.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Truncation } from "../../../model/layers/truncation.ts";
import { ParameterTree } from "../../../model/layers/parameters.ts";
import { useBackend } from "../../support/backends.ts";

Deno.test("Truncation.apply: each row its own ψ on its own first layers; ψ = 1 rows untouched", async () => {
  await useBackend("cpu");
  const truncation = new Truncation(new ParameterTree(), 2, 8);
  const avg = [0.25, -1.5];
  truncation.avgLatent.assign(tf.tensor1d(avg));
  const [rows, layers] = [3, 4];
  const values = Array.from({ length: rows * layers * 2 }, (_, i) => Math.fround(Math.sin(i + 1) * 3));
  const w = tf.tensor3d(values, [rows, layers, 2]);
  const f = Math.fround;
  const expect = (psis: number[], cutoffs: number[]) =>
    values.map((v, i) => {
      const [r, l, j] = [Math.floor(i / (layers * 2)), Math.floor(i / 2) % layers, i % 2];
      return psis[r] !== 1 && l < cutoffs[r] ? f(avg[j] + f(f(v - avg[j]) * f(psis[r]))) : v;
    });
  const cases: Array<[number[], number[]]> = [
    [[0.5, 1, -1], [2, 4, 9]], // per row: two layers, none (ψ = 1), every layer (cutoff past the last)
    [[0.7, 0.7, 0.7], [4, 4, 4]], // one ψ on every layer
    [[0.7, 0.7, 0.7], [0, 0, 0]], // cutoff 0: nothing
    [[0, 2, 0.5], [1, 2.5, 3]], // ψ 0 gives the average; a fractional cutoff covers the layers below it
  ];
  for (const [psis, cutoffs] of cases) {
    const out = truncation.apply(w, psis, cutoffs);
    assert.deepEqual(Array.from(await out.data()), expect(psis, cutoffs), `ψ ${psis} cutoffs ${cutoffs}`);
    out.dispose();
  }
  // A single number applies to every row, as before.
  const uniform = truncation.apply(w, 0.7, 2);
  assert.deepEqual(Array.from(await uniform.data()), expect([0.7, 0.7, 0.7], [2, 2, 2]));
  assert.throws(() => truncation.apply(w, [0.5, 1], 2), /ψ: 2 values for 3 rows/);
  assert.throws(() => truncation.apply(w, 0.5, [1, 2, 3, 4]), /cutoff: 4 values for 3 rows/);
  const before = tf.memory().numTensors;
  truncation.apply(w, [0.5, 1, -1], [2, 4, 9]).dispose();
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
  tf.dispose([w, uniform]);
});
