/**
 * A data-parallel training worker process (started by {@link TrainingPool}; not a command for people). After
 * `init` it holds a G and a D of the run's structure; each step request brings the parameters that changed
 * since its last one (their values inline or in the pool's shared memory) and this worker's share of the
 * batch, and is answered with the share's loss and gradients (inline or in its region of the shared memory).
 * `verify` answers with digests of the weights it holds, which the pool compares with its own.
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
import { assignFromValues, ParameterLayout, trainableDigests } from "./parameter_layout.ts";
import { SharedFloats } from "./shared_memory.ts";
import type {
  DigestReply,
  GradientReply,
  StepRequest,
  TrainingInit,
  TrainingRequest,
  VerifyRequest,
  WeightUpdate,
} from "./training_protocol.ts";

interface Networks {
  G: Generator;
  D: Discriminator;
  /** Every parameter of each network where the shared memory has it (the parent's order). */
  weights: { g: ParameterLayout; d: ParameterLayout };
  /** The trainable parameters of each network where this worker's gradients go in the shared memory. */
  gradients: { g: ParameterLayout; d: ParameterLayout };
  loss: Omit<LossSettings, "r1_gamma">;
  shared?: SharedFloats;
  /** Whether each network has received all of its weights since init. */
  hasWeights: { g: boolean; d: boolean };
}

let nets: Networks | undefined;

function disposeNetworks(): void {
  nets?.G.dispose();
  nets?.D.dispose();
  nets?.shared?.close();
  nets = undefined;
}

function init(request: TrainingInit): { type: string; id: number } {
  disposeNetworks();
  const G = new Generator(request.generator);
  const D = new Discriminator(request.discriminator);
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((k, i) => k === b[i]);
  const gWeights = new ParameterLayout(G.params.entries());
  const weights = { g: gWeights, d: new ParameterLayout(D.params.entries(), gWeights.size) };
  if (!same(weights.g.keys(), request.gKeys) || weights.g.size !== request.gFloats) {
    G.dispose();
    D.dispose();
    throw new Error("the worker's generator has other parameters than the training loop's");
  }
  if (!same(weights.d.keys(), request.dKeys) || weights.d.size !== request.dFloats) {
    G.dispose();
    D.dispose();
    throw new Error("the worker's discriminator has other parameters than the training loop's");
  }
  const offset = request.shared?.gradientOffset ?? 0;
  const trainable = (net: Generator | Discriminator) => net.params.entries().filter((p) => p.trainable);
  let shared: SharedFloats | undefined;
  try {
    shared = request.shared ? SharedFloats.open(request.shared.path, request.shared.length) : undefined;
  } catch (e) {
    G.dispose();
    D.dispose();
    throw e;
  }
  nets = {
    G,
    D,
    weights,
    gradients: { g: new ParameterLayout(trainable(G), offset), d: new ParameterLayout(trainable(D), offset) },
    loss: request.loss,
    shared,
    hasWeights: { g: false, d: false },
  };
  return { type: "initialized", id: request.id };
}

/** Take what changed in a network (an error if a step comes before all of its weights have). */
function receiveWeights(net: "g" | "d", update: WeightUpdate | null): void {
  const layout = nets!.weights[net];
  if (update) {
    const values = update.values ? bytesToFloats(update.values) : nets!.shared?.floats;
    if (!values) throw new Error("weights without values, and no shared memory");
    assignFromValues(layout, update.keys, values, update.values !== null);
    if (update.keys.length === layout.params.length) nets!.hasWeights[net] = true;
  }
  if (!nets!.hasWeights[net]) throw new Error(`a step before ${net === "g" ? "G" : "D"}'s weights were sent`);
}

async function verify(request: VerifyRequest): Promise<DigestReply> {
  if (!nets) throw new Error("verify before init");
  receiveWeights("g", request.gWeights);
  receiveWeights("d", request.dWeights);
  const [g, d] = await Promise.all([trainableDigests(nets.weights.g), trainableDigests(nets.weights.d)]);
  return { type: "digests", id: request.id, g, d };
}

async function step(request: StepRequest): Promise<GradientReply> {
  if (!nets) throw new Error("step before init");
  const { G, D, loss } = nets;
  const gParams = nets.gradients.g.params as Parameter[];
  const dParams = nets.gradients.d.params as Parameter[];
  receiveWeights("g", request.gWeights);
  receiveWeights("d", request.dWeights);
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
    const layout = nets.gradients[request.type];
    let grads: Uint8Array | null = null;
    if (nets.shared) {
      const memory = nets.shared.floats;
      await Promise.all(keys.map(async (k) => {
        memory.set(await result.grads.get(k)!.data() as Float32Array, layout.slot(k).offset);
      }));
    } else {
      grads = floatBytes(await readGradients(keys, result.grads));
    }
    return { type: "grads", id: request.id, loss: (await result.loss.data())[0], keys, grads };
  } finally {
    tf.dispose([result.loss, ...result.grads.values()]);
  }
}

/** The gradients of `keys`, one after another. */
async function readGradients(keys: string[], grads: Map<string, tf.Tensor>): Promise<Float32Array> {
  const arrays = await Promise.all(keys.map((k) => grads.get(k)!.data() as Promise<Float32Array>));
  const out = new Float32Array(arrays.reduce((s, a) => s + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

if (import.meta.main) {
  try {
    await serveRequests<TrainingRequest>(async () => {
      const info = await initBackend(processRuntime(), { quiet: true });
      return { backend: info.name, detail: info.reason };
    }, async (request) => {
      if (request.type === "init") return init(request);
      if (request.type === "verify") return await verify(request);
      return await step(request);
    });
    disposeNetworks();
  } catch (e) {
    console.error(`training worker: ${(e as Error).stack ?? e}`);
    Deno.exit(1);
  }
}
