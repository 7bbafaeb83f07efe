/**
 * Time training steps as `deno task train` runs them: fixed structure at one resolution, one D step
 * (logistic + R1) and one G step (non-saturating, style mixing 0.9) per batch, on random data (the data
 * pipeline is not what is measured). bench/reference/stylegan_torch.py `--train` times the same step in PyTorch.
 */
import * as tf from "@tensorflow/tfjs-core";
import { loadConfig } from "../model/config.ts";
import { train, type TrainingData } from "../model/train/loop.ts";
import type { GeneratorOptions } from "../model/networks/options.ts";
import { parseTrafficLine } from "../model/train/gradient_source.ts";
import type { PoolTraffic } from "../model/pool/training_pool.ts";

export interface TrainBenchCase {
  resolution: number;
  batch: number;
  /** Channels of G and D (both); omitted: the config's own. */
  channels?: Partial<GeneratorOptions>;
  /** Steps timed after the warm-up (rounded up to whole R1 cycles). */
  steps: number;
  /** Data-parallel worker processes (0: none). */
  workers?: number;
  /** The workers' floats in shared memory (default) or, false, on the pipes. */
  sharedMemory?: boolean;
  /** Further `--set` settings (e.g. `augment.policy=color,translation,cutout`). */
  settings?: string[];
  /**
   * A training config (YAML) whose networks, losses and optimizers are timed (e.g. configs/ucmerced-64.yaml);
   * omitted: the defaults (R1 on every step). Its data, structure, schedule and output are replaced as above.
   */
  configFile?: string;
  /**
   * Milliseconds since some origin, read at the end of each step; omitted: the wall clock. A CPU-time clock
   * (bench/fused_epilogue_ab.ts) measures the work of a step when other processes stretch its wall time.
   */
  clock?: () => number;
}

/**
 * The warm-up and timed step counts for R1 every `interval` steps: the warm-up is a whole number of cycles
 * (at least two steps), so every timed cycle starts on an R1 step, as the loop places them (step % interval == 0).
 */
export function stepPlan(interval: number, steps: number): { warmup: number; cycles: number } {
  return { warmup: Math.max(2, interval), cycles: Math.max(1, Math.ceil(steps / interval)) };
}

/**
 * Median seconds per step: the median over cycles of `interval` steps (one of which carries R1) divided by
 * the interval. `stamps[j]` is the end of step j.
 */
export function secondsPerStep(stamps: number[], interval: number, warmup: number): number {
  const cycles: number[] = [];
  for (let end = warmup - 1 + interval; end < stamps.length; end += interval) {
    cycles.push((stamps[end] - stamps[end - interval]) / 1000 / interval);
  }
  if (cycles.length === 0) {
    throw new Error(`no whole cycle of ${interval} steps after ${warmup} warm-up steps`);
  }
  cycles.sort((a, b) => a - b);
  return cycles[Math.floor(cycles.length / 2)];
}

export async function trainingStepSeconds(c: TrainBenchCase): Promise<number> {
  return (await trainingStepTiming(c)).seconds;
}

/** Median seconds per step and, with workers, the median step's bytes on the pipes (all workers together). */
export async function trainingStepTiming(
  c: TrainBenchCase,
): Promise<{ seconds: number; traffic?: PoolTraffic }> {
  const dir = await Deno.makeTempDir({ prefix: "sgan-bench-" });
  const depths = Math.log2(c.resolution) - 1;
  const perDepth = (v: number) => `[${Array(depths).fill(v).join(",")}]`;
  const channels = c.channels
    ? [
      `model.gen.fmap_base=${c.channels.fmap_base}`,
      `model.gen.fmap_max=${c.channels.fmap_max}`,
      `model.dis.fmap_base=${c.channels.fmap_base}`,
      `model.dis.fmap_max=${c.channels.fmap_max}`,
    ]
    : [];
  const config = await loadConfig(c.configFile, [
    "dataset.img_dir=synthetic",
    `dataset.resolution=${c.resolution}`,
    "structure=fixed",
    `output_dir=${dir}`,
    ...channels,
    `sched.batch_sizes=${perDepth(c.batch)}`,
    `sched.epochs=${perDepth(1)}`,
    "checkpoint_minutes=100000",
    "sample_every=100000",
    "log_every=100000",
    "metrics_kimg=0",
    ...c.settings ?? [],
  ]);
  const interval = config.model.r1_interval;
  const { warmup, cycles } = stepPlan(interval, c.steps);
  const maxSteps = warmup + cycles * interval;
  const pixels = tf.randomUniform([c.batch, c.resolution, c.resolution, config.dataset.channels], -1, 1);
  const data: TrainingData = {
    count: c.batch * (maxSteps + 1),
    gsdM: 1,
    nextBatch: () => ({ images: tf.clone(pixels) as tf.Tensor4D }),
    getState: () => null,
    setState() {},
  };
  const stamps: number[] = [];
  const clock = c.clock ?? (() => performance.now());
  let traffic: PoolTraffic | undefined;
  try {
    await train({
      config,
      data,
      maxSteps,
      workers: c.workers ?? 0,
      sharedMemory: c.sharedMemory,
      onEvent: (e) => {
        if (e.type === "progress") stamps.push(clock());
        if (e.type === "log") traffic = parseTrafficLine(e.line) ?? traffic;
      },
    });
  } finally {
    pixels.dispose();
    await Deno.remove(dir, { recursive: true });
  }
  return { seconds: secondsPerStep(stamps, interval, warmup), traffic };
}
