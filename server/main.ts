/**
 * `deno task serve`: start the API on http://localhost:8000/ (`PORT` / `--port`, `HOST` / `--host`,
 * `SGAN_BACKEND` / `--backend`; the other settings are `SGAN_*` variables, listed by `--help`). The entry
 * point of the server process: it reads the environment once, into the server configuration and the runtime.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { activeBackend, initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { describeWebGpuSynthesis } from "../model/webgpu/accelerator.ts";
import { createApp } from "./app.ts";
import { configFromEnv, ENV_VARIABLES } from "./config.ts";
import { createServices } from "./services.ts";

const DEFAULT_PORT = 8000;
const DEFAULT_HOST = "127.0.0.1";

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      backend: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log("deno task serve [--port N] [--host ADDR] [--backend NAME]\n\nEnvironment:");
    for (const [name, meaning] of Object.entries(ENV_VARIABLES)) {
      console.log(`  ${name.padEnd(24)} ${meaning}`);
    }
    return;
  }
  const port = parsePort(values.port ?? Deno.env.get("PORT"));
  const hostname = values.host ?? Deno.env.get("HOST") ?? DEFAULT_HOST;
  const config = configFromEnv();
  const runtime = processRuntime({ backend: values.backend });
  await initBackend(runtime);
  const services = await createServices({ config, runtime });
  if (!services.font) {
    console.error("labels: no font found (install fonts-dejavu-core); figures are drawn without labels");
  }
  console.error(`generation: ${services.queue.synthesizer.description}`);
  if (activeBackend()?.name === "webgpu") {
    console.error(`webgpu synthesis: ${describeWebGpuSynthesis(runtime.webgpu)}`);
  }
  const app = createApp(services);
  const server = Deno.serve({
    port,
    hostname,
    onListen: ({ port }) => {
      const shown = hostname === "0.0.0.0" || hostname === "127.0.0.1" ? "localhost" : hostname;
      console.log(`sgan-ts API on http://${shown}:${port}/ (reference: /docs)`);
    },
  }, app.fetch);
  // A running training job stops at its safe point first and running projections are interrupted (their event
  // streams end with them), then the server; the synthesis workers go last (requests in flight need them).
  const stop = () =>
    Promise.all([services.training.close(), services.projections?.close()]).finally(() => server.shutdown());
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
  await services.close();
  await services.models.dispose();
}

function parsePort(text: string | undefined): number {
  if (text === undefined || text.trim() === "") return DEFAULT_PORT;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`port must be an integer from 0 to 65535 (0 picks a free one), got "${text}"`);
  }
  return port;
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
