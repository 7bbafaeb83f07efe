/**
 * Data-parallel training: the pool's averaged gradients are the share-weighted mean of the gradients each share
 * gives in this process (same seeded noise), batches split along minibatch-stddev groups, and a data-parallel
 * run is deterministic, resumes exactly, and leaks nothing in the parent.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadConfig } from "../../../model/config.ts";
import { ParameterTree } from "../../../model/layers/parameters.ts";
import { Discriminator } from "../../../model/networks/discriminator.ts";
import { Generator } from "../../../model/networks/generator.ts";
import { splitBatch, TrainingPool } from "../../../model/pool/training_pool.ts";
import { readSafetensors } from "../../../model/checkpoint/safetensors.ts";
import { train, type TrainingData } from "../../../model/train/loop.ts";
import {
  discriminatorGradients,
  fakeImages,
  generatorGradients,
  type LossSettings,
  seededNoise,
} from "../../../model/train/step_grads.ts";
import { maxAbsDiff } from "../../support/backends.ts";
import {
  type AugmentParams,
  drawAugmentParams,
  parseAugmentPolicy,
  sliceAugmentParams,
} from "../../../model/train/augment_policy.ts";
import { RandomState } from "../../../model/seeds.ts";
import { repeatedBatch, TINY_NETWORK, tinySchedule } from "../../support/tiny_training.ts";
import { testRuntime, useBatchInvariantKernels, useWasm } from "../../server/helpers.ts";

// XNNPACK here and (through the runtime) in the workers: a share's gradients do not depend on the process computing them.
useBatchInvariantKernels();

Deno.test("splitBatch: whole minibatch-stddev groups spread over the workers, never an empty share", () => {
  assert.deepEqual(splitBatch(32, 2, 4), [16, 16]);
  assert.deepEqual(splitBatch(12, 2, 4), [8, 4]);
  assert.deepEqual(splitBatch(40, 3, 4), [16, 12, 12]);
  assert.deepEqual(splitBatch(8, 4, 4), [4, 4]); // only two groups
  assert.deepEqual(splitBatch(4, 2, 4), [4]); // one group: one share
  assert.deepEqual(splitBatch(2, 2, 4), [2]); // the group shrinks to the batch, as in the layer
  assert.deepEqual(splitBatch(10, 3, 2), [4, 4, 2]);
  assert.deepEqual(splitBatch(6, 2, 4), [6]); // not whole groups: not split
  assert.deepEqual(splitBatch(9, 2, 1), [5, 4]);
  for (const [n, w, g] of [[32, 2, 4], [40, 3, 4], [10, 3, 2], [9, 2, 1]]) {
    assert.equal(splitBatch(n, w, g).reduce((a, b) => a + b, 0), n);
  }
});

const G_OPTIONS = {
  resolution: 16,
  latent_size: 16,
  dlatent_size: 16,
  mapping_fmaps: 16,
  mapping_layers: 2,
  fmap_base: 64,
  fmap_max: 16,
};
const D_OPTIONS = { resolution: 16, fmap_base: 64, fmap_max: 16 };
const LOSS: LossSettings = {
  loss: "logistic",
  r1_gamma: 10,
  r1_interval: 1,
  wgan_lambda: 10,
  wgan_epsilon: 0.001,
};

Deno.test("pool gradients = share-weighted mean of each share's gradients in this process, augmented too", async () => {
  await useWasm();
  const G = new Generator(G_OPTIONS, ParameterTree.seeded(3));
  const D = new Discriminator(D_OPTIONS, ParameterTree.seeded(4));
  const gParams = G.params.entries().filter((p) => p.trainable);
  const dParams = D.params.entries().filter((p) => p.trainable);
  const pool = await TrainingPool.start(
    {
      workers: 2,
      backend: "wasm",
      generator: G_OPTIONS,
      discriminator: D_OPTIONS,
      loss: LOSS,
      log: () => {},
      runtime: testRuntime(),
    },
    G,
    D,
  );
  const n = 12; // shares of 8 and 4: the weights matter
  const reals = tf.randomUniform([n, 16, 16, 3], -1, 1, "float32", 1) as tf.Tensor4D;
  const z = tf.randomNormal([n, 16], 0, 1, "float32", 2) as tf.Tensor2D;
  const z2 = tf.randomNormal([n, 16], 0, 1, "float32", 3) as tf.Tensor2D;
  const depth = 2, alpha = 0.6, mixingCutoff = 3, noiseSeed = 1234;
  const avgBefore = await G.truncation.avgLatent.data();
  try {
    const shares = splitBatch(n, 2, 4);
    assert.deepEqual(shares, [8, 4]);
    const slice = <T extends tf.Tensor>(t: T, start: number, count: number) =>
      tf.slice(t, start, count) as unknown as T;
    // The truth: each share in this process, with the noise seed the pool gives that worker and the
    // augmentation parameters of its images.
    const augmentation: { params?: { reals: AugmentParams; fakes: AugmentParams } } = {};
    const shareOf = (p: AugmentParams | undefined, start: number, count: number) =>
      p && sliceAugmentParams(p, start, count);
    const expected = async (step: "d" | "g") => {
      const sums = new Map<string, Float32Array>();
      let loss = 0;
      let start = 0;
      for (let i = 0; i < shares.length; i++) {
        const count = shares[i];
        const weight = count / n;
        const run = {
          depth,
          alpha,
          noise: seededNoise(noiseSeed + i),
          augment: {
            reals: step === "d" ? shareOf(augmentation.params?.reals, start, count) : undefined,
            fakes: shareOf(augmentation.params?.fakes, start, count),
          },
        };
        const latents = { z: slice(z, start, count), z2: slice(z2, start, count), mixingCutoff };
        let result;
        if (step === "d") {
          const fakes = fakeImages(G, latents, run, false);
          const r = slice(reals, start, count);
          result = discriminatorGradients(D, dParams, LOSS, run, r, fakes, true);
          tf.dispose([fakes, r]);
        } else {
          result = generatorGradients(G, D, gParams, LOSS, latents, run, false);
        }
        tf.dispose([latents.z, latents.z2]);
        loss += weight * (await result.loss.data())[0];
        for (const [key, g] of result.grads) {
          const values = await g.data() as Float32Array;
          const sum = sums.get(key) ?? new Float32Array(values.length);
          for (let k = 0; k < values.length; k++) sum[k] += weight * values[k];
          sums.set(key, sum);
        }
        tf.dispose([result.loss, ...result.grads.values()]);
        start += count;
      }
      return { loss, sums };
    };
    const check = async (
      step: "d" | "g",
      got: { loss: number; grads: Map<string, tf.Tensor> },
      params: { key: string }[],
    ) => {
      const want = await expected(step);
      assert.ok(
        Math.abs(got.loss - want.loss) <= 1e-6 * Math.abs(want.loss),
        `${step} loss ${got.loss} vs ${want.loss}`,
      );
      assert.equal(got.grads.size, want.sums.size);
      assert.ok(
        got.grads.size > params.length / 2,
        "most parameters have gradients (unused from_rgb/to_rgb do not)",
      );
      for (const [key, sum] of want.sums) {
        const values = await got.grads.get(key)!.data();
        const scale = Math.max(...sum.map(Math.abs), 1e-12);
        assert.ok(maxAbsDiff(values, sum) <= 1e-6 * scale, `${step} gradient of ${key}`);
      }
      tf.dispose([...got.grads.values()]);
    };
    const dStep = (versions: { g: number; d: number }) =>
      pool.discriminatorStep(G, D, dParams, {
        depth,
        alpha,
        reals,
        z,
        z2,
        mixingCutoff,
        useR1: true,
        r1Gamma: LOSS.r1_gamma,
        noiseSeed,
        versions,
        augment: augmentation.params,
      });
    await check("d", await dStep({ g: 0, d: 0 }), dParams);
    // The same versions: the workers keep the weights they have (nothing changed in between).
    const gStep = (versions: { g: number; d: number }) =>
      pool.generatorStep(G, D, gParams, {
        depth,
        alpha,
        z,
        z2,
        mixingCutoff,
        noiseSeed,
        versions,
        augment: augmentation.params && { fakes: augmentation.params.fakes },
      });
    await check("g", await gStep({ g: 0, d: 0 }), gParams);
    // D changes (as after an optimizer step) and its version moves on: the workers get the new weights.
    const first = dParams[0].variable;
    first.assign(tf.mul(first, 1.5));
    await check("d", await dStep({ g: 0, d: 1 }), dParams);
    // DiffAugment: each worker augments its share's images with their parameters (reals and fakes differ).
    const rng = new RandomState(11);
    const policy = parseAugmentPolicy("color,translation,cutout");
    augmentation.params = {
      reals: drawAugmentParams(rng, n, 16, policy),
      fakes: drawAugmentParams(rng, n, 16, policy),
    };
    await check("d", await dStep({ g: 0, d: 1 }), dParams);
    await check("g", await gStep({ g: 0, d: 1 }), gParams);
    // The workers' forward passes do not move this process's W average (the loop does that itself).
    assert.deepEqual(await G.truncation.avgLatent.data(), avgBefore);
  } finally {
    await pool.close();
    tf.dispose([reals, z, z2]);
    G.dispose();
    D.dispose();
  }
});

/**
 * Two identical data-parallel runs and one stopped and resumed end with the same weights, with `extra` settings;
 * a run with `unlike` instead of them ends elsewhere (the settings reach the workers).
 */
async function deterministicRun(extra: string[], unlike?: string[], classNames?: string[]) {
  await useWasm();
  const dir = await Deno.makeTempDir();
  const batch = 8;
  const configFor = (out: string, settings = extra) =>
    loadConfig(undefined, [
      ...TINY_NETWORK,
      ...tinySchedule([1, 1, 3], batch),
      "dataset.img_dir=synthetic",
      `output_dir=${out}`,
      "model.r1_interval=2",
      "checkpoint_minutes=100000",
      "sample_every=100000",
      "log_every=100000",
      ...settings,
    ]);
  const pixels = tf.randomUniform([4 * batch, 16, 16, 3], -1, 1, "float32", 5);
  // With class names: image i is of class i mod 3 (a conditional run).
  const labels = classNames
    ? Int32Array.from({ length: 4 * batch }, (_, i) => i % classNames.length)
    : undefined;
  /** Four fixed batches in turn, with the position as resumable state. */
  const dataset = (): TrainingData => {
    let position = 0;
    return {
      count: 4 * batch,
      gsdM: 1,
      classNames,
      labels,
      nextBatch: (size) => {
        const start = (position % 4) * batch;
        const out = tf.slice(pixels, start, size) as tf.Tensor4D;
        position++;
        return { images: out, labels: labels?.slice(start, start + size) };
      },
      getState: () => position,
      setState(state) {
        position = state as number;
      },
    };
  };
  const weightsOf = async (out: string) => {
    const latest = JSON.parse(await Deno.readTextFile(`${out}/models/latest.json`));
    const { tensors, metadata } = await readSafetensors(`${out}/models/${latest.files.gen}`);
    return { step: latest.state.step, tensors, metadata };
  };
  try {
    const counts: number[] = [];
    const logs: string[] = [];
    await train({
      config: await configFor(`${dir}/a`),
      data: dataset(),
      workers: 2,
      runtime: testRuntime(),
      onEvent: (e) => {
        if (e.type === "progress") counts.push(tf.memory().numTensors);
        if (e.type === "log") logs.push(e.line);
      },
    });
    assert.ok(logs.some((l) => /^data-parallel: 2 worker processes/.test(l)), logs.join("\n"));
    assert.deepEqual(counts.slice(1), Array(counts.length - 1).fill(counts[1]), `tensors: ${counts}`);
    await train({ config: await configFor(`${dir}/b`), data: dataset(), workers: 2, runtime: testRuntime() });
    // Interrupted after 9 steps, then resumed with a fresh data source (its state comes from the checkpoint).
    await train({
      config: await configFor(`${dir}/c`),
      data: dataset(),
      workers: 2,
      runtime: testRuntime(),
      maxSteps: 9,
    });
    await train({
      config: await configFor(`${dir}/c`),
      data: dataset(),
      workers: 2,
      runtime: testRuntime(),
      resume: true,
    });
    const [a, b, c] = [await weightsOf(`${dir}/a`), await weightsOf(`${dir}/b`), await weightsOf(`${dir}/c`)];
    assert.equal(a.step, counts.length);
    assert.equal(c.step, a.step);
    if (classNames) {
      // A conditional G: StyleGAN.pytorch's embedding [classes, latent_size] and the class names in the header.
      assert.deepEqual(a.tensors.get("class_embedding.weight")?.shape, [classNames.length, 16]);
      assert.deepEqual(JSON.parse(a.metadata.class_names), classNames);
    } else {
      assert.equal(a.tensors.has("class_embedding.weight"), false);
    }
    for (const [key, t] of a.tensors) {
      assert.deepEqual(b.tensors.get(key)!.data, t.data, `run b: ${key}`);
      assert.deepEqual(c.tensors.get(key)!.data, t.data, `resumed run: ${key}`);
    }
    if (unlike) {
      await train({
        config: await configFor(`${dir}/d`, unlike),
        data: dataset(),
        workers: 2,
        runtime: testRuntime(),
      });
      const d = await weightsOf(`${dir}/d`);
      const differ = [...a.tensors].filter(([key, t]) =>
        maxAbsDiff(d.tensors.get(key)!.data as Float32Array, t.data as Float32Array) > 0
      );
      assert.ok(differ.length > 0, `${unlike} instead of ${extra} changes training`);
    }
    // Training did something: G moved away from its seeded initial weights.
    const fresh = new Generator(
      { ...G_OPTIONS, label_size: classNames?.length ?? 0 },
      ParameterTree.seeded(0),
    );
    try {
      const key = fresh.params.entries().find((p) => p.trainable)!.key;
      assert.ok(
        maxAbsDiff(
          await fresh.params.entries().find((p) => p.key === key)!.variable.data(),
          a.tensors.get(key)!.data as Float32Array,
        ) > 0,
      );
    } finally {
      fresh.dispose();
    }
  } finally {
    pixels.dispose();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(
  "a data-parallel run is deterministic, resumes exactly, and leaks no tensors in the parent",
  () => deterministicRun([]),
);

Deno.test(
  "with DiffAugment and R1 γ auto, a data-parallel run is deterministic and resumes exactly",
  () =>
    deterministicRun(["augment.policy=color,translation,cutout", "model.r1_gamma=auto"], [
      "model.r1_gamma=auto",
    ]),
);

Deno.test(
  "with land-use labels (a conditional G and D), a data-parallel run is deterministic and resumes exactly",
  () => deterministicRun(["augment.policy=translation"], undefined, ["forest", "harbor", "runway"]),
);

Deno.test("one training step over either gradient source: in this process and on one worker, the same weights", async () => {
  await useWasm();
  const dir = await Deno.makeTempDir();
  const configFor = (out: string) =>
    loadConfig(undefined, [
      ...TINY_NETWORK,
      ...tinySchedule([1, 1, 2], 8),
      "dataset.img_dir=synthetic",
      `output_dir=${out}`,
      "model.r1_interval=2",
      "augment.policy=color,cutout",
      "checkpoint_minutes=100000",
      "sample_every=100000",
    ]);
  const pixels = tf.randomUniform([8, 16, 16, 3], -1, 1, "float32", 7) as tf.Tensor4D;
  const weightsOf = async (out: string) => {
    const latest = JSON.parse(await Deno.readTextFile(`${out}/models/latest.json`));
    return (await readSafetensors(`${out}/models/${latest.files.gen}`)).tensors;
  };
  try {
    await train({ config: await configFor(`${dir}/here`), data: repeatedBatch(pixels, 24) });
    await train({
      config: await configFor(`${dir}/pool`),
      data: repeatedBatch(pixels, 24),
      workers: 1,
      runtime: testRuntime(),
    });
    const [here, pool] = [await weightsOf(`${dir}/here`), await weightsOf(`${dir}/pool`)];
    for (const [key, t] of here) assert.deepEqual(pool.get(key)!.data, t.data, key);
  } finally {
    pixels.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workers that cannot start are a warning, and training goes on in this process", async () => {
  await useWasm();
  const dir = await Deno.makeTempDir();
  const config = await loadConfig(undefined, [
    ...TINY_NETWORK,
    ...tinySchedule([1, 1, 1], 4),
    "dataset.img_dir=synthetic",
    `output_dir=${dir}`,
    "checkpoint_minutes=100000",
    "sample_every=100000",
  ]);
  const pixels = tf.randomUniform([4, 16, 16, 3], -1, 1, "float32", 6) as tf.Tensor4D;
  const data = repeatedBatch(pixels, 8);
  const warnings: string[] = [];
  let steps = 0;
  try {
    // 1.5 workers cannot be started: the pool refuses before spawning anything.
    await train({
      config,
      data,
      workers: 1.5,
      maxSteps: 3,
      onEvent: (e) => {
        if (e.type === "warning") warnings.push(e.message);
        if (e.type === "progress") steps++;
      },
    });
  } finally {
    pixels.dispose();
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(warnings, [
    "data-parallel workers could not start (a training pool needs at least one worker, got 1.5); training in this process",
  ]);
  assert.equal(steps, 3);
});
