/**
 * The progressive training loop, read top to bottom: prepare the run, load data, construct networks,
 * then per depth (4 px upward) and epoch: per batch a D step and a G step, EMA, then maintenance
 * (logs, samples, checkpoints, metrics). Official StyleGAN behaviour throughout (see model/config.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TrainConfig } from "../config.ts";
import { Generator } from "../networks/generator.ts";
import { ParameterTree } from "../layers/parameters.ts";
import { Discriminator } from "../networks/discriminator.ts";
import type { GeneratorOptions } from "../networks/options.ts";
import { latentsFromSeeds, RandomState } from "../seeds.ts";
import {
  discriminatorGradients,
  fakeImages,
  generatorGradients,
  type LossSettings,
  type StepAugment,
  type StepLatents,
} from "./step_grads.ts";
import { drawAugmentParams, parseAugmentPolicy } from "./augment_policy.ts";
import { TrainingPool } from "../pool/training_pool.ts";
import { Adam } from "./adam.ts";
import { copyParameters, updateShadow } from "./ema.ts";
import { alphaAt, type DepthPlan, depthPlan, emaBeta, trainedDepths } from "./schedule.ts";
import { realsAtDepth } from "./reals.ts";
import { RunDir, type TrainState } from "./run_dir.ts";
import { sampleGridPng } from "./sample_grid.ts";
import { writeFileAtomic } from "../files.ts";
import { type Raster8, toRgb8 } from "../images.ts";
import { SlicedWassersteinMetric } from "../metrics/swd.ts";
import { tfProjector } from "../metrics/tf_projection.ts";
import { type SWDReport, swdReport } from "../metrics/report.ts";
import type { Runtime } from "../runtime.ts";

/** Real images for training, served batch by batch with a resumable random state. */
export interface TrainingData {
  /** Images in the dataset. */
  count: number;
  /** Ground sample distance of the images at the training resolution, metres per pixel. */
  gsdM: number;
  /** Shuffle for a new epoch. */
  beginEpoch(): void;
  /** The next `size` images [size, R, R, C] in [−1, 1], augmented. */
  nextBatch(size: number): tf.Tensor4D;
  getState(): unknown;
  setState(state: unknown): void;
  /** `n` real tiles at `resolution`, the same ones every time (for the in-training MS-SWD). */
  evalImages?(n: number, resolution: number): Raster8[];
  /**
   * How the data maps to [−1, 1] and back (model/geo/normalization.ts), stored as JSON under
   * `normalization` in every checkpoint so that outputs come back in the data's units (metres, classes).
   */
  normalization?: object;
}

/** What the loop reports as it goes (the CLI prints it; the server streams it). */
export type TrainEvent =
  | {
    type: "progress";
    depth: number;
    resolution: number;
    epoch: number;
    epochs: number;
    batch: number;
    batches: number;
    alpha: number;
    kimg: number;
    dLoss: number;
    gLoss: number;
    imgPerS: number;
    elapsed: number;
  }
  | { type: "log"; line: string }
  | { type: "warning"; message: string }
  | { type: "sample"; path: string; depth: number; epoch: number; batch: number }
  | { type: "checkpoint"; path: string }
  | { type: "metrics"; kimg: number; report: SWDReport }
  | { type: "depth"; depth: number; resolution: number; metresPerPixel: number }
  | { type: "done"; kimg: number; generator: string }
  | { type: "stopped"; kimg: number; checkpoint: string };

/** Options of a training session. */
export interface TrainOptions {
  config: TrainConfig;
  data: TrainingData;
  /** Continue the run found in config.output_dir. */
  resume?: boolean;
  /** Stop at the next safe point (a checkpoint is written first). */
  signal?: AbortSignal;
  onEvent?: (event: TrainEvent) => void;
  /** Stop after this many optimisation steps in this session (tests and benchmarks). */
  maxSteps?: number;
  /**
   * Data-parallel worker processes (model/pool/training_pool.ts) that compute the gradients of shares of every
   * batch; 0 or undefined: everything in this process. Only on the wasm and cpu backends.
   */
  workers?: number;
  /** The runtime the workers run with (this process's, from the entry point); without it, their inherited variables. */
  runtime?: Runtime;
}

/** Generator hyper-parameters from a training config. */
export function generatorOptionsOf(config: TrainConfig): Partial<GeneratorOptions> & { resolution: number } {
  return {
    resolution: config.dataset.resolution,
    num_channels: config.dataset.channels,
    structure: config.structure,
    ...config.model.gen,
  };
}

/** Discriminator hyper-parameters from a training config. */
export function discriminatorOptionsOf(config: TrainConfig) {
  return {
    resolution: config.dataset.resolution,
    num_channels: config.dataset.channels,
    structure: config.structure,
    ...config.model.dis,
  };
}

/** Number of fixed latents in the sample grids. */
const SAMPLE_COUNT = 16;

function formatElapsed(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${
    String(s % 60).padStart(2, "0")
  }`;
}

/** Run (or continue) training; resolves when the schedule is done or a stop was requested. */
export async function train(options: TrainOptions): Promise<TrainState> {
  const { config, data } = options;
  const emit = options.onEvent ?? (() => {});
  const run = new RunDir(config.output_dir);
  const depths = trainedDepths(config);

  // Construct networks.
  const G = new Generator(generatorOptionsOf(config), ParameterTree.seeded(config.seed));
  const Gs = new Generator(generatorOptionsOf(config));
  const D = new Discriminator(discriminatorOptionsOf(config), ParameterTree.seeded(config.seed + 1));
  copyParameters(Gs.params, G.params);
  const gParams = G.params.entries().filter((p) => p.trainable);
  const dParams = D.params.entries().filter((p) => p.trainable);
  const gOptim = new Adam(gParams, { ...config.model.g_optim });
  const dOptim = new Adam(dParams, { ...config.model.d_optim });
  const nets = { G, Gs, D, gOptim, dOptim };
  const sampleSeeds = [...Array(SAMPLE_COUNT).keys()];
  const sampleZ = tf.tensor2d(
    latentsFromSeeds(sampleSeeds, config.model.gen.latent_size),
    [SAMPLE_COUNT, config.model.gen.latent_size],
  );
  const metadata = {
    name: config.output_dir.split("/").filter(Boolean).pop() ?? "run",
    gsd_m: String(data.gsdM),
    training_config: JSON.stringify(config),
    ...(data.normalization ? { normalization: JSON.stringify(data.normalization) } : {}),
  };

  // Fresh start or resume.
  const rng = new RandomState(config.seed);
  let state: TrainState = {
    depthIndex: 0,
    epoch: 1,
    batchInEpoch: 0,
    ticker: 0,
    step: 0,
    kimg: 0,
    nanStreak: 0,
    elapsed: 0,
    rng: undefined,
    sampler: undefined,
    dLoss: NaN,
    gLoss: NaN,
  };
  await run.prepare(config);
  if (options.resume) {
    state = await run.restore(nets);
    if (state.depthIndex >= depths.length) {
      // Runs finished by earlier versions moved past their last depth; put them back on it (epoch =
      // epochs done + 1, fade-in over) so that more epochs there can be trained. The epochs done are in
      // the last checkpoint's name (…_{depth}_{epoch}.safetensors).
      const pointer = await run.readLatest();
      const done = Number(/_(\d+)\.safetensors$/.exec(pointer?.files.gen ?? "")?.[1] ?? NaN);
      if (!Number.isInteger(done)) {
        throw new Error(`${run.models}: cannot tell how many epochs the run finished`);
      }
      const last = depthPlan(config, depths[depths.length - 1], data.count);
      state = {
        ...state,
        depthIndex: depths.length - 1,
        epoch: done + 1,
        ticker: done * last.batchesPerEpoch,
        fadeDone: true,
      };
    }
    rng.setState(state.rng as ReturnType<RandomState["getState"]>);
    data.setState(state.sampler);
  }

  const latents = (n: number) =>
    tf.tensor2d(Float32Array.from(rng.randn(n * config.model.gen.latent_size)), [
      n,
      config.model.gen.latent_size,
    ]);
  const noiseFromRng = (shape: [number, number, number, number]) =>
    tf.tensor4d(Float32Array.from(rng.randn(shape[0] * shape[1] * shape[2] * shape[3])), shape);

  /** The loss settings at a depth (R1's γ resolved for its resolution and minibatch). */
  const lossAt = (plan: DepthPlan): LossSettings => ({ ...config.model, r1_gamma: plan.r1Gamma });
  /** Whether this step's D loss carries the (lazy) R1 penalty. */
  const r1ThisStep = (plan: DepthPlan) =>
    config.model.loss === "logistic" && plan.r1Gamma > 0 && state.step % config.model.r1_interval === 0;
  const augmentPolicy = parseAugmentPolicy(config.augment.policy);
  /**
   * The DiffAugment parameters of a step's three batches before D (D step reals and fakes, G step fakes),
   * drawn here for this process and the workers alike; nothing is drawn without a policy.
   */
  const drawAugment = (n: number, size: number): { d?: StepAugment; g?: StepAugment } => {
    if (augmentPolicy.length === 0) return {};
    const draw = () => drawAugmentParams(rng, n, size, augmentPolicy, config.augment.translation_padding);
    const d = { reals: draw(), fakes: draw() };
    return { d, g: { fakes: draw() } };
  };
  /** WGAN-GP's per-sample mixing weights of reals and fakes (none for the other losses). */
  const penaltyMix = (n: number) =>
    config.model.loss === "wgan-gp"
      ? tf.tensor1d(Float32Array.from({ length: n }, () => rng.randomSample()))
      : undefined;

  /** D's optimizer step when its loss is finite (the version tells data-parallel workers). Frees the gradients. */
  const updateD = (grads: Map<string, tf.Tensor>, dLoss: number) => {
    if (Number.isFinite(dLoss)) {
      dOptim.apply(grads);
      weightVersions.d++;
    }
    tf.dispose([...grads.values()]);
  };
  /** G's optimizer step and EMA when both losses are finite. Frees the gradients. */
  const updateG = (grads: Map<string, tf.Tensor>, gLoss: number, dLoss: number, batch: number) => {
    if (Number.isFinite(gLoss) && Number.isFinite(dLoss)) {
      gOptim.apply(grads);
      weightVersions.g++;
      updateShadow(Gs.params, G.params, emaBeta(config.model.g_ema_kimg, batch));
    }
    tf.dispose([...grads.values()]);
  };

  const sessionStart = performance.now();
  const elapsed = () => state.elapsed + (performance.now() - sessionStart) / 1000;
  let sessionSteps = 0;
  let lastCheckpoint = performance.now();
  const log = async (line: string) => {
    emit({ type: "log", line });
    await run.appendLog(line);
  };

  // Fade-in alpha at the current ticker; once it has reached 1 at a depth it stays 1 (a resume that adds
  // epochs moves the fade point, and must not fade the finished layers in again).
  const currentAlpha = (plan: DepthPlan): number => {
    if (config.structure === "fixed" || state.fadeDone) return 1;
    const alpha = alphaAt(plan, state.ticker);
    if (alpha >= 1) state.fadeDone = true;
    return alpha;
  };

  const snapshot = (): TrainState => ({
    ...state,
    elapsed: elapsed(),
    rng: rng.getState(),
    sampler: data.getState(),
  });
  const checkpoint = async (tag: string) => {
    const pointer = await run.writeCheckpoint(tag, nets, snapshot(), metadata);
    lastCheckpoint = performance.now();
    emit({ type: "checkpoint", path: `${run.models}/${pointer.files.shadow}` });
    return pointer;
  };

  let pool: TrainingPool | undefined;
  /** Bumped on every optimizer update, so the workers get a network's weights only when they changed. */
  const weightVersions = { g: 0, d: 0 };
  if (options.workers && options.workers > 0) {
    try {
      pool = await TrainingPool.start(
        {
          workers: options.workers,
          backend: tf.getBackend(),
          generator: generatorOptionsOf(config),
          discriminator: discriminatorOptionsOf(config),
          loss: config.model,
          runtime: options.runtime,
        },
        G,
        D,
      );
      await log(`data-parallel: ${pool.size} worker processes, each ${pool.detail}`);
    } catch (e) {
      // Training goes on without them: slower, not wrong.
      const message = `data-parallel workers could not start (${
        (e as Error).message
      }); training in this process`;
      emit({ type: "warning", message });
      await log(message);
    }
  }

  try {
    while (state.depthIndex < depths.length) {
      const depth = depths[state.depthIndex];
      const plan = depthPlan(config, depth, data.count);
      // A finished run stays at its last depth with epoch = epochs + 1, so that resuming it with more
      // epochs there (`--set sched.epochs=[...]`) simply goes on training, without a fade-in or an
      // optimizer reset.
      if (state.epoch > plan.epochs) break;
      if (state.ticker === 0) {
        // Official StyleGAN resets the optimizer state whenever the resolution changes.
        gOptim.reset();
        dOptim.reset();
      }
      gOptim.options.learning_rate = plan.gLearningRate;
      dOptim.options.learning_rate = plan.dLearningRate;
      const mpp = data.gsdM * 2 ** (depths[depths.length - 1] - depth);
      emit({ type: "depth", depth, resolution: plan.resolution, metresPerPixel: mpp });
      await log(
        `Currently working on depth: ${depth + 1} (${plan.resolution} px, ${mpp.toPrecision(3)} m/px)`,
      );
      if (state.batchInEpoch === 0) data.beginEpoch();
      await log(`Epoch: [${state.epoch}]`);
      const epochStart = performance.now();
      let epochImages = 0;

      while (state.batchInEpoch < plan.batchesPerEpoch) {
        if (options.signal?.aborted || (options.maxSteps !== undefined && sessionSteps >= options.maxSteps)) {
          const pointer = await checkpoint(`${depth}_${state.epoch}_${state.batchInEpoch}`);
          emit({ type: "stopped", kimg: state.kimg, checkpoint: `${run.models}/${pointer.files.shadow}` });
          return snapshot();
        }
        state.ticker++;
        const alpha = currentAlpha(plan);
        const [dLoss, gLoss] = await trainStep(plan, depth, alpha);
        state.batchInEpoch++;
        state.step++;
        sessionSteps++;
        state.kimg += plan.batchSize / 1000;
        epochImages += plan.batchSize;

        // Maintenance.
        if (!Number.isFinite(dLoss) || !Number.isFinite(gLoss)) {
          state.nanStreak++;
          emit({
            type: "warning",
            message: `step ${state.step}: non-finite loss (D ${dLoss}, G ${gLoss}); step skipped`,
          });
          await log(
            `Step: ${state.step}  non-finite loss (D_Loss: ${dLoss}  G_Loss: ${gLoss}); update skipped`,
          );
          if (state.nanStreak >= config.max_nan_steps) {
            throw new Error(
              `${state.nanStreak} consecutive non-finite losses at step ${state.step}; stopping. ` +
                `The last checkpoint in ${run.models} is usable (resume with a lower learning rate).`,
            );
          }
        } else {
          state.nanStreak = 0;
          state.dLoss = dLoss;
          state.gLoss = gLoss;
        }
        const imgPerS = epochImages / ((performance.now() - epochStart) / 1000);
        emit({
          type: "progress",
          depth,
          resolution: plan.resolution,
          epoch: state.epoch,
          epochs: plan.epochs,
          batch: state.batchInEpoch,
          batches: plan.batchesPerEpoch,
          alpha,
          kimg: state.kimg,
          dLoss,
          gLoss,
          imgPerS,
          elapsed: elapsed(),
        });
        if (state.batchInEpoch % config.log_every === 0 || state.batchInEpoch === 1) {
          await log(
            `Elapsed: [${formatElapsed(elapsed())}] Step: ${state.step}  Batch: ${state.batchInEpoch}  ` +
              `D_Loss: ${dLoss.toFixed(6)}  G_Loss: ${gLoss.toFixed(6)}`,
          );
        }
        if (state.batchInEpoch % config.sample_every === 0) await writeSamples(depth, alpha);
        if (
          config.metrics_kimg > 0 &&
          Math.floor(state.kimg / config.metrics_kimg) >
            Math.floor((state.kimg - plan.batchSize / 1000) / config.metrics_kimg)
        ) {
          await writeMetrics(depth, alpha, mpp);
        }
        if (
          (performance.now() - lastCheckpoint) / 60000 >= config.checkpoint_minutes &&
          state.batchInEpoch < plan.batchesPerEpoch
        ) {
          await checkpoint(`${depth}_${state.epoch}_${state.batchInEpoch}`);
        }
      }

      // The epoch is complete: samples, then a checkpoint that points at the start of what comes next.
      await log(`Time taken for epoch: ${((performance.now() - epochStart) / 1000).toFixed(3)} secs`);
      await writeSamples(depth, currentAlpha(plan));
      const tag = `${depth}_${state.epoch}`;
      if (state.epoch < plan.epochs || state.depthIndex === depths.length - 1) {
        state.epoch++;
      } else {
        state.depthIndex++;
        state.epoch = 1;
        state.ticker = 0;
        state.fadeDone = false;
      }
      state.batchInEpoch = 0;
      await checkpoint(tag);
    }
    const final = `${run.models}/GAN_GEN_SHADOW_${depths[depths.length - 1]}_${
      config.sched.epochs[depths[depths.length - 1]]
    }.safetensors`;
    await log(`Training completed: ${state.kimg.toFixed(1)} kimg in ${formatElapsed(elapsed())}`);
    emit({ type: "done", kimg: state.kimg, generator: final });
    return snapshot();
  } finally {
    await pool?.close();
    tf.dispose(sampleZ);
    gOptim.dispose();
    dOptim.dispose();
    G.dispose();
    Gs.dispose();
    D.dispose();
  }

  /** One D step and one G step; resolves to the two losses. */
  async function trainStep(plan: DepthPlan, depth: number, alpha: number): Promise<[number, number]> {
    const n = plan.batchSize;
    const curLayers = 2 * (depth + 1);
    const mixing = () => {
      // Official StyleGAN: with probability p, layers from a uniform cutoff in [1, cur_layers) use a second latent.
      if (config.model.gen.style_mixing_prob > 0 && rng.randomSample() < config.model.gen.style_mixing_prob) {
        return 1 + Math.floor(rng.randomSample() * (curLayers - 1));
      }
      return undefined;
    };
    /** The latents of one G pass: z, and z2 with its layer cutoff when styles are mixed. */
    const drawLatents = (): StepLatents => {
      const mixingCutoff = mixing();
      const z = latents(n);
      const z2 = mixingCutoff !== undefined ? latents(n) : undefined;
      return { z, z2, mixingCutoff };
    };
    const augment = drawAugment(n, plan.resolution);
    if (pool) return await parallelStep(pool, plan, depth, alpha, drawLatents, augment);
    const run = { depth, alpha, noise: noiseFromRng };
    const loss = lossAt(plan);

    // D step.
    const reals = tf.tidy(() => realsAtDepth(data.nextBatch(n), depth, G.depthCount, alpha));
    const dLatents = drawLatents();
    const fakes = fakeImages(G, dLatents, run);
    tf.dispose([dLatents.z, dLatents.z2]);
    const gpMix = penaltyMix(n);
    const dResult = discriminatorGradients(
      D,
      dParams,
      loss,
      { ...run, augment: augment.d },
      reals,
      fakes,
      r1ThisStep(plan),
      gpMix,
    );
    tf.dispose([reals, fakes, gpMix]);
    const dLoss = (await dResult.loss.data())[0];
    dResult.loss.dispose();
    updateD(dResult.grads, dLoss);

    // G step.
    const gLatents = drawLatents();
    const gResult = generatorGradients(G, D, gParams, loss, gLatents, { ...run, augment: augment.g });
    tf.dispose([gLatents.z, gLatents.z2]);
    const gLoss = (await gResult.loss.data())[0];
    gResult.loss.dispose();
    updateG(gResult.grads, gLoss, dLoss, n);
    return [dLoss, gLoss];
  }

  /**
   * One D step and one G step with the gradients computed by the worker processes on shares of the batch.
   * The W average is moved here by the whole batch's mean, as one process would.
   */
  async function parallelStep(
    pool: TrainingPool,
    plan: DepthPlan,
    depth: number,
    alpha: number,
    drawLatents: () => StepLatents,
    augment: { d?: StepAugment; g?: StepAugment },
  ): Promise<[number, number]> {
    const n = plan.batchSize;
    const followAverage = (z: tf.Tensor2D) => tf.tidy(() => G.truncation.update(G.gMapping.apply(z)));
    const versions = () => ({ ...weightVersions });

    // D step.
    const reals = tf.tidy(() => realsAtDepth(data.nextBatch(n), depth, G.depthCount, alpha));
    const dLatents = drawLatents();
    followAverage(dLatents.z);
    const gpMix = penaltyMix(n);
    let dResult;
    try {
      dResult = await pool.discriminatorStep(G, D, dParams, {
        depth,
        alpha,
        reals,
        ...dLatents,
        useR1: r1ThisStep(plan),
        r1Gamma: plan.r1Gamma,
        gpMix,
        augment: augment.d,
        noiseSeed: rng.nextUint32(),
        versions: versions(),
      });
    } finally {
      tf.dispose([reals, dLatents.z, dLatents.z2, gpMix]);
    }
    updateD(dResult.grads, dResult.loss);

    // G step.
    const gLatents = drawLatents();
    followAverage(gLatents.z);
    let gResult;
    try {
      gResult = await pool.generatorStep(G, D, gParams, {
        depth,
        alpha,
        ...gLatents,
        augment: augment.g,
        noiseSeed: rng.nextUint32(),
        versions: versions(),
      });
    } finally {
      tf.dispose([gLatents.z, gLatents.z2]);
    }
    updateG(gResult.grads, gResult.loss, dResult.loss, n);
    return [dResult.loss, gResult.loss];
  }

  /** MS-SWD of the shadow generator against real tiles at the current depth, appended to metrics.jsonl. */
  async function writeMetrics(depth: number, alpha: number, metresPerPixel: number): Promise<void> {
    const resolution = 4 * 2 ** depth;
    if (!data.evalImages || resolution < 16) return; // the Laplacian pyramid stops at 16 px
    const n = config.metrics_images;
    const reals = data.evalImages(n, resolution);
    const fakes: Raster8[] = [];
    for (let i = 0; i < reals.length; i += 32) {
      const count = Math.min(32, reals.length - i);
      const z = tf.tensor2d(
        latentsFromSeeds(Array.from({ length: count }, (_, k) => i + k), config.model.gen.latent_size),
        [count, config.model.gen.latent_size],
      );
      const images = tf.tidy(() => Gs.gSynthesis.apply(Gs.mapping(z, 1), { depth, alpha, noise: "const" }));
      fakes.push(...await toRgb8(images));
      tf.dispose([z, images]);
    }
    const metric = new SlicedWassersteinMetric(resolution, config.dataset.channels, {}, tfProjector);
    const report = swdReport(
      metric.distance(metric.describe(reals), metric.describe(fakes)),
      resolution,
      metresPerPixel,
      metric.options,
    );
    await Deno.writeTextFile(
      run.metrics,
      JSON.stringify({ kimg: +state.kimg.toFixed(3), depth, alpha, ...report }) + "\n",
      { append: true },
    );
    emit({ type: "metrics", kimg: state.kimg, report });
    await log(
      `MS-SWD at ${state.kimg.toFixed(1)} kimg (${resolution} px): ${
        report.levels.map((l) => `${l.metres_per_pixel.toPrecision(3)} m ${l.swd_x1e3.toFixed(1)}`).join(", ")
      }; average ${report.average_x1e3.toFixed(1)}`,
    );
  }

  async function writeSamples(depth: number, alpha: number): Promise<void> {
    const path = `${run.samples}/gen_${depth}_${state.epoch}_${state.batchInEpoch}.png`;
    await writeFileAtomic(path, await sampleGridPng(Gs, sampleZ, sampleSeeds, depth, alpha, 4));
    emit({ type: "sample", path, depth, epoch: state.epoch, batch: state.batchInEpoch });
  }
}
