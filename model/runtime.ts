/**
 * The runtime: how this process runs the networks (tensor backend, OpenBLAS, fused kernels, the own WebGPU
 * pipelines, TensorFlow.js flags, the label font). Parsed once from the environment at the entry points (the
 * CLIs, `deno task serve`, the worker processes, the benchmarks) by {@link runtimeFromEnv} and handed down;
 * nothing below them reads an environment variable. Tests build a runtime instead of setting variables.
 *
 * Each setting is one row of {@link RUNTIME_SETTINGS}: its variable, flag, default, meaning and parser. The
 * docs table (docs/backends.md) and the server's `--help` are generated from those rows.
 *
 * The parsers are written by hand rather than as a zod schema: each setting has its own small text syntax
 * (a tile `tm,tn,tk,rm,rn[,1]`, a list of `NAME=value` pairs) and its own long-standing message, which a
 * schema would only wrap in refinements.
 *
 * @module
 */
import { checkTile, type ConvTile, tileName } from "./webgpu/shaders.ts";

/** The backend names a user may ask for. */
export const BACKEND_CHOICES = ["auto", "tensorflow", "webgpu", "wasm", "cpu"] as const;
export type BackendChoice = typeof BACKEND_CHOICES[number];

/** `SGAN_WEBGPU_SYNTHESIS`: own WGSL pipelines on a GPU but not on a software rasteriser, always, never. */
export type WebGpuSynthesisMode = "auto" | "1" | "0";

/** One TensorFlow.js flag of `SGAN_TFJS_FLAGS` (its name is checked against the registry once the backend is up). */
export interface TfjsFlag {
  name: string;
  value: number | boolean | string;
}

/** How this process runs the networks. */
export interface Runtime {
  /** Tensor backend to initialise (`auto`: the fastest available). */
  backend: BackendChoice;
  /** The OpenBLAS accelerator of the wasm backend. */
  blas: {
    /** False keeps XNNPACK's own kernels (bit-stable whatever the batch). */
    enabled: boolean;
    /** The library to open; undefined: Debian's locations. */
    library?: string;
    /** OpenBLAS threads; undefined: every core. */
    threads?: number;
  };
  /** The fused noise + activation + instance norm + style kernels: generation (wasm, webgpu), training (wasm). */
  fusedEpilogue: boolean;
  /** The own WGSL mapping and synthesis pipelines on the webgpu backend. */
  webgpu: {
    mode: WebGpuSynthesisMode;
    /** The convolution tile tried first (tuning); undefined: the built-in list. */
    tile?: ConvTile;
  };
  /** TensorFlow.js flags set after the backend is up. */
  tfjsFlags: readonly TfjsFlag[];
  /** A TrueType font tried before the system's for figure labels. */
  font?: string;
}

/** Raised when a named backend cannot be used or is unknown; the message says why and what to do. */
export class BackendError extends Error {
  override name = "BackendError";
}

/** A runtime setting that cannot be used; the message names the variable. */
export class RuntimeError extends Error {
  override name = "RuntimeError";
}

/** Parse a user-supplied backend name, rejecting unknown ones with the list of valid names. */
export function parseBackendChoice(value: string | undefined): BackendChoice {
  const choice = (value ?? "auto").trim().toLowerCase();
  if ((BACKEND_CHOICES as readonly string[]).includes(choice)) return choice as BackendChoice;
  throw new BackendError(`unknown backend '${value}'; choose one of ${BACKEND_CHOICES.join(", ")}`);
}

/** One runtime setting: where it comes from, its default and meaning (for the docs), and how its text is read. */
export interface RuntimeSetting {
  /** The environment variable. */
  env: string;
  /** The command-line flag that overrides it, if any. */
  flag?: string;
  /** The default, in words. */
  default: string;
  /** What it does, one sentence (Markdown). */
  meaning: string;
  /** Put the variable's value (trimmed; undefined when unset or blank) into `runtime`, or throw naming it. */
  apply(text: string | undefined, runtime: Runtime): void;
}

const OFF_WORDS = ["0", "off", "false", "no", "none"];
const ON_WORDS = ["1", "on", "true", "yes"];

function onOff(name: string, text: string | undefined, fallback: boolean): boolean {
  if (text === undefined) return fallback;
  const word = text.toLowerCase();
  if (ON_WORDS.includes(word)) return true;
  if (OFF_WORDS.includes(word)) return false;
  throw new RuntimeError(`${name} must be 1 or 0 (on/off), got "${text}"`);
}

/** `NAME=value,NAME=value`; values are JSON (numbers, true/false) or plain strings. */
function parseTfjsFlags(text: string): TfjsFlag[] {
  const flags: TfjsFlag[] = [];
  for (const item of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf("=");
    if (eq < 1) throw new BackendError(`SGAN_TFJS_FLAGS: '${item}' is not NAME=value`);
    const raw = item.slice(eq + 1).trim();
    let value: number | boolean | string;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    flags.push({ name: item.slice(0, eq).trim(), value });
  }
  return flags;
}

function parseTile(text: string): ConvTile {
  const parts = text.split(",").map((v) => Number(v.trim()));
  if (
    (parts.length !== 5 && parts.length !== 6) ||
    parts.slice(0, 5).some((v) => !Number.isInteger(v) || v < 1) ||
    (parts.length === 6 && parts[5] !== 0 && parts[5] !== 1)
  ) {
    throw new RuntimeError(
      `SGAN_WEBGPU_TILE must be five positive integers tm,tn,tk,rm,rn and optionally 1 (prefetch) or 0, got "${text}"`,
    );
  }
  const [tm, tn, tk, rm, rn, prefetch] = parts;
  const tile = { tm, tn, tk, rm, rn, prefetch: prefetch === 1 };
  try {
    checkTile(tile);
  } catch (e) {
    throw new RuntimeError(`SGAN_WEBGPU_TILE: ${(e as Error).message}`);
  }
  return tile;
}

/** Every runtime setting, in the order of the docs table. */
export const RUNTIME_SETTINGS: readonly RuntimeSetting[] = [
  {
    env: "SGAN_BACKEND",
    flag: "--backend",
    default: "auto",
    meaning:
      "tensor backend: auto, tensorflow, webgpu, wasm or cpu (`auto` takes the fastest available and says why)",
    apply(text, runtime) {
      runtime.backend = parseBackendChoice(text);
    },
  },
  {
    env: "SGAN_BLAS",
    default: "1",
    meaning: "0 turns off the OpenBLAS accelerator of the wasm backend (bit-stable XNNPACK instead)",
    apply(text, runtime) {
      runtime.blas.enabled = onOff("SGAN_BLAS", text, true);
    },
  },
  {
    env: "SGAN_BLAS_LIB",
    default: "Debian's locations (`libopenblas0-openmp` first)",
    meaning: "path of the OpenBLAS library to open",
    apply(text, runtime) {
      if (text !== undefined) runtime.blas.library = text;
    },
  },
  {
    env: "SGAN_BLAS_THREADS",
    default: "every core",
    meaning: "OpenBLAS threads",
    apply(text, runtime) {
      if (text === undefined) return;
      const threads = Number(text);
      if (!Number.isInteger(threads) || threads < 1) {
        throw new RuntimeError(`SGAN_BLAS_THREADS must be an integer ≥ 1, got "${text}"`);
      }
      runtime.blas.threads = threads;
    },
  },
  {
    env: "SGAN_FUSED_EPILOGUE",
    default: "1",
    meaning:
      "0 turns off the fused noise/activation/instance-norm/style kernels (generation on wasm and webgpu, training on wasm)",
    apply(text, runtime) {
      runtime.fusedEpilogue = onOff("SGAN_FUSED_EPILOGUE", text, true);
    },
  },
  {
    env: "SGAN_WEBGPU_SYNTHESIS",
    default: "auto",
    meaning:
      "webgpu: auto (own WGSL mapping and synthesis pipelines on a GPU, tfjs kernels on a software rasteriser), 1 (always) or 0 (never)",
    apply(text, runtime) {
      const mode = (text ?? "auto").toLowerCase();
      if (mode !== "auto" && mode !== "1" && mode !== "0") {
        throw new RuntimeError(`SGAN_WEBGPU_SYNTHESIS must be auto, 1 or 0, got "${mode}"`);
      }
      runtime.webgpu.mode = mode;
    },
  },
  {
    env: "SGAN_WEBGPU_TILE",
    default: "the built-in tiles",
    meaning:
      "webgpu: a convolution tile `tm,tn,tk,rm,rn[,1 = prefetched loads]` the own pipelines try first (tuning)",
    apply(text, runtime) {
      if (text !== undefined) runtime.webgpu.tile = parseTile(text);
    },
  },
  {
    env: "SGAN_TFJS_FLAGS",
    default: "none",
    meaning:
      "TensorFlow.js flags to set after the backend is up, `NAME=value,NAME=value` (an unknown name is refused)",
    apply(text, runtime) {
      runtime.tfjsFlags = text === undefined ? [] : parseTfjsFlags(text);
    },
  },
  {
    env: "SGAN_FONT",
    default: "DejaVu Sans Mono and the like, where installed",
    meaning: "a TrueType font for figure labels, tried before the system's",
    apply(text, runtime) {
      if (text !== undefined) runtime.font = text;
    },
  },
];

/** The runtime with every setting at its default. */
export function defaultRuntime(): Runtime {
  return {
    backend: "auto",
    blas: { enabled: true },
    fusedEpilogue: true,
    webgpu: { mode: "auto" },
    tfjsFlags: [],
  };
}

/** Command-line values that override their variable (undefined: not given). */
export interface RuntimeFlags {
  /** `--backend`. */
  backend?: string;
}

/**
 * The runtime described by `env` (variable name → value; unset and blank values take the default), with the
 * command-line `flags` winning over their variables. Throws a {@link RuntimeError} or {@link BackendError}
 * naming the variable (or flag) for a value it cannot use.
 */
export function runtimeFromEnv(env: Record<string, string | undefined>, flags: RuntimeFlags = {}): Runtime {
  const runtime = defaultRuntime();
  for (const setting of RUNTIME_SETTINGS) setting.apply(env[setting.env]?.trim() || undefined, runtime);
  if (flags.backend !== undefined) runtime.backend = parseBackendChoice(flags.backend);
  return runtime;
}

/**
 * The variables that describe `runtime` ({@link runtimeFromEnv} of them gives it back): what a parent hands
 * its worker processes so that they run as it does.
 */
export function runtimeToEnv(runtime: Runtime): Record<string, string> {
  const env: Record<string, string> = {
    SGAN_BACKEND: runtime.backend,
    SGAN_BLAS: runtime.blas.enabled ? "1" : "0",
    SGAN_FUSED_EPILOGUE: runtime.fusedEpilogue ? "1" : "0",
    SGAN_WEBGPU_SYNTHESIS: runtime.webgpu.mode,
    SGAN_TFJS_FLAGS: runtime.tfjsFlags.map((f) => `${f.name}=${JSON.stringify(f.value)}`).join(","),
    // Empty values read as unset: the child takes the default, as the parent did.
    SGAN_BLAS_LIB: runtime.blas.library ?? "",
    SGAN_BLAS_THREADS: runtime.blas.threads === undefined ? "" : String(runtime.blas.threads),
    SGAN_FONT: runtime.font ?? "",
    SGAN_WEBGPU_TILE: "",
  };
  const tile = runtime.webgpu.tile;
  if (tile) {
    env.SGAN_WEBGPU_TILE = [tile.tm, tile.tn, tile.tk, tile.rm, tile.rn, tile.prefetch ? 1 : 0].join(",");
  }
  return env;
}

/**
 * This process's runtime variables (for {@link runtimeFromEnv}). Each is read on its own: a process allowed to
 * read only some (`--allow-env=SGAN_BACKEND`), or none, gets the defaults for the rest instead of failing.
 * The only place below the entry points that reads the environment.
 */
export function processRuntimeEnv(): Record<string, string | undefined> {
  return Object.fromEntries(RUNTIME_SETTINGS.map((s) => [s.env, processEnvVariable(s.env)]));
}

/** One environment variable of this process, or undefined when unset or not readable (no --allow-env). */
export function processEnvVariable(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** The runtime of this process: its variables, with the command-line `flags` winning. For entry points. */
export function processRuntime(flags: RuntimeFlags = {}): Runtime {
  return runtimeFromEnv(processRuntimeEnv(), flags);
}

/** One line for logs: the runtime's webgpu synthesis settings, as `SGAN_WEBGPU_SYNTHESIS=…, tile …`. */
export function describeWebGpuSettings(webgpu: Runtime["webgpu"]): string {
  return `SGAN_WEBGPU_SYNTHESIS=${webgpu.mode}${webgpu.tile ? `, tile ${tileName(webgpu.tile)}` : ""}`;
}

/** The Markdown table of {@link RUNTIME_SETTINGS}, its columns padded as `deno fmt` pads them. */
export function runtimeSettingsTable(): string {
  const rows = [
    ["variable", "flag", "default", "meaning"],
    ...RUNTIME_SETTINGS.map((s) => [`\`${s.env}\``, s.flag ? `\`${s.flag}\`` : "", s.default, s.meaning]),
  ];
  const widths = rows[0].map((_, i) => Math.max(3, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)].join("\n");
}

/** The markers around the generated table in docs/backends.md. */
export const RUNTIME_TABLE_MARKERS = {
  begin: "<!-- runtime settings: generated from model/runtime.ts by `deno task docs:settings` -->",
  end: "<!-- end of runtime settings -->",
} as const;

/** `doc` with the text between {@link RUNTIME_TABLE_MARKERS} replaced by {@link runtimeSettingsTable}. */
export function withRuntimeSettingsTable(doc: string): string {
  const { begin, end } = RUNTIME_TABLE_MARKERS;
  const from = doc.indexOf(begin), to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`the runtime settings markers are missing: ${begin} … ${end}`);
  return `${doc.slice(0, from + begin.length)}\n\n${runtimeSettingsTable()}\n\n${doc.slice(to)}`;
}
