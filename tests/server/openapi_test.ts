/**
 * /openapi.json against an independent validator (@readme/openapi-parser), and the document against the server:
 * every answer of a range of real requests (one or more per route, good and bad) has a status the operation
 * lists, a content type that status lists, and a JSON body that validates (ajv, JSON Schema 2020-12) against
 * the documented schema; and the same for a real tiny training job.
 */
import assert from "node:assert/strict";
import { tinyConfig } from "./train_support.ts";
import { validate } from "@readme/openapi-parser";
import { Ajv2020 } from "ajv/dist/2020.js";
import { join } from "node:path";
import { UCMERCED_DIR } from "../support/paths.ts";
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
    {
      path: "/api/train/{id}/resume",
      method: "post",
      url: "/api/train/some-id/resume",
      init: { method: "POST", headers: AUTH },
    },
    get("/api/train/{id}/events", "/api/train/some-id/events", AUTH),
    get("/api/train/{id}/samples/{file}", "/api/train/some-id/samples/gen_0_1_2.png", AUTH),
    get("/api/train/{id}/samples/{file}", "/api/train/some-id/samples/x.txt", AUTH),
    ...projectionProbes(),
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

/** Requests to the projection routes that answer at once (a real projection's answers are checked below). */
function projectionProbes(): Probe[] {
  const upload = (query: string, type: string, body: BodyInit): Probe => ({
    path: "/api/projections",
    method: "post",
    url: `/api/projections${query}`,
    init: { method: "POST", headers: { "Content-Type": type }, body },
  });
  const unknown = "p20000101-000000-0000";
  return [
    upload("", "text/plain", "x"),
    upload("", "image/png", "not a png"),
    upload("?steps=0", "image/png", "x"),
    upload("?model=nope", "image/png", "x"),
    get("/api/projections", "/api/projections?limit=5"),
    get("/api/projections", "/api/projections?offset=x"),
    get("/api/projections/{id}", `/api/projections/${unknown}`),
    get("/api/projections/{id}", "/api/projections/x"),
    {
      path: "/api/projections/{id}",
      method: "delete",
      url: `/api/projections/${unknown}`,
      init: { method: "DELETE" },
    },
    get("/api/projections/{id}/events", `/api/projections/${unknown}/events`),
    get("/api/projections/{id}/reconstruction.png", `/api/projections/${unknown}/reconstruction.png?step=3`),
    get("/api/projections/{id}/reconstruction.png", `/api/projections/${unknown}/reconstruction.png?step=x`),
    get("/api/projections/{id}/reconstruction.tif", `/api/projections/${unknown}/reconstruction.tif`),
    get("/generate", `/generate?seed=w:${unknown}`),
    get("/mixing", `/mixing?src=w:${unknown}&dst=1&ranges=0-3`),
  ];
}

/** A `$ref` of the document, resolved. */
function resolve(doc: Json, value: Json): Json {
  const ref = value.$ref as string | undefined;
  if (!ref) return value;
  return ref.slice(2).split("/").reduce((node: Json, key) => node[key] as Json, doc);
}

/** The document's validators: `check(path, method, answer)` asserts the answer is one the operation lists. */
function documentChecker(doc: Json) {
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  ajv.addSchema({ $id: "doc", components: doc.components as Json }, "doc");
  const paths = doc.paths as Record<string, Record<string, Json>>;
  return (path: string, method: string, res: Fetched, label: string) => {
    const operation = paths[path]?.[method];
    assert.ok(operation, `${label}: ${path} ${method} is documented`);
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
      return;
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
  };
}

Deno.test("every answer is one the document lists: status, content type, body schema", async () => {
  const base = await Deno.makeTempDir({ prefix: "sgan-openapi-" });
  const server: TestServer = await startServer({
    config: {
      token: TOKEN,
      projections: true,
      projectionsDir: join(base, "projections"),
      databasePath: join(base, "sgan.sqlite"),
    },
  });
  try {
    const doc = (await request(`${server.url}/openapi.json`)).json as Json;
    const check = documentChecker(doc);
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const exercised = new Set<string>();
    for (const probe of probes()) {
      const label = `${probe.method.toUpperCase()} ${probe.url.slice(0, 80)}`;
      exercised.add(`${probe.method} ${probe.path}`);
      check(probe.path, probe.method, await request(server.url + probe.url, probe.init), label);
    }
    // Every documented operation was tried (the job routes answer their 404 here; a real job's answers are
    // checked below).
    const operations = Object.entries(paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m} ${path}`)
    );
    assert.deepEqual(operations.filter((o) => !exercised.has(o)), []);
  } finally {
    await server.close();
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("a real projection's answers are the documented ones (202, 503, events, status, PNG, GeoTIFF 404, edits, list, DELETE)", async () => {
  const base = await Deno.makeTempDir({ prefix: "sgan-openapi-projection-" });
  const server = await startServer({
    config: {
      projections: true,
      projectionsDir: join(base, "projections"),
      databasePath: join(base, "sgan.sqlite"),
      projection: { wAvgSamples: 200, previewEvery: 1, workers: 1, maxQueued: 0 },
    },
  });
  try {
    const check = documentChecker((await request(`${server.url}/openapi.json`)).json as Json);
    const jpeg = await Deno.readFile(`${UCMERCED_DIR}/images/agricultural/agricultural00.jpg`);
    const post = (query: string) =>
      request(`${server.url}/api/projections${query}`, {
        method: "POST",
        headers: { "Content-Type": "image/jpeg" },
        body: jpeg,
      });
    const started = await post("?steps=2");
    assert.equal(started.status, 202, JSON.stringify(started.json));
    check("/api/projections", "post", started, "POST /api/projections");
    const id = (started.json as { id: string }).id;
    const full = await post("?steps=2");
    assert.equal(full.status, 503);
    check("/api/projections", "post", full, "POST /api/projections, queue full");
    check("/generate", "get", await request(`${server.url}/generate?seed=w:${id}`), "an unfinished w:<id>");
    const events = await request(`${server.url}/api/projections/${id}/events`);
    check("/api/projections/{id}/events", "get", events, "events");
    assert.match(new TextDecoder().decode(events.body), /event: state\ndata: \{"state":"done"/);
    const done = await request(`${server.url}/api/projections/${id}`);
    check("/api/projections/{id}", "get", done, "finished projection");
    const url = (done.json as { reconstruction_url: string }).reconstruction_url;
    check("/api/projections/{id}/reconstruction.png", "get", await request(server.url + url), "PNG");
    check(
      "/api/projections/{id}/reconstruction.png",
      "get",
      await request(`${server.url}${url}?step=1`),
      "preview",
    );
    check(
      "/api/projections/{id}/reconstruction.tif",
      "get",
      await request(`${server.url}/api/projections/${id}/reconstruction.tif`),
      "no GeoTIFF for a JPEG",
    );
    check("/generate", "get", await request(`${server.url}/generate?seed=w:${id}&psi=0.5`), "w:<id>");
    check(
      "/mixing",
      "get",
      await request(`${server.url}/mixing?src=w:${id}&dst=3&ranges=0-3&format=json`),
      "mixing JSON with w:<id>",
    );
    const long = await post("?steps=2000");
    assert.equal(long.status, 202, JSON.stringify(long.json));
    check("/api/projections", "get", await request(`${server.url}/api/projections`), "the list");
    const remove = (which: string) => request(`${server.url}/api/projections/${which}`, { method: "DELETE" });
    const cancelled = await remove((long.json as { id: string }).id);
    assert.equal(cancelled.status, 200);
    check("/api/projections/{id}", "delete", cancelled, "DELETE of a running projection");
    const deleted = await remove(id);
    assert.equal(deleted.status, 204);
    check("/api/projections/{id}", "delete", deleted, "DELETE of a finished projection");
  } finally {
    await server.close();
    await Deno.remove(base, { recursive: true });
  }
});

/** A configuration that trains 4 → 16 px in seconds (the training tests' own). */
const TINY_JOB = tinyConfig("list.txt", [1, 1, 1]);

Deno.test("a real training job's answers are the documented ones (202, job, list, events, sample, 409)", async () => {
  const base = await Deno.makeTempDir({ prefix: "sgan-openapi-job-" });
  const root = join(base, "data");
  await Deno.mkdir(join(root, "images"), { recursive: true });
  const lines = (await Deno.readTextFile(`${UCMERCED_DIR}/train.txt`)).split("\n").filter(Boolean);
  const names = await Promise.all(
    lines.slice(0, 8).map(async (line, i) => {
      await Deno.copyFile(`${UCMERCED_DIR}/${line}`, join(root, "images", `t${i}.jpg`));
      return `images/t${i}.jpg`;
    }),
  );
  await Deno.writeTextFile(join(root, "list.txt"), names.join("\n") + "\n");
  const server = await startServer({ config: { token: TOKEN, dataRoot: root, runsDir: join(base, "runs") } });
  try {
    const check = documentChecker((await request(`${server.url}/openapi.json`)).json as Json);
    const json = { ...AUTH, "Content-Type": "application/json" };
    const post = () =>
      request(`${server.url}/api/train`, { method: "POST", headers: json, body: JSON.stringify(TINY_JOB) });
    const started = await post();
    assert.equal(started.status, 202, JSON.stringify(started.json));
    check("/api/train", "post", started, "POST /api/train");
    const id = (started.json as { id: string }).id;
    const busy = await post();
    assert.equal(busy.status, 409);
    check("/api/train", "post", busy, "POST /api/train while busy");
    check("/api/train/{id}", "get", await request(`${server.url}/api/train/${id}`, { headers: AUTH }), "job");
    // The stream ends after the job's final state.
    const events = await request(`${server.url}/api/train/${id}/events`, { headers: AUTH });
    check("/api/train/{id}/events", "get", events, "events");
    assert.match(new TextDecoder().decode(events.body), /event: state\ndata: \{"state":"done"/);
    const done = await request(`${server.url}/api/train/${id}`, { headers: AUTH });
    check("/api/train/{id}", "get", done, "finished job");
    const sample = (done.json as { latest_sample: string }).latest_sample;
    check(
      "/api/train/{id}/samples/{file}",
      "get",
      await request(server.url + sample, { headers: AUTH }),
      "sample",
    );
    check("/api/train", "get", await request(`${server.url}/api/train`, { headers: AUTH }), "job list");
    const stop = await request(`${server.url}/api/train/${id}`, { method: "DELETE", headers: AUTH });
    assert.equal(stop.status, 409, "a finished job cannot be stopped");
    check("/api/train/{id}", "delete", stop, "DELETE finished job");
    const resume = await request(`${server.url}/api/train/${id}/resume`, { method: "POST", headers: AUTH });
    assert.equal(resume.status, 409, "a finished job cannot be resumed");
    check("/api/train/{id}/resume", "post", resume, "resume finished job");
  } finally {
    await server.close();
    await Deno.remove(base, { recursive: true });
  }
});
