/**
 * model/generate.ts: a per-seed ψ gives each tile what a request of that tile alone with that ψ gives, across
 * batch boundaries; wrong ψ lists are refused with the field's name.
 */
import assert from "node:assert/strict";
import { generateRasters } from "../../model/generate.ts";
import { Generator } from "../../model/networks/generator.ts";
import { ParameterTree } from "../../model/layers/parameters.ts";
import { randomizeWeights } from "../support/random_weights.ts";
import { useBackend } from "../support/backends.ts";
import { CONDITIONAL_OPTIONS } from "../support/conditional_model.ts";

const OPTIONS = { ...CONDITIONAL_OPTIONS, label_size: 2 };

Deno.test("psi per seed: each tile is the one its own ψ gives, batch by batch", async () => {
  await useBackend("cpu");
  const G = new Generator(OPTIONS, ParameterTree.seeded(2));
  randomizeWeights(G, 2);
  const psis = [-1, 0, 0.5, 1, 0.7];
  const seeds = [3, 3, 3, 9, 4];
  const labels = [0, 1, 1, 0, 1];
  const together = await generateRasters(G, { seeds, psi: psis, labels }, 2);
  for (let i = 0; i < seeds.length; i++) {
    const [alone] = await generateRasters(G, { seeds: [seeds[i]], psi: psis[i], labels: [labels[i]] });
    assert.deepEqual(together[i].data, alone.data, `tile ${i}`);
  }
  // Not vacuous: the three ψ of seed 3 give three different tiles.
  assert.notDeepEqual(together[0].data, together[1].data);
  assert.notDeepEqual(together[1].data, together[2].data);
  await assert.rejects(generateRasters(G, { seeds, psi: [1, 1], labels }), /2 psi values for 5 seeds/);
  await assert.rejects(
    generateRasters(G, { seeds, psi: [1, 1, NaN, 1, 1], labels }),
    /psi must be a finite number, got NaN/,
  );
  G.dispose();
});
