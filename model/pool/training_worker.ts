/**
 * A data-parallel training worker process (started by {@link TrainingPool}; not a command for people). After
 * `init` it holds a G and a D of the run's structure; each step request brings the current weights and this
 * worker's share of the batch, and is answered with the share's loss and gradients.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/select.ts";
import { processRuntime } from "../runtime.ts";
import type { Parameter } from "../layers/parameters.ts";
import { Discriminator } from "../networks/discriminator.ts";
import { Generator } from "../networks/generator.ts";
import {
  discriminatorGradients,
  fakeImages,
  generatorGradients,
  type LossSettings,
  seededNoise,
  type StepGradients,
} from "../train/step_grads.ts";
import { serveRequests } from "./process_worker.ts";
import { bytesToFloats, floatBytes } from "./protocol.ts";
import type { GradientReply, StepRequest, TrainingInit, TrainingRequest } from "./training_protocol.ts";

interface Networks {
  G: Generator;
  D: Discriminator;
  gParams: Parameter[];
  dParams: Parameter[];
  loss: Omit<LossSettings, "r1_gamma">;
  /** Whether each network has received weights since init. */
  hasWeights: { g: boolean; d: boolean };
}

let nets: Networks | undefined;

function init(request: TrainingInit): { type: string; id: number } {
  nets?.G.dispose();
  nets?.D.dispose();
  const G = new Generator(request.generator);
  const D = new Discriminator(request.discriminator);
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((k, i) => k === b[i]);
  if (!same(G.params.entries().map((p) => p.key), request.gKeys)) {
    throw new Error("the worker's generator has other parameters than the training loop's");
  }
  if (!same(D.params.entries().map((p) => p.key), request.dKeys)) {
    throw new Error("the worker's discriminator has other parameters than the training loop's");
  }
  nets = {
    G,
    D,
    gParams: G.params.entries().filter((p) => p.trainable),
    dParams: D.params.entries().filter((p) => p.trainable),
    loss: request.loss,
    hasWeights: { g: false, d: false },
  };
  return { type: "initialized", id: request.id };
}

/** Overwrite every parameter of a network with the parent's values. */
function assignAll(params: Parameter[], bytes: Uint8Array): void {
  const values = bytesToFloats(bytes);
  const total = params.reduce((n, p) => n + p.variable.size, 0);
  if (values.length !== total) throw new Error(`weights hold ${values.length} values, the network ${total}`);
  let offset = 0;
  tf.tidy(() => {
    for (const p of params) {
      p.variable.assign(tf.tensor(values.subarray(offset, offset + p.variable.size), p.variable.shape));
      offset += p.variable.size;
    }
  });
}

/** Take a network's new weights, or keep the ones it has (an error if it never had any). */
function receiveWeights(net: "g" | "d", network: Generator | Discriminator, bytes: Uint8Array | null): void {
  if (bytes) {
    assignAll(network.params.entries(), bytes);
    nets!.hasWeights[net] = true;
  } else if (!nets!.hasWeights[net]) {
    throw new Error(`a step before ${net === "g" ? "G" : "D"}'s weights were sent`);
  }
}

async function step(request: StepRequest): Promise<GradientReply> {
  if (!nets) throw new Error("step before init");
  const { G, D, gParams, dParams, loss } = nets;
  receiveWeights("g", G, request.gWeights);
  receiveWeights("d", D, request.dWeights);
  const n = request.count;
  const latentSize = G.options.latent_size;
  const run = {
    depth: request.depth,
    alpha: request.alpha,
    noise: seededNoise(request.noiseSeed),
    augment: request.augment ?? undefined,
  };
  const inputs = tf.tidy(() => ({
    z: tf.tensor2d(bytesToFloats(request.z), [n, latentSize]),
    z2: request.z2 ? tf.tensor2d(bytesToFloats(request.z2), [n, latentSize]) : undefined,
    reals: request.reals ? tf.tensor4d(bytesToFloats(request.reals), request.realsShape!) : undefined,
    gpMix: request.gpMix ? tf.tensor1d(bytesToFloats(request.gpMix)) : undefined,
  }));
  const latents = {
    z: inputs.z,
    z2: inputs.z2,
    mixingCutoff: request.mixingCutoff ?? undefined,
    labels: request.labels ?? undefined,
  };
  let result: StepGradients;
  if (request.type === "d") {
    if (!inputs.reals) throw new Error("a D step needs reals");
    const fakes = fakeImages(G, latents, run, false);
    const settings = { ...loss, r1_gamma: request.r1Gamma };
    result = discriminatorGradients(
      D,
      dParams,
      settings,
      run,
      inputs.reals,
      fakes,
      request.useR1,
      inputs.gpMix,
      { reals: request.realLabels ?? undefined, fakes: latents.labels },
    );
    fakes.dispose();
  } else {
    result = generatorGradients(G, D, gParams, { ...loss, r1_gamma: 0 }, latents, run, false);
  }
  tf.dispose([inputs.z, inputs.z2, inputs.reals, inputs.gpMix].filter((t) => t !== undefined) as tf.Tensor[]);
  try {
    const keys = [...result.grads.keys()];
    const arrays = await Promise.all(keys.map((k) => result.grads.get(k)!.data() as Promise<Float32Array>));
    const grads = new Float32Array(arrays.reduce((s, a) => s + a.length, 0));
    let offset = 0;
    for (const a of arrays) {
      grads.set(a, offset);
      offset += a.length;
    }
    return {
      type: "grads",
      id: request.id,
      loss: (await result.loss.data())[0],
      keys,
      grads: floatBytes(grads),
    };
  } finally {
    tf.dispose([result.loss, ...result.grads.values()]);
  }
}

if (import.meta.main) {
  try {
    await serveRequests<TrainingRequest>(async () => {
      const info = await initBackend(processRuntime(), { quiet: true });
      return { backend: info.name, detail: info.reason };
    }, async (request) => request.type === "init" ? init(request) : await step(request));
    nets?.G.dispose();
    nets?.D.dispose();
  } catch (e) {
    console.error(`training worker: ${(e as Error).stack ?? e}`);
    Deno.exit(1);
  }
}
