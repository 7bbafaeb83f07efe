/**
 * The own WGSL synthesis pipelines (model/webgpu) on Deno's WebGPU (Mesa's software rasteriser here, an
 * NVIDIA GPU on the device machine): against StyleGAN.pytorch's outputs in the reference fixture, and against
 * the tfjs layers on the same device for networks that exercise what the fixture does not (the fused
 * transposed upscaling from 128 px, channel counts that do not fill a tile, no blur, batches split in slices).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadGenerator } from "../../../model/checkpoint/checkpoint.ts";
import { Generator } from "../../../model/networks/generator.ts";
import type { GeneratorOptions } from "../../../model/networks/options.ts";
import type { NoiseMode } from "../../../model/layers/noise_layer.ts";
import { latentsFromSeeds } from "../../../model/seeds.ts";
import { readSafetensors } from "../../../model/checkpoint/safetensors.ts";
import {
  describeWebGpuSynthesis,
  runSelfCheck,
  useWebGpuSynthesis,
  webGpuSynthesisSettings,
} from "../../../model/webgpu/accelerator.ts";
import { WebGpuSynthesis, type WebGpuSynthesisOptions } from "../../../model/webgpu/synthesis.ts";
import { CONV_TILES } from "../../../model/webgpu/shaders.ts";
import { buildSynthesisPlan } from "../../../model/webgpu/plan.ts";
import { FIXTURE_DIR } from "../../support/paths.ts";
import { activeBackend } from "../../../model/backend/select.ts";
import { maxAbsDiff, PARITY_TOLERANCE, useBackend } from "../../support/backends.ts";

/** Counts the calls the accelerator actually served (so a test cannot pass on the tfjs path by accident). */
function countServed(G: Generator): { served: number } {
  const acc = G.gSynthesis.accelerator;
  assert.ok(acc, "no accelerator attached");
  const counter = { served: 0 };
  const original = acc.tryApply.bind(acc);
  acc.tryApply = (w, run) => {
    const out = original(w, run);
    if (out) counter.served++;
    return out;
  };
  return counter;
}

/** Random weights everywhere, biases and noise strengths included (they start at zero). */
function randomize(G: Generator, seed: number): void {
  for (const [i, p] of G.params.entries().entries()) {
    if (p.key.endsWith("blur.kernel") || p.key.endsWith("intermediate.kernel")) continue;
    // The mapping's learning-rate multiplier (0.01) scales its weights at run time: larger draws there
    // make samples of a batch differ clearly (so a slice mix-up cannot hide).
    const std = p.key.startsWith("g_mapping") ? 50 : 0.5;
    p.variable.assign(tf.randomNormal(p.variable.shape, 0, std, "float32", seed + i));
  }
}

/** Max |a − b| relative to max |b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  return maxAbsDiff(a, b) / scale;
}

Deno.test("webgpu synthesis: parity with StyleGAN.pytorch (reference fixture)", async (t) => {
  await useBackend("webgpu");
  const config = JSON.parse(await Deno.readTextFile(`${FIXTURE_DIR}/config.json`));
  const io = (await readSafetensors(`${FIXTURE_DIR}/io.safetensors`)).tensors;
  const { network: G } = await loadGenerator(`${FIXTURE_DIR}/G.safetensors`, [
    `${FIXTURE_DIR}/noise_const.safetensors`,
  ]);
  const status = await useWebGpuSynthesis(G, { force: true });
  assert.equal(status.enabled, true, status.reason);
  const counter = countServed(G);
  const seeds: number[] = config.seeds;
  const z = tf.tensor2d(latentsFromSeeds(seeds, config.latent_size), [seeds.length, config.latent_size]);
  const before = tf.memory().numTensors;
  // Every depth the fixture has without a fade-in (alpha 1, or depth 0 where alpha does nothing).
  const grown = (config.depths_alphas as Array<[number, number]>).filter(([d, a]) => a >= 1 || d === 0);
  assert.ok(grown.some(([d]) => d === G.depthCount - 1) && grown.length >= 3, JSON.stringify(grown));
  for (const psi of config.psis as number[]) {
    for (const noise of config.noise_modes as Array<"none" | "const">) {
      await t.step(`ψ=${psi} noise=${noise}, depths ${grown.map(([d]) => d)}`, async () => {
        for (const [depth, alpha] of grown) {
          const img = G.generate(z, { psi, cutoff: config.truncation_cutoff, noise, depth, alpha });
          const nchw = tf.transpose(img, [0, 3, 1, 2]);
          const key = `img_psi${psi.toFixed(1)}_noise${noise}_depth${depth}_alpha${alpha.toFixed(1)}`;
          const expected = io.get(key);
          assert.ok(expected, `fixture lacks ${key}`);
          const err = maxAbsDiff(await nchw.data(), expected.data as Float32Array);
          tf.dispose([img, nchw]);
          assert.ok(err <= PARITY_TOLERANCE.webgpu, `depth ${depth}: max abs error ${err}`);
        }
      });
    }
  }
  assert.equal(counter.served, config.psis.length * config.noise_modes.length * grown.length);
  assert.equal(tf.memory().numTensors, before, "tensors leaked across calls");
  z.dispose();
  G.dispose();
  assert.equal(G.gSynthesis.accelerator, undefined);
});

const SMALL: Partial<GeneratorOptions> = {
  latent_size: 16,
  dlatent_size: 16,
  mapping_fmaps: 16,
  mapping_layers: 2,
};

/**
 * tfjs layers vs own pipelines on the same device, same weights. Relative errors measured on llvmpipe: up to
 * 2e-5 with leaky ReLU and blur (different summation orders in float32); a wrong tap, phase or slice gives
 * 0.2–0.6.
 */
async function compareWithTfjs(
  options: Partial<GeneratorOptions> & { resolution: number },
  cases: Array<{ batch: number; noise: NoiseMode; depth?: number }>,
  engineOptions: WebGpuSynthesisOptions = {},
  tolerance = 1e-4,
): Promise<string[]> {
  const G = new Generator({ ...SMALL, ...options });
  randomize(G, 11);
  const expected: Float32Array[] = [];
  const zs = cases.map(({ batch }, i) =>
    tf.randomNormal([batch, 16], 0, 1, "float32", 100 + i) as tf.Tensor2D
  );
  for (const [i, c] of cases.entries()) {
    const img = G.generate(zs[i], { noise: c.noise, psi: 0.7, depth: c.depth });
    expected.push(new Float32Array(await img.data()));
    img.dispose();
  }
  const status = await useWebGpuSynthesis(G, { force: true, ...engineOptions });
  assert.equal(status.enabled, true, status.reason);
  const counter = countServed(G);
  for (const [i, c] of cases.entries()) {
    const img = G.generate(zs[i], { noise: c.noise, psi: 0.7, depth: c.depth });
    const err = relativeError(await img.data(), expected[i]);
    img.dispose();
    assert.ok(
      err < tolerance,
      `batch ${c.batch} noise ${c.noise} depth ${c.depth ?? "full"}: relative error ${err}`,
    );
  }
  assert.equal(counter.served, cases.length);
  const kernels = (G.gSynthesis.accelerator as unknown as { engine: WebGpuSynthesis }).engine.kernelsUsed();
  tf.dispose(zs);
  G.dispose();
  return kernels;
}

Deno.test("webgpu synthesis: equals the tfjs layers from 128 px on (fused transposed upscaling), odd channels, every depth", async () => {
  await useBackend("webgpu");
  // Channels 12 → 6 → 3 → 1 across 16–128 px: none fills a tile, the last is a single channel.
  await compareWithTfjs({ resolution: 128, fmap_base: 96, fmap_max: 12 }, [
    { batch: 2, noise: "const" },
    { batch: 1, noise: "none" },
    // The coarser ground resolutions (`depth=`): 4, 16 and 64 px.
    { batch: 2, noise: "const", depth: 0 },
    { batch: 1, noise: "none", depth: 2 },
    { batch: 2, noise: "const", depth: 4 },
  ]);
});

Deno.test("webgpu synthesis: no blur, relu, wider channels, batches in slices", async () => {
  await useBackend("webgpu");
  await compareWithTfjs(
    { resolution: 32, fmap_base: 512, fmap_max: 72, blur_filter: null, nonlinearity: "relu" },
    // Batch 1 first: the scratch buffers then grow for the slices of 2.
    [{ batch: 1, noise: "const" }, { batch: 5, noise: "const" }, { batch: 3, noise: "none" }, {
      batch: 2,
      noise: "const",
    }],
    { maxBatch: 2 },
    // ReLU leaves some 4×4 planes nearly constant, and their instance norm magnifies float32 rounding: one
    // sample differs by 1e-3 of its range (the same with or without slices); the others by ≤ 3e-5.
    1e-3,
  );
});

Deno.test("webgpu synthesis: every convolution tile, vec4 and scalar, equals the tfjs layers", async () => {
  await useBackend("webgpu");
  // Channels 128 → 64 → 32 (multiples of 4: vec4 kernels; to-RGB's 3 outputs: scalar).
  for (const tile of CONV_TILES) {
    const kernels = await compareWithTfjs(
      { resolution: 16, fmap_base: 256, fmap_max: 128 },
      [{ batch: 3, noise: "const" }],
      { tile, minConvWorkgroups: 0 },
    );
    const form = tile.rm % 4 === 0 && tile.rn % 4 === 0 ? "vec4" : "scalar";
    const key = `${JSON.stringify(tile)}/${form}/aligned`;
    assert.ok(kernels.includes(key), `${key} not used: ${kernels}`);
  }
});

Deno.test("webgpu synthesis: leaves every other call to the tfjs layers, unchanged", async () => {
  await useBackend("webgpu");
  const G = new Generator({ ...SMALL, resolution: 16, fmap_base: 64, fmap_max: 8 });
  randomize(G, 3);
  const z = tf.randomNormal([2, 16], 0, 1, "float32", 5) as tf.Tensor2D;
  // A fade-in between two depths, and random noise (training and its previews).
  const runs = [
    { depth: 2, alpha: 0.5 },
    { noise: "random" as const },
  ];
  const plain = [];
  for (const run of runs) {
    const img = G.generate(z, run);
    plain.push(await img.data());
    img.dispose();
  }
  await useWebGpuSynthesis(G, { force: true });
  const counter = countServed(G);
  for (const [i, run] of runs.entries()) {
    const img = G.generate(z, run);
    if (!("noise" in run)) assert.deepEqual(await img.data(), plain[i], JSON.stringify(run));
    img.dispose();
  }
  // Under a gradient tape (training) the tfjs layers run, so gradients exist.
  const w = G.mapping(z);
  const grad = tf.grad((x: tf.Tensor) => tf.sum(G.gSynthesis.apply(x as tf.Tensor3D)))(w);
  assert.ok(grad.shape.length === 3 && (await tf.sum(tf.abs(grad)).data())[0] > 0);
  assert.equal(counter.served, 0);
  tf.dispose([z, w, grad]);
  G.dispose();
});

Deno.test("webgpu synthesis: bad input and unsupported networks are refused with the reason", async () => {
  await useBackend("webgpu");
  const G = new Generator({ ...SMALL, resolution: 8, fmap_base: 32, fmap_max: 4 });
  const engine = new WebGpuSynthesis(
    (tf.backend() as unknown as { device: GPUDevice }).device,
    await buildSynthesisPlan(G.gSynthesis),
  );
  const wrong = tf.zeros([2, 3, 16]) as tf.Tensor3D;
  assert.throws(() => engine.run(wrong), /dlatents must be \[N, 4, 16\], got \[2,3,16\]/);
  engine.dispose();
  assert.throws(() => engine.run(wrong), /used after dispose/);
  wrong.dispose();
  G.dispose();

  const pixelNorm = new Generator({
    ...SMALL,
    resolution: 8,
    fmap_base: 32,
    fmap_max: 4,
    use_pixel_norm: true,
  });
  const status = await useWebGpuSynthesis(pixelNorm, { force: true });
  assert.deepEqual(status, {
    enabled: false,
    reason: "not for this network: pixel norm in the synthesis epilogues",
  });
  await assert.rejects(buildSynthesisPlan(pixelNorm.gSynthesis), /unsupported network: pixel norm/);
  pixelNorm.dispose();
});

Deno.test("webgpu synthesis: a self-check keeps the tfjs layers when the GPU or the numbers disagree", async () => {
  await useBackend("webgpu");
  const G = new Generator({ ...SMALL, resolution: 16, fmap_base: 64, fmap_max: 8 });
  randomize(G, 9);
  const z = tf.randomNormal([2, 16], 0, 1, "float32", 4) as tf.Tensor2D;
  const plain = G.generate(z);
  const expected = await plain.data();
  plain.dispose();
  const before = tf.memory().numTensors;

  // A tile whose shared memory (16 · (512 + 32) floats = 34.8 kB) is over WebGPU's 32 kB limit: the driver
  // refuses the pipeline, asynchronously.
  const refused = await useWebGpuSynthesis(G, {
    force: true,
    tile: { tm: 512, tn: 32, tk: 16, rm: 64, rn: 1 },
    minConvWorkgroups: 0,
  });
  assert.equal(refused.enabled, false);
  assert.match(refused.reason, /^self-check failed, tfjs kernels kept: GPU error: .+/);
  assert.equal(G.gSynthesis.accelerator, undefined);
  const after = G.generate(z);
  assert.deepEqual(await after.data(), expected, "the tfjs layers serve as before");
  after.dispose();

  // Weights that differ from the network's (a wrong fold, say): the images disagree.
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  const plan = await buildSynthesisPlan(G.gSynthesis);
  const last = plan.toRgb[plan.toRgb.length - 1];
  last.bias = last.bias!.map((b) => b + 0.01);
  const wrong = new WebGpuSynthesis(device, plan);
  const verdict = await runSelfCheck(G, wrong).verdict();
  assert.match(
    verdict ?? "",
    /^images differ from the tfjs layers' by [0-9.]+e-[0-9] of their range \(allowed 0\.001\)$/,
  );
  wrong.dispose();
  // …and the right weights pass.
  const right = new WebGpuSynthesis(device, await buildSynthesisPlan(G.gSynthesis));
  assert.equal(await runSelfCheck(G, right).verdict(), undefined);
  right.dispose();
  assert.equal(tf.memory().numTensors, before, "the checks leak no tensors");
  z.dispose();
  G.dispose();
});

Deno.test("webgpu synthesis: settings from the environment", async () => {
  await useBackend("webgpu");
  const G = new Generator({ ...SMALL, resolution: 8, fmap_base: 32, fmap_max: 4 });
  const withEnv = async (vars: Record<string, string>, fn: () => unknown) => {
    for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
    try {
      return await fn();
    } finally {
      for (const k of Object.keys(vars)) Deno.env.delete(k);
    }
  };
  if (activeBackend()?.software) {
    // Mesa's llvmpipe (CI, the development machine): `auto` keeps the tfjs kernels there.
    assert.match(describeWebGpuSynthesis(), /software rasteriser/);
    assert.deepEqual(await useWebGpuSynthesis(G), {
      enabled: false,
      reason: "software rasteriser: tfjs kernels are faster there (SGAN_WEBGPU_SYNTHESIS=1 forces)",
    });
  } else {
    assert.match(describeWebGpuSynthesis(), /own WGSL synthesis pipelines \(SGAN_WEBGPU_SYNTHESIS=auto\)/);
    assert.equal((await useWebGpuSynthesis(G)).enabled, true);
  }
  await withEnv({ SGAN_WEBGPU_SYNTHESIS: "0" }, async () => {
    assert.equal((await useWebGpuSynthesis(G, { force: true })).enabled, false);
  });
  await withEnv({ SGAN_WEBGPU_SYNTHESIS: "1", SGAN_WEBGPU_TILE: "32,32,16,2,2" }, async () => {
    assert.match(describeWebGpuSynthesis(), /own WGSL synthesis pipelines .*tile 32×32×16\/2×2/);
    assert.equal((await useWebGpuSynthesis(G)).enabled, true);
  });
  await withEnv({ SGAN_WEBGPU_SYNTHESIS: "maybe" }, () => {
    assert.throws(() => webGpuSynthesisSettings(), /SGAN_WEBGPU_SYNTHESIS must be auto, 1 or 0, got "maybe"/);
  });
  await withEnv({ SGAN_WEBGPU_TILE: "64,64,16" }, () => {
    assert.throws(() => webGpuSynthesisSettings(), /five positive integers/);
  });
  await withEnv({ SGAN_WEBGPU_TILE: "64,64,16,2,2" }, () => {
    assert.throws(() => webGpuSynthesisSettings(), /must give 256 threads/);
  });
  G.dispose();
});
