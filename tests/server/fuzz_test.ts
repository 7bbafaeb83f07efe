/**
 * Fuzz: 2,000+ random query strings against the real app. No 5xx except 503; every error is JSON
 * `{error, field, allowed}`; the server answers normally afterwards. Seeded, so a failure can be replayed.
 */
import assert from "node:assert/strict";
import { pooled, request, startServer } from "./helpers.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20260425);
const COUNT = 2200;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROUTES = [
  "/generate",
  "/grid",
  "/truncation",
  "/mixing",
  "/api/models",
  "/api/models/reference-r32",
  "/openapi.json",
];
const KEYS = [
  "seed",
  "seeds",
  "psi",
  "psis",
  "model",
  "depth",
  "cutoff",
  "noise",
  "format",
  "size",
  "cols",
  "src",
  "dst",
  "ranges",
  "src_psi",
  "dst_psi",
  "tile",
  "labels",
];
const VALUES: Record<string, string[]> = {
  seed: ["0", "730", "4294967295", "4294967296", "-1", "1.5", "1e3", " 7 "],
  seeds: ["0-3", "1,2,3", "5-2", "0-4294967295", "1,,2", "-3", "0-7,9", "1 - 3"],
  psi: [
    "0.7",
    "-1",
    "1",
    "0",
    "2",
    "-2.0001",
    "NaN",
    "Infinity",
    "1e-9",
    ".5",
    "-.5",
    "+0.3",
    "1e309",
    "0x1",
  ],
  psis: ["-1,0,1", "0.5", "1,1,1,1,1", "a,b", "", ",", "-0.5,0.5"],
  model: ["reference-r32", "nope", "../reference-r32", "REFERENCE-R32", "a".repeat(200), "%00"],
  depth: ["0", "1", "3", "4", "-1", "99999999999", "2.0"],
  cutoff: ["0", "8", "9", "3"],
  noise: ["const", "none", "random", "CONST", ""],
  format: ["png", "jpeg", "tiff", "json", "gif"],
  size: ["1", "4", "64", "128", "129", "0", "99999"],
  cols: ["1", "2", "8", "0", "300"],
  src: ["730", "730,904", "0-5", "x"],
  dst: ["387", "387,190", "1-3", ""],
  ranges: ["0-3", "0-3,4-7", "4-7", "7-0", "0-8", "20m-4m", "2.4m", "500m", "1km-2m", "m", "0.00001m", "3"],
  src_psi: ["-0.5", "0.7", "abc"],
  dst_psi: ["0.7", "1", "-3"],
  tile: ["4", "32", "64", "3", "129"],
  labels: ["1", "0", "true", "maybe"],
};
const JUNK = "abcxyz019-_.,=&%+;:!~*'()[]{}|^`\"<>é✓ψ ";

function junk(rand: () => number, max: number): string {
  const length = Math.floor(rand() * max);
  let out = "";
  for (let i = 0; i < length; i++) {
    const r = rand();
    if (r < 0.1) out += `%${Math.floor(rand() * 256).toString(16).padStart(2, "0")}`;
    else out += JUNK[Math.floor(rand() * JUNK.length)];
  }
  return out;
}

function randomPath(rand: () => number): string {
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)];
  const roll = rand();
  let route = pick(ROUTES);
  if (roll < 0.03) route = `/api/models/${encodeURIComponent(junk(rand, 12))}`;
  if (roll > 0.97) route = `/${encodeURIComponent(junk(rand, 10))}`;
  if (rand() < 0.08) return `${route}?${junk(rand, 120)}`; // raw garbage
  const params: string[] = [];
  const count = Math.floor(rand() * 7);
  for (let i = 0; i < count; i++) {
    const key = rand() < 0.9 ? pick(KEYS) : encodeURIComponent(junk(rand, 8));
    const r = rand();
    let value: string;
    if (r < 0.7 && VALUES[key]) value = pick(VALUES[key]);
    else if (r < 0.85) value = String(Math.floor((rand() - 0.3) * 10 ** Math.floor(rand() * 12)));
    else if (r < 0.97) value = junk(rand, 30);
    else value = "9".repeat(1 + Math.floor(rand() * 1500));
    params.push(`${key}=${encodeURIComponent(value).replace(/%2C/g, ",")}`);
  }
  return params.length ? `${route}?${params.join("&")}` : route;
}

Deno.test(`fuzz: ${COUNT} random query strings, no 5xx but 503 (seed ${SEED})`, async () => {
  const server = await startServer({
    config: { limits: { maxSeeds: 8, maxPsis: 4, maxCells: 16, maxSize: 128, maxFigurePixels: 256 * 256 } },
  });
  const rand = prng(SEED);
  const paths = Array.from({ length: COUNT }, () => randomPath(rand));
  const statuses = new Map<number, number>();
  const failures: string[] = [];
  try {
    await pooled(paths.length, 8, async (i) => {
      const path = paths[i];
      let res;
      try {
        res = await request(server.url + path);
      } catch (e) {
        failures.push(`${path}: request failed: ${(e as Error).message}`);
        return;
      }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500 && res.status !== 503) {
        failures.push(`${path}: ${res.status} ${new TextDecoder().decode(res.body)}`);
      }
      if (res.status >= 400) {
        const body = res.json as Record<string, unknown> | undefined;
        if (!body || typeof body.error !== "string" || !("field" in body) || !("allowed" in body)) {
          failures.push(`${path}: ${res.status} without a JSON error body`);
        }
      }
    });
    console.log("statuses:", Object.fromEntries([...statuses].sort()));
    assert.deepEqual(failures.slice(0, 10), []);
    assert.ok((statuses.get(200) ?? 0) > 100, "a good share of the random queries were valid");
    assert.ok((statuses.get(400) ?? 0) > 500, "and many were not");
    assert.equal((await request(`${server.url}/generate?seed=730&psi=0.7`)).status, 200);
  } finally {
    await server.close();
  }
});
