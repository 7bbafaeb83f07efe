/**
 * Choose and initialise the TensorFlow.js backend.
 *
 * The runtime (model/runtime.ts: `SGAN_BACKEND=auto|tensorflow|webgpu|wasm|cpu` or `--backend`) picks one;
 * `auto` takes the fastest that is available here and says which and why in one line. tfjs-node(-gpu) is used
 * only when its native binding was actually built: its installer downloads libtensorflow from outside the
 * package registries, which fails on machines without internet, and a failed load must never take the
 * process down. The runtime's other settings (OpenBLAS, the fused kernel, TensorFlow.js flags) are applied
 * here too, so nothing below reads them again.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerTrainingKernels } from "./kernels.ts";
import { registerHigherOrderGradients } from "./gradients.ts";
import { registerBlasKernels, unregisterBlasKernels } from "./blas.ts";
import { registerFusedEpilogue, setFusedEpilogueEnabled } from "./fused_epilogue.ts";
import { registerFusedEpilogueWebGpu } from "./fused_epilogue_webgpu.ts";
import { prepareWebGpuEnvironment } from "./webgpu_driver.ts";
import { type BackendChoice, BackendError, defaultRuntime, type Runtime, type TfjsFlag } from "../runtime.ts";

export { BACKEND_CHOICES, type BackendChoice, BackendError, parseBackendChoice } from "../runtime.ts";

/** What was chosen, and the one-line reason printed for `auto`. */
export interface BackendInfo {
  /** tfjs backend name actually active (`tensorflow`, `webgpu`, `wasm`, `cpu`). */
  name: string;
  /** Human-readable reason, e.g. why a faster backend was skipped. */
  reason: string;
  /** Adapter description for webgpu (e.g. "llvmpipe"), undefined otherwise. */
  device?: string;
  /** For webgpu: the adapter is a software rasteriser (Mesa's llvmpipe/lavapipe), not a GPU. */
  software?: boolean;
  /** For wasm: the OpenBLAS library whose sgemm runs convolutions and matmuls, when found. */
  blas?: { library: string; threads: number };
}

let active: BackendInfo | undefined;

/** The backend set up by {@link initBackend}, if any. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

function wasmDistUrl(): string {
  // The .wasm binaries sit beside the package's JS in node_modules (nodeModulesDir: auto).
  const here = new URL("../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url);
  return here.href;
}

async function tryWasm(): Promise<BackendInfo | string> {
  try {
    await import("@tensorflow/tfjs-backend-wasm");
    setWasmPaths(wasmDistUrl());
    if (!(await tf.setBackend("wasm"))) return "the wasm backend failed to initialise";
    await tf.ready();
    return { name: "wasm", reason: "XNNPACK SIMD on the CPU" };
  } catch (e) {
    return `wasm failed: ${(e as Error).message}`;
  }
}

async function tryCpu(): Promise<BackendInfo> {
  await tf.setBackend("cpu");
  await tf.ready();
  return { name: "cpu", reason: "pure-JavaScript reference backend" };
}

interface AdapterProbe {
  adapter?: GPUAdapter;
  description: string;
  fallback: boolean;
}

async function probeWebGpu(): Promise<AdapterProbe | string> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return "no navigator.gpu in this runtime";
  const wgpu = prepareWebGpuEnvironment();
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e) {
    return `WebGPU adapter request failed: ${(e as Error).message}`;
  }
  if (!adapter) {
    if (wgpu.backends === undefined) return "no WebGPU adapter found";
    const why = wgpu.chosenHere
      ? ", set because a Vulkan driver is installed; DENO_WEBGPU_BACKEND=gl tries OpenGL"
      : "";
    return `no WebGPU adapter found (DENO_WEBGPU_BACKEND=${wgpu.backends}${why})`;
  }
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const fallback = Boolean(
    info?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter,
  );
  const description = [info?.vendor, info?.description || info?.device].filter(Boolean).join(" ") ||
    "unknown";
  const via = wgpu.backends === "vulkan"
    ? " via Vulkan"
    : wgpu.backends
    ? ` (DENO_WEBGPU_BACKEND=${wgpu.backends})`
    : "";
  return { adapter, description: description + via, fallback };
}

async function tryWebGpu(allowFallback: boolean): Promise<BackendInfo | string> {
  const probe = await probeWebGpu();
  if (typeof probe === "string") return probe;
  if (probe.fallback && !allowFallback) {
    return `WebGPU adapter '${probe.description}' is a software rasteriser (ask for --backend webgpu to use it)`;
  }
  try {
    await import("@tensorflow/tfjs-backend-webgpu");
    if (!(await tf.setBackend("webgpu"))) return "the webgpu backend failed to initialise";
    await registerFusedEpilogueWebGpu();
    await tf.ready();
    const soft = probe.fallback ? ", software rasteriser: slow" : "";
    return {
      name: "webgpu",
      reason: `WebGPU on ${probe.description}${soft}`,
      device: probe.description,
      software: probe.fallback,
    };
  } catch (e) {
    return `webgpu failed: ${(e as Error).message}`;
  }
}

const TFJS_NODE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

function nativeBindingBuilt(pkg: string): boolean {
  // The binding is built by the package's install script; without it the import cannot succeed.
  const root = new URL(`../../node_modules/${pkg}/lib/`, import.meta.url);
  try {
    for (const entry of Deno.readDirSync(root)) {
      if (!entry.isDirectory || !entry.name.startsWith("napi-v")) continue;
      Deno.statSync(new URL(`${entry.name}/tfjs_binding.node`, root));
      return true;
    }
  } catch {
    return false;
  }
  return false;
}

async function tryTensorflow(probeOnly: boolean): Promise<BackendInfo | string> {
  const reasons: string[] = [];
  for (const pkg of TFJS_NODE_PACKAGES) {
    if (probeOnly && !nativeBindingBuilt(pkg)) {
      reasons.push(`${pkg} not installed`);
      continue;
    }
    try {
      // A variable specifier keeps the package out of the static module graph: it is optional
      // (pinned in deno.json's imports; its native binding exists only where its installer ran).
      const specifier: string = pkg;
      await import(specifier);
      if (!(await tf.setBackend("tensorflow"))) throw new Error("setBackend('tensorflow') returned false");
      await tf.ready();
      return { name: "tensorflow", reason: `${pkg} (libtensorflow native)` };
    } catch (e) {
      reasons.push(`${pkg}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return reasons.join("; ");
}

/**
 * Initialise the runtime's backend (a bare choice: that backend with the other settings at their defaults),
 * register the project's extra kernels and gradients, and apply the runtime's OpenBLAS, fused-kernel and
 * TensorFlow.js-flag settings. Throws {@link BackendError} when a backend asked for by name cannot be used.
 */
export async function initBackend(
  runtime: Runtime | BackendChoice = defaultRuntime(),
  opts: { quiet?: boolean } = {},
): Promise<BackendInfo> {
  if (typeof runtime === "string") runtime = { ...defaultRuntime(), backend: runtime };
  const choice = runtime.backend;
  // Production mode: no debug checks, and no "install tfjs-node" banner on stdout.
  tf.enableProdMode();
  registerHigherOrderGradients();
  let info: BackendInfo;
  if (choice === "auto") {
    const skipped: string[] = [];
    const attempts: Array<() => Promise<BackendInfo | string>> = [
      () => tryTensorflow(true),
      () => tryWebGpu(false),
      tryWasm,
    ];
    let found: BackendInfo | undefined;
    for (const attempt of attempts) {
      const result = await attempt();
      if (typeof result === "string") skipped.push(result);
      else {
        found = result;
        break;
      }
    }
    info = found ?? await tryCpu();
    if (skipped.length) info = { ...info, reason: `${info.reason}; skipped: ${skipped.join("; ")}` };
  } else {
    const result = choice === "tensorflow"
      ? await tryTensorflow(false)
      : choice === "webgpu"
      ? await tryWebGpu(true)
      : choice === "wasm"
      ? await tryWasm()
      : await tryCpu();
    if (typeof result === "string") {
      const hint = choice === "tensorflow"
        ? " (on a CUDA machine: `deno install --allow-scripts=npm:@tensorflow/tfjs-node-gpu` lets its installer fetch libtensorflow; see docs/backends.md)"
        : "";
      throw new BackendError(`backend '${choice}' is not available: ${result}${hint}`);
    }
    info = result;
  }
  registerTrainingKernels(info.name);
  applyFlagOverrides(runtime.tfjsFlags);
  setFusedEpilogueEnabled(runtime.fusedEpilogue);
  if (info.name === "wasm") {
    // Generation's noise + activation + instance norm + style in one SIMD kernel; without it, tfjs ops.
    const fused = await registerFusedEpilogue();
    if (fused) info = { ...info, reason: `${info.reason}; ${fused}` };
    // Optional accelerator: OpenBLAS through FFI for conv/matmul on the wasm heap (SGAN_BLAS=0 turns it off).
    const blas = runtime.blas.enabled
      ? registerBlasKernels({ path: runtime.blas.library, threads: runtime.blas.threads })
      : disableBlas();
    if (blas.enabled) {
      info = {
        ...info,
        reason: `XNNPACK SIMD + OpenBLAS sgemm (${blas.threads} ${
          blas.threads === 1 ? "thread" : "threads"
        })${info.reason.slice("XNNPACK SIMD on the CPU".length)}`,
        blas,
      };
    } else {
      info = { ...info, reason: `${info.reason}; no OpenBLAS: ${blas.reason}` };
    }
  }
  active = info;
  if (!opts.quiet && choice === "auto") console.error(`backend: ${info.name} (${info.reason})`);
  return info;
}

/** The runtime keeps XNNPACK's own kernels: put them back if an earlier initialisation replaced them. */
function disableBlas(): { enabled: false; reason: string } {
  unregisterBlasKernels();
  return { enabled: false, reason: "disabled by SGAN_BLAS" };
}

/**
 * The runtime's `SGAN_TFJS_FLAGS` (parsed by model/runtime.ts): set TensorFlow.js environment flags (e.g. the
 * webgpu backend's `WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64`) for experiments and benchmarks. An unknown flag
 * name is an error that lists the registered ones (known only once the backend is up).
 */
export function applyFlagOverrides(flags: readonly TfjsFlag[]): void {
  if (flags.length === 0) return;
  // The registry (not getFlags(), which holds only flags read so far) knows every flag a backend defines.
  const registered = Object.keys(
    (tf.env() as unknown as { flagRegistry: Record<string, unknown> }).flagRegistry,
  );
  for (const { name, value } of flags) {
    if (!registered.includes(name)) {
      throw new BackendError(
        `SGAN_TFJS_FLAGS: unknown flag '${name}'; known: ${registered.sort().join(", ")}`,
      );
    }
    tf.env().set(name, value);
  }
}
