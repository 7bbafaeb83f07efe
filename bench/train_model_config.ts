/**
 * Training speed of the embedded default model's configuration (configs/ucmerced-64.yaml: 64 px, fmap_base
 * 1024, fmap_max 128, batch 32), in one process or data-parallel over worker processes:
 *
 *   deno run -A bench/train_model_config.ts [--workers 0|N] [--steps 4]
 *
 * Random data, fixed structure at 64 px, R1 on every step (the run itself uses lazy R1 every 4 steps, so its
 * steps are a little cheaper); median seconds per step after two warm-up steps, as one JSON line.
 */
import { parseArgs } from "node:util";
import { initBackend } from "../model/backend/select.ts";
import { trainingStepSeconds } from "./train_step.ts";
import { integerFlag } from "./flags.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { workers: { type: "string", default: "0" }, steps: { type: "string", default: "4" } },
});
const workers = integerFlag("workers", values.workers, 0);
const steps = integerFlag("steps", values.steps);
const backend = await initBackend("wasm", { quiet: true });
const seconds = await trainingStepSeconds({
  resolution: 64,
  batch: 32,
  channels: { fmap_base: 1024, fmap_max: 128 },
  steps,
  workers,
});
console.log(JSON.stringify({
  case: "ucmerced-64 config, 64 px, batch 32, R1 every step",
  backend: backend.reason,
  workers,
  s_per_step: seconds,
  img_per_s: 32 / seconds,
}));
