/**
 * Class-aware inference over HTTP (issue 18, item 3): `class=` on a conditional model, truncation toward the
 * class's own centre of W, `src_class` / `dst_class` for mixing, the model's classes in /api/models, and the
 * 400s for a class the model lacks or a class on an unconditional model.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Image } from "imagescript";
import { toRgb8 } from "../../model/images.ts";
import { CONDITIONAL_CLASSES as CLASSES, writeConditionalModel } from "../support/conditional_model.ts";
import { type ErrorJson, request, startServer, useWasm } from "./helpers.ts";
import { loadLabelFont } from "../../model/figures/labels.ts";

Deno.test("class= on a conditional model: its own centre of W, the classes listed, clear 400s", async () => {
  await useWasm();
  const dir = await Deno.makeTempDir();
  const { generator: G, centres } = await writeConditionalModel(`${dir}/landuse.safetensors`);
  const server = await startServer({ config: { modelsDir: dir, workers: 0 } });
  try {
    const info = await request(`${server.url}/api/models/landuse`);
    assert.equal(info.status, 200);
    assert.deepEqual((info.json as { classes: string[] }).classes, CLASSES);
    const unconditional = await request(`${server.url}/api/models/reference-r32`);
    assert.deepEqual((unconditional.json as { classes: string[] }).classes, []);

    // ψ = 0 on every layer: the tile is the synthesis of the class centre itself, whatever the seed.
    const pixels = async (query: string) => {
      const res = await request(`${server.url}/generate?model=landuse&noise=const&${query}`);
      assert.equal(res.status, 200, new TextDecoder().decode(res.body));
      return (await Image.decode(res.body)).bitmap;
    };
    for (const [c, name] of CLASSES.entries()) {
      const w = tf.tile(tf.reshape(tf.tensor1d(centres[c]), [1, 1, 8]), [1, G.numLayers, 1]) as tf.Tensor3D;
      const [expected] = await toRgb8(G.gSynthesis.apply(w, { noise: "const" }));
      const got = await pixels(`seed=11&psi=0&cutoff=${G.numLayers}&class=${name}`);
      for (let p = 0; p < 16 * 16; p++) {
        for (let k = 0; k < 3; k++) {
          assert.ok(Math.abs(got[4 * p + k] - expected.data[3 * p + k]) <= 1, `${name} pixel ${p}`);
        }
      }
      w.dispose();
    }
    // random (the default) is fixed per seed and is one of the model's classes.
    const byClass = await Promise.all(CLASSES.map((name) => pixels(`seed=12&psi=0.7&class=${name}`)));
    const random = await pixels("seed=12&psi=0.7&class=random");
    assert.deepEqual(await pixels("seed=12&psi=0.7"), random);
    assert.ok(byClass.some((b) => b.every((v, i) => v === random[i])), "random is none of the classes");

    // Mixing: the sources' class and the destinations' class each matter.
    const mixing = async (src: string, dst: string) =>
      (await request(
        `${server.url}/mixing?model=landuse&src=1&dst=2&ranges=0-1&src_class=${src}&dst_class=${dst}&labels=0`,
      )).body;
    const a = await mixing("forest", "river");
    assert.notDeepEqual(a, await mixing("freeway", "river"));
    assert.notDeepEqual(a, await mixing("forest", "freeway"));

    // format=json names every tile's land use: sources src_class, destinations and mixed cells dst_class.
    type MixJson = {
      src_classes: string[] | null;
      dst_classes: string[] | null;
      cells: { kind: string; class: string | null; src_class: string | null }[];
    };
    const described = (await request(
      `${server.url}/mixing?model=landuse&src=1,3&dst=2&ranges=0-1&src_class=forest&dst_class=river&format=json`,
    )).json as MixJson;
    assert.deepEqual(described.src_classes, ["forest", "forest"]);
    assert.deepEqual(described.dst_classes, ["river"]);
    assert.deepEqual(
      described.cells.map((c) => [c.kind, c.class, c.src_class]),
      [
        ["source", "forest", null],
        ["source", "forest", null],
        ["destination", "river", null],
        ["mixed", "river", "forest"],
        ["mixed", "river", "forest"],
      ],
    );
    // With class=random the JSON names the class whose tile class=random draws (the pixels say which).
    const randomJson =
      (await request(`${server.url}/mixing?model=landuse&src=12&dst=2&ranges=0-1&format=json`))
        .json as MixJson;
    const drawn = CLASSES[byClass.findIndex((b) => b.every((v, i) => v === random[i]))];
    assert.deepEqual(randomJson.src_classes, [drawn]);
    const unconditionalJson = (await request(`${server.url}/mixing?src=1&dst=2&ranges=0-1&format=json`))
      .json as MixJson;
    assert.equal(unconditionalJson.src_classes, null);
    assert.ok(unconditionalJson.cells.every((c) => c.class === null && c.src_class === null));

    const bad = await request(`${server.url}/generate?model=landuse&seed=1&class=harbor`);
    assert.equal(bad.status, 400);
    const error = bad.json as ErrorJson;
    assert.equal(error.field, "class");
    assert.match(error.error, /model 'landuse' has no class 'harbor'/);
    assert.deepEqual(error.allowed, [...CLASSES, "random"]);
    const plain = await request(`${server.url}/generate?seed=1&noise=const`);
    assert.deepEqual(
      (await request(`${server.url}/generate?seed=1&noise=const&class=random`)).body,
      plain.body,
    );
    const none = await request(`${server.url}/generate?seed=1&class=forest`);
    assert.equal(none.status, 400);
    assert.match((none.json as ErrorJson).error, /model 'reference-r32' is unconditional: it has no classes/);
    const malformed = await request(`${server.url}/grid?model=landuse&seeds=1,2&class=no%20such`);
    assert.equal(malformed.status, 400);
    assert.equal((malformed.json as ErrorJson).field, "class");
    const srcBad = await request(`${server.url}/mixing?model=landuse&src=1&dst=2&ranges=0-1&src_class=x`);
    assert.equal((srcBad.json as ErrorJson).field, "src_class");
  } finally {
    await server.close();
    G.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

const font = await loadLabelFont();

Deno.test({
  name: "a conditional model's labelled truncation figure names each row's class under its seed",
  ignore: !font, // labels are drawn only with a font (CI installs fonts-dejavu-core)
  fn: async () => {
    await useWasm();
    const dir = await Deno.makeTempDir();
    const { generator: G } = await writeConditionalModel(`${dir}/landuse.safetensors`);
    const server = await startServer({ config: { modelsDir: dir, workers: 0 }, font });
    try {
      // A labelled truncation figure names each row's land use under its seed: the label column is as wide as
      // "freeway" (7 letters) for one class and as "river" (5) for another; unlabelled figures are the same size.
      const width = async (query: string) => {
        const res = await request(`${server.url}/truncation?model=landuse&seeds=12&psis=0,1&${query}`);
        assert.equal(res.status, 200, new TextDecoder().decode(res.body));
        return (await Image.decode(res.body)).width;
      };
      assert.ok(
        await width("labels=1&class=freeway") > await width("labels=1&class=river"),
        "the row label names the class",
      );
      assert.equal(await width("labels=0&class=freeway"), await width("labels=0&class=river"));
    } finally {
      await server.close();
      G.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
