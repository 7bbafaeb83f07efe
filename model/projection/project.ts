/**
 * Projection of a target tile into W (StyleGAN2's `projector.py`, on this project's StyleGAN v1 networks):
 * Adam on w (one w for every style layer, or per-layer W+) and optionally on the noise maps, from the W centre,
 * with the ramped learning rate and decaying w noise of {@link projectionScheduleAt}. One call, readable top to
 * bottom; a progress callback after every step. Deterministic for a seed on a given backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Parameter } from "../layers/parameters.ts";
import type { NoiseSpec } from "../layers/noise_layer.ts";
import type { Discriminator } from "../networks/discriminator.ts";
import type { Generator } from "../networks/generator.ts";
import { Adam } from "../train/adam.ts";
import { type Raster8, toRgb8 } from "../images.ts";
import { RandomState } from "../seeds.ts";
import { type LossTerm, type LossWeights, ProjectionLoss } from "./losses.ts";
import { NoiseMaps } from "./noise_maps.ts";
import { PROJECTION_SCHEDULE_DEFAULTS, type ProjectionSchedule, projectionScheduleAt } from "./schedule.ts";
import { type WStatistics, wStatistics } from "./w_stats.ts";

/** How to project. */
export interface ProjectionOptions {
  /** Optimisation steps (projector.py: 1000). */
  steps: number;
  /** Optimise one w per style layer (W+) instead of one w broadcast to all. */
  wPlus: boolean;
  /** Optimise the noise maps too, with StyleGAN2's regulariser. */
  optimizeNoise: boolean;
  /** Weight of the noise regulariser (projector.py: 1e5). */
  noiseRegularizeWeight: number;
  /** Loss terms and weights. */
  loss: LossWeights;
  /** Seed of the w noise and of the W-spread samples. */
  seed: number;
  /** Mapped samples for the W spread (projector.py: 10,000). */
  wAvgSamples: number;
  /** Learning-rate and w-noise schedule. */
  schedule: ProjectionSchedule;
  /** Adam β1, β2, ε (projector.py: 0.9, 0.999, 1e-8). */
  beta1: number;
  beta2: number;
  eps: number;
  /** A preview of the current reconstruction every this many steps (and at the last); 0 = never. */
  previewEvery: number;
  /**
   * The target's class (label index), required by a conditional generator: the projection starts at that
   * class's centre of W and its spread is measured from that class's samples.
   */
  label?: number;
}

/** projector.py's settings, with this project's default loss (see docs/projection.md). */
export const PROJECTION_DEFAULTS: Readonly<ProjectionOptions> = Object.freeze({
  steps: 500,
  wPlus: false,
  optimizeNoise: false,
  noiseRegularizeWeight: 1e5,
  loss: { l2: 1, laplacian: 1 },
  seed: 0,
  wAvgSamples: 10_000,
  schedule: PROJECTION_SCHEDULE_DEFAULTS,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  previewEvery: 0,
});

/** What a step reports. */
export interface ProjectionProgress {
  /** 1-based step just taken. */
  step: number;
  steps: number;
  learningRate: number;
  /** Raw value of each loss term, `noise_reg` when noise is optimised, and the weighted `total`. */
  losses: Record<string, number>;
  /** The current reconstruction (8-bit), on preview steps. */
  preview?: Raster8;
}

/** The outcome of a projection. */
export interface ProjectionResult {
  /** The projected dlatents [num_layers, dlatent_size], row-major (every row equal unless W+). */
  dlatents: Float32Array;
  numLayers: number;
  dlatentSize: number;
  wPlus: boolean;
  /** The optimised noise maps ([H, W] each, layer order), when noise was optimised. */
  noiseMaps?: { size: number; data: Float32Array }[];
  /** G(w) [1, H, W, C] in about [−1, 1]; the caller disposes it. */
  reconstruction: tf.Tensor4D;
  /** Losses of the final w (no w noise). */
  finalLosses: Record<string, number>;
  /** The total loss after every step. */
  lossCurve: number[];
  wStats: WStatistics;
  seconds: number;
}

/**
 * Project `target` [1, H, W, C] (about [−1, 1], G's resolution and channels) into G's W space.
 * @param D the trained discriminator, for the `discriminator` loss term.
 */
export async function project(
  G: Generator,
  target: tf.Tensor4D,
  options: Partial<ProjectionOptions> = {},
  onProgress?: (progress: ProjectionProgress) => void | Promise<void>,
  D?: Discriminator,
): Promise<ProjectionResult> {
  const o: ProjectionOptions = { ...PROJECTION_DEFAULTS, ...options };
  checkOptions(G, target, o);
  const started = performance.now();
  const layers = G.numLayers;
  const size = G.options.dlatent_size;
  const rows = o.wPlus ? layers : 1;

  // The loss first: it checks the terms before anything is allocated.
  const loss = new ProjectionLoss(target, o.loss, D);

  // The W centre and spread; the optimised w starts at the centre.
  let wStats: WStatistics;
  try {
    wStats = await wStatistics(G, o.wAvgSamples, o.seed, undefined, o.label);
  } catch (error) {
    loss.dispose();
    throw error;
  }
  const start = tf.tidy(() => tf.tile(tf.tensor3d(wStats.centre, [1, 1, size]), [1, rows, 1]));
  const wOpt = tf.variable(start, true); // a copy: tf.variable leaves its initial value allocated
  start.dispose();
  const noise = o.optimizeNoise ? new NoiseMaps(G) : undefined;
  const params: Parameter[] = [
    { key: "w", variable: wOpt, layout: "plain", trainable: true },
    ...(noise?.variables ?? []).map((variable, i): Parameter => ({
      key: `noise.${i}`,
      variable,
      layout: "plain",
      trainable: true,
    })),
  ];
  const adam = new Adam(params, {
    learning_rate: o.schedule.initial_learning_rate,
    beta_1: o.beta1,
    beta_2: o.beta2,
    eps: o.eps,
  });
  const rng = new RandomState(o.seed);
  // The WebGPU synthesis pipelines have no gradients: projection runs the tfjs layers.
  const accelerator = G.gSynthesis.accelerator;
  G.gSynthesis.accelerator = undefined;
  const render = (w: tf.Tensor3D, spec: NoiseSpec) =>
    G.gSynthesis.apply(rows === layers ? w : tf.broadcastTo(w, [1, layers, size]) as tf.Tensor3D, {
      noise: spec,
    });
  const lossCurve: number[] = [];

  try {
    for (let step = 0; step < o.steps; step++) {
      // Choose this step's learning rate and w noise.
      const { learningRate, wNoiseScale } = projectionScheduleAt(step, o.steps, wStats.std, o.schedule);
      adam.options.learning_rate = learningRate;
      const wNoise = tf.tensor3d(Float32Array.from(rng.randn(rows * size), (v) => v * wNoiseScale), [
        1,
        rows,
        size,
      ]);

      // Loss and gradients.
      const values: Record<string, tf.Scalar> = {};
      const { value: total, grads } = tf.variableGrads(() => {
        const images = render(tf.add(wOpt, wNoise) as tf.Tensor3D, noise?.spec() ?? "const");
        const terms = loss.terms(images);
        let sum = loss.weighted(terms);
        if (noise) {
          const reg = noise.regularizer();
          values.noise_reg = tf.keep(reg);
          sum = tf.add(sum, tf.mul(reg, o.noiseRegularizeWeight));
        }
        for (const [name, v] of terms) values[name] = tf.keep(v);
        return sum;
      }, params.map((p) => p.variable));
      wNoise.dispose();

      // Update, then renormalise the noise maps.
      adam.apply(new Map(params.map((p) => [p.key, grads[p.variable.name]])));
      for (const g of Object.values(grads)) g.dispose();
      noise?.normalize();

      // Report.
      const losses = await scalarValues({ ...values, total });
      lossCurve.push(losses.total);
      if (onProgress) {
        const previewNow = o.previewEvery > 0 && ((step + 1) % o.previewEvery === 0 || step + 1 === o.steps);
        const preview = previewNow
          ? await renderPreview(() => render(wOpt as tf.Tensor3D, noise?.spec() ?? "const"))
          : undefined;
        await onProgress({ step: step + 1, steps: o.steps, learningRate, losses, preview });
      }
    }

    // The final w, without noise.
    const reconstruction = tf.tidy(() => render(wOpt as tf.Tensor3D, noise?.spec() ?? "const"));
    const finalLosses = await scalarValues(tf.tidy(() => {
      const terms = Object.fromEntries(loss.terms(reconstruction)) as Record<string, tf.Scalar>;
      return { ...terms, total: loss.weighted(new Map(Object.entries(terms)) as Map<LossTerm, tf.Scalar>) };
    }));
    const broadcast = tf.broadcastTo(wOpt, [1, layers, size]);
    const dlatents = await broadcast.data() as Float32Array;
    broadcast.dispose();
    const noiseMaps = noise
      ? await Promise.all(
        noise.variables.map(async (v) => ({ size: v.shape[1]!, data: await v.data() as Float32Array })),
      )
      : undefined;
    return {
      dlatents,
      numLayers: layers,
      dlatentSize: size,
      wPlus: o.wPlus,
      noiseMaps,
      reconstruction,
      finalLosses,
      lossCurve,
      wStats,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    G.gSynthesis.accelerator = accelerator;
    wOpt.dispose();
    noise?.dispose();
    adam.dispose();
    loss.dispose();
  }
}

function checkOptions(G: Generator, target: tf.Tensor4D, o: ProjectionOptions): void {
  const { resolution, num_channels } = G.options;
  const [n, h, w, c] = target.shape;
  if (n !== 1 || h !== resolution || w !== resolution || c !== num_channels) {
    throw new RangeError(
      `the target must be [1, ${resolution}, ${resolution}, ${num_channels}] for this model, got [${target.shape}]`,
    );
  }
  if (!Number.isInteger(o.steps) || o.steps < 1 || o.steps > 100_000) {
    throw new RangeError(`steps must be an integer in [1, 100000], got ${o.steps}`);
  }
  if (!Number.isInteger(o.previewEvery) || o.previewEvery < 0) {
    throw new RangeError(`previewEvery must be a non-negative integer, got ${o.previewEvery}`);
  }
}

/** Read scalars (disposing them) into numbers. */
async function scalarValues(values: Record<string, tf.Scalar>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(values)) {
    out[name] = (await v.data())[0];
    v.dispose();
  }
  return out;
}

async function renderPreview(render: () => tf.Tensor4D): Promise<Raster8> {
  const images = tf.tidy(render);
  try {
    return (await toRgb8(images))[0];
  } finally {
    images.dispose();
  }
}
