/**
 * Peak memory of `deno task serve` under load with the embedded default model:
 *
 *   deno run -A bench/serve_memory.ts [--clients 32] [--seconds 20] [--port 8791] [--workers auto]
 *
 * Starts `server/main.ts` as its own process, runs `--clients` concurrent clients that each request new
 * tiles (`/generate?seed=…`, every seed distinct, so every request is generated) for `--seconds`, then reads the
 * server's peak resident set size (VmHWM in /proc/PID/status, Linux) and prints one summary line. With synthesis
 * worker processes (`--workers`, SGAN_WORKERS; the server's default is one per core) the resident sets of the
 * server and its workers are also summed every 100 ms, and the largest sum is reported.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { integerFlag, positiveFlag } from "./flags.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "32" },
    seconds: { type: "string", default: "20" },
    port: { type: "string", default: "8791" },
    workers: { type: "string", default: "auto" },
  },
});
const clients = integerFlag("clients", values.clients);
const seconds = positiveFlag("seconds", values.seconds);
const port = integerFlag("port", values.port);
const base = `http://127.0.0.1:${port}`;

const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "server/main.ts"],
  cwd: fileURLToPath(new URL("..", import.meta.url)),
  env: { PORT: String(port), SGAN_WORKERS: values.workers! },
  stdout: "null",
  stderr: "null",
}).spawn();

function kib(field: string, pid = server.pid): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/** The server's child processes (its synthesis workers), from /proc/PID/task/TID/children. */
function workerPids(): number[] {
  const pids: number[] = [];
  for (const task of Deno.readDirSync(`/proc/${server.pid}/task`)) {
    const text = Deno.readTextFileSync(`/proc/${server.pid}/task/${task.name}/children`).trim();
    if (text) pids.push(...text.split(/\s+/).map(Number));
  }
  return pids;
}

/** Resident kilobytes of the server and its workers together (a worker that just exited counts 0). */
function totalRssKib(): number {
  let sum = kib("VmRSS");
  for (const pid of workerPids()) {
    try {
      sum += kib("VmRSS", pid);
    } catch { /* gone */ }
  }
  return sum;
}

try {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/api/models`)).ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error("the server did not start within 60 s");
    await new Promise((r) => setTimeout(r, 250));
  }
  const idle = kib("VmRSS");
  const idleTotal = totalRssKib();
  let peakTotal = idleTotal;
  const sampler = setInterval(() => peakTotal = Math.max(peakTotal, totalRssKib()), 100);
  let next = 100_000;
  let ok = 0;
  let failed = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < end) {
      const res = await fetch(`${base}/generate?seed=${next++}&psi=0.7`);
      await res.arrayBuffer();
      if (res.status === 200) ok++;
      else failed++;
    }
  }));
  clearInterval(sampler);
  const peak = kib("VmHWM");
  const workers = workerPids();
  const workerPeaks = workers.map((pid) => (kib("VmHWM", pid) / 1024).toFixed(0));
  console.log(
    `serve, default model, ${clients} clients for ${seconds} s: ${ok} tiles (${
      (ok / seconds).toFixed(1)
    }/s), ` +
      `${failed} not 200; RSS idle ${(idle / 1024).toFixed(0)} MB, peak ${(peak / 1024).toFixed(0)} MB` +
      (workers.length
        ? `; ${workers.length} workers, peaks ${workerPeaks.join(", ")} MB; server + workers idle ${
          (idleTotal / 1024).toFixed(0)
        } MB, peak ${(peakTotal / 1024).toFixed(0)} MB (sampled)`
        : "; no worker processes"),
  );
} finally {
  server.kill("SIGTERM");
  await server.status;
}
