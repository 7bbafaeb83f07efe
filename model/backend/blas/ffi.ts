/**
 * OpenBLAS through `Deno.dlopen`: find the library, set its thread count, and call `cblas_sgemm`
 * on `Float32Array` views (of the wasm backend's heap or of plain JS scratch memory) without copying.
 *
 * Every product is bounds-checked against the views it is given before the native call: a wrong
 * leading dimension must surface as a JS error, never as a write past the end of the wasm heap.
 */

import { ThreadGovernor } from "./threads.ts";

/**
 * Where Debian puts the OpenMP build (`apt-get install libopenblas0-openmp`), then the alternatives link
 * (whichever variant is installed), then the pthreads build.
 */
export const OPENBLAS_CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-openmp/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
] as const;

const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

const SYMBOLS = {
  cblas_sgemm: {
    // order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "pointer",
      "i32",
      "pointer",
      "i32",
      "f32",
      "pointer",
      "i32",
    ],
    result: "void",
    nonblocking: false,
  },
  // OpenBLAS' own controls; optional so that any library with a CBLAS interface (BLIS, MKL) also loads.
  openblas_set_num_threads: { parameters: ["i32"], result: "void", nonblocking: false, optional: true },
  openblas_get_config: { parameters: [], result: "pointer", nonblocking: false, optional: true },
} as const;

type OpenBlasSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const RTLD_NOW = 2;
const RTLD_NODELETE = 0x1000;

/**
 * Keep the library mapped until the process ends. Deno unloads it when the isolate shuts down, while
 * OpenMP's worker threads still sit in its code: the process then dies with SIGSEGV on exit (seen with
 * libopenblas0-openmp and 2 threads). A second `dlopen` with RTLD_NODELETE makes that unload a no-op.
 */
function pinLibrary(path: string): string | undefined {
  let libc: Deno.DynamicLibrary<{ dlopen: { parameters: ["buffer", "i32"]; result: "pointer" } }> | undefined;
  try {
    libc = Deno.dlopen("libc.so.6", { dlopen: { parameters: ["buffer", "i32"], result: "pointer" } });
    const handle = libc.symbols.dlopen(new TextEncoder().encode(`${path}\0`), RTLD_NOW | RTLD_NODELETE);
    return handle === null ? "dlopen(RTLD_NODELETE) returned NULL" : undefined;
  } catch (e) {
    return (e as Error).message.split("\n")[0];
  } finally {
    libc?.close();
  }
}

/** One row-major single-precision product `C = alpha·op(A)·op(B) + beta·C`, as `cblas_sgemm` takes it. */
export interface SgemmArgs {
  transA: boolean;
  transB: boolean;
  /** Rows of op(A) and C. */
  m: number;
  /** Columns of op(B) and C. */
  n: number;
  /** Columns of op(A), rows of op(B). */
  k: number;
  alpha?: number;
  /** View whose first element is A[0,0]. */
  a: Float32Array;
  lda: number;
  b: Float32Array;
  ldb: number;
  beta?: number;
  c: Float32Array;
  ldc: number;
}

/** An opened OpenBLAS. */
export interface BlasLibrary {
  /** The path that was opened. */
  readonly path: string;
  /** `openblas_get_config()`, e.g. "OpenBLAS 0.3.21 ... USE_OPENMP Cooperlake MAX_THREADS=64". */
  readonly config: string;
  /** Threads OpenBLAS uses for the calls of this JS thread (small products always run on one). */
  readonly threads: number;
  /** Why more than one thread is not allowed, if so (the library could not be pinned in memory). */
  readonly singleThreadedReason?: string;
  /** Change the thread count (clamped to at least 1). */
  setThreads(threads: number): void;
  /** `cblas_sgemm`, after checking that every matrix lies inside its view. */
  sgemm(args: SgemmArgs): void;
  /** Floating-point operations issued through {@link sgemm} since the library was opened. */
  readonly flops: number;
  /** Per-call thread choice; its `backoffs` counts the times a contended core sent calls to one thread. */
  readonly governor: ThreadGovernor;
  /** Unload the library (only when no kernel will call it again). */
  close(): void;
}

/** Libraries opened so far (or why they could not be called), by the candidate list tried. */
const opened = new Map<string, BlasLibrary | string>();

/** Thread count when the runtime names none (`SGAN_BLAS_THREADS` unset): the number of cores. */
export function defaultBlasThreads(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/**
 * Open OpenBLAS: `path` (the runtime's `SGAN_BLAS_LIB`), else the Debian locations in {@link OPENBLAS_CANDIDATES}.
 * Returns the library, or a one-line reason why none could be opened (missing file, no `--allow-ffi`,
 * no `cblas_sgemm` in it). Never throws. The same library is returned for the same path.
 */
export function loadOpenBlas(path?: string): BlasLibrary | string {
  const candidates = path ? [path] : [...OPENBLAS_CANDIDATES];
  const key = candidates.join("|");
  const known = opened.get(key);
  if (known !== undefined) return known;
  const reasons: string[] = [];
  for (const candidate of candidates) {
    let dylib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      dylib = Deno.dlopen(candidate, SYMBOLS);
    } catch (e) {
      const error = e as Error;
      if (error.name === "NotCapable" || error.name === "PermissionDenied") {
        return `no FFI permission to load OpenBLAS (run with --allow-ffi or -A): ${error.message}`;
      }
      reasons.push(`${candidate}: ${error.message.split("\n")[0]}`);
      continue;
    }
    let result: BlasLibrary | string;
    try {
      result = wrapLibrary(candidate, dylib);
      selfTest(result);
    } catch (e) {
      // E.g. --allow-ffi scoped to the library: it opens, but pointers to JS memory are refused.
      dylib.close();
      result = `OpenBLAS at ${candidate} opened but cannot be called: ${(e as Error).message.split("\n")[0]}`;
    }
    opened.set(key, result);
    return result;
  }
  const hint = path ? "" : " (apt-get install libopenblas0-openmp, or point SGAN_BLAS_LIB at a libopenblas)";
  return `OpenBLAS not found${hint}: ${reasons.join("; ")}`;
}

function wrapLibrary(path: string, dylib: Deno.DynamicLibrary<typeof SYMBOLS>): BlasLibrary {
  const symbols: OpenBlasSymbols = dylib.symbols;
  const configPointer = symbols.openblas_get_config?.();
  const config = configPointer ? new Deno.UnsafePointerView(configPointer).getCString() : path;
  const pinFailure = pinLibrary(path);
  const singleThreadedReason = pinFailure && `cannot keep OpenBLAS loaded until exit (${pinFailure})`;
  let threads = 1;
  /** The count last handed to OpenBLAS (per call it may be 1 for small products). */
  let applied = 0;
  let flops = 0;
  const useThreads = (count: number) => {
    if (count !== applied) symbols.openblas_set_num_threads?.(count);
    applied = count;
  };
  let governor = new ThreadGovernor(0);
  const library: BlasLibrary = {
    path,
    config,
    singleThreadedReason,
    get governor() {
      return governor;
    },
    get threads() {
      return threads;
    },
    get flops() {
      return flops;
    },
    setThreads(count: number) {
      threads = singleThreadedReason ? 1 : Math.max(1, Math.floor(count));
      useThreads(threads);
    },
    sgemm(args: SgemmArgs) {
      const { transA, transB, m, n, k, lda, ldb, ldc } = args;
      if (m <= 0 || n <= 0) return;
      if (k <= 0) {
        // An empty sum: C = beta·C. cblas would do the same, but some builds reject K = 0.
        const beta = args.beta ?? 0;
        for (let row = 0; row < m; row++) {
          const start = row * ldc;
          for (let col = start; col < start + n; col++) args.c[col] = beta === 0 ? 0 : args.c[col] * beta;
        }
        return;
      }
      checkExtent("A", args.a, transA ? k : m, transA ? m : k, lda);
      checkExtent("B", args.b, transB ? n : k, transB ? k : n, ldb);
      checkExtent("C", args.c, m, n, ldc);
      const work = 2 * m * n * k;
      const callThreads = governor.choose(work, threads);
      useThreads(callThreads);
      const timed = governor.wantsTiming(work, callThreads);
      const start = timed ? performance.now() : 0;
      symbols.cblas_sgemm(
        CBLAS_ROW_MAJOR,
        transA ? CBLAS_TRANS : CBLAS_NO_TRANS,
        transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
        m,
        n,
        k,
        args.alpha ?? 1,
        Deno.UnsafePointer.of(args.a as Float32Array<ArrayBuffer>),
        lda,
        Deno.UnsafePointer.of(args.b as Float32Array<ArrayBuffer>),
        ldb,
        args.beta ?? 0,
        Deno.UnsafePointer.of(args.c as Float32Array<ArrayBuffer>),
        ldc,
      );
      if (timed) governor.record(work, performance.now() - start);
      flops += work;
    },
    close() {
      for (const [key, value] of opened) if (value === library) opened.delete(key);
      dylib.close();
    },
  };
  governor = new ThreadGovernor(singleThreadRate(library));
  library.setThreads(defaultBlasThreads());
  return library;
}

/** Flops per millisecond of one thread on a 256³ product (best of three), the governor's yardstick. */
function singleThreadRate(library: BlasLibrary): number {
  library.setThreads(1);
  const size = 256;
  const a = new Float32Array(new ArrayBuffer(size * size * 4)).fill(0.5);
  const c = new Float32Array(new ArrayBuffer(size * size * 4));
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    library.sgemm({
      transA: false,
      transB: false,
      m: size,
      n: size,
      k: size,
      a,
      lda: size,
      b: a,
      ldb: size,
      c,
      ldc: size,
    });
    best = Math.min(best, performance.now() - start);
  }
  return (2 * size ** 3) / Math.max(best, 1e-3);
}

/** A 2×2 product with a known answer: the symbols are real and JS memory reaches them. */
function selfTest(library: BlasLibrary): void {
  const a = new Float32Array(new ArrayBuffer(16));
  a.set([1, 2, 3, 4]);
  const c = new Float32Array(new ArrayBuffer(16));
  library.sgemm({ transA: false, transB: true, m: 2, n: 2, k: 2, a, lda: 2, b: a, ldb: 2, c, ldc: 2 });
  if (c.join() !== "5,11,11,25") {
    throw new Error(`cblas_sgemm self-test gave [${c.join()}], expected [5,11,11,25]`);
  }
}

/** A row-major `rows × cols` matrix with leading dimension `ld` must fit inside `view`. */
function checkExtent(name: string, view: Float32Array, rows: number, cols: number, ld: number): void {
  if (ld < Math.max(1, cols)) throw new RangeError(`sgemm: ld${name} ${ld} < ${cols} columns`);
  const needed = (rows - 1) * ld + cols;
  if (needed > view.length) {
    throw new RangeError(
      `sgemm: ${name} needs ${needed} floats (${rows}×${cols}, ld ${ld}) but its view has ${view.length}`,
    );
  }
}
