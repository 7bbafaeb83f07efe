/**
 * Class-conditional networks (official StyleGAN's `label_size`): G's label embedding concatenated with z before
 * the pixel norm, D's class-select score, the class centres of W and truncation toward them, checkpoints and
 * clear errors. Each checked against the formula worked here, or against the unconditional layers that the
 * parity tests already tie to StyleGAN.pytorch.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Generator } from "../../../model/networks/generator.ts";
import { Discriminator } from "../../../model/networks/discriminator.ts";
import { GMapping } from "../../../model/networks/g_mapping.ts";
import { ParameterTree } from "../../../model/layers/parameters.ts";
import { Truncation } from "../../../model/layers/truncation.ts";
import { GENERATOR_DEFAULTS } from "../../../model/networks/options.ts";
import {
  CLASS_NAMES_KEY,
  classNamesOf,
  CONFIG_KEY,
  loadDiscriminator,
  loadGenerator,
  saveNetwork,
} from "../../../model/checkpoint/checkpoint.ts";
import { readSafetensors, writeSafetensors } from "../../../model/checkpoint/safetensors.ts";
import { useBackend } from "../../support/backends.ts";

const TINY = {
  resolution: 8,
  latent_size: 4,
  dlatent_size: 6,
  mapping_layers: 2,
  mapping_fmaps: 5,
  fmap_base: 16,
  fmap_max: 4,
  label_size: 3,
};

function conditionalG(seed = 1): Generator {
  return new Generator(TINY, ParameterTree.seeded(seed));
}

/** A deterministic z [rows, 4]. */
function latents(rows: number): tf.Tensor2D {
  return tf.tensor2d(Array.from({ length: rows * 4 }, (_, i) => Math.sin(3 * i + 1)), [rows, 4]);
}

Deno.test("G: the label's embedding row is concatenated with z before the pixel norm", async () => {
  await useBackend("cpu");
  const G = conditionalG();
  assert.deepEqual(G.classEmbedding!.shape, [3, 4]);
  assert.equal(G.params.get("class_embedding.weight")?.variable, G.classEmbedding);
  assert.deepEqual(G.params.get("g_mapping.map.dense0.weight")?.variable.shape, [8, 5]); // [2·latent, fmaps]

  // The same dense weights in an unconditional mapping of input 2·latent, fed [z, E[label]] built here.
  const plain = new GMapping(
    new ParameterTree(),
    { ...GENERATOR_DEFAULTS, ...TINY, label_size: 0, latent_size: 8, resolution: 8 },
    G.numLayers,
  );
  plain.dense.forEach((layer, i) => {
    layer.weight.assign(G.gMapping.dense[i].weight);
    layer.bias?.assign(G.gMapping.dense[i].bias!);
  });
  const labels = [2, 0, 1, 2];
  const z = latents(4);
  const zRows = (await z.array()) as number[][];
  const table = (await G.classEmbedding!.array()) as number[][];
  const concatenated = tf.tensor2d(zRows.map((row, i) => [...row, ...table[labels[i]]]));
  const expected = await plain.apply(concatenated).data();
  const w = G.mapping(z, 1, 0, labels);
  assert.deepEqual([...await w.data()], [...expected]);
  assert.deepEqual(w.shape, [4, G.numLayers, 6]);
  // The label matters: another class maps the same z elsewhere.
  const other = G.mapping(z, 1, 0, [0, 0, 0, 0]);
  assert.notDeepEqual([...await other.data()], [...await w.data()]);
  tf.dispose([w, other, z, concatenated]);
  G.dispose();
});

Deno.test("G: labels are required by a conditional generator and refused by an unconditional one", async () => {
  await useBackend("cpu");
  const G = conditionalG();
  const z = latents(2);
  assert.throws(
    () => G.mapping(z),
    /this generator is conditional on 3 classes: every row needs a class label/,
  );
  assert.throws(() => G.mapping(z, 1, 8, [1]), /this generator: 1 class labels for 2 rows/);
  assert.throws(() => G.mapping(z, 1, 8, [1, 3]), /class label 3 \(row 1\) is not an integer in \[0, 2\]/);
  assert.throws(() => G.mapping(z, 1, 8, [1, 0.5]), /class label 0.5/);
  const U = new Generator({ ...TINY, label_size: 0 });
  assert.throws(
    () => U.mapping(z, 1, 8, [0, 1]),
    /this generator is unconditional: it takes no class labels/,
  );
  assert.equal(U.params.get("class_embedding.weight"), undefined);
  assert.equal(U.params.get("truncation.class_avg_latent"), undefined);
  z.dispose();
  G.dispose();
  U.dispose();
});

Deno.test("class centres: each class's rows update its centre by the lerp of their mean, others stay", async () => {
  await useBackend("cpu");
  const beta = 0.9;
  const t = new Truncation(new ParameterTree(), 2, 8, beta, 3);
  const start = [[1, 2], [3, 4], [5, 6]];
  t.classAvgLatent!.assign(tf.tensor2d(start));
  t.avgLatent.assign(tf.tensor1d([0.5, 0.5]));
  const rows = [[1, 1], [3, 5], [-2, 0], [7, 7]];
  const labels = [0, 0, 2, 0]; // class 1 absent
  t.update(tf.tensor2d(rows), labels);
  const f = Math.fround;
  const mean0 = [(1 + 3 + 7) / 3, (1 + 5 + 7) / 3];
  const mean2 = [-2, 0];
  const lerp = (m: number, a: number) => m + (a - m) * beta;
  const got = (await t.classAvgLatent!.array()) as number[][];
  const want = [[lerp(mean0[0], 1), lerp(mean0[1], 2)], [3, 4], [lerp(mean2[0], 5), lerp(mean2[1], 6)]];
  got.flat().forEach((v, i) =>
    assert.ok(Math.abs(v - f(want.flat()[i])) < 1e-5, `${v} vs ${want.flat()[i]}`)
  );
  // The global average follows the whole batch as before.
  const all = [(1 + 3 - 2 + 7) / 4, (1 + 5 + 0 + 7) / 4];
  const avg = [...await t.avgLatent.data()];
  avg.forEach((v, i) => assert.ok(Math.abs(v - lerp(all[i], 0.5)) < 1e-5));
  assert.throws(() => t.update(tf.tensor2d(rows), [0, 1]), /2 class labels for 4 rows/);
});

Deno.test("class centres with β = 0 are the mean of the class's mapped latents; ψ pulls toward them", async () => {
  await useBackend("cpu");
  const G = new Generator({ ...TINY, dlatent_avg_beta: 0 }, ParameterTree.seeded(2));
  const labels = [0, 1, 1, 2, 0, 1];
  const z = latents(6);
  G.forwardTraining(z, { labels, depth: 1, alpha: 1 }).dispose();
  const w = (await G.mapping(z, 1, 0, labels).array()) as number[][][];
  const centres = (await G.truncation.classAvgLatent!.array()) as number[][];
  for (let c = 0; c < 3; c++) {
    const mine = w.filter((_, i) => labels[i] === c).map((layers) => layers[0]);
    const mean = mine[0].map((_, j) => mine.reduce((s, r) => s + r[j], 0) / mine.length);
    mean.forEach((v, j) => assert.ok(Math.abs(centres[c][j] - v) < 1e-5, `class ${c}[${j}]`));
  }
  // ψ = 0 gives exactly the row's class centre on the truncated layers; ψ = 0.5 the midpoint.
  const zero = (await G.mapping(z, 0, 2, labels).array()) as number[][][];
  const half = (await G.mapping(z, 0.5, 2, labels).array()) as number[][][];
  labels.forEach((c, i) => {
    for (const l of [0, 1]) {
      zero[i][l].forEach((v, j) => assert.ok(Math.abs(v - centres[c][j]) < 1e-6));
      half[i][l].forEach((v, j) =>
        assert.ok(Math.abs(v - (centres[c][j] + 0.5 * (w[i][l][j] - centres[c][j]))) < 1e-5)
      );
    }
    assert.deepEqual(zero[i][2], w[i][2]); // past the cutoff: untouched
  });
  z.dispose();
  G.dispose();
});

Deno.test("D: one output per class, the image's class selects its score (official D_basic)", async () => {
  await useBackend("cpu");
  const D = new Discriminator(
    { resolution: 8, fmap_base: 16, fmap_max: 4, label_size: 3 },
    ParameterTree.seeded(3),
  );
  assert.deepEqual(D.params.get("final_block.dense1.weight")?.variable.shape, [4, 3]);
  const images = tf.randomNormal([4, 8, 8, 3], 0, 1, "float32", 5) as tf.Tensor4D;
  const labels = [1, 0, 2, 1];
  // The raw per-class outputs: the final block before the selection.
  const raw = (await tf.tidy(() => {
    let x = D.fromRgb[0].apply(images);
    x = D.blocks[0].apply(x);
    return D.finalBlock.apply(x);
  }).array()) as number[][];
  const scores = [...await D.apply(images, 1, 1, labels).data()];
  scores.forEach((s, i) => assert.ok(Math.abs(s - raw[i][labels[i]]) < 1e-6, `row ${i}`));
  assert.throws(() => D.apply(images, 1, 1), /this discriminator is conditional on 3 classes/);
  // The gradient reaches G's label embedding through D's class-selected score.
  const G = conditionalG();
  const { grads } = tf.variableGrads(
    () =>
      tf.sum(
        D.apply(G.forwardTraining(latents(4), { labels, depth: 1, alpha: 1 }), 1, 1, labels),
      ) as tf.Scalar,
    [G.classEmbedding!],
  );
  const g = await grads[Object.keys(grads)[0]].data();
  assert.ok(g.some((v) => v !== 0), "no gradient reached class_embedding.weight");
  images.dispose();
  D.dispose();
  G.dispose();
});

Deno.test("D, projection head: the shared output plus the image's class's (Miyato & Koyama), every image training the shared one", async () => {
  await useBackend("cpu");
  const D = new Discriminator(
    { resolution: 8, fmap_base: 16, fmap_max: 4, label_size: 3, label_head: "projection" },
    ParameterTree.seeded(3),
  );
  // One output more than classes: output 0 is shared.
  assert.deepEqual(D.params.get("final_block.dense1.weight")?.variable.shape, [4, 4]);
  const images = tf.randomNormal([4, 8, 8, 3], 0, 1, "float32", 5) as tf.Tensor4D;
  const labels = [1, 0, 2, 1];
  // Hand-worked: with dense1's weights at zero, output k is its bias b_k (times the learning-rate multiplier
  // 1), so the score of class c is b_0 + b_(c+1) whatever the image.
  const dense1 = D.finalBlock.dense1;
  dense1.weight.assign(tf.zerosLike(dense1.weight));
  const bias = [0.5, -2, 3, 7];
  dense1.bias!.assign(tf.tensor1d(bias));
  const scores = [...await D.apply(images, 1, 1, labels).data()];
  assert.deepEqual(scores.map((v) => +v.toFixed(5)), labels.map((c) => bias[0] + bias[c + 1]));
  // The shared bias gets a gradient from every image, a class's only from that class's images.
  const { grads } = tf.variableGrads(() => tf.sum(D.apply(images, 1, 1, labels)) as tf.Scalar, [
    dense1.bias!,
  ]);
  const g = [...await grads[Object.keys(grads)[0]].data()];
  assert.deepEqual(g.map((v) => +v.toFixed(5)), [4, 1, 2, 1]);
  images.dispose();
  D.dispose();
});

Deno.test("checkpoints: class names in the header, label_size inferred from a bare state_dict", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  try {
    const G = conditionalG();
    const names = ["forest", "freeway", "river"];
    await saveNetwork(`${dir}/G.safetensors`, G, { [CLASS_NAMES_KEY]: JSON.stringify(names) });
    const loaded = await loadGenerator(`${dir}/G.safetensors`);
    assert.deepEqual(classNamesOf(loaded, "G"), names);
    assert.equal(loaded.network.classCount, 3);
    const z = latents(3);
    assert.deepEqual(
      [...await loaded.network.mapping(z, 0.7, 8, [0, 1, 2]).data()],
      [...await G.mapping(z, 0.7, 8, [0, 1, 2]).data()],
    );

    // Without the config (a StyleGAN.pytorch export), the shapes say it: 3 classes, z of 4.
    const { tensors } = await readSafetensors(`${dir}/G.safetensors`);
    const bare: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
    for (const [k, t] of tensors) bare[k] = { dtype: "F32", shape: t.shape, data: t.data as Float32Array };
    await writeSafetensors(`${dir}/bare.safetensors`, bare, {});
    const inferred = await loadGenerator(`${dir}/bare.safetensors`);
    assert.equal(inferred.inferred, true);
    assert.deepEqual([inferred.network.options.label_size, inferred.network.options.latent_size], [3, 4]);
    assert.deepEqual(classNamesOf(inferred, "bare"), ["0", "1", "2"]);

    const D = new Discriminator({ resolution: 8, fmap_base: 16, fmap_max: 4, label_size: 3 });
    await saveNetwork(`${dir}/D.safetensors`, D);
    const dTensors = (await readSafetensors(`${dir}/D.safetensors`)).tensors;
    const dBare: typeof bare = {};
    for (const [k, t] of dTensors) dBare[k] = { dtype: "F32", shape: t.shape, data: t.data as Float32Array };
    await writeSafetensors(`${dir}/Dbare.safetensors`, dBare, {});
    assert.equal((await loadDiscriminator(`${dir}/Dbare.safetensors`)).network.options.label_size, 3);

    // Bad names are refused with the file's name.
    for (const bad of ['["a","b"]', '["a","a","b"]', "nope", '["a","",""]']) {
      const meta = { ...loaded.metadata, [CLASS_NAMES_KEY]: bad };
      assert.throws(() => classNamesOf({ ...loaded, metadata: meta }, "G.safetensors"), /G\.safetensors/);
    }
    const U = new Generator({ ...TINY, label_size: 0 });
    await saveNetwork(`${dir}/U.safetensors`, U, { [CLASS_NAMES_KEY]: '["a"]' });
    const u = await loadGenerator(`${dir}/U.safetensors`);
    assert.throws(() => classNamesOf(u, "U.safetensors"), /names classes but the network is unconditional/);
    assert.equal(JSON.parse(u.metadata[CONFIG_KEY]).label_size, 0);
    tf.dispose([z]);
    [G, D, U, loaded.network, inferred.network, u.network].forEach((n) => n.dispose());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
