/** A real server on a loopback port for the server tests, and small request helpers. */
import { initBackend } from "../../model/backend/select.ts";
import { defaultRuntime, type Runtime } from "../../model/runtime.ts";
import { REFERENCE_MODEL } from "../../model/pretrained/registry.ts";
import { createApp } from "../../server/app.ts";
import { createServices, type ServiceOptions, type Services } from "../../server/services.ts";

let backendReady: Promise<unknown> | undefined;
/** The runtime of this file's servers: the wasm backend, with OpenBLAS unless {@link useBatchInvariantKernels}. */
let runtime: Runtime = { ...defaultRuntime(), backend: "wasm" };

/** The wasm backend (as the server sets it up: with the OpenBLAS kernels when installed), once per process. */
export function useWasm(): Promise<unknown> {
  backendReady ??= initBackend(runtime, { quiet: true });
  return backendReady;
}

/** The runtime this file's backend and servers use (pools started by hand take it too, for their workers). */
export function testRuntime(): Runtime {
  return runtime;
}

/**
 * For test files that compare tiles byte for byte across different batchings: keep the wasm backend on its
 * own XNNPACK kernels, which give every tile the same bits whatever it is batched with. The optional OpenBLAS
 * kernels can change the last bit with the batch size and the thread count. Call before {@link useWasm}.
 */
export function useBatchInvariantKernels(): void {
  if (backendReady) throw new Error("call useBatchInvariantKernels() before the backend is initialised");
  runtime = { ...runtime, blas: { enabled: false } };
}

/** A running server. */
export interface TestServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  services: Services;
  /** Stop any training job, the server and any synthesis workers, and free the models. */
  close(): Promise<void>;
}

/** Start the app on 127.0.0.1, port 0 (a free one). */
export async function startServer(options: ServiceOptions = {}): Promise<TestServer> {
  await useWasm();
  // The small reference network: fast, and its tiles are known bit for bit from the parity fixture.
  // The runtime goes to the services too: synthesis workers, if any, then run as this process does.
  const services = await createServices({ font: null, embedded: [REFERENCE_MODEL], runtime, ...options });
  const app = createApp(services);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    services,
    close: async () => {
      await services.training.close();
      await server.shutdown();
      await services.close();
      await services.models.dispose();
    },
  };
}

/** A fetched response with its body read (so no resource is left open). */
export interface Fetched {
  status: number;
  headers: Headers;
  body: Uint8Array;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** Fetch and read the whole body. */
export async function request(url: string, init?: RequestInit): Promise<Fetched> {
  const response = await fetch(url, init);
  const body = new Uint8Array(await response.arrayBuffer());
  let json: unknown;
  if ((response.headers.get("content-type") ?? "").includes("application/json")) {
    json = JSON.parse(new TextDecoder().decode(body));
  }
  return { status: response.status, headers: response.headers, body, json };
}

/** The body of an error response. */
export interface ErrorJson {
  error: string;
  field: string | null;
  allowed: unknown;
}

/** Byte equality. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Run `tasks` with at most `limit` in flight. */
export async function pooled<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return out;
}
