/**
 * Time training steps as `deno task train` runs them: fixed structure at one resolution, one D step
 * (logistic + R1 every step) and one G step (non-saturating, style mixing 0.9) per batch, on random
 * data (the data pipeline is not what is measured). Returns the median seconds per step after warm-up.
 */
import * as tf from "@tensorflow/tfjs-core";
import { loadConfig } from "../model/config.ts";
import { train, type TrainingData } from "../model/train/loop.ts";
import type { GeneratorOptions } from "../model/networks/options.ts";

export interface TrainBenchCase {
  resolution: number;
  batch: number;
  channels: Partial<GeneratorOptions>;
  /** Steps timed after two warm-up steps. */
  steps: number;
  /** Data-parallel worker processes (0: none). */
  workers?: number;
  /** Further `--set` settings (e.g. `augment.policy=color,translation,cutout`). */
  settings?: string[];
}

export async function trainingStepSeconds(c: TrainBenchCase): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "sgan-bench-" });
  const depths = Math.log2(c.resolution) - 1;
  const perDepth = (v: number) => `[${Array(depths).fill(v).join(",")}]`;
  const config = await loadConfig(undefined, [
    "dataset.img_dir=synthetic",
    `dataset.resolution=${c.resolution}`,
    "structure=fixed",
    `output_dir=${dir}`,
    `model.gen.fmap_base=${c.channels.fmap_base}`,
    `model.gen.fmap_max=${c.channels.fmap_max}`,
    `model.dis.fmap_base=${c.channels.fmap_base}`,
    `model.dis.fmap_max=${c.channels.fmap_max}`,
    `sched.batch_sizes=${perDepth(c.batch)}`,
    `sched.epochs=${perDepth(1)}`,
    "checkpoint_minutes=100000",
    "sample_every=100000",
    "log_every=100000",
    ...c.settings ?? [],
  ]);
  const count = c.batch * (c.steps + 3);
  const pixels = tf.randomUniform([c.batch, c.resolution, c.resolution, 3], -1, 1);
  const data: TrainingData = {
    count,
    gsdM: 1,
    beginEpoch() {},
    nextBatch: () => tf.clone(pixels) as tf.Tensor4D,
    getState: () => null,
    setState() {},
  };
  const stamps: number[] = [];
  try {
    await train({
      config,
      data,
      maxSteps: c.steps + 2,
      workers: c.workers ?? 0,
      onEvent: (e) => e.type === "progress" && stamps.push(performance.now()),
    });
  } finally {
    pixels.dispose();
    await Deno.remove(dir, { recursive: true });
  }
  const durations = stamps.slice(2).map((t, i) => (t - stamps[i + 1]) / 1000).sort((a, b) => a - b);
  return durations[Math.floor(durations.length / 2)];
}
