/**
 * The benchmarks' PyTorch denominators: the same-run JSON lines of bench/reference/stylegan_torch.py (rows written
 * by hand here in its format), the labelled recorded fallback, and the step timing arithmetic of train_step.ts
 * (stamps worked by hand).
 */
import assert from "node:assert/strict";
import {
  GENERATE_REFERENCE,
  MeasuredReference,
  presetReference,
  TRAIN_REFERENCE,
} from "../../bench/reference.ts";
import { secondsPerStep, stepPlan } from "../../bench/train_step.ts";

const row = (fields: Record<string, unknown>) =>
  JSON.stringify({ impl: "pytorch", device: "cpu", batch: 8, tf32: "off", ...fields });

Deno.test("same-run file: generation and training rows are told apart by task, presets and configs by name", () => {
  const text = [
    "some progress line the script printed",
    row({ task: "generate", res: 32, channels: "default", img_per_s: 15.4 }),
    row({ task: "train", res: 32, channels: "default", config: null, img_per_s: 1.25 }),
    row({ task: "train", res: 64, channels: null, config: "ucmerced-64", batch: 32, img_per_s: 3.5 }),
    "",
  ].join("\n");
  const ref = MeasuredReference.parse(text, "torch.jsonl");
  assert.equal(ref.get("generate", 32, "default", 8), 15.4);
  assert.equal(ref.get("train", 32, "default", 8), 1.25);
  assert.equal(ref.get("train", 64, "ucmerced-64", 32), 3.5);
  assert.equal(ref.get("train", 64, "default", 8), undefined);
  assert.equal(ref.get("generate", 32, "default", 16), undefined);
});

Deno.test("same-run file: rows without a task (written before training was timed) are generation", () => {
  const ref = MeasuredReference.parse(
    JSON.stringify({ res: 64, channels: "reduced", batch: 8, tf32: "off", img_per_s: 98 }),
    "old.jsonl",
  );
  assert.equal(ref.get("generate", 64, "reduced", 8), 98);
  assert.equal(ref.get("train", 64, "reduced", 8), undefined);
});

Deno.test("same-run file: strict float32 wins over TF32 in either order; skipped cases are absent", () => {
  const text = [
    row({ task: "generate", res: 256, channels: "default", tf32: "on", img_per_s: 900 }),
    row({ task: "generate", res: 256, channels: "default", tf32: "off", img_per_s: 500 }),
    row({ task: "generate", res: 128, channels: "default", tf32: "off", img_per_s: 700 }),
    row({ task: "generate", res: 128, channels: "default", tf32: "on", img_per_s: 1100 }),
    row({ task: "train", res: 64, channels: "default", img_per_s: null, note: "skipped: about 400 s" }),
    row({ task: "train", res: 32, channels: "default", img_per_s: 1 }),
  ].join("\n");
  const ref = MeasuredReference.parse(text, "gpu.jsonl");
  assert.equal(ref.get("generate", 256, "default", 8), 500);
  assert.equal(ref.get("generate", 128, "default", 8), 700);
  assert.equal(ref.get("train", 64, "default", 8), undefined);
});

Deno.test("same-run file: bad input is refused with the file, the line and the field", () => {
  assert.throws(
    () => MeasuredReference.parse(row({ res: 32, channels: "default" }) + "\n{not json", "t.jsonl"),
    /^Error: t\.jsonl:1: field 'img_per_s'/,
  );
  assert.throws(
    () =>
      MeasuredReference.parse(row({ res: 32, channels: "default", img_per_s: 2 }) + "\n{not json", "t.jsonl"),
    /^Error: t\.jsonl:2: not JSON/,
  );
  assert.throws(
    () =>
      MeasuredReference.parse(row({ task: "serve", res: 32, channels: "default", img_per_s: 2 }), "t.jsonl"),
    /t\.jsonl:1: field 'task'/,
  );
  assert.throws(
    () => MeasuredReference.parse(row({ res: 32.5, channels: "default", img_per_s: 2 }), "t.jsonl"),
    /t\.jsonl:1: field 'res'/,
  );
  assert.throws(
    () => MeasuredReference.parse(row({ res: 32, img_per_s: 2 }), "t.jsonl"),
    /t\.jsonl:1: a row needs 'channels' or 'config'/,
  );
  assert.throws(
    () => MeasuredReference.parse("pytorch cpu 32 px ... img/s\n", "text.txt"),
    /text\.txt: no PyTorch/,
  );
});

Deno.test("same-run file: a missing file names itself", async () => {
  await assert.rejects(
    MeasuredReference.read("/nonexistent/torch.jsonl"),
    /\/nonexistent\/torch\.jsonl: cannot read the PyTorch reference/,
  );
});

Deno.test("presetReference: the same-run figure, else the recorded one labelled as a fallback", () => {
  const measured = MeasuredReference.parse(
    row({ task: "train", res: 32, channels: "reduced", img_per_s: 12 }),
    "f",
  );
  assert.deepEqual(presetReference(measured, "train", 32, "reduced", 8), {
    img_per_s: 12,
    source: "same run",
  });
  // Missing from the same-run file: no ratio rather than one against another machine's figure.
  assert.deepEqual(presetReference(measured, "train", 64, "reduced", 8), {
    img_per_s: null,
    source: "same run",
  });
  assert.deepEqual(presetReference(undefined, "train", 64, "reduced", 8), {
    img_per_s: TRAIN_REFERENCE.reduced[64],
    source: "recorded fallback",
  });
  assert.deepEqual(presetReference(undefined, "generate", 128, "default", 8), {
    img_per_s: GENERATE_REFERENCE.default[128],
    source: "recorded fallback",
  });
  // The recorded figures are for batch 8 only.
  assert.deepEqual(presetReference(undefined, "generate", 128, "default", 16), {
    img_per_s: null,
    source: "recorded fallback",
  });
});

Deno.test("stepPlan: the warm-up is whole R1 cycles of at least two steps", () => {
  assert.deepEqual(stepPlan(1, 6), { warmup: 2, cycles: 6 });
  assert.deepEqual(stepPlan(4, 4), { warmup: 4, cycles: 1 });
  assert.deepEqual(stepPlan(4, 5), { warmup: 4, cycles: 2 });
  assert.deepEqual(stepPlan(2, 1), { warmup: 2, cycles: 1 });
});

Deno.test("secondsPerStep: median per-step time of whole cycles after the warm-up", () => {
  // R1 every step: steps of 1, 1 (warm-up), then 3, 5, 4 s → median 4.
  const every = [1000, 2000, 5000, 10000, 14000];
  assert.equal(secondsPerStep(every, 1, 2), 4);
  // R1 every 4: warm-up 4 steps (stamps 0..3), then cycles ending at stamps 7 and 11: (19000 − 7000) / 4 = 3 s
  // and (39000 − 19000) / 4 = 5 s per step. Of an even count the upper middle one is taken (stylegan_torch.py too).
  const lazy = [1000, 2000, 3000, 7000, 8000, 9000, 10000, 19000, 20000, 21000, 22000, 39000];
  assert.equal(secondsPerStep(lazy, 4, 4), 5);
  assert.throws(() => secondsPerStep([1, 2, 3], 4, 4), /no whole cycle of 4 steps after 4 warm-up steps/);
});
