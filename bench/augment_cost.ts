/**
 * What DiffAugment costs in training speed: `deno run -A bench/augment_cost.ts [--res 32] [--batch 32]
 * [--rounds 3] [--steps 4] [--workers 0] [--policy color,translation,cutout] [--backend wasm]`.
 *
 * Times training steps (bench/train_step.ts: one D step with R1, one G step) of the embedded model's
 * architecture (model/pretrained: latent 256, fmap_base 1024, fmap_max 128) without and with the policy,
 * interleaved round by round (alternating which goes first) so that a shared, noisy machine slows both alike,
 * and prints the medians.
 */
import { parseArgs } from "node:util";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { integerFlag } from "./flags.ts";
import { trainingStepSeconds } from "./train_step.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    res: { type: "string", default: "32" },
    batch: { type: "string", default: "32" },
    rounds: { type: "string", default: "3" },
    steps: { type: "string", default: "4" },
    workers: { type: "string", default: "0" },
    policy: { type: "string", default: "color,translation,cutout" },
    backend: { type: "string", default: "wasm" },
  },
});
const resolution = integerFlag("res", values.res, 4);
const batch = integerFlag("batch", values.batch);
const rounds = integerFlag("rounds", values.rounds);
const steps = integerFlag("steps", values.steps);
const workers = integerFlag("workers", values.workers, 0);
const info = await initBackend(processRuntime({ backend: values.backend! }), { quiet: true });

/** The embedded ucmerced-64 model's widths (its model card). */
const EMBEDDED = ["model.gen.latent_size=256", "model.gen.dlatent_size=256", "model.gen.mapping_fmaps=256"];
const cases = { off: [] as string[], on: [`augment.policy=${values.policy}`] };
const imgPerS: Record<keyof typeof cases, number[]> = { off: [], on: [] };
for (let round = 0; round < rounds; round++) {
  // Alternate which goes first (off-on, on-off, ...), so that neither always runs second in a round.
  for (const name of round % 2 === 0 ? ["off", "on"] as const : ["on", "off"] as const) {
    const seconds = await trainingStepSeconds({
      resolution,
      batch,
      channels: { fmap_base: 1024, fmap_max: 128 },
      steps,
      workers,
      settings: [...EMBEDDED, ...cases[name]],
    });
    imgPerS[name].push(batch / seconds);
    console.log(`round ${round + 1}: augmentation ${name.padEnd(3)} ${(batch / seconds).toFixed(2)} img/s`);
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const [off, on] = [median(imgPerS.off), median(imgPerS.on)];
console.log(
  `${info.name}, ${resolution} px, batch ${batch}, ${workers} workers, policy ${values.policy}: median ` +
    `${off.toFixed(2)} img/s without, ${on.toFixed(2)} with (${((on / off - 1) * 100).toFixed(1)} %)`,
);
