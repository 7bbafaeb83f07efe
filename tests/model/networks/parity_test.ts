/**
 * Numerical parity with StyleGAN.pytorch: the reference fixture's weights, latents, mapping outputs,
 * truncated latents, images at every depth/alpha with noise none and const, D scores, and PNGs.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Image } from "imagescript";
import { loadDiscriminator } from "../../../model/checkpoint/checkpoint.ts";
import { loadGeneratorForInference } from "../../../model/serving.ts";
import { defaultRuntime } from "../../../model/runtime.ts";
import { readSafetensors } from "../../../model/checkpoint/safetensors.ts";
import { latentsFromSeeds } from "../../../model/seeds.ts";
import { toRgb8 } from "../../../model/images.ts";
import { FIXTURE_DIR } from "../../support/paths.ts";
import { maxAbsDiff, PARITY_TOLERANCE, TEST_BACKENDS, useBackend } from "../../support/backends.ts";

const config = JSON.parse(await Deno.readTextFile(`${FIXTURE_DIR}/config.json`));
const io = (await readSafetensors(`${FIXTURE_DIR}/io.safetensors`)).tensors;
const ref = (key: string): { shape: number[]; data: Float32Array } => {
  const t = io.get(key);
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`fixture lacks float32 tensor ${key}`);
  return { shape: t.shape, data: t.data };
};

/** NHWC tensor → NCHW data, to compare with PyTorch's layout. */
async function nchwData(x: tf.Tensor4D): Promise<Float32Array> {
  const t = tf.transpose(x, [0, 3, 1, 2]);
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

for (const backend of TEST_BACKENDS) {
  Deno.test(`parity with StyleGAN.pytorch on ${backend}`, async (t) => {
    await useBackend(backend);
    const tol = PARITY_TOLERANCE[backend];
    const { network: G, inferred } = await loadGeneratorForInference(
      `${FIXTURE_DIR}/G.safetensors`,
      defaultRuntime(),
      [
        `${FIXTURE_DIR}/noise_const.safetensors`,
      ],
    );
    const { network: D } = await loadDiscriminator(`${FIXTURE_DIR}/D.safetensors`);
    const before = tf.memory().numTensors;
    const seeds: number[] = config.seeds;
    const z = tf.tensor2d(latentsFromSeeds(seeds, config.latent_size), [seeds.length, config.latent_size]);

    await t.step("architecture inferred from the state_dict shapes", () => {
      assert.equal(inferred, true);
      for (
        const key of ["resolution", "latent_size", "mapping_layers", "mapping_fmaps", "fmap_base", "fmap_max"]
      ) {
        assert.equal((G.options as unknown as Record<string, unknown>)[key], config[key], key);
      }
      assert.deepEqual(G.options.blur_filter, config.blur_filter);
    });

    await t.step("seeds give the fixture's z exactly", async () => {
      assert.deepEqual(await z.data(), ref("z").data);
    });

    await t.step("mapping network", async () => {
      const w = G.mapping(z, 1);
      assert.ok(maxAbsDiff(await w.data(), ref("w").data) <= tol);
      w.dispose();
    });

    for (const psi of config.psis as number[]) {
      const tag = `psi${psi.toFixed(1)}`;
      await t.step(`truncation ψ=${psi}`, async () => {
        const w = G.mapping(z, psi, config.truncation_cutoff);
        const err = maxAbsDiff(await w.data(), ref(`w_${tag}`).data);
        assert.ok(err <= tol, `max abs error ${err}`);
        w.dispose();
      });
      for (const noise of config.noise_modes as Array<"none" | "const">) {
        await t.step(`images ψ=${psi} noise=${noise}, every depth and alpha`, async () => {
          for (const [depth, alpha] of config.depths_alphas as Array<[number, number]>) {
            const img = G.generate(z, { psi, cutoff: config.truncation_cutoff, noise, depth, alpha });
            const err = maxAbsDiff(
              await nchwData(img),
              ref(`img_${tag}_noise${noise}_depth${depth}_alpha${alpha.toFixed(1)}`).data,
            );
            img.dispose();
            assert.ok(err <= tol, `depth ${depth} alpha ${alpha}: max abs error ${err}`);
          }
        });
      }
    }

    await t.step("discriminator scores at every depth and alpha", async () => {
      for (const [depth, alpha] of config.depths_alphas as Array<[number, number]>) {
        const r = ref(`img_psi0.7_noisenone_depth${depth}_alpha${alpha.toFixed(1)}`);
        const images = tf.tidy(() =>
          tf.transpose(tf.tensor4d(r.data, r.shape as [number, number, number, number]), [0, 2, 3, 1])
        );
        const scores = D.apply(images as tf.Tensor4D, depth, alpha);
        const err = maxAbsDiff(
          await scores.data(),
          ref(`dscore_depth${depth}_alpha${alpha.toFixed(1)}`).data,
        );
        tf.dispose([images, scores]);
        assert.ok(err <= tol, `depth ${depth} alpha ${alpha}: max abs error ${err}`);
      }
    });

    await t.step("8-bit PNGs within one level of the reference", async () => {
      for (const psi of config.psis as number[]) {
        for (const noise of config.noise_modes as Array<"none" | "const">) {
          const img = G.generate(z, { psi, noise });
          const rgb = await toRgb8(img);
          img.dispose();
          for (let i = 0; i < seeds.length; i++) {
            const name = `seed${String(seeds[i]).padStart(4, "0")}_psi${psi.toFixed(1)}_noise${noise}.png`;
            const png = await Image.decode(await Deno.readFile(`${FIXTURE_DIR}/${name}`));
            const theirs = new Uint8Array(png.width * png.height * 3);
            for (let p = 0; p < png.width * png.height; p++) {
              for (let c = 0; c < 3; c++) theirs[p * 3 + c] = png.bitmap[p * 4 + c];
            }
            assert.ok(maxAbsDiff(rgb[i].data, theirs) <= 1, name);
          }
        }
      }
    });

    z.dispose();
    assert.equal(tf.memory().numTensors, before, "no tensors leaked");
    G.dispose();
    D.dispose();
  });
}
