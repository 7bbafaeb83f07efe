import assert from "node:assert/strict";
import { PROJECTION_SCHEDULE_DEFAULTS, projectionScheduleAt } from "../../../model/projection/schedule.ts";

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} ≠ ${b}`);

Deno.test("projectionScheduleAt: projector.py's learning rate and w noise, worked by hand for 100 steps", () => {
  const std = 2;
  // t = 0: the ramp-up starts at 0; the noise at w_std · 0.05.
  let s = projectionScheduleAt(0, 100, std);
  close(s.learningRate, 0, "lr(0)");
  close(s.wNoiseScale, 0.1, "noise(0)");
  // t = 0.02: ramp-up 0.02 / 0.05 = 0.4, no ramp-down yet → 0.04; noise 2 · 0.05 · (1 − 0.02/0.75)².
  s = projectionScheduleAt(2, 100, std);
  close(s.learningRate, 0.04, "lr(0.02)");
  close(s.wNoiseScale, 0.1 * (1 - 0.02 / 0.75) ** 2, "noise(0.02)");
  // t = 0.5: full rate; noise 0.1 · (1/3)².
  s = projectionScheduleAt(50, 100, std);
  close(s.learningRate, 0.1, "lr(0.5)");
  close(s.wNoiseScale, 0.1 / 9, "noise(0.5)");
  // t = 0.9: ramp-down (1 − 0.9) / 0.25 = 0.4 → ½ − ½ cos(0.4π) = 0.3454915...; noise ended at t = 0.75.
  s = projectionScheduleAt(90, 100, std);
  close(s.learningRate, 0.1 * (0.5 - 0.5 * Math.cos(0.4 * Math.PI)), "lr(0.9)");
  assert.ok(Math.abs(s.learningRate - 0.034549150281) < 1e-9);
  close(s.wNoiseScale, 0, "noise(0.9)");
  // The last step: (1 − 0.99) / 0.25 = 0.04.
  s = projectionScheduleAt(99, 100, std);
  close(s.learningRate, 0.1 * (0.5 - 0.5 * Math.cos(0.04 * Math.PI)), "lr(0.99)");
});

Deno.test("projectionScheduleAt: other hyper-parameters are used; bad steps are refused", () => {
  const custom = { ...PROJECTION_SCHEDULE_DEFAULTS, initial_learning_rate: 0.01, noise_ramp: 0.5 };
  const s = projectionScheduleAt(25, 100, 1, custom);
  close(s.learningRate, 0.01, "lr");
  close(s.wNoiseScale, 0.05 * 0.25, "noise");
  assert.throws(() => projectionScheduleAt(100, 100, 1), /step must be an integer in \[0, 99\]/);
  assert.throws(() => projectionScheduleAt(-1, 100, 1), /step must be an integer/);
  assert.throws(() => projectionScheduleAt(0, 0, 1), /steps must be a positive integer/);
});
