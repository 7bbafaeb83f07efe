/**
 * /openapi.json against an independent validator (@readme/openapi-parser), and the document against the server:
 * every answer of a range of real requests (one or more per route, good and bad) has a status the operation
 * lists, a content type that status lists, and a JSON body that validates (ajv, JSON Schema 2020-12) against
 * the documented schema.
 */
import assert from "node:assert/strict";
import { validate } from "@readme/openapi-parser";
import { Ajv2020 } from "ajv/dist/2020.js";
import { type Fetched, request, startServer, type TestServer } from "./helpers.ts";

type Json = Record<string, unknown>;

const TOKEN = "s3cret";
const AUTH = { Authorization: `Bearer ${TOKEN}` };

Deno.test("/openapi.json is a valid OpenAPI 3.1 document (@readme/openapi-parser)", async () => {
  const server = await startServer();
  try {
    const doc = (await request(`${server.url}/openapi.json`)).json as Json;
    assert.equal(doc.openapi, "3.1.0");
    // validate() dereferences in place: give it a copy.
    const result = await validate(structuredClone(doc) as never);
    assert.ok(result.valid, result.valid ? "" : JSON.stringify(result.errors, null, 1).slice(0, 3000));
  } finally {
    await server.close();
  }
});

/** One request and the operation of the document it exercises. */
interface Probe {
  path: string;
  method: string;
  url: string;
  init?: RequestInit;
}

const get = (path: string, url: string, headers: Record<string, string> = {}): Probe => ({
  path,
  method: "get",
  url,
  init: { headers },
});

function probes(): Probe[] {
  const json = { "Content-Type": "application/json", ...AUTH };
  return [
    get("/generate", "/generate?seed=730&psi=0.7"),
    get("/generate", "/generate?seed=730&format=jpeg&size=16"),
    get("/generate", "/generate?seed=730&format=tiff"),
    get("/generate", "/generate?seed=730&noise=random"),
    get("/generate", "/generate?seed=x"),
    get("/generate", "/generate?seed=1&depth=9"),
    get("/generate", "/generate?seed=1&model=nope"),
    get("/grid", "/grid?seeds=0-3&cols=2"),
    get("/grid", "/grid?seeds=0-3&format=gif"),
    get("/truncation", "/truncation?seeds=1,2&psis=-1,0,1&format=jpeg"),
    get("/truncation", "/truncation?seeds=1"),
    get("/mixing", "/mixing?src=1,2&dst=3&ranges=0-3"),
    get("/mixing", "/mixing?src=1,2&dst=3,4&ranges=0-3,4-7&format=json"),
    get("/mixing", "/mixing?src=1&dst=2&ranges=0-99"),
    get("/api/models", "/api/models"),
    get("/api/models", "/api/models?x=1"),
    get("/api/models/{name}", "/api/models/reference-r32"),
    get("/api/models/{name}", "/api/models/nope"),
    get("/api/models/{name}", `/api/models/${encodeURIComponent("../x")}`),
    get("/api/train", "/api/train", AUTH),
    get("/api/train", "/api/train"),
    get("/api/train", "/api/train?x=1", AUTH),
    {
      path: "/api/train",
      method: "post",
      url: "/api/train",
      init: { method: "POST", headers: json, body: "[1]" },
    },
    {
      path: "/api/train",
      method: "post",
      url: "/api/train",
      init: { method: "POST", headers: { ...AUTH, "Content-Type": "text/plain" }, body: "{}" },
    },
    {
      path: "/api/train",
      method: "post",
      url: "/api/train",
      init: { method: "POST", headers: json, body: JSON.stringify({ pad: "x".repeat(70_000) }) },
    },
    get("/api/train/{id}", "/api/train/some-id", AUTH),
    {
      path: "/api/train/{id}",
      method: "delete",
      url: "/api/train/some-id",
      init: { method: "DELETE", headers: AUTH },
    },
    get("/api/train/{id}/events", "/api/train/some-id/events", AUTH),
    get("/api/train/{id}/samples/{file}", "/api/train/some-id/samples/gen_0_1_2.png", AUTH),
    get("/api/train/{id}/samples/{file}", "/api/train/some-id/samples/x.txt", AUTH),
    get("/openapi.json", "/openapi.json"),
    get("/docs", "/docs"),
    get("/docs/assets/{file}", "/docs/assets/swagger-ui.css"),
    get("/docs/assets/{file}", "/docs/assets/swagger-ui-bundle.js"),
    get("/docs/assets/{file}", "/docs/assets/swagger-ui-bundle.js", { "If-None-Match": "*" }),
    get("/docs/assets/{file}", "/docs/assets/index.html"),
    get("/", "/"),
    get("/widgets/{file}", "/widgets/sgan-widgets.js"),
    get("/widgets/{file}", "/widgets/nope.js"),
  ];
}

/** A `$ref` of the document, resolved. */
function resolve(doc: Json, value: Json): Json {
  const ref = value.$ref as string | undefined;
  if (!ref) return value;
  return ref.slice(2).split("/").reduce((node: Json, key) => node[key] as Json, doc);
}

Deno.test("every answer is one the document lists: status, content type, body schema", async () => {
  const server: TestServer = await startServer({ config: { token: TOKEN } });
  try {
    const doc = (await request(`${server.url}/openapi.json`)).json as Json;
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: false });
    ajv.addSchema({ $id: "doc", components: doc.components as Json }, "doc");
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const exercised = new Set<string>();
    for (const probe of probes()) {
      const label = `${probe.method.toUpperCase()} ${probe.url.slice(0, 80)}`;
      const operation = paths[probe.path]?.[probe.method];
      assert.ok(operation, `${label}: ${probe.path} ${probe.method} is documented`);
      exercised.add(`${probe.method} ${probe.path}`);
      const res: Fetched = await request(server.url + probe.url, probe.init);
      const responses = operation.responses as Record<string, Json>;
      assert.ok(
        responses[String(res.status)],
        `${label}: ${res.status} is listed (${Object.keys(responses)}): ${
          new TextDecoder().decode(res.body).slice(0, 200)
        }`,
      );
      const documented = resolve(doc, responses[String(res.status)]);
      const content = documented.content as Record<string, Json> | undefined;
      const type = (res.headers.get("content-type") ?? "").split(";")[0].trim();
      if (!content) {
        assert.equal(res.body.length, 0, `${label}: ${res.status} documents no body`);
        continue;
      }
      assert.ok(content[type], `${label}: ${type} is listed for ${res.status} (${Object.keys(content)})`);
      const schema = content[type].schema as Json | undefined;
      if (type === "application/json" && schema) {
        const check = ajv.compile(
          JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')),
        );
        assert.ok(
          check(res.json),
          `${label}: body matches the schema: ${JSON.stringify(check.errors)?.slice(0, 600)}`,
        );
      }
    }
    // Every documented operation was tried (the routes that need a running job answer their 404 here; the
    // job bodies themselves are checked by tests/server/train_jobs_test.ts).
    const operations = Object.entries(paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m} ${path}`)
    );
    assert.deepEqual(operations.filter((o) => !exercised.has(o)), []);
  } finally {
    await server.close();
  }
});
