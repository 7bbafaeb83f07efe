/**
 * Bytes a data-parallel training step puts on the pipes between the training process and its workers, as
 * the protocol counts them (model/pool/process_worker.ts), for a config's networks at given resolutions:
 *
 *   deno run -A bench/pool_traffic.ts [--config configs/ucmerced-64.yaml] [--res 32,64] [--workers 2]
 *     [--batch 8] [--pipes]
 *
 * Fixed structure at each resolution, as bench/train_step.ts trains; two steps of a D step and a G step, each
 * followed by what an optimizer step tells the pool (the keys of its gradients); style mixing on (z2 in both
 * passes), no R1 (a flag: it moves no bytes). One JSON line per resolution: the first step's bytes (the
 * workers' first copy of every weight), the second's (the steady state), and how many of them were the step's
 * inputs (reals and latents as float32: they grow with the batch, the rest does not). Bytes do not depend on
 * the machine's speed, so a small batch measures what a large one moves, but for the inputs.
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { loadConfig } from "../model/config.ts";
import { ParameterTree } from "../model/layers/parameters.ts";
import { Discriminator } from "../model/networks/discriminator.ts";
import { Generator } from "../model/networks/generator.ts";
import { TrainingPool } from "../model/pool/training_pool.ts";
import { discriminatorOptionsOf, generatorOptionsOf } from "../model/train/loop.ts";
import { integerFlag } from "./flags.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    config: { type: "string", default: "configs/ucmerced-64.yaml" },
    res: { type: "string", default: "32,64" },
    workers: { type: "string", default: "2" },
    batch: { type: "string", default: "8" },
    pipes: { type: "boolean", default: false },
  },
});
const workers = integerFlag("workers", values.workers);
const batch = integerFlag("batch", values.batch);
await initBackend(processRuntime({ backend: "wasm" }), { quiet: true });

for (const res of values.res!.split(",").map((r) => integerFlag("res", r, 8))) {
  const config = await loadConfig(values.config, [
    "dataset.img_dir=synthetic",
    `dataset.resolution=${res}`,
    "structure=fixed",
  ]);
  const G = new Generator(generatorOptionsOf(config), ParameterTree.seeded(1));
  const D = new Discriminator(discriminatorOptionsOf(config), ParameterTree.seeded(2));
  const pool = await TrainingPool.start(
    {
      workers,
      backend: tf.getBackend(),
      generator: generatorOptionsOf(config),
      discriminator: discriminatorOptionsOf(config),
      loss: config.model,
      sharedMemory: !values.pipes,
      log: () => {},
    },
    G,
    D,
  );
  const latent = config.model.gen.latent_size;
  const depth = Math.log2(res) - 2;
  const reals = tf.randomUniform([batch, res, res, config.dataset.channels], -1, 1) as tf.Tensor4D;
  const z = tf.randomNormal([batch, latent]) as tf.Tensor2D;
  const z2 = tf.randomNormal([batch, latent]) as tf.Tensor2D;
  const common = { depth, alpha: 1, z, z2, mixingCutoff: 2, noiseSeed: 7 };
  const step = async () => {
    const before = pool.traffic;
    const d = await pool.discriminatorStep({ ...common, reals, useR1: false, r1Gamma: 0 });
    pool.weightsChanged("d", d.grads.keys());
    tf.dispose([...d.grads.values()]);
    const g = await pool.generatorStep(common);
    pool.weightsChanged("g", g.grads.keys());
    tf.dispose([...g.grads.values()]);
    const after = pool.traffic;
    return { sent: after.sent - before.sent, received: after.received - before.received };
  };
  try {
    const first = await step();
    const steady = await step();
    console.log(JSON.stringify({
      config: values.config,
      res,
      batch,
      workers,
      transport: pool.transport,
      trainable_parameters: { g: G.params.countTrainable(), d: D.params.countTrainable() },
      first_step: first,
      step: steady,
      // Reals once (D step), z and z2 in both passes, float32.
      input_bytes: 4 * (reals.size + 2 * (z.size + z2.size)),
    }));
  } finally {
    await pool.close();
    tf.dispose([reals, z, z2]);
    G.dispose();
    D.dispose();
  }
}
