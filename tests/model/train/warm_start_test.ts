/**
 * Warm start (config `init`, model/train/warm_start.ts): a trained generator's weights start a fresh run, an
 * unconditional one may start a conditional run, and D alone trains during the warm-up.
 *
 * The truth for the widened mapping is worked by hand: with the class embedding row set equal to z, the pixel
 * norm of [z, z] is [z, z] / rms(z), whose z half is the unconditional norm of z; the class weights are zero and
 * the z weights' runtime scale is the source's, so w (and the image) must equal the unconditional generator's.
 *
 * A warm-started discriminator is checked through Adam's first step, worked by hand: with bias correction the
 * first update of every weight is lr · g / (|g| + ε), at most lr in size, so one step after the start every
 * weight lies within lr of the source's, while a random start differs from it by far more.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Generator } from "../../../model/networks/generator.ts";
import { ParameterTree } from "../../../model/layers/parameters.ts";
import type { GeneratorOptions } from "../../../model/networks/options.ts";
import { warmStartDiscriminator, warmStartGenerator } from "../../../model/train/warm_start.ts";
import { Discriminator } from "../../../model/networks/discriminator.ts";
import type { DiscriminatorOptions } from "../../../model/networks/options.ts";
import { saveNetwork } from "../../../model/checkpoint/checkpoint.ts";
import { readSafetensors } from "../../../model/checkpoint/safetensors.ts";
import { loadConfig } from "../../../model/config.ts";
import { train, type TrainingData } from "../../../model/train/loop.ts";
import { maxAbsDiff, useBackend } from "../../support/backends.ts";
import { TINY_GENERATOR, TINY_NETWORK, tinySchedule } from "../../support/tiny_training.ts";
import { randomizeWeights } from "../../support/random_weights.ts";

const TINY_G: Partial<GeneratorOptions> & { resolution: number } = TINY_GENERATOR;

function trainedSource(seed = 3): Generator {
  const G = new Generator(TINY_G, ParameterTree.seeded(seed));
  randomizeWeights(G, seed); // biases and the W average too, as a trained generator has them
  return G;
}

/** `--set` overrides of a tiny fixed-structure run that starts warm (`init` holds the init.* settings). */
function warmRunSettings(out: string, init: string[]): string[] {
  return [
    ...TINY_NETWORK,
    ...tinySchedule([1, 1, 2], 8),
    "structure=fixed",
    "dataset.img_dir=unused",
    `output_dir=${out}`,
    ...init,
    "log_every=1",
  ];
}

/** Random 16 px batches, claiming 64 images (no files). */
const RANDOM_DATA: TrainingData = {
  count: 64,
  gsdM: 1,
  nextBatch: (n) => ({ images: tf.randomUniform([n, 16, 16, 3], -1, 1, "float32", 1) as tf.Tensor4D }),
  getState: () => null,
  setState() {},
};

/** The tensors of a run's latest checkpoint of G (`gen`) or D (`dis`). */
async function latestTensors(out: string, network: "gen" | "dis") {
  const latest = JSON.parse(await Deno.readTextFile(`${out}/models/latest.json`));
  return (await readSafetensors(`${out}/models/${latest.files[network]}`)).tensors;
}

Deno.test("an unconditional generator starts a conditional one that draws what it drew", async () => {
  await useBackend("cpu");
  const source = trainedSource();
  const target = new Generator({ ...TINY_G, label_size: 3 }, ParameterTree.seeded(9));
  const report = warmStartGenerator(target, source, "source.safetensors");
  assert.deepEqual(report.widened, ["g_mapping.map.dense0.weight"]);
  assert.deepEqual(report.fresh, ["class_embedding.weight", "truncation.class_avg_latent"]);

  const z = tf.randomNormal([2, 16], 0, 1, "float32", 5) as tf.Tensor2D;
  // Class 1's embedding := z's first row, so that norm([z, y]) keeps z's half as norm(z) does (see the top).
  const embedding = await target.classEmbedding!.array() as number[][];
  embedding[1] = (await z.array())[0];
  target.classEmbedding!.assign(tf.tensor2d(embedding));
  const zRow = tf.slice(z, [0, 0], [1, 16]) as tf.Tensor2D;
  const wSource = source.gMapping.mapOne(zRow);
  const wTarget = target.gMapping.mapOne(zRow, target.embedLabels([1], 1));
  assert.ok(maxAbsDiff(await wTarget.data(), await wSource.data()) < 1e-5);
  const imageSource = source.gSynthesis.apply(source.gMapping.apply(zRow), { noise: "const" });
  const imageTarget = target.gSynthesis.apply(target.gMapping.apply(zRow, target.embedLabels([1], 1)), {
    noise: "const",
  });
  assert.ok(maxAbsDiff(await imageTarget.data(), await imageSource.data()) < 1e-4);

  // Every class's centre starts at the source's W average.
  const avg = await source.truncation.avgLatent.data();
  const centres = await target.truncation.classAvgLatent!.array() as number[][];
  for (const row of centres) assert.ok(maxAbsDiff(Float32Array.from(row), avg) === 0);
  tf.dispose([z, zRow, wSource, wTarget, imageSource, imageTarget]);
  source.dispose();
  target.dispose();
});

Deno.test("a generator of the same architecture is copied whole", async () => {
  await useBackend("cpu");
  const source = trainedSource();
  const target = new Generator(TINY_G, ParameterTree.seeded(11));
  const report = warmStartGenerator(target, source, "source.safetensors");
  assert.equal(report.copied, source.params.entries().length);
  assert.deepEqual([report.widened, report.fresh], [[], []]);
  for (const p of target.params.entries()) {
    const want = source.params.entries().find((q) => q.key === p.key)!.variable;
    assert.equal(maxAbsDiff(await p.variable.data(), await want.data()), 0, p.key);
  }
  source.dispose();
  target.dispose();
});

Deno.test("a generator that does not fit is refused, naming what differs", async () => {
  await useBackend("cpu");
  const source = trainedSource();
  const cases: [Partial<GeneratorOptions>, RegExp][] = [
    [{ resolution: 32 }, /source\.safetensors: its resolution is 16, the run's is 32/],
    [{ latent_size: 8 }, /its latent_size is 16, the run's is 8/],
    [{ fmap_max: 8 }, /tensor '.*' has shape \[.*\], the run's generator \[.*\] \(other widths/],
  ];
  for (const [change, message] of cases) {
    const target = new Generator({ ...TINY_G, ...change });
    assert.throws(() => warmStartGenerator(target, source, "source.safetensors"), message);
    target.dispose();
  }
  const conditional = new Generator({ ...TINY_G, label_size: 2 });
  const other = new Generator({ ...TINY_G, label_size: 3 });
  assert.throws(
    () => warmStartGenerator(other, conditional, "c.safetensors"),
    /c\.safetensors is conditional on 2 classes; the run has 3/,
  );
  [source, conditional, other].forEach((g) => g.dispose());
});

Deno.test("training from init.generator: D alone during the warm-up, then G too; a bad file stops before any write", async () => {
  await useBackend("wasm");
  const dir = await Deno.makeTempDir();
  const source = trainedSource();
  await saveNetwork(`${dir}/source.safetensors`, source);
  const settings = (out: string, file: string) =>
    warmRunSettings(out, [
      `init.generator=${file}`,
      // Batches of 8: steps at 0, 0.008 and 0.016 kimg are D's alone, the fourth (0.024) trains G too.
      "init.d_warmup_kimg=0.02",
    ]);
  const data = RANDOM_DATA;
  const generatorAt = (out: string) => latestTensors(out, "gen");
  const sourceTensors = (await readSafetensors(`${dir}/source.safetensors`)).tensors;

  const lines: string[] = [];
  const onEvent = (e: { type: string; line?: string }) => e.type === "log" && lines.push(e.line!);
  const config = await loadConfig(undefined, settings(`${dir}/run`, `${dir}/source.safetensors`));
  await train({ config, data, maxSteps: 3, onEvent });
  assert.ok(
    lines.some((l) => /^warm start from .*source\.safetensors: \d+ tensors copied$/.test(l)),
    lines[0],
  );
  assert.equal(lines.filter((l) => l.includes("G: skipped (D warm-up)")).length, 3);
  for (const [key, t] of await generatorAt(`${dir}/run`)) {
    if (key.startsWith("truncation.")) continue; // W averages follow the mapping's output every step, G's or not
    assert.equal(maxAbsDiff(t.data as Float32Array, sourceTensors.get(key)!.data as Float32Array), 0, key);
  }
  // Resumed past the warm-up, G trains: its weights move away from the source's.
  await train({ config, data, resume: true, maxSteps: 1, onEvent });
  const moved = [...await generatorAt(`${dir}/run`)].some(([key, t]) =>
    !key.startsWith("truncation.") &&
    maxAbsDiff(t.data as Float32Array, sourceTensors.get(key)!.data as Float32Array) > 0
  );
  assert.ok(moved, "G trained after the warm-up");

  const missing = await loadConfig(undefined, settings(`${dir}/bad`, `${dir}/absent.safetensors`));
  await assert.rejects(train({ config: missing, data }), /^Error: init\.generator: .*absent\.safetensors/);
  await assert.rejects(Deno.stat(`${dir}/bad`), Deno.errors.NotFound);
  source.dispose();
  await Deno.remove(dir, { recursive: true });
});

const TINY_D: Partial<DiscriminatorOptions> & { resolution: number } = {
  resolution: 16,
  fmap_base: 64,
  fmap_max: 16,
};

function trainedDiscriminator(options: Partial<DiscriminatorOptions> = {}, seed = 4): Discriminator {
  const D = new Discriminator({ ...TINY_D, ...options }, ParameterTree.seeded(seed));
  randomizeWeights(D, seed);
  return D;
}

Deno.test("a discriminator is copied whole, or refused naming the tensor that does not fit", async () => {
  await useBackend("cpu");
  const source = trainedDiscriminator({ label_size: 3, label_head: "projection" });
  const target = new Discriminator(
    { ...TINY_D, label_size: 3, label_head: "projection" },
    ParameterTree.seeded(8),
  );
  assert.equal(warmStartDiscriminator(target, source, "d.safetensors"), source.params.entries().length);
  for (const p of target.params.entries()) {
    const want = source.params.entries().find((q) => q.key === p.key)!.variable;
    assert.equal(maxAbsDiff(await p.variable.data(), await want.data()), 0, p.key);
  }
  const cases: [Partial<DiscriminatorOptions>, RegExp][] = [
    [
      { label_size: 4, label_head: "projection" },
      /d\.safetensors: tensor '.*' has shape \[.*\], the run's discriminator/,
    ],
    [{ fmap_max: 8, label_size: 3, label_head: "projection" }, /tensor '.*' has shape .*widths fmap_base/],
    [
      {},
      /d\.safetensors: tensor 'final_block\.dense1\.weight' has shape \[16,4\], the run's discriminator \[16,1\]/,
    ],
  ];
  for (const [options, message] of cases) {
    const other = new Discriminator({ ...TINY_D, ...options });
    const before = await other.params.entries()[0].variable.data();
    assert.throws(() => warmStartDiscriminator(other, source, "d.safetensors"), message);
    // Refused before anything was copied.
    assert.equal(maxAbsDiff(await other.params.entries()[0].variable.data(), before), 0);
    other.dispose();
  }
  [source, target].forEach((d) => d.dispose());
});

Deno.test("training from init.discriminator: one Adam step from the source's D; a bad file stops before any write", async () => {
  await useBackend("wasm");
  const dir = await Deno.makeTempDir();
  const source = trainedDiscriminator();
  await saveNetwork(`${dir}/d.safetensors`, source);
  const settings = (out: string, file: string) => warmRunSettings(out, [`init.discriminator=${file}`]);
  const data = RANDOM_DATA;
  const lines: string[] = [];
  const onEvent = (e: { type: string; line?: string }) => e.type === "log" && lines.push(e.line!);
  const config = await loadConfig(undefined, settings(`${dir}/run`, `${dir}/d.safetensors`));
  await train({ config, data, maxSteps: 1, onEvent });
  assert.ok(
    lines.some((l) => /^warm start of D from .*d\.safetensors: \d+ tensors copied$/.test(l)),
    lines[0],
  );
  const trained = await latestTensors(`${dir}/run`, "dis");
  const sourceTensors = (await readSafetensors(`${dir}/d.safetensors`)).tensors;
  const lr = config.model.d_optim.learning_rate;
  let farthest = 0;
  for (const [key, t] of trained) {
    farthest = Math.max(
      farthest,
      maxAbsDiff(t.data as Float32Array, sourceTensors.get(key)!.data as Float32Array),
    );
  }
  assert.ok(farthest <= lr * (1 + 1e-4), `a weight moved ${farthest}, more than one Adam step (${lr})`);
  assert.ok(farthest > 0, "D trained its one step");
  // The same run without the warm start is nowhere near the source.
  const fresh = await loadConfig(undefined, settings(`${dir}/fresh`, ""));
  await train({ config: fresh, data, maxSteps: 1 });
  const freshD = await latestTensors(`${dir}/fresh`, "dis");
  const freshFarthest = Math.max(
    ...[...freshD].map(([key, t]) =>
      maxAbsDiff(t.data as Float32Array, sourceTensors.get(key)!.data as Float32Array)
    ),
  );
  assert.ok(freshFarthest > 10 * lr, `a random D is ${freshFarthest} from the source`);

  const missing = await loadConfig(undefined, settings(`${dir}/bad`, `${dir}/absent.safetensors`));
  await assert.rejects(
    train({ config: missing, data }),
    /^Error: init\.discriminator: .*absent\.safetensors/,
  );
  await assert.rejects(Deno.stat(`${dir}/bad`), Deno.errors.NotFound);
  source.dispose();
  await Deno.remove(dir, { recursive: true });
});
