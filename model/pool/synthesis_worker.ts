/**
 * A synthesis worker process (started by {@link SynthesisPool}; not a command for people). The entry point of
 * its process: it reads the runtime the parent hands over in the environment (`SGAN_BACKEND`, ...) once, sets up
 * that backend, says `ready`, then answers synthesis requests from stdin one at a time on stdout until stdin
 * closes. Generators are loaded on first use, checked against the parent's
 * SHA-256 of the checkpoint, and kept (least recently used out) up to `SGAN_POOL_MAX_MODELS`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/select.ts";
import { defaultRuntime, processEnvVariable, processRuntime, type Runtime } from "../runtime.ts";
import { loadGeneratorForInference } from "../serving.ts";
import { toRgb8 } from "../images.ts";
import type { Generator } from "../networks/generator.ts";
import { fileFingerprint } from "../files.ts";
import { serveRequests } from "./process_worker.ts";
import { bytesToFloats, type ModelRef, type SynthesisRequest, type SynthesisResult } from "./protocol.ts";

/** Read from the environment when the process starts (below). */
let runtime: Runtime = defaultRuntime();
const maxModels = Math.max(1, Number(processEnvVariable("SGAN_POOL_MAX_MODELS") ?? "4") || 4);
const loaded = new Map<string, Generator>();

async function generatorFor(model: ModelRef): Promise<Generator> {
  const known = loaded.get(model.fingerprint);
  if (known) {
    loaded.delete(model.fingerprint); // re-insert: Map order is the eviction order
    loaded.set(model.fingerprint, known);
    return known;
  }
  if ((await fileFingerprint(model.file)) !== model.fingerprint) {
    throw new Error(`${model.file} changed on disk after the server loaded it; retry the request`);
  }
  const { network } = await loadGeneratorForInference(model.file, runtime);
  loaded.set(model.fingerprint, network);
  for (const [key, generator] of loaded) {
    if (loaded.size <= maxModels) break;
    loaded.delete(key);
    generator.dispose();
  }
  return network;
}

async function synthesize(request: SynthesisRequest): Promise<SynthesisResult> {
  const G = await generatorFor(request.model);
  const [n, layers, size] = request.shape;
  const values = bytesToFloats(request.dlatents);
  if (values.length !== n * layers * size) {
    throw new Error(
      `dlatents hold ${values.length} values, shape [${request.shape}] needs ${n * layers * size}`,
    );
  }
  const images = tf.tidy(() =>
    G.gSynthesis.apply(tf.tensor3d(values, request.shape), { depth: request.depth, noise: request.noise })
  );
  try {
    const rasters = await toRgb8(images);
    const { width, height, channels } = rasters[0];
    const data = new Uint8Array(rasters.length * width * height * channels);
    rasters.forEach((r, i) => data.set(r.data, i * r.data.length));
    return { type: "result", id: request.id, width, height, channels, data };
  } finally {
    images.dispose();
  }
}

if (import.meta.main) {
  try {
    await serveRequests<SynthesisRequest>(async () => {
      runtime = processRuntime();
      const info = await initBackend(runtime, { quiet: true });
      return { backend: info.name, detail: info.reason };
    }, synthesize);
    for (const generator of loaded.values()) generator.dispose();
  } catch (e) {
    console.error(`synthesis worker: ${(e as Error).stack ?? e}`);
    Deno.exit(1);
  }
}
