/**
 * The run's position as a pure function of its step counter (model/train/schedule.ts positionAt), against
 * counts worked out by hand for a small schedule.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../../model/config.ts";
import { positionAt } from "../../../model/train/schedule.ts";

// 16 px: depths 0, 1, 2; 24 images at batch 8 = 3 batches per epoch; epochs 1, 1, 2 → 3 + 3 + 6 = 12 steps.
// Fade-in 50 %: depth 1 fades over 0.5 · 1 · 3 = 1.5 → 1 step, depth 2 over 0.5 · 2 · 3 = 3 steps.
const config = await loadConfig(undefined, [
  "dataset.img_dir=x",
  "dataset.resolution=16",
  "sched.epochs=[1,1,2]",
  "sched.batch_sizes=[8,8,8]",
  "sched.fade_in_percentage=[50,50,50]",
]);

Deno.test("positionAt: depth, epoch, batch, fade-in and kimg from the step counter alone", () => {
  const at = (step: number, fade?: number) => positionAt(config, 24, step, fade);
  assert.deepEqual([at(0).depthIndex, at(0).epoch, at(0).batchInEpoch, at(0).ticker], [0, 1, 0, 1]);
  assert.deepEqual([at(3).depthIndex, at(3).depthStartStep, at(3).ticker], [1, 3, 1]);
  assert.deepEqual([at(6).depthIndex, at(6).depthStartStep, at(6).alpha], [2, 6, 1 / 3]);
  assert.deepEqual([at(7).alpha, at(8).alpha, at(9).alpha], [2 / 3, 1, 1]);
  assert.deepEqual([at(9).epoch, at(9).batchInEpoch], [2, 0]);
  assert.equal(at(11).done, false);
  const end = at(12);
  assert.deepEqual([end.done, end.depthIndex, end.epoch, end.batchInEpoch], [true, 2, 3, 0]);
  // 12 steps of 8 images.
  assert.ok(Math.abs(end.kimg - 0.096) < 1e-12);
  assert.ok(Math.abs(at(5).kimg - 0.040) < 1e-12);
  assert.throws(() => at(-1), RangeError);
  assert.throws(() => at(1.5), RangeError);
});

Deno.test("positionAt: a completed fade stays complete when a resume adds epochs, and only in its own depth", async () => {
  // Six epochs at depth 2 move its fade point to 0.5 · 6 · 3 = 9 steps into the depth.
  const more = await loadConfig(undefined, [
    "dataset.img_dir=x",
    "dataset.resolution=16",
    "sched.epochs=[1,1,6]",
    "sched.batch_sizes=[8,8,8]",
    "sched.fade_in_percentage=[50,50,50]",
  ]);
  assert.equal(positionAt(more, 24, 12).alpha, 7 / 9); // without the record the layers would fade in again
  assert.equal(positionAt(more, 24, 12, 9).alpha, 1); // the fade completed at step 9, in depth 2
  assert.equal(positionAt(more, 24, 12, 6).alpha, 7 / 9); // step 6 ended depth 1: not depth 2's fade
  assert.equal(positionAt(more, 24, 12).done, false);
});
