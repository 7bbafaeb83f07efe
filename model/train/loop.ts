/**
 * The progressive training loop, read top to bottom: prepare the run, construct networks, restore a
 * checkpoint, then step after step until the schedule is done: the run's position is one step counter
 * (schedule.ts positionAt gives depth, epoch and alpha from it), each step is step.ts's trainStep over a
 * gradient source (this process or the worker pool), and maintenance.ts's list says what runs after a step
 * (logs, samples, metrics, checkpoints). Official StyleGAN behaviour throughout (see model/config.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TrainConfig } from "../config.ts";
import { Generator } from "../networks/generator.ts";
import { ParameterTree } from "../layers/parameters.ts";
import { Discriminator } from "../networks/discriminator.ts";
import type { DiscriminatorOptions, GeneratorOptions } from "../networks/options.ts";
import { CLASS_NAMES_KEY, loadDiscriminator, loadGenerator } from "../checkpoint/checkpoint.ts";
import { latentsFromSeeds, RandomState } from "../seeds.ts";
import { parseAugmentPolicy } from "./augment_policy.ts";
import { TrainingPool } from "../pool/training_pool.ts";
import { Adam } from "./adam.ts";
import { copyParameters } from "./ema.ts";
import { warmStartDiscriminator, warmStartGenerator } from "./warm_start.ts";
import { positionAt, type RunPosition, trainedDepths } from "./schedule.ts";
import { checkpointFiles, checkpointTag, RunDir, TRAIN_STATE_VERSION, type TrainState } from "./run_dir.ts";
import { sampleGridPng } from "./sample_grid.ts";
import { writeFileAtomic } from "../files.ts";
import { type Raster8, toRgb8 } from "../images.ts";
import { SlicedWassersteinMetric } from "../metrics/swd.ts";
import { tfProjector } from "../metrics/tf_projection.ts";
import { type SWDReport, swdReport } from "../metrics/report.ts";
import { type GradientSource, InProcessGradients, PoolGradients, trafficLine } from "./gradient_source.ts";
import { type RealBatch, type StepLosses, type StepNetworks, trainStep } from "./step.ts";
import { type FinishedStep, maintenanceTasks, runMaintenance } from "./maintenance.ts";
import type { Runtime } from "../runtime.ts";

/** Real images for training, served batch by batch with a resumable random state. */
export interface TrainingData {
  /** Images in the dataset. */
  count: number;
  /** Ground sample distance of the images at the training resolution, metres per pixel. */
  gsdM: number;
  /** The next `size` images [size, R, R, C] in [−1, 1], augmented, with their classes for a labelled dataset. */
  nextBatch(size: number): RealBatch;
  /** A labelled dataset's class names, indexed by label (the run trains conditional networks on them). */
  classNames?: string[];
  /** A labelled dataset's class of every image, in the dataset's order (fake classes are drawn from it). */
  labels?: Int32Array;
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
  /**
   * The workers' weights and gradients in shared memory where it can be mapped (default), or on the pipes
   * (false: for comparisons; see model/pool/training_pool.ts).
   */
  sharedMemory?: boolean;
}

/** Generator hyper-parameters from a training config (`classes`: the dataset's, 0 for unlabelled data). */
export function generatorOptionsOf(
  config: TrainConfig,
  classes = 0,
): Partial<GeneratorOptions> & { resolution: number } {
  return {
    resolution: config.dataset.resolution,
    num_channels: config.dataset.channels,
    structure: config.structure,
    label_size: classes,
    ...config.model.gen,
  };
}

/** Discriminator hyper-parameters from a training config (`classes`: the dataset's, 0 for unlabelled data). */
export function discriminatorOptionsOf(
  config: TrainConfig,
  classes = 0,
): Partial<DiscriminatorOptions> & { resolution: number } {
  return {
    resolution: config.dataset.resolution,
    num_channels: config.dataset.channels,
    structure: config.structure,
    label_size: classes,
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
  const classNames = data.classNames ?? [];
  const classes = classNames.length;
  if (classes > 0 && data.labels?.length !== data.count) {
    throw new Error(
      `a labelled dataset needs one class per image (${data.labels?.length ?? 0} for ${data.count})`,
    );
  }
  const metresAt = (depth: number) => data.gsdM * 2 ** (depths[depths.length - 1] - depth);

  // Construct networks.
  const G = new Generator(generatorOptionsOf(config, classes), ParameterTree.seeded(config.seed));
  const Gs = new Generator(generatorOptionsOf(config, classes));
  const D = new Discriminator(discriminatorOptionsOf(config, classes), ParameterTree.seeded(config.seed + 1));
  const warmStart = !options.resume && config.init.generator
    ? await warmStartFrom(config.init.generator, G)
    : undefined;
  const warmStartD = !options.resume && config.init.discriminator
    ? await warmStartDiscriminatorFrom(config.init.discriminator, D)
    : undefined;
  copyParameters(Gs.params, G.params);
  const gParams = G.params.entries().filter((p) => p.trainable);
  const dParams = D.params.entries().filter((p) => p.trainable);
  const gOptim = new Adam(gParams, { ...config.model.g_optim });
  const dOptim = new Adam(dParams, { ...config.model.d_optim });
  const nets: StepNetworks = { G, Gs, D, gOptim, dOptim };
  const sampleSeeds = [...Array(SAMPLE_COUNT).keys()];
  const sampleZ = tf.tensor2d(
    latentsFromSeeds(sampleSeeds, config.model.gen.latent_size),
    [SAMPLE_COUNT, config.model.gen.latent_size],
  );
  // A conditional run's sample grid shows the classes in turn.
  const sampleLabels = classes > 0 ? sampleSeeds.map((i) => i % classes) : undefined;
  const metadata = {
    name: config.output_dir.split("/").filter(Boolean).pop() ?? "run",
    gsd_m: String(data.gsdM),
    training_config: JSON.stringify(config),
    ...(data.normalization ? { normalization: JSON.stringify(data.normalization) } : {}),
    ...(classes > 0 ? { [CLASS_NAMES_KEY]: JSON.stringify(classNames) } : {}),
  };

  // Fresh start or resume.
  const rng = new RandomState(config.seed);
  let step = 0;
  let fadeCompleteAt: number | undefined;
  let nanStreak = 0;
  let elapsedBefore = 0;
  let last: StepLosses = { dLoss: NaN, gLoss: NaN };
  if (options.resume) {
    const state = await run.restore(nets, (header, file) => checkSameClasses(header, file, classNames));
    checkSamePosition(state, positionAt(config, data.count, state.step, state.fadeCompleteAt), depths, run);
    ({ step, fadeCompleteAt, nanStreak } = state);
    elapsedBefore = state.elapsed;
    last = { dLoss: state.dLoss, gLoss: state.gLoss };
    rng.setState(state.rng as ReturnType<RandomState["getState"]>);
    data.setState(state.sampler);
  }
  // After the checks of a resume, so that a refused one leaves the run folder as it was.
  await run.prepare(config);

  const sessionStart = performance.now();
  const elapsed = () => elapsedBefore + (performance.now() - sessionStart) / 1000;
  let sessionSteps = 0;
  let lastCheckpoint = performance.now();
  let epochStart = performance.now();
  let epochImages = 0;
  const log = async (line: string) => {
    emit({ type: "log", line });
    await run.appendLog(line);
  };

  const snapshot = (): TrainState => {
    const at = positionAt(config, data.count, step, fadeCompleteAt);
    return {
      version: TRAIN_STATE_VERSION,
      step,
      ...(fadeCompleteAt !== undefined ? { fadeCompleteAt } : {}),
      depth: at.plan.depth,
      epoch: at.epoch,
      batchInEpoch: at.batchInEpoch,
      kimg: at.kimg,
      nanStreak,
      elapsed: elapsed(),
      rng: rng.getState(),
      sampler: data.getState(),
      dLoss: last.dLoss,
      gLoss: last.gLoss,
    };
  };
  const checkpoint = async (tag: string) => {
    // Weights trained with gradients from a worker whose copy went astray are not written: the run stops.
    await source.verify().catch((e) => {
      throw new Error(
        `${(e as Error).message}. No checkpoint was written at step ${step}; the last one in ${run.models} ` +
          "was verified and is usable (resume from it)",
      );
    });
    const pointer = await run.writeCheckpoint(tag, nets, snapshot(), metadata);
    lastCheckpoint = performance.now();
    emit({ type: "checkpoint", path: `${run.models}/${pointer.files.shadow}` });
    return pointer;
  };

  if (warmStart) await log(warmStart);
  if (warmStartD) await log(warmStartD);
  const source = await gradientSource();
  if (source instanceof PoolGradients) await log(`data-parallel: ${source.description}`);
  const context = {
    config,
    augmentPolicy: parseAugmentPolicy(config.augment.policy),
    rng,
    nextBatch: (n: number) => data.nextBatch(n),
    datasetLabels: classes > 0 ? data.labels : undefined,
  };
  const maintenance = maintenanceTasks(config, {
    progress: (d) =>
      emit({
        type: "progress",
        depth: d.at.plan.depth,
        resolution: d.at.plan.resolution,
        epoch: d.at.epoch,
        epochs: d.at.plan.epochs,
        batch: d.batch,
        batches: d.at.plan.batchesPerEpoch,
        alpha: d.at.alpha,
        kimg: d.next.kimg,
        dLoss: d.losses.dLoss,
        gLoss: d.losses.gLoss,
        imgPerS: d.imgPerS,
        elapsed: elapsed(),
      }),
    logLine: (d) =>
      log(
        `Elapsed: [${formatElapsed(elapsed())}] Step: ${d.step}  Batch: ${d.batch}  ` +
          `D_Loss: ${d.losses.dLoss.toFixed(6)}  ` +
          (d.losses.gSkipped ? "G: skipped (D warm-up)" : `G_Loss: ${d.losses.gLoss.toFixed(6)}`),
      ),
    samples: (d) => writeSamples(d.at, d.batch),
    metrics: (d) => writeMetrics(d.at, d.next.kimg),
    checkpointWithinEpoch: async (d) => {
      await checkpoint(checkpointTag(d.at.plan.depth, d.at.epoch, d.batch));
    },
    endOfEpoch: async (d) => {
      // Samples, then a checkpoint that points at the start of what comes next.
      await log(`Time taken for epoch: ${((performance.now() - epochStart) / 1000).toFixed(3)} secs`);
      await writeSamples(d.at, d.batch);
      await checkpoint(checkpointTag(d.at.plan.depth, d.at.epoch));
    },
    minutesSinceCheckpoint: () => (performance.now() - lastCheckpoint) / 60000,
  });

  try {
    let announced = false;
    for (let at = positionAt(config, data.count, step, fadeCompleteAt); !at.done;) {
      const { plan } = at;
      // A step's awaits resolve as microtasks on the wasm backend, so without a macrotask here a Ctrl-C
      // (a signal event) would wait for the next file write, minutes apart at 64 px.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (options.signal?.aborted || (options.maxSteps !== undefined && sessionSteps >= options.maxSteps)) {
        await logTraffic();
        const pointer = await checkpoint(checkpointTag(plan.depth, at.epoch, at.batchInEpoch));
        emit({ type: "stopped", kimg: at.kimg, checkpoint: `${run.models}/${pointer.files.shadow}` });
        return snapshot();
      }
      // Official StyleGAN resets the optimizer state whenever the resolution changes.
      if (at.ticker === 1) {
        gOptim.reset();
        dOptim.reset();
      }
      gOptim.options.learning_rate = plan.gLearningRate;
      dOptim.options.learning_rate = plan.dLearningRate;
      if (at.batchInEpoch === 0 || !announced) {
        announced = true;
        const mpp = metresAt(plan.depth);
        emit({ type: "depth", depth: plan.depth, resolution: plan.resolution, metresPerPixel: mpp });
        await log(
          `Currently working on depth: ${plan.depth + 1} (${plan.resolution} px, ${mpp.toPrecision(3)} m/px)`,
        );
        await log(`Epoch: [${at.epoch}]`);
        epochStart = performance.now();
        epochImages = 0;
      }

      const losses = await trainStep(nets, source, context, at, step);
      step++;
      sessionSteps++;
      epochImages += plan.batchSize;
      const fadedHere = fadeCompleteAt !== undefined && fadeCompleteAt > at.depthStartStep;
      if (at.alpha >= 1 && !fadedHere && config.structure !== "fixed") {
        fadeCompleteAt = step;
      }
      await countNonFinite(losses);
      const next = positionAt(config, data.count, step, fadeCompleteAt);
      const done: FinishedStep = {
        at,
        next,
        step,
        losses,
        batch: at.batchInEpoch + 1,
        epochEnded: at.batchInEpoch + 1 === plan.batchesPerEpoch,
        imgPerS: epochImages / ((performance.now() - epochStart) / 1000),
      };
      await runMaintenance(maintenance, done);
      at = next;
    }
    const final = await run.readLatest();
    const generator = final ? `${run.models}/${final.files.shadow}` : `${run.models}/${
      checkpointFiles(
        checkpointTag(depths[depths.length - 1], config.sched.epochs[depths[depths.length - 1]]),
      ).shadow
    }`;
    const kimg = positionAt(config, data.count, step, fadeCompleteAt).kimg;
    await logTraffic();
    await log(`Training completed: ${kimg.toFixed(1)} kimg in ${formatElapsed(elapsed())}`);
    emit({ type: "done", kimg, generator });
    return snapshot();
  } finally {
    await source.close();
    tf.dispose(sampleZ);
    gOptim.dispose();
    dOptim.dispose();
    G.dispose();
    Gs.dispose();
    D.dispose();
  }

  /** The worker pool when asked for and it starts; else this process. */
  async function gradientSource(): Promise<GradientSource> {
    const sourceNets = { G, D, gParams, dParams };
    if (options.workers && options.workers > 0) {
      try {
        const pool = await TrainingPool.start(
          {
            workers: options.workers,
            backend: tf.getBackend(),
            generator: generatorOptionsOf(config, classes),
            discriminator: discriminatorOptionsOf(config, classes),
            loss: config.model,
            runtime: options.runtime,
            sharedMemory: options.sharedMemory,
          },
          G,
          D,
        );
        return new PoolGradients(pool);
      } catch (e) {
        // Training goes on without them: slower, not wrong.
        const message = `data-parallel workers could not start (${
          (e as Error).message
        }); training in this process`;
        emit({ type: "warning", message });
        await log(message);
      }
    }
    return new InProcessGradients(sourceNets, config.model);
  }

  /** What the session's steps moved between this process and the workers (nothing without workers). */
  async function logTraffic(): Promise<void> {
    if (source instanceof PoolGradients && sessionSteps > 0) await log(trafficLine(source.stepTraffic()));
  }

  /** Skipped updates of non-finite losses: warned about, and too many in a row stop the run. */
  async function countNonFinite(losses: StepLosses): Promise<void> {
    const { dLoss, gLoss } = losses;
    if (Number.isFinite(dLoss) && (Number.isFinite(gLoss) || losses.gSkipped)) {
      nanStreak = 0;
      last = losses;
      return;
    }
    nanStreak++;
    emit({
      type: "warning",
      message: `step ${step}: non-finite loss (D ${dLoss}, G ${gLoss}); step skipped`,
    });
    await log(`Step: ${step}  non-finite loss (D_Loss: ${dLoss}  G_Loss: ${gLoss}); update skipped`);
    if (nanStreak >= config.max_nan_steps) {
      throw new Error(
        `${nanStreak} consecutive non-finite losses at step ${step}; stopping. ` +
          `The last checkpoint in ${run.models} is usable (resume with a lower learning rate).`,
      );
    }
  }

  /** MS-SWD of the shadow generator against real tiles at the step's depth, appended to metrics.jsonl. */
  async function writeMetrics(at: RunPosition, kimg: number): Promise<void> {
    const { depth, resolution } = at.plan;
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
      const labels = evalLabels(i, count, reals.length);
      const images = tf.tidy(() =>
        Gs.gSynthesis.apply(Gs.mapping(z, 1, undefined, labels), { depth, alpha: at.alpha, noise: "const" })
      );
      fakes.push(...await toRgb8(images));
      tf.dispose([z, images]);
    }
    const metric = new SlicedWassersteinMetric(resolution, config.dataset.channels, {}, tfProjector);
    const report = swdReport(
      metric.distance(metric.describe(reals), metric.describe(fakes)),
      resolution,
      metresAt(depth),
      metric.options,
    );
    await Deno.writeTextFile(
      run.metrics,
      JSON.stringify({ kimg: +kimg.toFixed(3), depth, alpha: at.alpha, ...report }) + "\n",
      { append: true },
    );
    emit({ type: "metrics", kimg, report });
    await log(
      `MS-SWD at ${kimg.toFixed(1)} kimg (${resolution} px): ${
        report.levels.map((l) => `${l.metres_per_pixel.toPrecision(3)} m ${l.swd_x1e3.toFixed(1)}`).join(", ")
      }; average ${report.average_x1e3.toFixed(1)}`,
    );
  }

  /**
   * Classes of generated tiles i … i + count of `n` for the in-training MS-SWD: evenly spaced through the
   * dataset's labels, so the classes come in the dataset's proportions, the same ones every time.
   */
  function evalLabels(i: number, count: number, n: number): Int32Array | undefined {
    if (classes === 0 || !data.labels) return undefined;
    const all = data.labels;
    return Int32Array.from({ length: count }, (_, k) => all[Math.floor(((i + k + 0.5) * all.length) / n)]);
  }

  async function writeSamples(at: RunPosition, batch: number): Promise<void> {
    const { depth } = at.plan;
    const path = `${run.samples}/gen_${depth}_${at.epoch}_${batch}.png`;
    await writeFileAtomic(
      path,
      await sampleGridPng(Gs, sampleZ, sampleSeeds, depth, at.alpha, 4, sampleLabels),
    );
    emit({ type: "sample", path, depth, epoch: at.epoch, batch });
  }
}

/** Start `G` from the generator in `file` (config `init.generator`); returns the line for the run's log. */
async function warmStartFrom(file: string, G: Generator): Promise<string> {
  const { network: source } = await loadGenerator(file).catch((e) => {
    throw new Error(`init.generator: ${(e as Error).message}`);
  });
  try {
    const report = warmStartGenerator(G, source, file);
    return `warm start from ${file}: ${report.copied} tensors copied` +
      (report.widened.length ? `, ${report.widened.join(", ")} widened for the class input` : "") +
      (report.fresh.length ? `; fresh: ${report.fresh.join(", ")}` : "");
  } finally {
    source.dispose();
  }
}

/** Start `D` from the discriminator in `file` (config `init.discriminator`); returns the line for the log. */
async function warmStartDiscriminatorFrom(file: string, D: Discriminator): Promise<string> {
  const { network: source } = await loadDiscriminator(file).catch((e) => {
    throw new Error(`init.discriminator: ${(e as Error).message}`);
  });
  try {
    return `warm start of D from ${file}: ${warmStartDiscriminator(D, source, file)} tensors copied`;
  } finally {
    source.dispose();
  }
}

/**
 * A resumed run must see the classes it was trained on: the labels index them, so a changed folder set or CSV
 * would silently give the learned classes other meanings.
 */
function checkSameClasses(header: Record<string, string>, file: string, classNames: string[]): void {
  const stored: string[] = header[CLASS_NAMES_KEY] ? JSON.parse(header[CLASS_NAMES_KEY]) : [];
  if (stored.length === classNames.length && stored.every((name, i) => name === classNames[i])) return;
  const list = (names: string[]) => names.length ? names.join(", ") : "none (unlabelled)";
  throw new Error(
    `${file}: the run was trained on the classes ${list(stored)}; the data now gives ${
      list(classNames)
    }. Resume with the dataset.labels settings and files it was trained with, or start a new run.`,
  );
}

/**
 * A resumed run's recorded position must be where the (possibly changed) config puts its step: a schedule
 * that changed for what was already trained would silently move the run, so it is refused.
 */
function checkSamePosition(state: TrainState, at: RunPosition, depths: number[], run: RunDir): void {
  const recorded = [state.depth, state.epoch, state.batchInEpoch];
  const now = [depths[at.depthIndex], at.epoch, at.batchInEpoch];
  if (recorded.some((v, i) => v !== now[i])) {
    throw new Error(
      `${run.latest}: step ${state.step} was depth ${state.depth}, epoch ${state.epoch}, batch ${state.batchInEpoch}; ` +
        `this config puts it at depth ${now[0]}, epoch ${now[1]}, batch ${
          now[2]
        }. The schedule (sched.*, structure, ` +
        "dataset) changed for what the run has already trained; only the epochs of the current depth and of later " +
        "ones may change on resume.",
    );
  }
}
