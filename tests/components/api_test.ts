/** The widgets' HTTP side: URLs, error responses in words, model descriptions shared between widgets. */
import assert from "node:assert/strict";
import {
  ApiProblem,
  apiUrl,
  clearModelCache,
  delay,
  explainProblem,
  fetchImage,
  fetchModelInfo,
  fetchServerLimits,
  isRetryable,
  problemField,
  problemFromResponse,
} from "../../components/api.ts";
import { SettingError } from "../../components/params.ts";
import { R32_INFO } from "./fixtures.ts";

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

Deno.test("apiUrl: same origin by default, any server by api, absent values left out", () => {
  assert.equal(
    apiUrl(undefined, "/generate", { seed: 730, psi: 0.7, depth: undefined }),
    "/generate?seed=730&psi=0.7",
  );
  assert.equal(apiUrl("", "/api/models"), "/api/models");
  assert.equal(
    apiUrl("http://host:8000/", "/mixing", { ranges: "0-5,5-10" }),
    "http://host:8000/mixing?ranges=0-5%2C5-10",
  );
  assert.equal(apiUrl(" http://host/sgan// ", "/generate", { seed: 1 }), "http://host/sgan/generate?seed=1");
});

Deno.test("problemFromResponse and explainProblem: a 400's message in words, with what is allowed", async () => {
  const problem = await problemFromResponse(json({
    error: "depth 9 does not exist in the 32 px model 'reference-r32'",
    field: "depth",
    allowed: "an integer from 0 to 3",
  }, 400));
  assert.equal(problem.kind, "http");
  assert.equal(problem.options.status, 400);
  assert.equal(problem.options.field, "depth");
  assert.deepEqual(explainProblem(problem), {
    headline: "Depth 9 does not exist in the 32 px model 'reference-r32'",
    detail: "Allowed: an integer from 0 to 3.",
  });
  const list = await problemFromResponse(
    json({ error: "unknown model 'x'", field: "model", allowed: ["a", "b"] }, 404),
  );
  assert.equal(explainProblem(list).detail, "Allowed: a, b.");
});

Deno.test("explainProblem: busy, failed, unreachable, rejected settings, non-JSON errors", async () => {
  const busy = await problemFromResponse(
    json({ error: "the generation queue is full; retry in 5 s" }, 503, { "retry-after": "5" }),
  );
  assert.equal(busy.options.retryAfterS, 5);
  assert.deepEqual(explainProblem(busy), {
    headline: "The server is busy: the generation queue is full; retry in 5 s.",
    detail: "Try again in 5 s.",
  });
  const failed = await problemFromResponse(json({ error: "internal server error" }, 500));
  assert.match(explainProblem(failed).headline, /^The server failed \(HTTP 500\): internal server error/);
  const html = await problemFromResponse(
    new Response("<h1>Bad gateway</h1>", { status: 502, statusText: "Bad Gateway" }),
  );
  assert.equal(html.message, "HTTP 502 Bad Gateway");
  const unreachable = new ApiProblem("unreachable", "x", { server: "http://127.0.0.1:9" });
  assert.match(explainProblem(unreachable).headline, /at http:\/\/127\.0\.0\.1:9 cannot be reached/);
  assert.match(explainProblem(unreachable).detail!, /deno task serve.*SGAN_CORS_ORIGINS/s);
  const setting = explainProblem(new SettingError("seed", 'seed "abc" is not a whole number', "an integer"));
  assert.deepEqual(setting, { headline: 'Seed "abc" is not a whole number', detail: "Allowed: an integer." });
});

Deno.test("explainProblem names the setting by the label users see; only 5xx and the network are retryable", async () => {
  // The server's query names ("dst", "src_psi") become the widgets' labels.
  const dst = await problemFromResponse(json({
    error: 'dst: seed list "0-40" expands to more than 32 seeds (at "0-40"); ask for at most 32',
    field: "dst",
    allowed: "at most 32 seeds",
  }, 400));
  assert.equal(
    explainProblem(dst).headline,
    'Destination seeds: seed list "0-40" expands to more than 32 seeds (at "0-40"); ask for at most 32',
  );
  const psi = await problemFromResponse(
    json({ error: "src_psi: src_psi must be at most 2", field: "src_psi", allowed: "-2 to 2" }, 400),
  );
  assert.match(explainProblem(psi).headline, /^Source ψ: src_psi must be at most 2/);
  const cells = await problemFromResponse(
    json({ error: "the figure would have 99 tiles", field: "dst" }, 400),
  );
  assert.equal(explainProblem(cells).headline, "Destination seeds: the figure would have 99 tiles");
  assert.equal(problemField(cells), "dst");
  assert.equal(problemField(new SettingError("src-psi", "x", "y")), "src-psi");

  const status = async (code: number) => await problemFromResponse(json({ error: "e" }, code));
  assert.equal(isRetryable(await status(400)), false, "a 400 answers the same every time");
  assert.equal(isRetryable(await status(404)), false);
  assert.equal(isRetryable(await status(500)), true);
  assert.equal(isRetryable(await status(503)), true);
  assert.equal(isRetryable(new ApiProblem("unreachable", "x")), true);
  assert.equal(isRetryable(new ApiProblem("setting", "x")), false);
  assert.equal(isRetryable(new SettingError("seed", "x", "y")), false);
});

Deno.test("fetchServerLimits: the limits of /api/models, shared with the model list's request", async () => {
  clearModelCache();
  const calls: string[] = [];
  const list = {
    default: "reference-r32",
    models: [R32_INFO],
    limits: { max_seeds: 4, max_psis: 3, max_cells: 9 },
  };
  const ok = (url: string) => {
    calls.push(url);
    return Promise.resolve(json(list));
  };
  await fetchModelInfo("http://s", undefined, undefined, ok);
  assert.deepEqual(await fetchServerLimits("http://s", undefined, ok), {
    max_seeds: 4,
    max_psis: 3,
    max_cells: 9,
  });
  assert.deepEqual(calls, ["http://s/api/models"], "one request serves both");
  const older = () => Promise.resolve(json({ default: "m", models: [] }));
  assert.equal(await fetchServerLimits("http://old", undefined, older), null, "a server without limits");
  clearModelCache();
});

Deno.test("fetchImage: the image with the server's scale headers; errors become ApiProblems", async () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
  const image = await fetchImage("/mixing?x", undefined, () =>
    Promise.resolve(
      new Response(png, {
        headers: {
          "content-type": "image/png",
          "x-sgan-depth": "3",
          "x-sgan-tile-pixels": "32",
          "x-metres-per-pixel": "2.4384",
          "x-style-layers": "0-3,4-7",
        },
      }),
    ));
  assert.equal(image.blob.size, 4);
  assert.deepEqual(image.headers, {
    model: null,
    depth: 3,
    tilePixels: 32,
    metresPerPixel: 2.4384,
    styleLayers: "0-3,4-7",
  });
  await assert.rejects(
    fetchImage(
      "/generate?seed=1&depth=9",
      undefined,
      () => Promise.resolve(json({ error: "bad depth" }, 400)),
    ),
    (e: ApiProblem) => e.kind === "http" && e.options.status === 400 && e.message === "bad depth",
  );
  await assert.rejects(
    fetchImage(
      "http://127.0.0.1:9/generate",
      undefined,
      () => Promise.reject(new TypeError("connection refused")),
    ),
    (e: ApiProblem) => e.kind === "unreachable" && e.options.server === "http://127.0.0.1:9",
  );
  await assert.rejects(
    fetchImage(
      "/generate",
      undefined,
      () => Promise.resolve(new Response("<html>", { headers: { "content-type": "text/html" } })),
    ),
    (e: ApiProblem) => e.kind === "invalid-response",
  );
});

Deno.test("fetchImage: an aborted request rejects with the abort, not as an unreachable server", async () => {
  const controller = new AbortController();
  const pending = fetchImage(
    "/generate",
    controller.signal,
    (_url, init) =>
      new Promise((_resolve, reject) => {
        init!.signal!.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      }),
  );
  controller.abort(new DOMException("superseded", "AbortError"));
  await assert.rejects(pending, (e: DOMException) => e.name === "AbortError" && e.message === "superseded");
});

Deno.test("fetchModelInfo: one request per server and model, shared; failures are not cached", async () => {
  clearModelCache();
  const calls: string[] = [];
  const ok = (url: string) => {
    calls.push(url);
    return Promise.resolve(json({ default: "reference-r32", models: [R32_INFO] }));
  };
  const [a, b] = await Promise.all([
    fetchModelInfo("http://s", undefined, undefined, ok),
    fetchModelInfo("http://s", undefined, undefined, ok),
  ]);
  assert.equal(a.name, "reference-r32");
  assert.equal(a, b);
  assert.deepEqual(calls, ["http://s/api/models"]);

  let failures = 0;
  const failing = () => {
    failures++;
    return Promise.resolve(json({ error: "unknown model 'x'" }, 404));
  };
  await assert.rejects(
    fetchModelInfo("http://s", "x", undefined, failing),
    (e: ApiProblem) => e.options.status === 404,
  );
  await assert.rejects(fetchModelInfo("http://s", "x", undefined, failing));
  assert.equal(failures, 2, "a failed description is asked for again");

  // One widget giving up does not cancel the shared request for the others.
  clearModelCache();
  const slow = (url: string) =>
    new Promise<Response>((r) => setTimeout(() => r(json({ ...R32_INFO, name: url })), 20));
  const controller = new AbortController();
  const first = fetchModelInfo("http://t", "m", controller.signal, slow);
  const second = fetchModelInfo("http://t", "m", undefined, slow);
  controller.abort(new Error("gone"));
  await assert.rejects(first, /gone/);
  assert.equal((await second).name, "http://t/api/models/m");
  clearModelCache();
});

Deno.test("delay: waits, or rejects at once when aborted", async () => {
  await delay(1);
  const controller = new AbortController();
  const waiting = delay(10_000, controller.signal);
  controller.abort(new Error("superseded"));
  await assert.rejects(waiting, /superseded/);
  await assert.rejects(delay(1, controller.signal), /superseded/);
});
