/**
 * The kernels a tiny training step records on the gradient tape: one D step and one G step of a 16 px
 * StyleGAN for every loss the project offers (logistic with and without R1, WGAN-GP, hinge), at the first
 * depth and while fading in a deeper one, progressive and fixed, with style mixing. Every kernel run while a
 * tape is recording (tfjs: gradient depth > 0, outside any kernel) is one whose gradient backprop may need.
 */
import * as tf from "@tensorflow/tfjs-core";
import { loadConfig } from "../../model/config.ts";
import { Discriminator } from "../../model/networks/discriminator.ts";
import { Generator } from "../../model/networks/generator.ts";
import { discriminatorOptionsOf, generatorOptionsOf } from "../../model/train/loop.ts";
import { r1GammaAt } from "../../model/train/schedule.ts";
import {
  discriminatorGradients,
  generatorGradients,
  type LossSettings,
} from "../../model/train/step_grads.ts";
import { TINY_NETWORK } from "./tiny_training.ts";

type RunKernel = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) => tf.Tensor | tf.Tensor[];
/** The engine's tape switch is internal to tfjs; the test reads it. */
type EngineWithTape = { runKernel: RunKernel; isTapeOn(): boolean };

/**
 * Run `fn`, returning the names of the kernels that ran while a gradient tape was recording, with at least one
 * tensor input (a kernel without inputs, such as Range, is never on a path from a variable to the loss).
 */
export function kernelsOnTape(fn: () => void): Set<string> {
  const engine = tf.engine() as unknown as EngineWithTape;
  const original = engine.runKernel;
  const seen = new Set<string>();
  engine.runKernel = function (
    this: EngineWithTape,
    name: string,
    inputs: tf.NamedTensorMap,
    attrs: tf.NamedAttrMap,
  ) {
    if (engine.isTapeOn() && Object.keys(inputs).length > 0) seen.add(name);
    return original.call(this, name, inputs, attrs);
  } as RunKernel;
  try {
    fn();
  } finally {
    engine.runKernel = original;
  }
  return seen;
}

/** The losses of `model.loss` and whether R1 applies, each a case of {@link trainingStepKernels}. */
export const LOSS_CASES: Array<{ name: string; loss: LossSettings["loss"]; r1: boolean }> = [
  { name: "logistic + R1", loss: "logistic", r1: true },
  { name: "logistic", loss: "logistic", r1: false },
  { name: "WGAN-GP", loss: "wgan-gp", r1: false },
  { name: "hinge", loss: "hinge", r1: false },
];

/**
 * The networks of the step: 16 px progressive (first depth; fading in the last), fixed, without blur and
 * minibatch stddev, and 128 px at its top depth, where up- and downscaling fuse into the convolutions.
 */
const NETWORK_CASES: Array<{ sets: string[]; runs: Array<{ depth: number; alpha: number }> }> = [
  { sets: TINY_NETWORK, runs: [{ depth: 0, alpha: 1 }, { depth: 2, alpha: 0.5 }] },
  { sets: [...TINY_NETWORK, "structure=fixed"], runs: [{ depth: 2, alpha: 1 }] },
  {
    sets: [
      ...TINY_NETWORK,
      "model.gen.blur_filter=null",
      "model.dis.blur_filter=null",
      "model.dis.mbstd_group_size=0",
    ],
    runs: [{ depth: 1, alpha: 0.5 }],
  },
  {
    sets: [
      ...TINY_NETWORK,
      "dataset.resolution=128",
      "model.gen.fmap_base=256",
      "model.gen.fmap_max=4",
      "model.dis.fmap_base=256",
      "model.dis.fmap_max=4",
      "sched.fade_in_percentage=[50,50,50,50,50,50]",
    ],
    runs: [{ depth: 5, alpha: 0.5 }],
  },
];

/** The kernels on tape of one D + G step of every network case, for one loss case. */
export async function trainingStepKernels(lossCase: typeof LOSS_CASES[number]): Promise<Set<string>> {
  const all = new Set<string>();
  for (const network of NETWORK_CASES) {
    const config = await loadConfig(undefined, [
      ...network.sets,
      "dataset.img_dir=unused",
      `model.loss=${lossCase.loss}`,
    ]);
    const G = new Generator(generatorOptionsOf(config));
    const D = new Discriminator(discriminatorOptionsOf(config));
    const n = 2;
    for (const { depth, alpha } of network.runs) {
      const px = 4 * 2 ** depth;
      tf.tidy(() => {
        const z = tf.randomNormal([n, 16]) as tf.Tensor2D;
        const z2 = tf.randomNormal([n, 16]) as tf.Tensor2D;
        const reals = tf.randomUniform([n, px, px, 3], -1, 1) as tf.Tensor4D;
        const run = { depth, alpha, noise: "random" as const };
        // The losses take γ resolved for this depth (a number, or model.r1_gamma "auto" worked out).
        const losses = { ...config.model, r1_gamma: r1GammaAt(config.model.r1_gamma, px, n) };
        const fakes = G.forwardTraining(z, { ...run, updateAverage: false });
        const names = kernelsOnTape(() => {
          const d = discriminatorGradients(
            D,
            D.params.entries().filter((p) => p.trainable),
            losses,
            run,
            reals,
            fakes,
            lossCase.r1,
            tf.randomUniform([n]) as tf.Tensor1D,
          );
          const gParams = G.params.entries().filter((p) => p.trainable);
          const g = generatorGradients(G, D, gParams, losses, { z, z2, mixingCutoff: 2 }, run);
          tf.dispose([d.loss, g.loss, ...d.grads.values(), ...g.grads.values()]);
        });
        for (const name of names) all.add(name);
      });
    }
    G.dispose();
    D.dispose();
  }
  return all;
}
