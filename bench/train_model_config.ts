/**
 * Training speed of the embedded default model's own configuration (configs/ucmerced-64.yaml: 64 px, fmap_base
 * 1024, fmap_max 128, latent 256, batch 32, lazy R1 every 4 steps, EMA half-life 1 kimg), in one process or
 * data-parallel over worker processes, optionally beside PyTorch timed in the same run:
 *
 *   deno run -A bench/train_model_config.ts [--config configs/ucmerced-64.yaml] [--workers 0|N] [--steps 4]
 *     [--resolution R] [--pipes] [--reference torch.jsonl]
 *
 * Random data, fixed structure at the config's resolution, its batch (last depth's); the median over cycles of
 * r1_interval steps (one with R1) per step, after a warm-up, as one JSON line; with workers also the bytes
 * the median step moved between the training process and its workers (`bytes_to_workers`, `bytes_from_workers`).
 * `--resolution` trains the config's networks built for another resolution (its batch and settings kept);
 * `--pipes` sends the workers' floats on the pipes instead of shared memory (for comparison). `--reference` takes the row that
 * `bench/reference/stylegan_torch.py --train --train-config SAME.yaml --json` wrote (matched by the file's name).
 */
import { basename, extname } from "node:path";
import { parseArgs } from "node:util";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { loadConfig } from "../model/config.ts";
import { trainingStepTiming } from "./train_step.ts";
import { integerFlag } from "./flags.ts";
import { MeasuredReference } from "./reference.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    config: { type: "string", default: "configs/ucmerced-64.yaml" },
    workers: { type: "string", default: "0" },
    steps: { type: "string", default: "4" },
    resolution: { type: "string" },
    pipes: { type: "boolean", default: false },
    reference: { type: "string" },
  },
});
const workers = integerFlag("workers", values.workers, 0);
const steps = integerFlag("steps", values.steps);
const configFile = values.config!;
const config = await loadConfig(configFile, ["dataset.img_dir=synthetic"]); // its data is not what is timed
const name = basename(configFile, extname(configFile));
const ownResolution = config.dataset.resolution;
const resolution = values.resolution ? integerFlag("resolution", values.resolution, 8) : ownResolution;
const batch = config.sched.batch_sizes[Math.log2(ownResolution) - 2]; // the final depth's (depth 0 = 4 px)
const measured = values.reference ? await MeasuredReference.read(values.reference) : undefined;
const backend = await initBackend(processRuntime({ backend: "wasm" }), { quiet: true });
const { seconds, traffic } = await trainingStepTiming({
  resolution,
  batch,
  steps,
  workers,
  configFile,
  sharedMemory: !values.pipes,
});
const ref = measured?.get("train", resolution, name, batch) ?? null;
console.log(JSON.stringify({
  case: `${name} config, ${resolution} px, batch ${batch}, R1 every ${config.model.r1_interval} steps`,
  backend: backend.reason,
  workers,
  transport: workers > 0 ? (values.pipes ? "pipes" : "shared memory") : null,
  s_per_step: seconds,
  img_per_s: batch / seconds,
  ref_img_per_s: ref,
  ref_source: measured ? "same run" : null,
  ratio: ref === null ? null : batch / seconds / ref,
  bytes_to_workers: traffic?.sent ?? null,
  bytes_from_workers: traffic?.received ?? null,
}));
