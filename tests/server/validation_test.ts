/** Query parsing and server configuration. */
import assert from "node:assert/strict";
import { ConfigError, configFromEnv, DEFAULT_LIMITS, resolveConfig } from "../../server/config.ts";
import { ValidationError } from "../../server/errors.ts";
import { parseQuery, querySpecs } from "../../server/validation.ts";
import { poolSizeFor } from "../../server/synthesizer.ts";

const specs = querySpecs(DEFAULT_LIMITS);
const parse = <K extends keyof typeof specs>(route: K, query: string) =>
  parseQuery(new URLSearchParams(query), specs[route]);

function fails(fn: () => unknown, field: string | null, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ValidationError, String(e));
    assert.equal(e.field, field);
    assert.ok(e.allowed !== null, "says what is allowed");
    if (message) assert.match(e.message, message);
    return true;
  });
}

Deno.test("parseQuery: values, defaults and types", () => {
  assert.deepEqual(parse("generate", "seed=730&psi=0.7"), {
    seed: 730,
    psi: 0.7,
    class: undefined,
    model: undefined,
    depth: undefined,
    view: "ground",
    cutoff: undefined,
    noise: "const",
    format: "png",
    size: undefined,
  });
  const grid = parse("grid", "seeds=0-3,7&cols=2&labels=true");
  assert.deepEqual(grid.seeds, [0, 1, 2, 3, 7]);
  assert.equal(grid.labels, true);
  assert.equal(grid.psi, 1);
  assert.deepEqual(parse("truncation", "seeds=91,388&psis=-1,-0.5,0,.5,1").psis, [-1, -0.5, 0, 0.5, 1]);
  const mixing = parse("mixing", "src=730,904&dst=387,190&ranges=0-5,256m-32m&src_psi=-0.5&dst_psi=0.7");
  assert.equal(mixing.ranges, "0-5,256m-32m");
  assert.equal(mixing.src_psi, -0.5);
  assert.equal(parse("generate", "seed=%207%20").seed, 7, "surrounding spaces are trimmed");
});

Deno.test("parseQuery: every kind of bad input is a ValidationError naming the field", () => {
  fails(() => parse("generate", ""), "seed", /required/);
  fails(() => parse("generate", "seed="), "seed", /required/);
  fails(() => parse("generate", "seed=abc"), "seed");
  fails(() => parse("generate", "seed=1e3"), "seed");
  fails(() => parse("generate", "seed=99999999999"), "seed");
  fails(() => parse("generate", "seed=1&psi=1e309"), "psi");
  fails(() => parse("generate", "seed=1&view=head"), "view");
  fails(() => parse("generate", "seed=1&psi=Infinity"), "psi");
  fails(() => parse("generate", "seed=1&psi=0x10"), "psi");
  fails(() => parse("generate", "seed=1&depth=-1"), "depth");
  fails(() => parse("generate", "seed=1&size=0"), "size");
  fails(() => parse("generate", "seed=1&size=2049"), "size");
  fails(() => parse("generate", "seed=1&noise=RANDOM"), "noise");
  fails(() => parse("generate", "seed=1&Seed=2"), "Seed", /unknown parameter/);
  fails(() => parse("generate", "seed=1&seed=1"), "seed", /more than once/);
  fails(() => parse("grid", `seeds=0-${DEFAULT_LIMITS.maxCells}`), "seeds", /at most 256/);
  fails(() => parse("truncation", "seeds=0-32&psis=1"), "seeds", /at most 32/);
  fails(() => parse("truncation", "seeds=1&psis=" + Array(17).fill(0).join(",")), "psis", /at most 16/);
  fails(() => parse("truncation", "seeds=1&psis=1,,2"), "psis");
  fails(() => parse("mixing", "src=1&dst=2&ranges=0-3,x"), "ranges");
  fails(() => parse("mixing", "src=1&dst=2&ranges=0-3&src_psi=-9"), "src_psi");
  // tiff is a mixing format now (the one mixed tile, at a projected GeoTIFF's place); gif never was.
  fails(() => parse("mixing", "src=1&dst=2&ranges=0-3&format=gif"), "format");
});

Deno.test("configFromEnv reads SGAN_* variables and explains bad values", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const config = configFromEnv(env({
    SGAN_MAX_SEEDS: "8",
    SGAN_MAX_CELLS: "64",
    SGAN_QUEUE_IMAGES: "128",
    SGAN_BATCHING: "0",
    SGAN_CORS_ORIGINS: "https://a.example, https://b.example:8443",
    SGAN_TOKEN: "t",
    SGAN_CACHE_MB: "0",
  }));
  assert.equal(config.limits.maxSeeds, 8);
  assert.equal(config.limits.maxCells, 64);
  assert.equal(config.limits.maxSize, DEFAULT_LIMITS.maxSize);
  assert.equal(config.queue.maxQueuedImages, 128);
  assert.equal(config.queue.batching, false);
  assert.deepEqual(config.corsOrigins, ["https://a.example", "https://b.example:8443"]);
  assert.equal(config.token, "t");
  assert.equal(config.responseCacheBytes, 0);
  assert.equal(configFromEnv(env({})).token, undefined);
  assert.throws(() => configFromEnv(env({ SGAN_MAX_SEEDS: "lots" })), ConfigError);
  assert.throws(() => configFromEnv(env({ SGAN_BATCHING: "maybe" })), ConfigError);
  assert.throws(() => configFromEnv(env({ SGAN_CORS_ORIGINS: "reports.example.org" })), /not an origin/);
  assert.throws(() => resolveConfig({ limits: { maxCells: 600 } }), /at least one full figure/);
});

Deno.test("SGAN_WORKERS: auto when unset, a count of processes otherwise; the library default starts none", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(configFromEnv(env({})).workers, "auto");
  assert.equal(configFromEnv(env({ SGAN_WORKERS: "AUTO" })).workers, "auto");
  assert.equal(configFromEnv(env({ SGAN_WORKERS: "0" })).workers, 0);
  assert.equal(configFromEnv(env({ SGAN_WORKERS: " 3 " })).workers, 3);
  for (const bad of ["-1", "1.5", "many"]) {
    assert.throws(
      () => configFromEnv(env({ SGAN_WORKERS: bad })),
      /SGAN_WORKERS must be auto or an integer ≥ 0/,
    );
  }
  assert.equal(resolveConfig().workers, 0);
  assert.throws(() => resolveConfig({ workers: -2 }), /SGAN_WORKERS must be auto or an integer ≥ 0, got -2/);
});

Deno.test("auto worker count: one per core on the CPU backends, none on GPU backends", () => {
  const cores = navigator.hardwareConcurrency;
  assert.equal(poolSizeFor("auto", "wasm"), cores > 1 ? Math.min(cores, 8) : 0);
  assert.equal(poolSizeFor("auto", "cpu"), cores > 1 ? Math.min(cores, 8) : 0);
  assert.equal(poolSizeFor("auto", "webgpu"), 0);
  assert.equal(poolSizeFor("auto", "tensorflow"), 0);
  assert.equal(poolSizeFor(3, "wasm"), 3);
  assert.equal(poolSizeFor(0, "wasm"), 0);
});
