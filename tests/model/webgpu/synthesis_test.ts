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
  ownSynthesisEngine,
  runSelfCheck,
  tfjsWebGpuDevice,
  useWebGpuSynthesis,
} from "../../../model/webgpu/accelerator.ts";
import { WebGpuSynthesis, type WebGpuSynthesisOptions } from "../../../model/webgpu/synthesis.ts";
import { CONV_TILES, NOISE_WGSL } from "../../../model/webgpu/shaders.ts";
import { buildSynthesisPlan } from "../../../model/webgpu/plan.ts";
import { FIXTURE_DIR } from "../../support/paths.ts";
import { activeBackend } from "../../../model/backend/select.ts";
import { runtimeFromEnv } from "../../../model/runtime.ts";
import { maxAbsDiff, PARITY_TOLERANCE, relativeError, useBackend } from "../../support/backends.ts";
import { randomizeWeights } from "../../support/random_weights.ts";

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

/** The own pipelines for G on tfjs's device, without the accelerator's settings and self-check. */
async function engineFor(G: Generator): Promise<WebGpuSynthesis> {
  return new WebGpuSynthesis(tfjsWebGpuDevice()!, await buildSynthesisPlan(G.gSynthesis));
}

Deno.test("webgpu synthesis: parity with StyleGAN.pytorch (reference fixture)", async (t) => {
  await useBackend("webgpu");
  const config = JSON.parse(await Deno.readTextFile(`${FIXTURE_DIR}/config.json`));
  const io = (await readSafetensors(`${FIXTURE_DIR}/io.safetensors`)).tensors;
  const { network: G } = await loadGenerator(`${FIXTURE_DIR}/G.safetensors`, [
    `${FIXTURE_DIR}/noise_const.safetensors`,
  ]);
  const status = await useWebGpuSynthesis(G, { mode: "1" });
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
  assert.ok(G.gSynthesis.accelerator === undefined); // not assert.equal: a failure would print the whole GPU object graph
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
  randomizeWeights(G, 11);
  const expected: Float32Array[] = [];
  const zs = cases.map(({ batch }, i) =>
    tf.randomNormal([batch, 16], 0, 1, "float32", 100 + i) as tf.Tensor2D
  );
  for (const [i, c] of cases.entries()) {
    const img = G.generate(zs[i], { noise: c.noise, psi: 0.7, depth: c.depth });
    expected.push(new Float32Array(await img.data()));
    img.dispose();
  }
  const status = await useWebGpuSynthesis(G, { mode: "1", ...engineOptions });
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
  const kernels = ownSynthesisEngine(G)!.kernelsUsed();
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

Deno.test("webgpu synthesis: every convolution tile, vec4 and scalar, with and without prefetch, equals the tfjs layers", async () => {
  await useBackend("webgpu");
  // Channels 128 → 64 → 32 (multiples of 4: vec4 kernels; to-RGB's 3 outputs: scalar). Also the deeper-K
  // 128×128 tile that bench/reference/device_synthesis.sh sweeps on a GPU (16 kB of workgroup memory).
  const deepK = { tm: 128, tn: 128, tk: 16, rm: 8, rn: 8 };
  for (const tile of [...CONV_TILES, deepK].flatMap((t) => [t, { ...t, prefetch: true }])) {
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
  randomizeWeights(G, 3);
  const z = tf.randomNormal([2, 16], 0, 1, "float32", 5) as tf.Tensor2D;
  // A fade-in between two depths (training's previews), and training's own seeded noise draws.
  const runs = [
    { depth: 2, alpha: 0.5 },
    { noise: (shape: [number, number, number, number]) => tf.zeros(shape) as tf.Tensor4D },
  ];
  // The same dlatents both times (the own mapping pipeline, attached below too, rounds differently).
  const w = G.mapping(z);
  const plain = [];
  for (const run of runs) {
    const img = G.gSynthesis.apply(w, run);
    plain.push(await img.data());
    img.dispose();
  }
  await useWebGpuSynthesis(G, { mode: "1" });
  const counter = countServed(G);
  for (const [i, run] of runs.entries()) {
    const img = G.gSynthesis.apply(w, run);
    assert.deepEqual(await img.data(), plain[i], JSON.stringify(run));
    img.dispose();
  }
  // Under a gradient tape (training) the tfjs layers run, so gradients exist.
  const grad = tf.grad((x: tf.Tensor) => tf.sum(G.gSynthesis.apply(x as tf.Tensor3D)))(w);
  assert.ok(grad.shape.length === 3 && (await tf.sum(tf.abs(grad)).data())[0] > 0);
  assert.equal(counter.served, 0);
  tf.dispose([z, w, grad]);
  G.dispose();
});

Deno.test("webgpu synthesis: bad input and unsupported networks are refused with the reason", async () => {
  await useBackend("webgpu");
  const G = new Generator({ ...SMALL, resolution: 8, fmap_base: 32, fmap_max: 4 });
  const engine = await engineFor(G);
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
  const status = await useWebGpuSynthesis(pixelNorm, { mode: "1" });
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
  randomizeWeights(G, 9);
  const z = tf.randomNormal([2, 16], 0, 1, "float32", 4) as tf.Tensor2D;
  const plain = G.generate(z);
  const expected = await plain.data();
  plain.dispose();
  const before = tf.memory().numTensors;

  // A tile whose workgroup memory, 16 · (tm + 32) floats, is over this device's limit (32 kB on llvmpipe:
  // tm 512 gives 34.8 kB; GPUs may allow more) is refused before any shader is made: Vulkan drivers need not
  // refuse it themselves (lavapipe ran one), and the reason says what was asked and what the device allows.
  const limit = tfjsWebGpuDevice()!.limits.maxComputeWorkgroupStorageSize;
  const tm = 2 ** Math.ceil(Math.log2(limit / 64));
  const needs = 16 * (tm + 32) * 4;
  assert.ok(needs > limit);
  const oversized = await useWebGpuSynthesis(G, {
    mode: "1",
    tile: { tm, tn: 32, tk: 16, rm: tm / 8, rn: 1 },
    minConvWorkgroups: 0,
  });
  assert.equal(oversized.enabled, false);
  assert.equal(oversized.selfCheckFailed, true);
  assert.equal(
    oversized.reason,
    `self-check failed, tfjs kernels kept: conv tile ${tm}×32×16/${tm / 8}×1 needs ${needs} bytes of ` +
      `workgroup memory; this device allows ${limit}`,
  );
  assert.ok(G.gSynthesis.accelerator === undefined); // not assert.equal: a failure would print the whole GPU object graph

  // A shader the GPU's compiler rejects (here: the convolutions' WGSL made invalid on its way to the device)
  // is reported asynchronously, through the error scopes around construction and the first batch.
  const device = tfjsWebGpuDevice()!;
  const createShaderModule = device.createShaderModule;
  device.createShaderModule = (descriptor: GPUShaderModuleDescriptor) =>
    createShaderModule.call(device, {
      ...descriptor,
      code: descriptor.label?.startsWith("sgan-conv") ? `${descriptor.code}\nfn broken( {` : descriptor.code,
    });
  let refused;
  try {
    refused = await useWebGpuSynthesis(G, { mode: "1" });
  } finally {
    delete (device as Partial<GPUDevice>).createShaderModule; // the prototype's method again
  }
  assert.equal(refused.enabled, false);
  assert.equal(refused.selfCheckFailed, true);
  assert.match(
    refused.reason,
    /^self-check failed, tfjs kernels kept: GPU error: Shader 'sgan-conv .+' parsing error/,
  );
  assert.ok(G.gSynthesis.accelerator === undefined);
  assert.ok(G.mappingAccelerator === undefined);
  const after = G.generate(z);
  assert.deepEqual(await after.data(), expected, "the tfjs layers serve as before");
  after.dispose();

  // Weights that differ from the network's (a wrong fold, say): the images disagree.
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
  const right = await engineFor(G);
  assert.equal(await runSelfCheck(G, right).verdict(), undefined);
  right.dispose();
  assert.equal(tf.memory().numTensors, before, "the checks leak no tensors");
  z.dispose();
  G.dispose();
});

Deno.test("webgpu synthesis: settings from the runtime", async () => {
  await useBackend("webgpu");
  const G = new Generator({ ...SMALL, resolution: 8, fmap_base: 32, fmap_max: 4 });
  const settings = (env: Record<string, string>) => runtimeFromEnv(env).webgpu;
  if (activeBackend()?.software) {
    // Mesa's llvmpipe (CI, the development machine): `auto` keeps the tfjs kernels there.
    assert.match(describeWebGpuSynthesis(settings({})), /software rasteriser/);
    assert.deepEqual(await useWebGpuSynthesis(G, settings({})), {
      enabled: false,
      reason:
        "software rasteriser: tfjs kernels are as fast or faster there (SGAN_WEBGPU_SYNTHESIS=1 forces)",
    });
  } else {
    assert.match(
      describeWebGpuSynthesis(settings({})),
      /own WGSL mapping and synthesis pipelines \(SGAN_WEBGPU_SYNTHESIS=auto\)/,
    );
    assert.equal((await useWebGpuSynthesis(G, settings({}))).enabled, true);
  }
  assert.deepEqual(await useWebGpuSynthesis(G, settings({ SGAN_WEBGPU_SYNTHESIS: "0" })), {
    enabled: false,
    reason: "SGAN_WEBGPU_SYNTHESIS=0",
  });
  const tiled = settings({ SGAN_WEBGPU_SYNTHESIS: "1", SGAN_WEBGPU_TILE: "32,32,16,2,2" });
  assert.match(
    describeWebGpuSynthesis(tiled),
    /own WGSL mapping and synthesis pipelines .*tile 32×32×16\/2×2/,
  );
  assert.equal((await useWebGpuSynthesis(G, tiled)).enabled, true);
  assert.throws(
    () => settings({ SGAN_WEBGPU_SYNTHESIS: "maybe" }),
    /SGAN_WEBGPU_SYNTHESIS must be auto, 1 or 0, got "maybe"/,
  );
  assert.throws(() => settings({ SGAN_WEBGPU_TILE: "64,64,16" }), /five positive integers/);
  assert.throws(
    () => settings({ SGAN_WEBGPU_TILE: "64,64,16,4,4,2" }),
    /optionally 1 \(prefetch\) or 0, got "64,64,16,4,4,2"/,
  );
  assert.deepEqual(settings({ SGAN_WEBGPU_TILE: "64,64,16,4,4,1" }).tile, {
    tm: 64,
    tn: 64,
    tk: 16,
    rm: 4,
    rn: 4,
    prefetch: true,
  });
  assert.throws(() => settings({ SGAN_WEBGPU_TILE: "64,64,16,2,2" }), /must give 256 threads/);
  G.dispose();
});

Deno.test("webgpu synthesis: the random-noise generator gives independent standard normal values", async () => {
  await useBackend("webgpu");
  const device = tfjsWebGpuDevice()!;
  const count = 1 << 16;
  // Values for (seed 7, layer 3, sample 1, pixel i), and for the neighbouring seed, layer and sample.
  const code = `${NOISE_WGSL}
@group(0) @binding(0) var<storage, read_write> out : array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g : vec3<u32>) {
  let i = g.x;
  out[i] = gaussianNoise(7u, 3u, 1u, i);
  out[${count}u + i] = gaussianNoise(8u, 3u, 1u, i);
  out[${2 * count}u + i] = gaussianNoise(7u, 4u, 1u, i);
  out[${3 * count}u + i] = gaussianNoise(7u, 3u, 2u, i);
}`;
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
  });
  const out = device.createBuffer({
    size: 16 * count,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
  const read = device.createBuffer({
    size: 16 * count,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: out } }],
    }),
  );
  pass.dispatchWorkgroups(count / 64);
  pass.end();
  encoder.copyBufferToBuffer(out, 0, read, 0, 16 * count);
  device.queue.submit([encoder.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const values = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  tf.dispose([]);
  out.destroy();
  read.destroy();
  const stream = (k: number) => values.subarray(k * count, (k + 1) * count);
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  const correlation = (a: Float32Array, b: Float32Array) => {
    const ma = mean(a), mb = mean(b);
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < a.length; i++) {
      ab += (a[i] - ma) * (b[i] - mb);
      aa += (a[i] - ma) ** 2;
      bb += (b[i] - mb) ** 2;
    }
    return ab / Math.sqrt(aa * bb);
  };
  // Standard errors with 65,536 values: mean 0.004, variance 0.0055, a correlation 0.004; bounds at ~5σ.
  for (let k = 0; k < 4; k++) {
    const a = stream(k);
    const m = mean(a);
    const variance = a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length;
    const within1 = a.filter((v) => Math.abs(v) < 1).length / a.length; // 0.6827 for a normal
    const within2 = a.filter((v) => Math.abs(v) < 2).length / a.length; // 0.9545
    assert.ok(a.every(Number.isFinite), "finite");
    assert.ok(Math.abs(m) < 0.02, `mean ${m}`);
    assert.ok(Math.abs(variance - 1) < 0.03, `variance ${variance}`);
    assert.ok(Math.abs(within1 - 0.6827) < 0.01, `P(|x|<1) = ${within1}`);
    assert.ok(Math.abs(within2 - 0.9545) < 0.005, `P(|x|<2) = ${within2}`);
  }
  const first = stream(0);
  assert.ok(
    Math.abs(correlation(first.subarray(0, count - 1), first.subarray(1))) < 0.02,
    "neighbouring pixels",
  );
  for (let k = 1; k < 4; k++) assert.ok(Math.abs(correlation(first, stream(k))) < 0.02, `stream ${k}`);
});

Deno.test("webgpu synthesis: noise=random draws new maps per call and per image, like the tfjs layers", async () => {
  await useBackend("webgpu");
  const G = new Generator({ ...SMALL, resolution: 32, fmap_base: 128, fmap_max: 16 });
  randomizeWeights(G, 21);
  // One latent five times: with stored noise five equal images, with random noise five different ones.
  const z = tf.tile(tf.randomNormal([1, 16], 0, 1, "float32", 8), [5, 1]) as tf.Tensor2D;
  const images = async (noise: NoiseMode) => {
    const img = G.generate(z, { noise });
    const data = new Float32Array(await img.data());
    img.dispose();
    const per = data.length / 5;
    return [0, 1, 2, 3, 4].map((i) => data.subarray(i * per, (i + 1) * per));
  };
  /** Mean |random − const| over the five images: how much the noise moves a pixel. */
  const spread = (random: Float32Array[], fixed: Float32Array[]) => {
    let sum = 0, n = 0;
    random.forEach((r, i) => r.forEach((v, j) => (sum += Math.abs(v - fixed[i][j]), n++)));
    return sum / n;
  };
  const tfjsConst = await images("const");
  const tfjsSpread = spread(await images("random"), tfjsConst);

  await useWebGpuSynthesis(G, { mode: "1", maxBatch: 2 }); // slices of 2, 2, 1: each gets its own seed
  const counter = countServed(G);
  const constant = await images("const");
  for (const image of constant) assert.ok(maxAbsDiff(image, constant[0]) < 1e-6);
  const first = await images("random");
  const second = await images("random");
  for (let i = 0; i < 5; i++) {
    for (let j = i + 1; j < 5; j++) {
      assert.ok(maxAbsDiff(first[i], first[j]) > 1e-3, `images ${i} and ${j} equal`);
    }
    assert.ok(maxAbsDiff(first[i], second[i]) > 1e-3, `image ${i} repeated across calls`);
  }
  // Same distribution as tfjs's draws: the noise moves pixels by as much on both paths (measured 0.662 and
  // 0.656 on llvmpipe; 25 % allowed for 5 × 1,024 pixels of one network).
  const ownSpread = spread(first, constant);
  assert.ok(ownSpread / tfjsSpread > 0.75 && ownSpread / tfjsSpread < 1.33, `${ownSpread} vs ${tfjsSpread}`);

  // Without noise strength the random maps change nothing: the rest of the path is the const one.
  for (const p of G.params.entries()) {
    if (p.key.endsWith("noise.weight")) p.variable.assign(tf.zerosLike(p.variable));
  }
  await useWebGpuSynthesis(G, { mode: "1", maxBatch: 2 });
  const counter2 = countServed(G);
  const silent = await images("random");
  const silentConst = await images("const");
  for (let i = 0; i < 5; i++) assert.deepEqual(silent[i], silentConst[i]);
  assert.equal(counter.served + counter2.served, 5);
  z.dispose();
  G.dispose();
});

Deno.test("webgpu synthesis: each convolution of the 256 px default generator gets a tile that fills the GPU", async () => {
  await useBackend("webgpu");
  const G = new Generator({ ...SMALL, resolution: 8, fmap_base: 32, fmap_max: 4 });
  const engine = await engineFor(G);
  const tileOf = (rows: number, cout: number, cin: number, phases = 1) => {
    const { tile, vec4 } = engine.convKernel(rows, cout, cin, phases);
    return `${tile.tm}x${tile.tn}${vec4 ? " vec4" : ""}`;
  };
  // Batch 8 (rows = 8 · pixels per phase); worked by hand from CONV_TILES, first with ≥ 256 workgroups.
  assert.equal(tileOf(8 * 256 ** 2, 64, 64), "128x64 vec4"); // 256 px conv1: 4096 × 1 workgroups; 128 wide wastes half
  assert.equal(tileOf(8 * 128 ** 2, 64, 128, 4), "128x64 vec4"); // 256 px upscaling: 1024 × 1 × 4
  assert.equal(tileOf(8 * 64 ** 2, 256, 512, 4), "128x128 vec4"); // 64 px upscaling: 256 × 2 × 4 = 512
  assert.equal(tileOf(8 * 32 ** 2, 512, 512), "128x128 vec4"); // 32 px conv1: 64 × 4 = 256
  assert.equal(tileOf(8 * 16 ** 2, 512, 512, 4), "128x128 vec4"); // 32 px upscaling: 16 × 4 × 4 = 256
  assert.equal(tileOf(8 * 8 ** 2, 512, 512, 4), "64x64 vec4"); // 16 px upscaling: 128×128 and 128×64 give 64, 128
  assert.equal(tileOf(8 * 4 ** 2, 512, 512), "32x32"); // 4 px: only 128 rows; the smallest tile (64 groups)
  assert.equal(tileOf(8 * 256 ** 2, 3, 64), "32x32"); // to-RGB: 3 outputs, scalar
  engine.dispose();
  G.dispose();
});

Deno.test("webgpu synthesis: profile gives every dispatch's GPU time, labelled, with the convolutions' FLOPs", async () => {
  await useBackend("webgpu");
  const G = new Generator({ ...SMALL, resolution: 8, fmap_base: 64, fmap_max: 8 }); // 8 channels throughout
  randomizeWeights(G, 21);
  const engine = await engineFor(G);
  const n = 3;
  const z = tf.randomNormal([n, SMALL.latent_size!], 0, 1, "float32", 4) as tf.Tensor2D;
  const w = G.mapping(z);
  const times = await engine.profile(w, "const");
  // styles; layer 0 (the constant): stats, apply; layers 1–3: conv, stats, apply; to-RGB.
  assert.deepEqual(
    times.map((t) => t.label.split(" ")[0]),
    ["styles", "stats", "apply", ...Array(3).fill(["conv", "stats", "apply"]).flat(), "conv"],
  );
  assert.ok(times.every((t) => Number.isFinite(t.ms) && t.ms >= 0), JSON.stringify(times));
  assert.ok(times.some((t) => t.ms > 0), "no GPU time measured at all");
  // Multiply-adds worked by hand (c = 8): 4 px 3×3, 4→8 px up as 4 phases of 2×2 taps, 8 px 3×3, 1×1 to RGB.
  const c = 8;
  const convFlops = times.filter((t) => t.label.startsWith("conv")).map((t) => t.flops);
  assert.deepEqual(convFlops, [
    2 * n * 16 * c * 9 * c,
    2 * n * 64 * c * 4 * c,
    2 * n * 64 * c * 9 * c,
    2 * n * 64 * 3 * c,
  ]);
  assert.match(times[6].label, /^conv 4→8 px 8→8 up \d+×\d+×\d+\/\d+×\d+/);
  // The images of a profiled batch are not returned, but the engine still serves the same ones afterwards.
  const [a, b] = [engine.run(w, "const"), G.gSynthesis.apply(w, { noise: "const" })];
  assert.ok(relativeError(await a.data(), await b.data()) < 1e-4);
  await assert.rejects(
    engine.profile(tf.zeros([0, G.numLayers, SMALL.dlatent_size!]) as tf.Tensor3D),
    /1 to/,
  );
  tf.dispose([z, w, a, b]);
  engine.dispose();
  G.dispose();
});
