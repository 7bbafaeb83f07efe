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
import { parseTrafficLine } from "../../../model/train/gradient_source.ts";
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
import { repeatedBatch, TINY_GENERATOR, TINY_NETWORK, tinySchedule } from "../../support/tiny_training.ts";
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

const G_OPTIONS = TINY_GENERATOR;
const D_OPTIONS = { resolution: 16, fmap_base: 64, fmap_max: 16 };
const LOSS: LossSettings = {
  loss: "logistic",
  r1_gamma: 10,
  r1_interval: 1,
  wgan_lambda: 10,
  wgan_epsilon: 0.001,
};

/**
 * The pool's gradients against each share's in this process, with the floats in shared memory or (`shared`
 * false) on the pipes.
 */
async function poolMatchesInProcess(shared: boolean) {
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
      sharedMemory: shared,
    },
    G,
    D,
  );
  assert.match(pool.transport, shared ? /^shared memory$/ : /^pipes \(shared memory off\)$/);
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
    const dStep = () =>
      pool.discriminatorStep({
        depth,
        alpha,
        reals,
        z,
        z2,
        mixingCutoff,
        useR1: true,
        r1Gamma: LOSS.r1_gamma,
        noiseSeed,
        augment: augmentation.params,
      });
    await check("d", await dStep(), dParams);
    // Nothing changed in between: the workers keep the weights they have.
    const gStep = () =>
      pool.generatorStep({
        depth,
        alpha,
        z,
        z2,
        mixingCutoff,
        noiseSeed,
        augment: augmentation.params && { fakes: augmentation.params.fakes },
      });
    await check("g", await gStep(), gParams);
    // Two D parameters change (as in an optimizer step) and the pool hears which: the workers get them.
    for (const p of [dParams[0], dParams[dParams.length - 1]]) p.variable.assign(tf.mul(p.variable, 1.5));
    pool.weightsChanged("d", [dParams[0].key, dParams[dParams.length - 1].key]);
    await check("d", await dStep(), dParams);
    await pool.verify();
    // DiffAugment: each worker augments its share's images with their parameters (reals and fakes differ).
    const rng = new RandomState(11);
    const policy = parseAugmentPolicy("color,translation,cutout");
    augmentation.params = {
      reals: drawAugmentParams(rng, n, 16, policy),
      fakes: drawAugmentParams(rng, n, 16, policy),
    };
    await check("d", await dStep(), dParams);
    await check("g", await gStep(), gParams);
    // The workers' forward passes do not move this process's W average (the loop does that itself).
    assert.deepEqual(await G.truncation.avgLatent.data(), avgBefore);
  } finally {
    await pool.close();
    tf.dispose([reals, z, z2]);
    G.dispose();
    D.dispose();
  }
}

Deno.test(
  "pool gradients = share-weighted mean of each share's gradients in this process, augmented too (shared memory)",
  () => poolMatchesInProcess(true),
);

Deno.test(
  "pool gradients = share-weighted mean of each share's gradients in this process, augmented too (pipes)",
  () => poolMatchesInProcess(false),
);

/** A pool of two workers on the test networks, and a D step of 8 images (two shares of 4) with its traffic. */
async function smallPool(shared: boolean) {
  await useWasm();
  const G = new Generator(G_OPTIONS, ParameterTree.seeded(3));
  const D = new Discriminator(D_OPTIONS, ParameterTree.seeded(4));
  const pool = await TrainingPool.start(
    {
      workers: 2,
      backend: "wasm",
      generator: G_OPTIONS,
      discriminator: D_OPTIONS,
      loss: LOSS,
      log: () => {},
      runtime: testRuntime(),
      sharedMemory: shared,
    },
    G,
    D,
  );
  const n = 8;
  const reals = tf.randomUniform([n, 16, 16, 3], -1, 1, "float32", 1) as tf.Tensor4D;
  const z = tf.randomNormal([n, 16], 0, 1, "float32", 2) as tf.Tensor2D;
  const dStep = async () => {
    const before = pool.traffic;
    const result = await pool.discriminatorStep({
      depth: 2,
      alpha: 1,
      reals,
      z,
      useR1: false,
      r1Gamma: 0,
      noiseSeed: 5,
    });
    const after = pool.traffic;
    const floats = [...result.grads.values()].reduce((sum, g) => sum + g.size, 0);
    const keys = [...result.grads.keys()];
    tf.dispose([...result.grads.values()]);
    return { sent: after.sent - before.sent, received: after.received - before.received, floats, keys };
  };
  const close = async () => {
    await pool.close();
    tf.dispose([reals, z]);
    G.dispose();
    D.dispose();
  };
  return { G, D, pool, dStep, close };
}

/** Floats and key characters (plus MessagePack's string head, at most 3 bytes each) of a network's parameters. */
function extent(net: Generator | Discriminator) {
  const entries = net.params.entries();
  return {
    floats: entries.reduce((n, p) => n + p.variable.size, 0),
    keyBytes: entries.reduce((n, p) => n + p.key.length + 3, 0),
  };
}

/**
 * What D steps put on the pipes, against sizes worked out from the protocol by hand: a float payload is its
 * bytes plus a MessagePack head of at most 5 bytes, a key its characters plus at most 3, and a weight update
 * a map of two fields (about 20 bytes) where a step without one carries a null.
 */
async function checkStepTraffic(shared: boolean) {
  const { G, D, pool, dStep, close } = await smallPool(shared);
  try {
    const first = await dStep(); // every parameter of G and D reaches each worker once
    const same = await dStep(); // nothing changed: no weights at all
    // Per worker, the inputs of its share: 4 reals of 16×16×3 and 4 latents of 16, float32.
    const inputs = 4 * (16 * 16 * 3 + 16) * 4;
    assert.ok(
      same.sent / 2 >= inputs && same.sent / 2 <= inputs + 600,
      `inputs: ${same.sent / 2} vs ${inputs}`,
    );
    const g = extent(G), d = extent(D);
    const firstWeights = (first.sent - same.sent) / 2;
    const floatBytes = 4 * (g.floats + d.floats);
    // One parameter of D changes, and the pool hears of it as from an optimizer step: only it moves.
    const param = D.params.entries().filter((p) => p.trainable)[1];
    param.variable.assign(tf.add(param.variable, 0.25));
    pool.weightsChanged("d", [param.key]);
    const one = (((await dStep()).sent) - same.sent) / 2;
    const keys = same.keys.reduce((n, k) => n + k.length + 3, 0);
    if (shared) {
      // The floats are in shared memory: the messages carry keys only, each way.
      assert.ok(firstWeights > 0 && firstWeights <= g.keyBytes + d.keyBytes + 60, `first: ${firstWeights}`);
      assert.ok(one > 0 && one <= param.key.length + 3 + 30, `one parameter: ${one} bytes`);
      assert.ok(
        same.received / 2 <= keys + 100,
        `gradients: ${same.received / 2} bytes for ${same.floats} floats`,
      );
    } else {
      const heads = g.keyBytes + d.keyBytes + 60;
      assert.ok(firstWeights >= floatBytes && firstWeights <= floatBytes + heads, `first: ${firstWeights}`);
      const size = 4 * param.variable.size;
      assert.ok(
        one >= size && one <= size + param.key.length + 3 + 30,
        `one parameter: ${one} vs ${size} bytes`,
      );
      // The gradients of the share come back: one worker's floats (as many as the averaged ones) and keys.
      const grads = 4 * same.floats;
      assert.ok(
        same.received / 2 >= grads && same.received / 2 <= grads + keys + 100,
        `gradients: ${same.received / 2} vs ${grads}`,
      );
    }
    assert.equal(same.received, first.received, "a step's gradients do not depend on what it was sent");
  } finally {
    await close();
  }
}

Deno.test("a D step moves only what changed, its floats in shared memory", () => checkStepTraffic(true));

Deno.test("a D step moves only what changed, its floats on the pipes", () => checkStepTraffic(false));

Deno.test("a worker's copy that went astray fails verify(), naming the worker; so does a dead worker", async () => {
  const { D, pool, dStep, close } = await smallPool(true);
  try {
    await dStep();
    await pool.verify();
    // A change the pool does not hear of: the workers train on other weights than this process holds.
    const param = D.params.entries().filter((p) => p.trainable)[0];
    param.variable.assign(tf.mul(param.variable, 1.001));
    await assert.rejects(
      pool.verify(),
      (e: Error) =>
        e.name === "PoolError" &&
        new RegExp(
          `^training worker (${pool.pids().join("|")}) holds other D weights than the training process`,
        )
          .test(e.message),
    );
    pool.weightsChanged("d", [param.key]);
    await pool.verify();
    // A worker killed between steps: the next step fails with its pid, not with half a batch.
    const [, second] = pool.pids();
    Deno.kill(second, "SIGKILL");
    await assert.rejects(
      dStep(),
      new RegExp(`training worker ${second} (exited \\(signal SIGKILL\\)|is no longer running|is gone)`),
    );
  } finally {
    await close();
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
    assert.ok(
      logs.some((l) =>
        /^data-parallel: 2 worker processes, .*; weights and gradients through shared memory$/.test(l)
      ),
      logs.join("\n"),
    );
    // The session's traffic: keys and inputs only (the floats are in shared memory), logged before it ends.
    const traffic = logs.map(parseTrafficLine).find((t) => t !== undefined);
    assert.ok(traffic && traffic.sent > 0 && traffic.received > 0, logs.join("\n"));
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
