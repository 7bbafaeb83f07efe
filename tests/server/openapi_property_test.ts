/**
 * Property-based: requests drawn from /openapi.json itself (each parameter from its documented schema: integers
 * and numbers within their bounds, enums, strings from their patterns or their examples; optional parameters
 * present or not). Every such request must be accepted, except the refusals the document's 400 description names
 * (what depends on the chosen model or on several parameters together), and every 4xx must be one the operation
 * lists. Seeded (FC_SEED), so a failure replays; sized to stay well under 30 s.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_SEED } from "../../model/seeds.ts";
import { atMostPattern } from "../../server/validation.ts";
import { type ErrorJson, request, startServer } from "./helpers.ts";

type Json = Record<string, unknown>;

const SEED = Number(Deno.env.get("FC_SEED") ?? 20261201);
const RUNS_PER_ROUTE = 100;

/** The `w:<id>` alternative of the tile patterns, as the document writes it. */
const PROJECTION_REF_ALTERNATIVE = String.raw`|w:p\d{8}-\d{6}-[0-9a-f]{4}`;

/** A parameter's value, as text, drawn from its documented schema. */
function valueOf(schema: Json): fc.Arbitrary<string> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum.map(String));
  if (schema.type === "integer") {
    return fc.integer({ min: schema.minimum as number, max: schema.maximum as number }).map(String);
  }
  if (schema.type === "number") {
    return fc.double({
      min: schema.minimum as number,
      max: schema.maximum as number,
      noNaN: true,
      noDefaultInfinity: true,
    }).map(String);
  }
  assert.equal(schema.type, "string", JSON.stringify(schema));
  assert.ok(
    typeof schema.pattern === "string",
    `a string parameter has a pattern: ${JSON.stringify(schema)}`,
  );
  const matchingOf = (pattern: string) =>
    fc.stringMatching(new RegExp(pattern))
      .filter((s) => s.length <= ((schema.maxLength as number | undefined) ?? Infinity));
  // Tile lists also take w:<id> items. Drawn ids name no projection (a 404), so most draws come from the
  // pattern without that alternative (a list of several items would otherwise almost always hold one).
  const pattern = schema.pattern as string;
  const seedsOnly = pattern.replaceAll(PROJECTION_REF_ALTERNATIVE, "");
  const drawn = seedsOnly !== pattern
    ? fc.oneof({ weight: 9, arbitrary: matchingOf(seedsOnly) }, { weight: 1, arbitrary: matchingOf(pattern) })
    : matchingOf(pattern);
  return schema.example === undefined ? drawn : fc.oneof(fc.constant(String(schema.example)), drawn);
}

/** A URL of an operation: path parameters filled, query parameters drawn, optional ones present or not. */
function urlOf(path: string, parameters: Json[]): fc.Arbitrary<string> {
  const path_ = parameters.filter((p) => p.in === "path");
  const query = parameters.filter((p) => p.in === "query");
  const pathValues = fc.tuple(...path_.map((p) => valueOf(p.schema as Json)));
  const queryValues = fc.tuple(
    ...query.map((p) =>
      // Each optional parameter absent half the time (fast-check's default: one time in five), so that routes
      // with many model-dependent parameters (mixing: ranges, src_class, dst_class) still draw accepted requests.
      p.required
        ? valueOf(p.schema as Json)
        : fc.option(valueOf(p.schema as Json), { nil: undefined, freq: 2 })
    ),
  );
  return fc.tuple(pathValues, queryValues).map(([pv, qv]) => {
    let url = path;
    path_.forEach((p, i) => url = url.replace(`{${p.name}}`, encodeURIComponent(pv[i])));
    const pairs = query.flatMap((p, i) =>
      qv[i] === undefined ? [] : [`${p.name}=${encodeURIComponent(qv[i] as string)}`]
    );
    return pairs.length ? `${url}?${pairs.join("&")}` : url;
  });
}

/**
 * The refusals of schema-valid requests that the 400 description names. Anything else (a schema error: those
 * start with "field: ", except the seed-list limits named here) fails the test.
 */
function isDocumentedRefusal(error: ErrorJson): boolean {
  const { field, error: message } = error;
  if (field === "depth") return /^depth \d+ does not exist in the /.test(message);
  if (field === "cutoff") return /^cutoff \d+ is more than the \d+ style layers/.test(message);
  if (field === "ranges") return !message.startsWith("ranges:"); // resolved against the model
  if (field === "format") return /records no ground resolution|format=tiff is one edited tile/.test(message);
  if (field === "class" || field === "src_class" || field === "dst_class") {
    return /is unconditional: it has no classes|has no class '/.test(message);
  }
  if (/more than the limit of \d+/.test(message)) return true; // tiles or pixels of a figure
  if (field === "seeds" || field === "src" || field === "dst") {
    return /expands to more than \d+ seeds|is below \d+/.test(message);
  }
  return false;
}

Deno.test(`requests drawn from /openapi.json are accepted or refused as documented (seed ${SEED})`, async () => {
  const server = await startServer({
    config: { limits: { maxSeeds: 4, maxPsis: 4, maxCells: 16, maxSize: 64, maxFigurePixels: 256 * 256 } },
  });
  try {
    const doc = (await request(`${server.url}/openapi.json`)).json as Json;
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const tally: Record<string, number> = {};
    const refusals: Record<string, number> = {};
    const routes = ["/generate", "/grid", "/truncation", "/mixing", "/api/models", "/api/models/{name}"];
    for (const path of routes) {
      const operation = paths[path].get;
      const listed = Object.keys(operation.responses as Json);
      await fc.assert(
        fc.asyncProperty(urlOf(path, (operation.parameters as Json[] | undefined) ?? []), async (url) => {
          const res = await request(server.url + url);
          const key = `${path} ${res.status}`;
          tally[key] = (tally[key] ?? 0) + 1;
          assert.ok(listed.includes(String(res.status)), `${url}: ${res.status} is not listed (${listed})`);
          if (res.status === 200 || res.status === 503) return;
          const error = res.json as ErrorJson;
          if (res.status === 404) {
            // An unknown model, or a w:<id> naming no projection (the drawn ids name none), are the only 404s.
            const unknownProjection = ["seed", "seeds", "src", "dst"].includes(error.field ?? "") &&
              /no projection 'w:p\d{8}-\d{6}-[0-9a-f]{4}'/.test(error.error);
            assert.ok(error.field === "model" || unknownProjection, `${url}: ${JSON.stringify(error)}`);
            return;
          }
          assert.equal(res.status, 400, `${url}: ${JSON.stringify(error)}`);
          assert.ok(
            isDocumentedRefusal(error),
            `${url}: a schema-valid request refused: ${JSON.stringify(error)}`,
          );
        }),
        // /mixing has the most model-dependent parameters (ranges, two classes, tiff for one tile only):
        // about 3 draws in 100 are accepted, so it gets more runs to serve some.
        { numRuns: path === "/mixing" ? 3 * RUNS_PER_ROUTE : RUNS_PER_ROUTE, seed: SEED },
      );
    }
    console.log(tally, refusals);
    // Not vacuous: every route served some drawn requests (most refusals are a depth, cutoff or range the
    // small reference model lacks, or a model name drawn from the pattern that no model has).
    for (const path of routes) assert.ok((tally[`${path} 200`] ?? 0) > 0, `${path} served some requests`);
  } finally {
    await server.close();
  }
});

Deno.test("atMostPattern matches exactly the integers 0..max (boundaries and random draws)", () => {
  for (const max of [0, 7, 10, 99, 100, 255, 4096, MAX_SEED]) {
    const pattern = new RegExp(`^${atMostPattern(max)}$`);
    const width = String(max).length;
    for (const n of [0, 1, max - 1, max, max + 1, max * 10, 10 ** width]) {
      if (n < 0) continue;
      assert.equal(pattern.test(String(n)), n <= max, `${n} against max ${max}`);
    }
    assert.equal(pattern.test(String(max).padStart(width, "0")), true);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Math.min(max * 3 + 10, Number.MAX_SAFE_INTEGER) }), (n) => {
        assert.equal(pattern.test(String(n)), n <= max, `${n} against max ${max}`);
      }),
      { seed: SEED, numRuns: 500 },
    );
  }
});
