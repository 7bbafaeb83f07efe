/**
 * Latency and throughput of `GET /generate` over loopback: p50/p95 latency and images/s at 64 px and 256 px,
 * under 1, 8 and 32 concurrent clients, with batching on and off.
 *
 *   deno run -A bench/server_bench.ts [--quick] [--backend=wasm] [--workers=0,auto] [--json=PATH]
 *
 * --quick       fewer requests per case (a smoke run)
 * --backend=B   the server's tensor backend (default wasm)
 * --workers=L   SGAN_WORKERS values to compare, comma-separated (default auto: one process per core)
 * --json=PATH   write the rows as JSON as well (default bench/out/server_bench.json)
 *
 * Only a 32 px model ships, so the bench builds random-weight generators of 64 and 256 px with reduced widths
 * (fmap_base 2048, fmap_max 128), saves them into a temporary SGAN_MODELS_DIR and starts `server/main.ts` as a
 * separate process (the clients must not share the server's thread). Every request asks for a new seed and the
 * response cache is off, so every request is generated. Each case starts after a warm-up that loads the model.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { saveNetwork } from "../model/checkpoint/checkpoint.ts";
import { Generator } from "../model/networks/generator.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const RESOLUTIONS = [64, 256] as const;
const CLIENTS = [1, 8, 32] as const;

interface Row {
  /** SGAN_WORKERS of the server. */
  workers: string;
  pixels: number;
  clients: number;
  batching: boolean;
  requests: number;
  p50_ms: number;
  p95_ms: number;
  images_per_s: number;
  /** Responses by HTTP status. */
  statuses: Record<string, number>;
}

/** Requests per case: enough for a p95, bounded in time (256 px is about 0.5 s per image on 2 cores). */
function requestsFor(pixels: number, clients: number, quick: boolean): number {
  const base = pixels <= 64 ? Math.max(24, 4 * clients) : Math.max(8, 2 * clients);
  return quick ? Math.max(clients, Math.ceil(base / 4)) : base;
}

async function buildModels(dir: string): Promise<void> {
  for (const resolution of RESOLUTIONS) {
    const G = new Generator({ resolution, fmap_base: 2048, fmap_max: 128 });
    await saveNetwork(`${dir}/bench-${resolution}.safetensors`, G, {
      name: `bench-${resolution}`,
      gsd_m: "0.3",
      kimg: "0",
      description: "random weights, reduced widths (benchmark only)",
    });
    G.dispose();
  }
}

interface RunningServer {
  url: string;
  child: Deno.ChildProcess;
}

async function startServer(
  modelsDir: string,
  batching: boolean,
  backend: string,
  workers: string,
): Promise<RunningServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "server/main.ts", "--port", "0", "--backend", backend],
    cwd: REPO,
    env: {
      SGAN_MODELS_DIR: modelsDir,
      SGAN_BATCHING: batching ? "1" : "0",
      SGAN_CACHE_MB: "0",
      SGAN_QUEUE_IMAGES: "4096",
      SGAN_QUEUE_WAIT_S: "3600",
      SGAN_WORKERS: workers,
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/http:\/\/\S+\//.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the server exited before printing its URL:\n${text}`);
    text += value;
  }
  reader.releaseLock();
  const port = /:(\d+)\//.exec(text)![1];
  return { url: `http://127.0.0.1:${port}`, child };
}

async function stopServer(server: RunningServer): Promise<void> {
  server.child.kill("SIGTERM");
  await server.child.stdout.cancel().catch(() => {});
  await server.child.status;
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[index];
}

let nextSeed = 1_000_000;

async function runCase(
  workers: string,
  url: string,
  pixels: number,
  clients: number,
  requests: number,
  batching: boolean,
): Promise<Row> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let issued = 0;
  const started = performance.now();
  const client = async () => {
    while (issued < requests) {
      issued++;
      const seed = nextSeed++;
      const t0 = performance.now();
      const res = await fetch(`${url}/generate?seed=${seed}&psi=0.7&model=bench-${pixels}`);
      await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    workers,
    pixels,
    clients,
    batching,
    requests,
    p50_ms: Math.round(percentile(latencies, 0.5)),
    p95_ms: Math.round(percentile(latencies, 0.95)),
    images_per_s: +((statuses["200"] ?? 0) / seconds).toFixed(2),
    statuses,
  };
}

function table(rows: Row[]): string {
  const lines = [
    "| workers | tile | clients | batching | requests | p50 ms | p95 ms | images/s |",
    "| :---: | ---: | ---: | :---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.workers} | ${r.pixels} px | ${r.clients} | ${
        r.batching ? "on" : "off"
      } | ${r.requests} | ${r.p50_ms} | ${r.p95_ms} | ${r.images_per_s} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      backend: { type: "string" },
      json: { type: "string" },
      workers: { type: "string", default: "auto" },
    },
  });
  const backend = values.backend ?? "wasm";
  const jsonPath = values.json ?? `${REPO}/bench/out/server_bench.json`;
  // The same backend set-up as the server's (for the report line), and the tensors of the generators to save.
  const info = await initBackend(processRuntime({ backend }), { quiet: true });
  const modelsDir = await Deno.makeTempDir({ prefix: "sgan-bench-models-" });
  const rows: Row[] = [];
  try {
    console.error(`building random-weight generators (64, 256 px) in ${modelsDir}`);
    await buildModels(modelsDir);
    for (const workers of values.workers!.split(",").map((w) => w.trim())) {
      for (const batching of [true, false]) {
        const server = await startServer(modelsDir, batching, backend, workers);
        try {
          for (const pixels of RESOLUTIONS) {
            // Warm-up: load the model and let the kernels settle.
            await runCase(workers, server.url, pixels, 1, 2, batching);
            for (const clients of CLIENTS) {
              const row = await runCase(
                workers,
                server.url,
                pixels,
                clients,
                requestsFor(pixels, clients, !!values.quick),
                batching,
              );
              rows.push(row);
              console.error(
                `workers ${workers}, ${pixels} px, ${clients} clients, batching ${
                  batching ? "on" : "off"
                }: p50 ${row.p50_ms} ms, p95 ${row.p95_ms} ms, ${row.images_per_s} images/s ${
                  JSON.stringify(row.statuses)
                }`,
              );
            }
          }
        } finally {
          await stopServer(server);
        }
      }
    }
  } finally {
    await Deno.remove(modelsDir, { recursive: true });
  }
  const machine = `${navigator.hardwareConcurrency} cores, backend ${backend}: ${
    info.reason.split(";")[0]
  }, Deno ${Deno.version.deno}`;
  console.log(
    `GET /generate over loopback (${machine}); random-weight generators, fmap_base 2048, fmap_max 128\n`,
  );
  console.log(table(rows));
  await Deno.mkdir(new URL(".", `file://${jsonPath}`), { recursive: true });
  await Deno.writeTextFile(jsonPath, JSON.stringify({ machine, rows }, null, 2));
}

if (import.meta.main) await main();
