/** No tensor leaks in training: tf.memory().numTensors is flat from step to step (R1 steps and plain ones). */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadConfig } from "../../../model/config.ts";
import { train } from "../../../model/train/loop.ts";
import { useBackend } from "../../support/backends.ts";
import { repeatedBatch, TINY_NETWORK, tinySchedule } from "../../support/tiny_training.ts";

Deno.test("training steps leak no tensors", async () => {
  await useBackend("wasm");
  const dir = await Deno.makeTempDir();
  const batch = 4;
  const steps = 12;
  const config = await loadConfig(undefined, [
    ...TINY_NETWORK,
    ...tinySchedule([1, 1, 6], batch),
    "structure=fixed", // 16 px only: 2 batches per epoch, 6 epochs
    "dataset.img_dir=synthetic",
    `output_dir=${dir}`,
    "model.r1_interval=2", // R1 steps and plain D steps alternate
    "checkpoint_minutes=100000",
    "sample_every=100000",
    "log_every=100000",
  ]);
  const pixels = tf.randomUniform([batch, 16, 16, 3], -1, 1, "float32", 5) as tf.Tensor4D;
  const data = repeatedBatch(pixels, batch * 2);
  const counts: number[] = [];
  try {
    await train({
      config,
      data,
      maxSteps: steps,
      onEvent: (e) => e.type === "progress" && counts.push(tf.memory().numTensors),
    });
  } finally {
    pixels.dispose();
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(counts.length, steps);
  // Step 1 creates the optimizers' moments; from then on every step ends with as many tensors as the last
  // (epoch ends write checkpoints and samples in between: they must not leak either).
  assert.deepEqual(counts.slice(1), Array(steps - 1).fill(counts[1]), `tensors after each step: ${counts}`);
});
