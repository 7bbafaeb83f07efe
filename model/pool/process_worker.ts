/**
 * One worker process speaking MessagePack over stdin/stdout (see protocol.ts): started with `deno run` on a
 * script of this folder, it first says `ready`, then answers each request (an object with an `id`) with a
 * reply of the same `id`, or `{type: "error", id, message}`. Used by the synthesis pool and the data-parallel
 * training pool.
 *
 * A worker that dies rejects every request in flight with a {@link PoolError} naming its exit status and its
 * last stderr lines; its stderr is also passed on line by line, prefixed with its name and pid.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { readMessages, writeMessage } from "./protocol.ts";

const CONFIG_FILE = fileURLToPath(new URL("../../deno.json", import.meta.url));
/** Stderr kept per worker for error messages. */
const STDERR_TAIL_CHARS = 2000;

/**
 * Worker processes worth starting on `backend`: one per core (at most 8) on the single-threaded CPU backends
 * wasm and cpu, none on GPU backends or a one-core machine.
 */
export function defaultPoolSize(backend: string): number {
  const cores = navigator.hardwareConcurrency || 1;
  return (backend === "wasm" || backend === "cpu") && cores > 1 ? Math.min(cores, 8) : 0;
}

/**
 * Check a pool's worker count and backend (`kind` names the pool in the messages) and return the OpenBLAS
 * threads each worker gets by default: the cores shared out among the workers, at least 1.
 */
export function checkPoolOptions(kind: string, workers: number, backend: string): number {
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`a ${kind} pool needs at least one worker, got ${workers}`);
  }
  if (backend !== "wasm" && backend !== "cpu") {
    throw new RangeError(`${kind} workers run the wasm or cpu backend, not '${backend}'`);
  }
  return Math.max(1, Math.floor((navigator.hardwareConcurrency || 1) / workers));
}

/** A worker failed to start or died. */
export class PoolError extends Error {
  override name = "PoolError";
}

/**
 * The worker process died (killed, crashed, or gone before its reply) with requests in flight: the requests
 * themselves may be fine, so callers may run them again on another worker.
 */
export class WorkerExitError extends PoolError {
  override name = "WorkerExitError";
}

/** Worker → parent, once, after its backend is up. */
export interface ReadyMessage {
  type: "ready";
  backend: string;
  /** The backend's one-line description (threads, kernels). */
  detail: string;
  pid: number;
}

/** Worker → parent: a request failed; the worker goes on. */
export interface FailureMessage {
  type: "error";
  id: number;
  message: string;
}

/** How to start a worker. */
export interface ProcessWorkerOptions {
  /** A script in this folder (file name). */
  script: string;
  /** Name used in messages, e.g. "synthesis worker". */
  name: string;
  /** Environment added to this process's (backend, threads, ...). */
  env: Record<string, string>;
  /** How long the worker may take to say `ready`. */
  startTimeoutMs: number;
  /** Where stderr lines go (default: this process's stderr). */
  log?: (line: string) => void;
}

interface Pending {
  cost: number;
  resolve: (reply: unknown) => void;
  reject: (error: Error) => void;
}

/** A started worker process; see the module comment. */
export class ProcessWorker {
  readonly child: Deno.ChildProcess;
  readonly name: string;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, Pending>();
  /** Cost (e.g. images) of the requests in flight: the load used to pick a worker. */
  busy = 0;
  alive = true;
  /** `backend (detail)` from the ready message. */
  detail = "";
  /** Bytes written to the worker and read from it so far, as framed on the pipes (see protocol.ts). */
  sentBytes = 0;
  receivedBytes = 0;
  #stderrTail = "";
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;

  constructor(options: ProcessWorkerOptions) {
    const name = options.name;
    this.name = name;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        "--config",
        CONFIG_FILE,
        "--allow-read",
        "--allow-env",
        "--allow-ffi",
        fileURLToPath(new URL(`./${options.script}`, import.meta.url)),
      ],
      env: options.env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.child = child;
    this.#writer = child.stdin.getWriter();
    const log = options.log ?? ((line: string) => console.error(line));
    const stderrDone = this.#readStderr(log);
    let signalReady!: () => void;
    let failReady!: (e: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      signalReady = resolve;
      failReady = reject;
    });
    const timer = setTimeout(
      () => failReady(new PoolError(`${name} did not start within ${options.startTimeoutMs / 1000} s`)),
      options.startTimeoutMs,
    );
    this.exited = (async () => {
      try {
        for await (
          const reply of readMessages<{ type: string; id?: number }>(
            child.stdout,
            (bytes) => this.receivedBytes += bytes,
          )
        ) {
          if (reply.type === "ready") {
            const ready = reply as ReadyMessage;
            this.detail = `${ready.backend} (${ready.detail})`;
            clearTimeout(timer);
            signalReady();
          } else this.#settle(reply as { type: string; id: number });
        }
      } catch (e) {
        this.#stderrTail += `\n(unreadable reply: ${(e as Error).message})`;
      }
      const status = await child.status;
      await stderrDone;
      clearTimeout(timer);
      this.alive = false;
      const error = new WorkerExitError(
        `${name} ${child.pid} exited (${status.signal ? `signal ${status.signal}` : `code ${status.code}`})${
          this.#stderrTail.trim() ? `: ${this.#stderrTail.trim()}` : ""
        }`,
      );
      failReady(error);
      for (const request of this.#pending.values()) request.reject(error);
      this.#pending.clear();
      this.busy = 0;
    })();
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Send a request; resolves with the worker's reply of the same id (rejects on an error reply or exit). */
  request<Reply>(message: { id: number }, cost = 1): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(message.id, { cost, resolve: resolve as (r: unknown) => void, reject });
      this.busy += cost;
      writeMessage(this.#writer, message).then((bytes) => this.sentBytes += bytes, async (e) => {
        // A worker that died takes its stdin with it: its exit (with status and stderr) is the better message,
        // and rejects every pending request; the write error is the fallback if no exit follows.
        await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5000))]);
        if (this.#pending.delete(message.id)) {
          this.busy -= cost;
          reject(new WorkerExitError(`${this.name} ${this.child.pid} is gone: ${(e as Error).message}`));
        }
      });
    });
  }

  /** Ask the worker to finish (stdin closes); kill it if it has not exited after `graceMs`. */
  async close(graceMs = 5000): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  #settle(reply: { type: string; id: number }): void {
    const request = this.#pending.get(reply.id);
    if (!request) return;
    this.#pending.delete(reply.id);
    this.busy -= request.cost;
    if (reply.type === "error") request.reject(new Error((reply as FailureMessage).message));
    else request.resolve(reply);
  }

  async #readStderr(log: (line: string) => void): Promise<void> {
    let partial = "";
    for await (const text of this.child.stderr.pipeThrough(new TextDecoderStream())) {
      this.#stderrTail = (this.#stderrTail + text).slice(-STDERR_TAIL_CHARS);
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) if (line.trim()) log(`[${this.name} ${this.child.pid}] ${line}`);
    }
    if (partial.trim()) log(`[${this.name} ${this.child.pid}] ${partial}`);
  }
}

/**
 * Serve requests on stdin with `handle` until stdin closes (the worker side). Says `ready` first with what
 * `start` returns; a request that throws is answered with an error message and the worker goes on.
 */
export async function serveRequests<Request extends { id: number }>(
  start: () => Promise<{ backend: string; detail: string }>,
  handle: (request: Request) => Promise<{ type: string; id: number }>,
): Promise<void> {
  // stdout carries only protocol messages: anything a library prints goes to stderr.
  console.log = console.error;
  console.info = console.error;
  console.warn = console.error;
  // Ctrl-C in a terminal reaches the whole process group: the parent decides when to stop (it closes stdin),
  // so that a training run can still reach its safe point and a server can finish its requests.
  Deno.addSignalListener("SIGINT", () => {});
  const writer = Deno.stdout.writable.getWriter();
  const info = await start();
  await writeMessage(writer, { type: "ready", backend: info.backend, detail: info.detail, pid: Deno.pid });
  for await (const request of readMessages<Request>(Deno.stdin.readable)) {
    let reply: { type: string; id: number } | FailureMessage;
    try {
      reply = await handle(request);
    } catch (e) {
      reply = { type: "error", id: request.id, message: (e as Error).message };
    }
    await writeMessage(writer, reply);
  }
}
