/** The app as a whole: every registered route is documented, and `deno task serve`'s entry point starts and prints its URL. */
import assert from "node:assert/strict";
import { createApp } from "../../server/app.ts";
import { DEFAULT_LIMITS } from "../../server/config.ts";
import { openApiDocument } from "../../server/openapi.ts";
import { createServices } from "../../server/services.ts";
import { REPO_ROOT } from "../support/paths.ts";

Deno.test("every route the app registers is in the OpenAPI document", async () => {
  const app = createApp(await createServices({ font: null }));
  const doc = openApiDocument(DEFAULT_LIMITS) as { paths: Record<string, Record<string, unknown>> };
  const registered = new Set(
    app.routes.filter((r) => r.method !== "ALL").map((r) =>
      `${r.method.toLowerCase()} ${
        r.path.replace(/:(\w+)/g, "{$1}").replace(/\/\*$/, "/{file}").replace(/(.)\/$/, "$1")
      }`
    ),
  );
  const documented = new Set(
    Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)),
  );
  assert.ok(registered.has("get /generate") && registered.has("post /api/train"), [...registered].join(", "));
  // /index.html and /static/{file} are aliases of documented routes.
  for (const route of registered) {
    if (route === "get /index.html" || route === "get /static/{file}") continue;
    assert.ok(documented.has(route), `${route} is documented`);
  }
});

Deno.test("server/main.ts listens where told and prints its URL", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "server/main.ts", "--port", "0", "--backend", "wasm"],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { SGAN_FONT: "/nonexistent.ttf" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    while (!/http:\/\/\S+\//.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const url = /http:\/\/(\S+)\//.exec(text)?.[0];
    assert.ok(url, `printed a URL: ${text}`);
    const port = Number(/:(\d+)\//.exec(url)![1]);
    const res = await fetch(`http://127.0.0.1:${port}/generate?seed=730&psi=0.7`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
    await child.stderr.cancel();
    await child.status;
  }
});

Deno.test("server/main.ts --help lists the environment variables", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "server/main.ts", "--help"],
    cwd: REPO_ROOT,
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0);
  for (
    const name of [
      "PORT",
      "SGAN_MODELS_DIR",
      "SGAN_TOKEN",
      "SGAN_DATA_ROOT",
      "SGAN_CORS_ORIGINS",
      "SGAN_MAX_CELLS",
    ]
  ) {
    assert.match(text, new RegExp(name));
  }
});

Deno.test("the training body documents augment and R1 γ as the configuration accepts them", () => {
  type Schema = {
    properties: Record<string, Schema>;
    anyOf?: Record<string, unknown>[];
    enum?: unknown[];
    default?: unknown;
    type?: string;
  };
  const doc = openApiDocument(DEFAULT_LIMITS) as { components: { schemas: { TrainRequest: Schema } } };
  const body = doc.components.schemas.TrainRequest.properties;
  const gamma = body.model.properties.r1_gamma;
  assert.deepEqual(gamma.anyOf, [{ type: "number", minimum: 0 }, { type: "string", const: "auto" }]);
  assert.equal(gamma.default, 10);
  // Each transform at most once, in any order: 1 + 3 + 3·2 + 3·2·1 = 16 spellings, "" (off) among them.
  const policy = body.augment.properties.policy;
  assert.equal(policy.default, "");
  assert.equal(policy.enum!.length, 16);
  assert.equal(new Set(policy.enum).size, 16);
  for (const spelling of ["", "color", "cutout,color", "translation,cutout,color"]) {
    assert.ok(policy.enum!.includes(spelling), spelling);
  }
  assert.ok(!policy.enum!.includes("color,color"));
  const padding = body.augment.properties.translation_padding;
  assert.deepEqual([padding.enum, padding.default], [["zero", "reflect"], "zero"]);
});
