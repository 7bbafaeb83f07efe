/**
 * A synthesis worker process (started by {@link SynthesisPool}; not a command for people). It sets up the
 * backend the parent names in `SGAN_BACKEND`, says `ready`, then answers synthesis requests from stdin one
 * at a time on stdout until stdin closes. Generators are loaded on first use, checked against the parent's
 * SHA-256 of the checkpoint, and kept (least recently used out) up to `SGAN_POOL_MAX_MODELS`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend, requestedBackend } from "../backend/select.ts";
import { loadGeneratorForInference } from "../serving.ts";
import { toRgb8 } from "../images.ts";
import type { Generator } from "../networks/generator.ts";
import { fileFingerprint } from "../files.ts";
import { serveRequests } from "./process_worker.ts";
import { bytesToFloats, type ModelRef, type SynthesisRequest, type SynthesisResult } from "./protocol.ts";

const maxModels = Math.max(1, Number(Deno.env.get("SGAN_POOL_MAX_MODELS") ?? "4") || 4);
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
  const { network } = await loadGeneratorForInference(model.file);
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
      const info = await initBackend(requestedBackend(), { quiet: true });
      return { backend: info.name, detail: info.reason };
    }, synthesize);
    for (const generator of loaded.values()) generator.dispose();
  } catch (e) {
    console.error(`synthesis worker: ${(e as Error).stack ?? e}`);
    Deno.exit(1);
  }
}
