/**
 * The training-memory estimate (model/train/memory.ts): parameter counts worked by hand for the tiny test network
 * and equal to the trainable variables of built networks (two configurations), the activation term by hand, and
 * the refusal of settings that cannot fit, with the limit in the message — from the function and from the CLI.
 */
import assert from "node:assert/strict";
import { configFromJson, loadConfig, type TrainConfig } from "../../../model/config.ts";
import { Discriminator } from "../../../model/networks/discriminator.ts";
import { Generator } from "../../../model/networks/generator.ts";
import type { ParameterTree } from "../../../model/layers/parameters.ts";
import { discriminatorOptionsOf, generatorOptionsOf } from "../../../model/train/loop.ts";
import {
  checkTrainingMemory,
  discriminatorParameterCount,
  estimateTrainingMemory,
  generatorParameterCount,
  TENSORS_PER_LAYER,
  TrainingMemoryError,
} from "../../../model/train/memory.ts";
import { useBackend } from "../../support/backends.ts";
import { runCli } from "../../support/cli.ts";
import { TINY_NETWORK, tinySchedule } from "../../support/tiny_training.ts";

function trainable(params: ParameterTree): number {
  return params.entries().filter((p) => p.trainable).reduce((sum, p) => sum + p.variable.size, 0);
}

async function builtCounts(config: TrainConfig): Promise<[number, number]> {
  await useBackend("cpu");
  const G = new Generator(generatorOptionsOf(config));
  const D = new Discriminator(discriminatorOptionsOf(config));
  try {
    return [trainable(G.params), trainable(D.params)];
  } finally {
    G.dispose();
    D.dispose();
  }
}

const tiny = () =>
  loadConfig(undefined, [...TINY_NETWORK, ...tinySchedule([1, 1, 1], 8), "dataset.img_dir=x"]);

Deno.test("parameter counts: by hand for the tiny network, and equal to the built networks", async () => {
  const config = await tiny();
  // 16 px, nf(s) = min(64 / 2^s, 16): nf(0..3) = 16, 16, 16, 8; latent = dlatent = mapping_fmaps = 16.
  // G mapping: 2 × (16·16 + 16) = 544.
  // One epilogue of c channels: noise c + style 16·2c + 2c. c = 16: 560; c = 8: 280.
  // 4 px: const 16·16 + bias 16 + 2 × 560 + conv 9·16·16 + 16 = 256 + 16 + 1120 + 2320 = 3712.
  // 8 px: conv_up 9·16·16 + 16 = 2320, conv 2320, epilogues 1120: 5760.
  // 16 px: conv_up 9·16·8 + 8 = 1160, conv 9·8·8 + 8 = 584, epilogues 560: 2304.
  // toRGB: (16·3 + 3) × 2 + (8·3 + 3) = 129.  G = 544 + 3712 + 5760 + 2304 + 129 = 12449.
  assert.equal(generatorParameterCount(config), 12449);
  // D, 16 px block: conv 9·8·8 + 8 = 584, conv_down 9·8·16 + 16 = 1168; 8 px block: 2 × (9·16·16 + 16) = 4640;
  // 4 px: conv (16 + 1 mbstd)·16·9 + 16 = 2464, dense 256·16 + 16 = 4112, score 16 + 1 = 17;
  // fromRGB: 3·8 + 8 + 2 × (3·16 + 16) = 160.  D = 584 + 1168 + 4640 + 2464 + 4112 + 17 + 160 = 13145.
  assert.equal(discriminatorParameterCount(config), 13145);
  assert.deepEqual(await builtCounts(config), [12449, 13145]);

  // Another layout: 32 px, 4 bands, 3 mapping layers of other widths, another fmap decay, two mbstd channels.
  const other = configFromJson(
    JSON.stringify({
      dataset: { img_dir: "x", resolution: 32, channels: 4 },
      model: {
        gen: {
          latent_size: 8,
          dlatent_size: 12,
          mapping_fmaps: 20,
          mapping_layers: 3,
          fmap_base: 128,
          fmap_max: 32,
          fmap_decay: 0.8,
        },
        dis: { fmap_base: 96, fmap_max: 24, mbstd_group_size: 2, mbstd_num_features: 2 },
      },
      sched: { batch_sizes: [4, 4, 4, 4], epochs: [1, 1, 1, 1], fade_in_percentage: [50, 50, 50, 50] },
    }),
    "test",
  );
  assert.deepEqual(await builtCounts(other), [
    generatorParameterCount(other),
    discriminatorParameterCount(other),
  ]);
});

Deno.test("memory estimate: parameters and activations by hand; settings that cannot fit are refused", async () => {
  const config = await tiny();
  const estimate = estimateTrainingMemory(config);
  // G, Gs, D, Adam's two moments and gradients: 4 bytes × (5 · 12449 + 4 · 13145) = 459300.
  assert.equal(estimate.parameterBytes, 459300);
  // Per image, 2 layers of G and 2 of D per level: 4 px 2·16·16·2 = 1024, 8 px 2·64·16·2 = 4096,
  // 16 px 2·256·8·2 = 8192; all levels at 16 px: 13312 values × batch 8 × TENSORS_PER_LAYER × 4 bytes.
  assert.equal(estimate.activationBytes, 13312 * 8 * TENSORS_PER_LAYER * 4);
  assert.deepEqual([estimate.peakResolution, estimate.peakBatch], [16, 8]);
  assert.equal(estimate.totalBytes, estimate.parameterBytes + estimate.activationBytes);
  assert.equal(checkTrainingMemory(config, 2 ** 30).totalBytes, estimate.totalBytes); // fits in 1 GiB

  const huge = await loadConfig(undefined, [
    ...TINY_NETWORK,
    ...tinySchedule([1, 1, 1], 8),
    "dataset.img_dir=x",
    "model.gen.latent_size=1000000000",
  ]);
  // The mapping's first layer alone: 1e9 × 16 weights, × 5 copies × 4 bytes = 320 GB.
  assert.ok(estimateTrainingMemory(huge).parameterBytes > 3.2e11);
  assert.throws(() => checkTrainingMemory(huge, 16 * 2 ** 30), (e: Error) => {
    assert.ok(e instanceof TrainingMemoryError);
    assert.match(e.message, /^these settings need about 29\d\.?\d* GiB of memory/);
    assert.match(e.message, /the limit is 12\.8 GiB \(80% of this machine's 16\.0 GiB\)/);
    assert.match(e.message, /Lower model\.gen\.latent_size/);
    return true;
  });
});

Deno.test("deno task train refuses settings that cannot fit, in one line, before building anything", async () => {
  const out = await Deno.makeTempDir({ prefix: "sgan-memory-cli-" });
  try {
    const { code, stderr } = await runCli("train.ts", [
      ...[...TINY_NETWORK, "dataset.img_dir=/nonexistent/list.txt", `output_dir=${out}/run`].flatMap((s) => [
        "--set",
        s,
      ]),
      "--set",
      "model.gen.latent_size=1000000000",
    ]);
    assert.equal(code, 2, stderr);
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0], /^error: these settings need about .* GiB of memory .* the limit is .* GiB/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
