/**
 * The runtime: one parser for the process settings (model/runtime.ts), clear messages for bad values, the docs
 * table generated from the same rows, initBackend applying what it says, and no environment reads in model/
 * below the entry points.
 */
import assert from "node:assert/strict";
import { activeBackend, initBackend } from "../../model/backend/select.ts";
import { fusedEpilogueUsable } from "../../model/backend/fused_epilogue.ts";
import { loadOpenBlas } from "../../model/backend/blas.ts";
import {
  BackendError,
  defaultRuntime,
  type Runtime,
  RUNTIME_SETTINGS,
  RUNTIME_TABLE_MARKERS,
  RuntimeError,
  runtimeFromEnv,
  runtimeSettingsTable,
  runtimeToEnv,
} from "../../model/runtime.ts";
import { ENV_VARIABLES } from "../../server/config.ts";
import { REPO_ROOT } from "../support/paths.ts";
import { runCli } from "../support/cli.ts";

Deno.test("runtime: no variables give the defaults", () => {
  const expected: Runtime = {
    backend: "auto",
    blas: { enabled: true },
    fusedEpilogue: true,
    webgpu: { mode: "auto" },
    tfjsFlags: [],
  };
  assert.deepEqual(runtimeFromEnv({}), expected);
  assert.deepEqual(defaultRuntime(), expected);
  // Blank values (and whitespace) count as unset.
  const blank = Object.fromEntries(RUNTIME_SETTINGS.map((s) => [s.env, "  "]));
  assert.deepEqual(runtimeFromEnv(blank), expected);
  // Variables that are not runtime settings are none of its business.
  assert.deepEqual(runtimeFromEnv({ PATH: "/usr/bin", SGAN_TOKEN: "x" }), expected);
});

Deno.test("runtime: every variable is read into its field", () => {
  const runtime = runtimeFromEnv({
    SGAN_BACKEND: " WASM ",
    SGAN_BLAS: "off",
    SGAN_BLAS_LIB: "/opt/lib/libopenblas.so.0",
    SGAN_BLAS_THREADS: "3",
    SGAN_FUSED_EPILOGUE: "0",
    SGAN_WEBGPU_SYNTHESIS: "1",
    SGAN_WEBGPU_TILE: "64, 64, 16, 4, 4, 1",
    SGAN_TFJS_FLAGS: "WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64, DEBUG=true,NAME=text",
    SGAN_FONT: "/fonts/mono.ttf",
  });
  assert.deepEqual(runtime, {
    backend: "wasm",
    blas: { enabled: false, library: "/opt/lib/libopenblas.so.0", threads: 3 },
    fusedEpilogue: false,
    webgpu: { mode: "1", tile: { tm: 64, tn: 64, tk: 16, rm: 4, rn: 4, prefetch: true } },
    tfjsFlags: [
      { name: "WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE", value: 64 },
      { name: "DEBUG", value: true },
      { name: "NAME", value: "text" },
    ],
    font: "/fonts/mono.ttf",
  });
  for (const word of ["1", "on", "TRUE", "yes"]) {
    assert.equal(runtimeFromEnv({ SGAN_BLAS: word }).blas.enabled, true);
  }
  for (const word of ["0", "Off", "false", "no", "none"]) {
    assert.equal(runtimeFromEnv({ SGAN_BLAS: word }).blas.enabled, false, word);
  }
  assert.equal(runtimeFromEnv({ SGAN_WEBGPU_TILE: "32,32,16,2,2" }).webgpu.tile?.prefetch, false);
});

Deno.test("runtime: a command-line flag wins over its variable", () => {
  assert.equal(runtimeFromEnv({ SGAN_BACKEND: "cpu" }, { backend: "wasm" }).backend, "wasm");
  assert.equal(runtimeFromEnv({ SGAN_BACKEND: "cpu" }, {}).backend, "cpu");
  assert.throws(
    () => runtimeFromEnv({ SGAN_BACKEND: "cpu" }, { backend: "gpu" }),
    (e: Error) => e instanceof BackendError && /unknown backend 'gpu'/.test(e.message),
  );
});

/** Each bad value, and the message that must name its variable and say what is allowed. */
const BAD_VALUES: Array<[Record<string, string>, RegExp, new (message: string) => Error]> = [
  [
    { SGAN_BACKEND: "gpu" },
    /^unknown backend 'gpu'; choose one of auto, tensorflow, webgpu, wasm, cpu$/,
    BackendError,
  ],
  [{ SGAN_BLAS: "maybe" }, /^SGAN_BLAS must be 1 or 0 \(on\/off\), got "maybe"$/, RuntimeError],
  [{ SGAN_BLAS_THREADS: "0" }, /^SGAN_BLAS_THREADS must be an integer ≥ 1, got "0"$/, RuntimeError],
  [{ SGAN_BLAS_THREADS: "two" }, /^SGAN_BLAS_THREADS must be an integer ≥ 1, got "two"$/, RuntimeError],
  [{ SGAN_BLAS_THREADS: "1.5" }, /^SGAN_BLAS_THREADS must be an integer ≥ 1, got "1.5"$/, RuntimeError],
  [{ SGAN_BLAS_THREADS: "2abc" }, /^SGAN_BLAS_THREADS must be an integer ≥ 1, got "2abc"$/, RuntimeError],
  [
    { SGAN_FUSED_EPILOGUE: "sometimes" },
    /^SGAN_FUSED_EPILOGUE must be 1 or 0 \(on\/off\), got "sometimes"$/,
    RuntimeError,
  ],
  [
    { SGAN_WEBGPU_SYNTHESIS: "maybe" },
    /^SGAN_WEBGPU_SYNTHESIS must be auto, 1 or 0, got "maybe"$/,
    RuntimeError,
  ],
  [
    { SGAN_WEBGPU_TILE: "64,64,16" },
    /^SGAN_WEBGPU_TILE must be five positive integers tm,tn,tk,rm,rn and optionally 1 \(prefetch\) or 0, got "64,64,16"$/,
    RuntimeError,
  ],
  [
    { SGAN_WEBGPU_TILE: "64,64,16,4,4,2" },
    /optionally 1 \(prefetch\) or 0, got "64,64,16,4,4,2"$/,
    RuntimeError,
  ],
  [{ SGAN_WEBGPU_TILE: "64,64,0,4,4" }, /five positive integers .*got "64,64,0,4,4"$/, RuntimeError],
  [{ SGAN_WEBGPU_TILE: "64,64,16,4.5,4" }, /five positive integers .*got "64,64,16,4.5,4"$/, RuntimeError],
  [
    { SGAN_WEBGPU_TILE: "64,64,16,2,2" },
    /^SGAN_WEBGPU_TILE: conv tile .* must give 256 threads/,
    RuntimeError,
  ],
  [{ SGAN_TFJS_FLAGS: "DEBUG" }, /^SGAN_TFJS_FLAGS: 'DEBUG' is not NAME=value$/, BackendError],
  [{ SGAN_TFJS_FLAGS: "A=1,=2" }, /^SGAN_TFJS_FLAGS: '=2' is not NAME=value$/, BackendError],
];

for (const [env, message, kind] of BAD_VALUES) {
  Deno.test(`runtime: ${Object.entries(env).map(([k, v]) => `${k}=${v}`)} is refused with a clear message`, () => {
    assert.throws(() => runtimeFromEnv(env), (e: Error) => {
      assert.ok(e instanceof kind, `${e.name}: ${e.message}`);
      assert.match(e.message, message);
      return true;
    });
  });
}

Deno.test("runtime: a bad value stops a command with one line naming the variable, before any work", async () => {
  const result = await runCli("generate.ts", ["--seeds", "1", "--out", "/nonexistent/never-written"], {
    SGAN_BACKEND: "wasm",
    SGAN_BLAS_THREADS: "two",
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.programStderr.trim(),
    /^error: RuntimeError: SGAN_BLAS_THREADS must be an integer ≥ 1, got "two"$/,
  );
});

Deno.test("runtime: runtimeToEnv gives variables that read back as the same runtime", () => {
  const runtimes: Runtime[] = [
    defaultRuntime(),
    runtimeFromEnv({
      SGAN_BACKEND: "cpu",
      SGAN_BLAS: "0",
      SGAN_BLAS_LIB: "/x/libopenblas.so",
      SGAN_BLAS_THREADS: "2",
      SGAN_FUSED_EPILOGUE: "0",
      SGAN_WEBGPU_SYNTHESIS: "0",
      SGAN_WEBGPU_TILE: "32,32,16,2,2,1",
      SGAN_TFJS_FLAGS: "A=1,B=false,C=text",
      SGAN_FONT: "/f.ttf",
    }),
  ];
  for (const runtime of runtimes) {
    const env = runtimeToEnv(runtime);
    // Every variable is set (blank where unset), so a child never inherits a value its parent did not use.
    assert.deepEqual(Object.keys(env).sort(), RUNTIME_SETTINGS.map((s) => s.env).sort());
    assert.deepEqual(runtimeFromEnv(env), runtime);
  }
  assert.deepEqual(runtimeToEnv(runtimes[1]).SGAN_TFJS_FLAGS, 'A=1,B=false,C="text"');
});

Deno.test("runtime: docs/backends.md carries the generated settings table (run `deno task docs:settings`)", async () => {
  const doc = await Deno.readTextFile(`${REPO_ROOT}/docs/backends.md`);
  const { begin, end } = RUNTIME_TABLE_MARKERS;
  const block = doc.slice(doc.indexOf(begin) + begin.length, doc.indexOf(end)).trim();
  assert.ok(doc.includes(begin) && doc.includes(end), "markers present");
  assert.ok(
    block === runtimeSettingsTable(),
    "docs/backends.md is out of date: run `deno task docs:settings`",
  );
  const rows = block.split("\n").slice(2).map((row) => row.split("|").map((cell) => cell.trim()));
  assert.deepEqual(rows.map((cells) => cells[1]), RUNTIME_SETTINGS.map((s) => `\`${s.env}\``));
  assert.deepEqual(rows[0].slice(1, 4), ["`SGAN_BACKEND`", "`--backend`", "auto"]);
});

Deno.test("runtime: the server's --help lists every runtime variable", () => {
  for (const setting of RUNTIME_SETTINGS) {
    assert.ok(
      ENV_VARIABLES[setting.env]?.includes(`default: ${setting.default.replaceAll("`", "")}`),
      setting.env,
    );
  }
});

Deno.test("runtime: initBackend applies the fused-kernel and OpenBLAS settings", async () => {
  await initBackend(
    { ...defaultRuntime(), backend: "wasm", fusedEpilogue: false, blas: { enabled: false } },
    {
      quiet: true,
    },
  );
  assert.equal(fusedEpilogueUsable(8), false, "SGAN_FUSED_EPILOGUE=0 keeps the composed ops");
  assert.equal(activeBackend()?.blas, undefined);
  assert.match(activeBackend()!.reason, /no OpenBLAS: disabled by SGAN_BLAS/);
  await initBackend({ ...defaultRuntime(), backend: "wasm", blas: { enabled: true, threads: 1 } }, {
    quiet: true,
  });
  assert.equal(fusedEpilogueUsable(8), true);
  if (typeof loadOpenBlas() !== "string") {
    assert.equal(activeBackend()?.blas?.threads, 1, "SGAN_BLAS_THREADS reaches the library");
    // Off again: the XNNPACK kernels are back (an earlier initialisation's OpenBLAS kernels do not linger).
    await initBackend({ ...defaultRuntime(), backend: "wasm", blas: { enabled: false } }, { quiet: true });
    assert.equal(activeBackend()?.blas, undefined);
  }
});

/** Files of model/ that are the entry points of their processes, or process setup (may read the environment). */
const ENTRY_POINTS = [
  /^model\/runtime\.ts$/, // the parser itself
  /^model\/cli\/[a-z_]+\.ts$/, // the commands
  /^model\/pool\/[a-z]+_worker\.ts$/, // the worker processes
  /^model\/backend\/webgpu_driver\.ts$/, // Deno's and the Vulkan loader's own variables, set before wgpu starts
];

Deno.test("runtime: model/ reads no environment variable below the entry points", async () => {
  const offenders: string[] = [];
  const visit = async (dir: string) => {
    for await (const entry of Deno.readDir(`${REPO_ROOT}/${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await visit(path);
      else if (path.endsWith(".ts") && !ENTRY_POINTS.some((re) => re.test(path))) {
        const text = await Deno.readTextFile(`${REPO_ROOT}/${path}`);
        text.split("\n").forEach((line, i) => {
          if (/Deno\.env|processRuntime|processEnvVariable/.test(line)) {
            offenders.push(`${path}:${i + 1}: ${line.trim()}`);
          }
        });
      }
    }
  };
  await visit("model");
  assert.deepEqual(offenders, []);
});
