/**
 * What the fuzzer of issue 16 found outside the parameters: wrong methods (405 with Allow), HEAD lengths,
 * POST /api/train without a JSON Content-Type (415), and built-in object keys as query or body keys.
 */
import assert from "node:assert/strict";
import { allowedMethods } from "../../server/methods.ts";
import { type ErrorJson, request, startServer } from "./helpers.ts";

const TOKEN = "s3cret";
const AUTH = { Authorization: `Bearer ${TOKEN}` };

Deno.test("allowedMethods reads Hono's route paths: parameters, wildcards, HEAD with GET", () => {
  const routes = [
    { method: "ALL", path: "*" },
    { method: "GET", path: "/generate" },
    { method: "GET", path: "/api/train" },
    { method: "POST", path: "/api/train" },
    { method: "DELETE", path: "/api/train/:id" },
    { method: "GET", path: "/api/train/:id" },
    { method: "GET", path: "/widgets/*" },
  ];
  assert.deepEqual(allowedMethods(routes, "/generate"), ["GET", "HEAD"]);
  assert.deepEqual(allowedMethods(routes, "/api/train"), ["GET", "HEAD", "POST"]);
  assert.deepEqual(allowedMethods(routes, "/api/train/abc"), ["DELETE", "GET", "HEAD"]);
  assert.deepEqual(allowedMethods(routes, "/api/train/abc/events"), []);
  assert.deepEqual(allowedMethods(routes, "/widgets/a/b.js"), ["GET", "HEAD"]);
  assert.deepEqual(allowedMethods(routes, "/generatex"), []);
});

Deno.test("wrong methods are 405 with Allow; unknown paths stay 404", async () => {
  const server = await startServer({ config: { token: TOKEN } });
  try {
    const cases: [string, string, string][] = [
      ["POST", "/generate?seed=1", "GET, HEAD"],
      ["PUT", "/mixing", "GET, HEAD"],
      ["DELETE", "/api/models", "GET, HEAD"],
      ["POST", "/api/models/reference-r32", "GET, HEAD"],
      ["PATCH", "/openapi.json", "GET, HEAD"],
      ["DELETE", "/api/train", "GET, HEAD, POST"],
      ["POST", "/api/train/some-id", "DELETE, GET, HEAD"],
      ["POST", "/widgets/sgan-widgets.js", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await request(server.url + path, { method, headers: AUTH });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get("allow"), allow, `${method} ${path}`);
      const body = res.json as ErrorJson;
      assert.match(body.error, new RegExp(`${method} is not allowed`));
      assert.deepEqual(body.allowed, allow.split(", "));
      assert.equal(body.field, null);
    }
    assert.equal((await request(`${server.url}/nope`, { method: "POST" })).status, 404);
    // The training routes check the token first, a wrong method included.
    assert.equal((await request(`${server.url}/api/train`, { method: "DELETE" })).status, 401);
  } finally {
    await server.close();
  }
});

Deno.test("HEAD sends GET's headers with the real Content-Length and no body", async () => {
  const server = await startServer();
  try {
    for (
      const path of [
        "/generate?seed=730&psi=0.7",
        "/openapi.json",
        "/docs",
        "/api/models",
        "/generate?seed=x",
      ]
    ) {
      const got = await request(server.url + path);
      const head = await fetch(server.url + path, { method: "HEAD" });
      const body = new Uint8Array(await head.arrayBuffer());
      assert.equal(head.status, got.status, path);
      assert.ok(got.body.length > 0, path);
      assert.equal(head.headers.get("content-length"), String(got.body.length), path);
      assert.equal(head.headers.get("content-type"), got.headers.get("content-type"), path);
      assert.equal(body.length, 0, path);
    }
  } finally {
    await server.close();
  }
});

Deno.test("POST /api/train wants JSON: text/plain, a form or no Content-Type is 415", async () => {
  const server = await startServer({ config: { token: TOKEN } });
  try {
    const body = JSON.stringify({ dataset: { img_dir: "x" } });
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", undefined]) {
      const headers: Record<string, string> = { ...AUTH };
      if (type) headers["Content-Type"] = type;
      // A string body makes fetch add text/plain itself: send bytes when no type is meant.
      const res = await request(`${server.url}/api/train`, {
        method: "POST",
        headers,
        body: type ? body : new TextEncoder().encode(body),
      });
      assert.equal(res.status, 415, String(type));
      const error = res.json as ErrorJson;
      assert.equal(error.field, "Content-Type");
      assert.deepEqual(error.allowed, ["application/json"]);
    }
    // JSON with parameters, and +json types, are JSON: they get as far as the (missing) data root.
    for (const type of ["application/json; charset=utf-8", "application/merge-patch+json"]) {
      const res = await request(`${server.url}/api/train`, {
        method: "POST",
        headers: { ...AUTH, "Content-Type": type },
        body,
      });
      assert.equal(res.status, 403, type);
      assert.equal((res.json as ErrorJson).field, "dataset.img_dir", type);
    }
  } finally {
    await server.close();
  }
});

Deno.test("constructor, __proto__, prototype, toString are unknown keys like any other", async () => {
  const server = await startServer({ config: { token: TOKEN } });
  try {
    for (const key of ["constructor", "__proto__", "prototype", "toString", "hasOwnProperty"]) {
      const query = await request(`${server.url}/generate?seed=1&${key}=1`);
      assert.equal(query.status, 400, key);
      const q = query.json as ErrorJson;
      assert.equal(q.field, key);
      assert.equal(q.error, `unknown parameter "${key}"`);
      assert.ok(Array.isArray(q.allowed) && q.allowed.includes("seed"));

      for (const body of [`{"${key}":{"prototype":{}}}`, `{"dataset":{"img_dir":"x","${key}":1}}`]) {
        const res = await request(`${server.url}/api/train`, {
          method: "POST",
          headers: { ...AUTH, "Content-Type": "application/json" },
          body,
        });
        const nested = body.startsWith('{"dataset"') ? `dataset.${key}` : key;
        assert.equal(res.status, 400, body);
        const error = res.json as ErrorJson;
        assert.equal(error.field, nested, body);
        assert.match(error.error, new RegExp(`unknown key '${nested.replace(/[.$]/g, "\\$&")}'`), body);
        assert.ok(Array.isArray(error.allowed) && error.allowed.includes("dataset.resolution"), body);
      }
    }
  } finally {
    await server.close();
  }
});
