/**
 * The projection schedule of StyleGAN2's `projector.py` (stylegan2-ada-pytorch), a pure function of progress:
 * the learning rate ramps up over the first `lr_rampup` of the steps, stays at `initial_learning_rate`, and
 * ramps down along a half cosine over the last `lr_rampdown`; the noise added to w starts at
 * `w_std · initial_noise_factor` and falls to zero with the square of the remaining fraction of the first
 * `noise_ramp` of the steps.
 *
 * @module
 */

/** Hyper-parameters of the schedule, with projector.py's defaults in {@link PROJECTION_SCHEDULE_DEFAULTS}. */
export interface ProjectionSchedule {
  /** Peak Adam learning rate. */
  initial_learning_rate: number;
  /** Fraction of the steps over which the learning rate rises linearly from 0. */
  lr_rampup: number;
  /** Fraction of the steps, at the end, over which it falls (half cosine) to 0. */
  lr_rampdown: number;
  /** Noise on w at step 0, as a multiple of the W spread (w_std). */
  initial_noise_factor: number;
  /** Fraction of the steps after which no noise is added. */
  noise_ramp: number;
}

/** projector.py's values. */
export const PROJECTION_SCHEDULE_DEFAULTS: Readonly<ProjectionSchedule> = Object.freeze({
  initial_learning_rate: 0.1,
  lr_rampup: 0.05,
  lr_rampdown: 0.25,
  initial_noise_factor: 0.05,
  noise_ramp: 0.75,
});

/** Learning rate and w-noise scale of one step. */
export interface ScheduleStep {
  learningRate: number;
  /** Standard deviation of the Gaussian noise added to w this step (absolute, w_std included). */
  wNoiseScale: number;
}

/**
 * The schedule at `step` of `steps` (t = step / steps):
 * lr = lr₀ · (½ − ½ cos(π · min(1, (1 − t) / rampdown))) · min(1, t / rampup),
 * σ_w = w_std · noise₀ · max(0, 1 − t / noise_ramp)².
 */
export function projectionScheduleAt(
  step: number,
  steps: number,
  wStd: number,
  schedule: ProjectionSchedule = PROJECTION_SCHEDULE_DEFAULTS,
): ScheduleStep {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`steps must be a positive integer, got ${steps}`);
  }
  if (!Number.isInteger(step) || step < 0 || step >= steps) {
    throw new RangeError(`step must be an integer in [0, ${steps - 1}], got ${step}`);
  }
  const t = step / steps;
  const wNoiseScale = wStd * schedule.initial_noise_factor * Math.max(0, 1 - t / schedule.noise_ramp) ** 2;
  let ramp = Math.min(1, (1 - t) / schedule.lr_rampdown);
  ramp = 0.5 - 0.5 * Math.cos(ramp * Math.PI);
  ramp *= Math.min(1, t / schedule.lr_rampup);
  return { learningRate: schedule.initial_learning_rate * ramp, wNoiseScale };
}
