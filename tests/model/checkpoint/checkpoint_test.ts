/** Network checkpoints: round trips, architecture inference, and clear errors for bad files. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadDiscriminator, loadGenerator, saveNetwork } from "../../../model/checkpoint/checkpoint.ts";
import {
  CheckpointError,
  encodeSafetensors,
  readSafetensors,
} from "../../../model/checkpoint/safetensors.ts";
import { Generator } from "../../../model/networks/generator.ts";
import { FIXTURE_DIR } from "../../support/paths.ts";
import { maxAbsDiff, useBackend } from "../../support/backends.ts";

await useBackend("wasm");

async function outputsOf(G: Generator): Promise<Float32Array> {
  const z = tf.randomNormal([2, G.options.latent_size], 0, 1, "float32", 7) as tf.Tensor2D;
  const img = G.generate(z, { psi: 0.7, noise: "const" });
  const data = (await img.data()) as Float32Array;
  tf.dispose([z, img]);
  return data;
}

Deno.test("checkpoints", async (t) => {
  const dir = await Deno.makeTempDir();

  await t.step("generator round trip keeps keys, order, config and outputs", async () => {
    const G = new Generator({
      resolution: 16,
      mapping_layers: 2,
      mapping_fmaps: 32,
      latent_size: 32,
      dlatent_size: 32,
      fmap_base: 64,
      fmap_max: 32,
    });
    // Non-zero biases and noise strengths so that every tensor matters.
    for (const p of G.params.entries().filter((p) => !p.key.endsWith(".kernel"))) {
      p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.3, "float32", p.key.length));
    }
    await saveNetwork(`${dir}/g.safetensors`, G, { gsd_m: "1.2" });
    const { network: H, metadata, inferred } = await loadGenerator(`${dir}/g.safetensors`);
    assert.equal(inferred, false);
    assert.equal(metadata.gsd_m, "1.2");
    assert.deepEqual(H.params.entries().map((p) => p.key), G.params.entries().map((p) => p.key));
    assert.equal(maxAbsDiff(await outputsOf(G), await outputsOf(H)), 0);
    G.dispose();
    H.dispose();
  });

  await t.step(
    "a config-less state_dict of another architecture is inferred (64 px, 8 mapping layers, other widths)",
    async () => {
      const options = {
        resolution: 64,
        mapping_layers: 8,
        mapping_fmaps: 48,
        latent_size: 48,
        dlatent_size: 40,
        fmap_base: 512,
        fmap_max: 96,
      };
      const G = new Generator(options);
      // Blur kernels are derived from the config, so they keep their values; everything else is random.
      for (const p of G.params.entries().filter((p) => !p.key.endsWith(".kernel"))) {
        p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.3, "float32", 3));
      }
      await saveNetwork(`${dir}/g64.safetensors`, G);
      // Strip our header and the noise maps: what a PyTorch user exports with safetensors.
      const { tensors } = await readSafetensors(`${dir}/g64.safetensors`);
      const plain = new Map([...tensors].filter(([k]) => !k.endsWith(".noise.const")));
      await Deno.writeFile(`${dir}/plain.safetensors`, encodeSafetensors(plain as never));
      const { network: H, inferred } = await loadGenerator(`${dir}/plain.safetensors`);
      assert.equal(inferred, true);
      for (const [k, v] of Object.entries(options)) {
        assert.equal((H.options as unknown as Record<string, unknown>)[k], v, k);
      }
      const z = tf.randomNormal([2, 48], 0, 1, "float32", 5) as tf.Tensor2D;
      const a = G.generate(z, { psi: 0.5, noise: "none" });
      const b = H.generate(z, { psi: 0.5, noise: "none" });
      assert.equal(maxAbsDiff(await a.data(), await b.data()), 0);
      tf.dispose([z, a, b]);
      G.dispose();
      H.dispose();
    },
  );

  await t.step("discriminator round trip and inference from the fixture", async () => {
    const { network: D, inferred } = await loadDiscriminator(`${FIXTURE_DIR}/D.safetensors`);
    assert.equal(inferred, true);
    assert.equal(D.options.resolution, 32);
    assert.equal(D.options.mbstd_num_features, 1);
    await saveNetwork(`${dir}/d.safetensors`, D);
    const { network: E } = await loadDiscriminator(`${dir}/d.safetensors`);
    const x = tf.randomNormal([4, 32, 32, 3], 0, 1, "float32", 9) as tf.Tensor4D;
    assert.equal(maxAbsDiff(await D.apply(x).data(), await E.apply(x).data()), 0);
    tf.dispose(x);
    D.dispose();
    E.dispose();
  });

  await t.step("a generator's parameters come in the port's state_dict order", async () => {
    const { network: G } = await loadGenerator(`${FIXTURE_DIR}/G.safetensors`);
    const { tensors } = await readSafetensors(`${FIXTURE_DIR}/G.safetensors`);
    const ours = G.params.entries().map((p) => p.key).filter((k) => tensors.has(k));
    assert.deepEqual(ours, [...tensors.keys()]);
    G.dispose();
  });

  await t.step("float16 storage loads back within half precision", async () => {
    const { network: G } = await loadGenerator(`${FIXTURE_DIR}/G.safetensors`);
    await saveNetwork(`${dir}/g16.safetensors`, G, {}, "F16");
    const { network: H } = await loadGenerator(`${dir}/g16.safetensors`);
    const a = G.params.get("g_synthesis.blocks.0.conv1.weight")!.variable;
    const b = H.params.get("g_synthesis.blocks.0.conv1.weight")!.variable;
    const da = await a.data(), db = await b.data();
    for (let i = 0; i < da.length; i++) {
      assert.ok(Math.abs(da[i] - db[i]) <= Math.abs(da[i]) * 2 ** -11 + 2 ** -24);
    }
    G.dispose();
    H.dispose();
  });

  await t.step("bad files give a CheckpointError naming the file (and tensor)", async () => {
    const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
      ["missing file", () => loadGenerator(`${dir}/nope.safetensors`), /nope\.safetensors/],
      [
        "a discriminator loaded as generator",
        () => loadGenerator(`${FIXTURE_DIR}/D.safetensors`),
        /not a StyleGAN generator/,
      ],
      [
        "a generator loaded as discriminator",
        () => loadDiscriminator(`${dir}/g.safetensors`),
        /not a discriminator/,
      ],
    ];
    const bytes = await Deno.readFile(`${FIXTURE_DIR}/G.safetensors`);
    await Deno.writeFile(`${dir}/truncated.safetensors`, bytes.subarray(0, bytes.length - 1000));
    cases.push([
      "truncated file",
      () => loadGenerator(`${dir}/truncated.safetensors`),
      /truncated\.safetensors/,
    ]);
    const { tensors } = await readSafetensors(`${FIXTURE_DIR}/G.safetensors`);
    const wrong = new Map(tensors);
    const w = wrong.get("g_synthesis.blocks.1.conv1.weight")!;
    wrong.set("g_synthesis.blocks.1.conv1.weight", { ...w, shape: [32, 32, 1, 9] });
    await Deno.writeFile(`${dir}/shape.safetensors`, encodeSafetensors(wrong as never));
    cases.push([
      "wrong shape",
      () => loadGenerator(`${dir}/shape.safetensors`),
      /g_synthesis\.blocks\.1\.conv1\.weight/,
    ]);
    const missing = new Map(tensors);
    missing.delete("g_synthesis.blocks.2.epi1.style_mod.lin.bias");
    await Deno.writeFile(`${dir}/missing.safetensors`, encodeSafetensors(missing as never));
    cases.push([
      "missing tensor",
      () => loadGenerator(`${dir}/missing.safetensors`),
      /blocks\.2\.epi1\.style_mod\.lin\.bias/,
    ]);
    const nan = new Map(tensors);
    const bias = nan.get("g_mapping.map.dense1.bias")!;
    const poisoned = Float32Array.from(bias.data as Float32Array);
    poisoned[3] = NaN;
    nan.set("g_mapping.map.dense1.bias", { ...bias, data: poisoned });
    await Deno.writeFile(`${dir}/nan.safetensors`, encodeSafetensors(nan as never));
    cases.push([
      "non-finite weight",
      () => loadGenerator(`${dir}/nan.safetensors`),
      /dense1\.bias.*non-finite/,
    ]);
    const before = tf.memory().numTensors;
    for (const [what, load, pattern] of cases) {
      await assert.rejects(load, (e: Error) => {
        assert.ok(e instanceof CheckpointError, `${what}: ${e.name} ${e.message}`);
        assert.match(e.message, pattern, what);
        return true;
      });
    }
    assert.equal(tf.memory().numTensors, before, "failed loads free their tensors");
  });

  await Deno.remove(dir, { recursive: true });
});
