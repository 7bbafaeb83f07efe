/** The model catalogue: the embedded model plus generator checkpoints in SGAN_MODELS_DIR. */
import { REFERENCE_MODEL } from "../../model/pretrained/registry.ts";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { saveNetwork } from "../../model/checkpoint/checkpoint.ts";
import { Discriminator } from "../../model/networks/discriminator.ts";
import { Generator } from "../../model/networks/generator.ts";
import { NotFoundError } from "../../server/errors.ts";
import { ModelStore, readSafetensorsMetadata } from "../../server/models.ts";
import { DEFAULT_QUEUE } from "../../server/config.ts";
import { GenerationQueue } from "../../server/queue.ts";
import { useWasm } from "./helpers.ts";

const tiny = {
  fmap_base: 32,
  fmap_max: 8,
  mapping_layers: 2,
  mapping_fmaps: 16,
  latent_size: 16,
  dlatent_size: 16,
};

Deno.test("models folder: generators listed by file stem, other files skipped, new files picked up", async () => {
  await useWasm();
  const dir = await Deno.makeTempDir();
  const G = new Generator({ resolution: 16, ...tiny });
  await saveNetwork(`${dir}/aerial-16.safetensors`, G, {
    gsd_m: "0.5",
    kimg: "1200",
    description: "test",
    metrics: '{"swd_m":{"8":0.1}}',
  });
  const D = new Discriminator({ resolution: 16, fmap_base: 32, fmap_max: 8 });
  await saveNetwork(`${dir}/D.safetensors`, D);
  D.dispose();
  await Deno.writeTextFile(`${dir}/notes.txt`, "not a model");
  await Deno.writeTextFile(`${dir}/garbage.safetensors`, "not safetensors");
  const store = new ModelStore({ modelsDir: dir, maxLoaded: 1, embedded: [REFERENCE_MODEL] });
  try {
    const list = await store.list();
    assert.deepEqual(list.map((m) => [m.name, m.source]), [["reference-r32", "embedded"], [
      "aerial-16",
      "models_dir",
    ]]);
    const info = await store.describe("aerial-16");
    assert.equal(info.resolution, 16);
    assert.equal(info.kimg, 1200);
    assert.equal(info.gsd_m, 0.5);
    assert.equal(info.tile_extent_m, 8);
    assert.deepEqual(info.metrics, { swd_m: { "8": 0.1 } });
    assert.deepEqual(info.scale.map((r) => r.metres_per_pixel), [2, 1, 0.5]);
    assert.equal(info.style_layers, 6);
    await assert.rejects(store.describe("D"), NotFoundError);
    await assert.rejects(store.describe("garbage"), NotFoundError);

    // Loading, with one generator kept at a time: the other is evicted and reloaded on demand.
    await store.use("aerial-16", (m) => Promise.resolve(assert.equal(m.generator.options.resolution, 16)));
    await store.use(undefined, (m) => Promise.resolve(assert.equal(m.info.name, "reference-r32")));
    await store.use("aerial-16", (m) => Promise.resolve(assert.ok(m.fingerprint.length === 64)));

    // A checkpoint written later appears without a restart.
    await saveNetwork(`${dir}/later.safetensors`, G, {});
    assert.deepEqual((await store.names()).sort(), ["aerial-16", "later", "reference-r32"]);
    const later = await store.describe("later");
    assert.equal(later.gsd_m, null);
    assert.equal(later.scale[0].metres_per_pixel, null);
    assert.deepEqual((await readSafetensorsMetadata(`${dir}/later.safetensors`)).network, "generator");
  } finally {
    G.dispose();
    await store.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing models folder is no error", async () => {
  const store = new ModelStore({ modelsDir: "/nonexistent/models", embedded: [REFERENCE_MODEL] });
  assert.deepEqual(await store.names(), ["reference-r32"]);
});

Deno.test("a replaced checkpoint is reloaded (new weights, new ETag); eviction never frees a model in use", async () => {
  await useWasm();
  const dir = await Deno.makeTempDir();
  const save = async (file: string, seed: number) => {
    const G = new Generator({ resolution: 8, ...tiny });
    // Different weights per save: scale the constant input.
    const input = G.params.get("g_synthesis.init_block.const")!.variable;
    tf.tidy(() => input.assign(tf.mul(input, seed)));
    await saveNetwork(`${dir}/${file}`, G, { gsd_m: "1" });
    G.dispose();
  };
  await save("a.safetensors", 1);
  await save("b.safetensors", 2);
  const store = new ModelStore({ modelsDir: dir, maxLoaded: 1, embedded: [REFERENCE_MODEL] });
  const queue = new GenerationQueue(DEFAULT_QUEUE);
  const tile = (name: string, seed: number) =>
    store.use(name, async (model) => {
      const [raster] = await queue.submit({ model, depth: 1, noise: "const", cells: [{ seed, psi: 1 }] });
      return { fingerprint: model.fingerprint, data: raster.data };
    });
  try {
    const first = await tile("a", 1);
    // Many concurrent requests over two models with room for one: every request still completes.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => tile(i % 2 ? "a" : "b", i)));
    assert.equal(results.length, 20);
    const before = tf.memory().numTensors;
    // Replace a.safetensors with different weights: the next request sees the new file.
    await new Promise((r) => setTimeout(r, 20)); // a different mtime
    await save("a.safetensors", 3);
    const second = await tile("a", 1);
    assert.notEqual(second.fingerprint, first.fingerprint);
    assert.ok(!second.data.every((v, i) => v === first.data[i]), "new weights, new pixels");
    assert.equal(tf.memory().numTensors, before, "the old generator was freed");
  } finally {
    await store.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});
