/**
 * The own WGSL mapping pipeline (model/webgpu/mapping.ts) on Deno's WebGPU: against StyleGAN.pytorch's w in
 * the reference fixture, against the tfjs layers on the same device for networks the fixture does not cover
 * (ReLU, no latent normalisation, widths that do not fill a workgroup, truncation of some layers per row),
 * and against the truncation formula worked in float32 here.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadGenerator } from "../../../model/checkpoint/checkpoint.ts";
import { Generator } from "../../../model/networks/generator.ts";
import type { GeneratorOptions } from "../../../model/networks/options.ts";
import { latentsFromSeeds } from "../../../model/seeds.ts";
import { readSafetensors } from "../../../model/checkpoint/safetensors.ts";
import { runSelfCheck, tfjsWebGpuDevice, useWebGpuSynthesis } from "../../../model/webgpu/accelerator.ts";
import { buildMappingPlan, WebGpuMapping } from "../../../model/webgpu/mapping.ts";
import { WebGpuSynthesis } from "../../../model/webgpu/synthesis.ts";
import { buildSynthesisPlan } from "../../../model/webgpu/plan.ts";
import { FIXTURE_DIR } from "../../support/paths.ts";
import { maxAbsDiff, PARITY_TOLERANCE, relativeError, useBackend } from "../../support/backends.ts";
import { randomizeWeights } from "../../support/random_weights.ts";

/** Counts the mapping calls the accelerator served (so a test cannot pass on the tfjs path by accident). */
function countMapped(G: Generator): { served: number } {
  const acc = G.mappingAccelerator;
  assert.ok(acc, "no mapping accelerator attached");
  const counter = { served: 0 };
  const original = acc.tryMap.bind(acc);
  acc.tryMap = (z, psis, cutoffs) => {
    const out = original(z, psis, cutoffs);
    if (out) counter.served++;
    return out;
  };
  return counter;
}

/** Counts compute dispatches and queue submits while `fn` runs (Deno's WebGPU prototypes, wrapped). */
function countGpuCalls<T>(fn: () => T): { result: T; dispatches: number; submits: number } {
  const pass = GPUComputePassEncoder.prototype, queue = GPUQueue.prototype;
  const [dispatch, submit] = [pass.dispatchWorkgroups, queue.submit];
  let dispatches = 0, submits = 0;
  pass.dispatchWorkgroups = function (...args: Parameters<typeof dispatch>) {
    dispatches++;
    return dispatch.apply(this, args);
  };
  queue.submit = function (...args: Parameters<typeof submit>) {
    submits++;
    return submit.apply(this, args);
  };
  try {
    return { result: fn(), dispatches, submits };
  } finally {
    pass.dispatchWorkgroups = dispatch;
    queue.submit = submit;
  }
}

Deno.test("webgpu mapping: parity with StyleGAN.pytorch's w (reference fixture), one ψ per row", async () => {
  await useBackend("webgpu");
  const config = JSON.parse(await Deno.readTextFile(`${FIXTURE_DIR}/config.json`));
  const io = (await readSafetensors(`${FIXTURE_DIR}/io.safetensors`)).tensors;
  const { network: G } = await loadGenerator(`${FIXTURE_DIR}/G.safetensors`);
  const status = await useWebGpuSynthesis(G, { mode: "1" });
  assert.equal(status.enabled, true, status.reason);
  const counter = countMapped(G);
  const seeds: number[] = config.seeds;
  const latent = config.latent_size;
  const z = tf.tensor2d(latentsFromSeeds(seeds, latent), [seeds.length, latent]);
  const before = tf.memory().numTensors;
  const rowFloats = G.numLayers * config.dlatent_size;
  const expectedRow = (psi: number, row: number) => {
    const key = psi === 1 ? "w" : `w_psi${psi}`;
    return (io.get(key)!.data as Float32Array).subarray(row * rowFloats, (row + 1) * rowFloats);
  };
  for (const psi of config.psis as number[]) {
    const w = G.mapping(z, psi, config.truncation_cutoff);
    const data = await w.data();
    w.dispose();
    for (let row = 0; row < seeds.length; row++) {
      const err = maxAbsDiff(data.subarray(row * rowFloats, (row + 1) * rowFloats), expectedRow(psi, row));
      assert.ok(err <= PARITY_TOLERANCE.webgpu, `ψ=${psi} row ${row}: max abs error ${err}`);
    }
  }
  // One batch in which every row has its own ψ: each row still matches the fixture's row for that ψ.
  const psis: number[] = config.psis;
  const rows = seeds.map((_, i) => psis[i % psis.length]);
  const mixed = G.mapping(z, rows, seeds.map(() => config.truncation_cutoff));
  const data = await mixed.data();
  mixed.dispose();
  for (const [row, psi] of rows.entries()) {
    const err = maxAbsDiff(data.subarray(row * rowFloats, (row + 1) * rowFloats), expectedRow(psi, row));
    assert.ok(err <= PARITY_TOLERANCE.webgpu, `mixed batch, row ${row} (ψ=${psi}): max abs error ${err}`);
  }
  assert.equal(counter.served, psis.length + 1);
  assert.equal(tf.memory().numTensors, before, "tensors leaked across calls");
  z.dispose();
  G.dispose();
  assert.ok(G.mappingAccelerator === undefined); // not assert.equal: a failure would print the GPU object graph
});

const ODD: Partial<GeneratorOptions> & { resolution: number } = {
  resolution: 8,
  latent_size: 12,
  dlatent_size: 20,
  mapping_fmaps: 70, // wider than one 64-output workgroup, and not a multiple of it
  mapping_layers: 3,
  fmap_base: 64,
  fmap_max: 8,
};

/** A generator with random weights everywhere (the W average included). */
function randomGenerator(
  options: Partial<GeneratorOptions> & { resolution: number },
  seed: number,
): Generator {
  const G = new Generator(options);
  randomizeWeights(G, seed);
  return G;
}

Deno.test("webgpu mapping: equals the tfjs layers (ReLU or leaky, with or without the latent norm, per-row truncation)", async () => {
  await useBackend("webgpu");
  const device = tfjsWebGpuDevice()!;
  const networks: Array<Partial<GeneratorOptions>> = [
    {},
    { mapping_nonlinearity: "relu", normalize_latents: false },
  ];
  for (const [k, extra] of networks.entries()) {
    const G = randomGenerator({ ...ODD, ...extra }, 100 + 10 * k);
    const engine = new WebGpuMapping(device, await buildMappingPlan(G));
    const layers = G.numLayers; // 6
    // ψ = 1 rows (untouched), cutoffs 0, 2, a fraction, all layers and beyond, negative ψ; batches across sizes.
    for (const batch of [1, 3, 7]) {
      const psis = Array.from({ length: batch }, (_, i) => [0.7, 1, -0.5, 0, 0.3, 1, 2][i]);
      const cutoffs = Array.from({ length: batch }, (_, i) => [2, 4, 0, layers, 2.5, 0, 9][i]);
      const z = tf.randomNormal([batch, ODD.latent_size!], 0, 1, "float32", 7 + batch) as tf.Tensor2D;
      const expected = G.mapping(z, psis, cutoffs);
      const got = engine.run(z, psis, cutoffs);
      const err = relativeError(await got.data(), await expected.data());
      assert.ok(err < 1e-5, `network ${k}, batch ${batch}: relative error ${err}`);
      tf.dispose([z, expected, got]);
    }
    engine.dispose();
    G.dispose();
  }
});

Deno.test("webgpu mapping: the truncation of each row is the formula, worked here in float32", async () => {
  await useBackend("webgpu");
  const G = randomGenerator(ODD, 300);
  const plan = await buildMappingPlan(G);
  const engine = new WebGpuMapping(tfjsWebGpuDevice()!, plan);
  const z = tf.randomNormal([3, ODD.latent_size!], 0, 1, "float32", 5) as tf.Tensor2D;
  const psis = [1, 0.6, -0.8], cutoffs = [3, 3, 5];
  const w = await engine.run(z, psis, cutoffs).array().then((a) => a as number[][][]);
  const plain = await engine.run(z, [1, 1, 1], cutoffs).array().then((a) => a as number[][][]);
  const f = Math.fround;
  for (let row = 0; row < 3; row++) {
    for (let l = 0; l < G.numLayers; l++) {
      // Every style layer gets the same w before truncation.
      assert.deepEqual(plain[row][l], plain[row][0], `row ${row} layer ${l} broadcast`);
      for (let j = 0; j < plan.dlatentSize; j++) {
        const y = plain[row][0][j], avg = plan.avg[j];
        const truncated = psis[row] !== 1 && l < cutoffs[row];
        const expected = truncated ? f(avg + f(f(y - avg) * f(psis[row]))) : y;
        const tolerance = truncated ? 1e-6 * Math.max(1, Math.abs(expected)) : 0; // an fma may round once less
        assert.ok(
          Math.abs(w[row][l][j] - expected) <= tolerance,
          `row ${row} layer ${l} [${j}]: ${w[row][l][j]} vs ${expected}`,
        );
      }
    }
  }
  // The W average is what truncation pulls to: ψ = 0 gives it exactly on the truncated layers.
  const zero = await engine.run(z, [0, 0, 0], [1, 1, 1]).array() as number[][][];
  for (let row = 0; row < 3; row++) assert.deepEqual(zero[row][0], Array.from(plan.avg), `row ${row}`);
  tf.dispose(z);
  engine.dispose();
  G.dispose();
});

Deno.test("webgpu mapping: one dispatch per dense layer, in place of tfjs's kernels", async () => {
  await useBackend("webgpu");
  const G = randomGenerator(ODD, 400);
  const z = tf.randomNormal([4, ODD.latent_size!], 0, 1, "float32", 9) as tf.Tensor2D;
  tf.dispose(G.mapping(z, 0.7)); // tfjs compiles its kernels on first use
  const viaTfjs = countGpuCalls(() => G.mapping(z, 0.7));
  const status = await useWebGpuSynthesis(G, { mode: "1" });
  assert.equal(status.enabled, true, status.reason);
  const own = countGpuCalls(() => G.mapping(z, 0.7));
  assert.equal(own.dispatches, ODD.mapping_layers);
  // Ours, plus the copies tfjs makes of the latents (dataToGPU) and of the result (a tensor from a buffer).
  assert.ok(own.submits <= 3, `${own.submits} submits`);
  assert.ok(viaTfjs.dispatches >= 4 * ODD.mapping_layers!, `tfjs: ${viaTfjs.dispatches} dispatches`);
  const err = relativeError(await own.result.data(), await viaTfjs.result.data());
  assert.ok(err < 1e-5, `relative error ${err}`);
  tf.dispose([z, own.result, viaTfjs.result]);
  G.dispose();
});

Deno.test("webgpu mapping: training and bad input keep to the tfjs layers or are refused with the reason", async () => {
  await useBackend("webgpu");
  const G = randomGenerator(ODD, 500);
  const status = await useWebGpuSynthesis(G, { mode: "1" });
  assert.equal(status.enabled, true, status.reason);
  const counter = countMapped(G);
  const z = tf.randomNormal([2, ODD.latent_size!], 0, 1, "float32", 11) as tf.Tensor2D;
  // Under a gradient tape the tfjs layers run (and the gradient reaches the mapping weights).
  const weight = G.gMapping.dense[0].weight;
  const { grads } = tf.variableGrads(() => tf.sum(G.mapping(z, 0.7)) as tf.Scalar, [weight]);
  assert.ok((await tf.max(tf.abs(grads[weight.name])).data())[0] > 0, "no gradient");
  tf.dispose(Object.values(grads));
  assert.equal(counter.served, 0);
  assert.throws(() => G.mapping(z, [0.7]), /ψ: 1 values for 2 rows/);
  assert.throws(() => G.mapping(z, 0.7, [1, 2, 3]), /cutoff: 3 values for 2 rows/);
  const engine = new WebGpuMapping(tfjsWebGpuDevice()!, await buildMappingPlan(G));
  const wide = tf.zeros([2, ODD.latent_size! + 1]) as tf.Tensor2D;
  assert.throws(() => engine.run(wide, [1, 1], [0, 0]), /latents must be \[N, 12\], got \[2,13\]/);
  const none = engine.run(tf.zeros([0, ODD.latent_size!]) as tf.Tensor2D, [], []);
  assert.deepEqual(none.shape, [0, G.numLayers, ODD.dlatent_size]);
  engine.dispose();
  assert.throws(() => engine.run(z, [1, 1], [0, 0]), /used after dispose/);
  tf.dispose([z, wide, none]);
  G.dispose();
});

Deno.test("webgpu mapping: the self-check catches a mapping that disagrees with the tfjs layers", async () => {
  await useBackend("webgpu");
  const G = randomGenerator(ODD, 600);
  const device = tfjsWebGpuDevice()!;
  const synthesis = new WebGpuSynthesis(device, await buildSynthesisPlan(G.gSynthesis));
  const plan = await buildMappingPlan(G);
  const good = new WebGpuMapping(device, plan);
  assert.equal(await runSelfCheck(G, synthesis, good).verdict(), undefined);
  // A W average off by one: only the truncated rows change, and the check must see it.
  const shifted = new WebGpuMapping(device, { ...plan, avg: plan.avg.map((v) => v + 1) });
  const verdict = await runSelfCheck(G, synthesis, shifted).verdict();
  assert.match(verdict ?? "", /dlatents \(mapping\) differ from the tfjs layers' by .* \(allowed 0\.001\)/);
  for (const e of [synthesis, good, shifted]) e.dispose();
  G.dispose();
});
