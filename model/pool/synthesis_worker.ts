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
import { loadGenerator } from "../checkpoint/checkpoint.ts";
import { toRgb8 } from "../images.ts";
import type { Generator } from "../networks/generator.ts";
import {
  bytesToFloats,
  type ModelRef,
  readMessages,
  type SynthesisRequest,
  type WorkerReply,
  type WorkerRequest,
  writeMessage,
} from "./protocol.ts";

// stdout carries only protocol messages: anything a library prints goes to stderr.
console.log = console.error;
console.info = console.error;
console.warn = console.error;

const maxModels = Math.max(1, Number(Deno.env.get("SGAN_POOL_MAX_MODELS") ?? "4") || 4);
const loaded = new Map<string, Generator>();

async function generatorFor(model: ModelRef): Promise<Generator> {
  const known = loaded.get(model.fingerprint);
  if (known) {
    loaded.delete(model.fingerprint); // re-insert: Map order is the eviction order
    loaded.set(model.fingerprint, known);
    return known;
  }
  const bytes = await Deno.readFile(model.file);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const fingerprint = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  if (fingerprint !== model.fingerprint) {
    throw new Error(`${model.file} changed on disk after the server loaded it; retry the request`);
  }
  const { network } = await loadGenerator(model.file);
  loaded.set(model.fingerprint, network);
  for (const [key, generator] of loaded) {
    if (loaded.size <= maxModels) break;
    loaded.delete(key);
    generator.dispose();
  }
  return network;
}

async function synthesize(request: SynthesisRequest): Promise<WorkerReply> {
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

async function main(): Promise<void> {
  const writer = Deno.stdout.writable.getWriter();
  const info = await initBackend(requestedBackend(), { quiet: true });
  await writeMessage(writer, { type: "ready", backend: info.name, detail: info.reason, pid: Deno.pid });
  for await (const request of readMessages<WorkerRequest>(Deno.stdin.readable)) {
    let reply: WorkerReply;
    try {
      reply = await synthesize(request);
    } catch (e) {
      reply = { type: "error", id: request.id, message: (e as Error).message };
    }
    await writeMessage(writer, reply);
  }
  for (const generator of loaded.values()) generator.dispose();
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`synthesis worker: ${(e as Error).stack ?? e}`);
    Deno.exit(1);
  }
}
