/**
 * Optional OpenBLAS accelerator for the wasm backend.
 *
 * tfjs-wasm runs its products in one thread of 128-bit SIMD (about 25 GFLOP/s here); OpenBLAS, opened
 * with `Deno.dlopen`, runs sgemm at about 100 GFLOP/s per core and reads the wasm heap in place. After
 * the wasm backend is active, {@link registerBlasKernels} replaces the wasm kernels Conv2D, FusedConv2D,
 * BatchMatMul (`tf.matMul`), _FusedMatMul, Conv2DBackpropInput and Conv2DBackpropFilter with versions
 * that call `cblas_sgemm` on the backend's heap; whatever they do not handle goes to the kernel that was
 * registered before them. Without the library (or without `--allow-ffi`) nothing changes.
 *
 * The runtime (model/runtime.ts) says whether to use it (`SGAN_BLAS`), which library (`SGAN_BLAS_LIB`) and how
 * many threads (`SGAN_BLAS_THREADS`, default: the number of cores); `initBackend` passes them here.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelConfig } from "@tensorflow/tfjs-core";
import { type BlasLibrary, loadOpenBlas } from "./blas/ffi.ts";
import {
  BLAS_KERNEL_NAMES,
  blasKernelFunc,
  type BlasKernelName,
  type KernelContext,
} from "./blas/kernels.ts";
import { releaseScratch, scratchBytes } from "./blas/scratch.ts";

export { type BlasLibrary, defaultBlasThreads, loadOpenBlas, OPENBLAS_CANDIDATES } from "./blas/ffi.ts";
export { BLAS_KERNEL_NAMES, type BlasKernelName } from "./blas/kernels.ts";
export { type ConvGeometry, type ConvStrategy, setConvStrategy, tuneConv } from "./blas/conv.ts";

/** What {@link registerBlasKernels} did. */
export type BlasStatus =
  | { enabled: true; library: string; threads: number }
  | { enabled: false; reason: string };

interface Installed {
  library: BlasLibrary;
  /** The configs that were registered before ours (undefined: none), restored by {@link unregisterBlasKernels}. */
  originals: Map<BlasKernelName, KernelConfig | undefined>;
  ours: Map<BlasKernelName, KernelConfig>;
  context: KernelContext;
}

let installed: Installed | undefined;

function statusOf(state: Installed): BlasStatus {
  return { enabled: true, library: state.library.path, threads: state.library.threads };
}

/** Whether the wasm backend's heap can be handed to native code (it cannot if it were a SharedArrayBuffer Deno refuses). */
function heapReachable(): string | undefined {
  const backend = tf.findBackend("wasm") as unknown as { wasm?: { HEAPF32?: Float32Array } } | undefined;
  const heap = backend?.wasm?.HEAPF32;
  if (!heap) return "the wasm backend is not initialised (call initBackend('wasm') first)";
  try {
    Deno.UnsafePointer.of(heap.subarray(0, 1) as Float32Array<ArrayBuffer>);
  } catch (e) {
    return `the wasm heap cannot be passed to native code: ${(e as Error).message}`;
  }
  return undefined;
}

/**
 * Replace the wasm backend's product kernels with OpenBLAS ones. Call after the wasm backend is active.
 * Idempotent: a second call returns the same status (and applies `threads` if given). `path` is the library
 * to open (default: Debian's locations).
 * Never throws; `{enabled: false, reason}` says why nothing was replaced.
 */
export function registerBlasKernels(options: { path?: string; threads?: number } = {}): BlasStatus {
  if (installed) {
    if (options.threads !== undefined) installed.library.setThreads(options.threads);
    return statusOf(installed);
  }
  const library = loadOpenBlas(options.path);
  if (typeof library === "string") return { enabled: false, reason: library };
  const unreachable = heapReachable();
  if (unreachable) return { enabled: false, reason: unreachable };
  if (options.threads !== undefined) library.setThreads(options.threads);
  try {
    installed = install(library);
  } catch (e) {
    return { enabled: false, reason: `registering the BLAS kernels failed: ${(e as Error).message}` };
  }
  return statusOf(installed);
}

function install(library: BlasLibrary): Installed {
  const originals = new Map<BlasKernelName, KernelConfig | undefined>();
  for (const name of BLAS_KERNEL_NAMES) originals.set(name, findKernel(name));
  const context: KernelContext = {
    blas: () => library,
    fallback: (name) => originals.get(name),
    counts: {},
  };
  const ours = new Map<BlasKernelName, KernelConfig>();
  for (const name of BLAS_KERNEL_NAMES) {
    const original = originals.get(name);
    const config: KernelConfig = {
      kernelName: name,
      backendName: "wasm",
      kernelFunc: blasKernelFunc(name, context),
      // The originals bind their wasm functions in setupFunc, which tfjs calls again on every switch
      // back to wasm (and on a fresh backend); pass that through so delegation keeps working.
      setupFunc: original?.setupFunc,
      disposeFunc: original?.disposeFunc,
    };
    if (original) tf.unregisterKernel(name, "wasm");
    tf.registerKernel(config);
    ours.set(name, config);
  }
  return { library, originals, ours, context };
}

function findKernel(name: string): KernelConfig | undefined {
  return tf.getKernelsForBackend("wasm").find((config) => config.kernelName === name);
}

/**
 * Put back the kernels that were registered before {@link registerBlasKernels} and free the scratch
 * memory. The library stays open (a later register reuses it). Used by the benchmark and tests.
 */
export function unregisterBlasKernels(): void {
  if (!installed) return;
  for (const [name, config] of installed.ours) {
    if (findKernel(name) !== config) continue; // someone replaced ours since; leave theirs
    tf.unregisterKernel(name, "wasm");
    const original = installed.originals.get(name);
    if (original) tf.registerKernel(original);
  }
  installed = undefined;
  releaseScratch();
}

/** The original (pre-BLAS) kernel for `name`, while the BLAS kernels are registered. */
export function originalKernel(name: BlasKernelName): KernelConfig | undefined {
  return installed?.originals.get(name);
}

/** State of the accelerator: library, threads, calls handled and delegated per kernel, scratch bytes held. */
export function blasInfo():
  | { enabled: false }
  | {
    enabled: true;
    library: string;
    config: string;
    threads: number;
    gflop: number;
    counts: Record<string, { blas: number; delegated: number }>;
    scratchBytes: number;
    /** Times a contended core sent the following calls to one thread (see blas/threads.ts). */
    contentionBackoffs: number;
  } {
  if (!installed) return { enabled: false };
  const { library, context } = installed;
  return {
    enabled: true,
    library: library.path,
    config: library.config,
    threads: library.threads,
    gflop: library.flops / 1e9,
    counts: structuredClone(context.counts),
    scratchBytes: scratchBytes(),
    contentionBackoffs: library.governor.backoffs,
  };
}

/** Change the OpenBLAS thread count of the registered kernels; returns the count in force (0 when not registered). */
export function setBlasThreads(threads: number): number {
  if (!installed) return 0;
  installed.library.setThreads(threads);
  return installed.library.threads;
}

/** Free the kernels' scratch buffers (padded images, grids); they are re-created on the next call. */
export function releaseBlasScratch(): void {
  releaseScratch();
}
