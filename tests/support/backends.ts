/** The backends every numerical test runs on, with the tolerances the project promises. */
import { initBackend } from "../../model/backend/select.ts";
import { defaultRuntime, type Runtime } from "../../model/runtime.ts";

export const TEST_BACKENDS = ["cpu", "wasm", "webgpu"] as const;
export type TestBackend = typeof TEST_BACKENDS[number];

/** Max abs error allowed against the PyTorch reference (float32; WebGPU's GPU maths is looser). */
export const PARITY_TOLERANCE: Record<TestBackend, number> = { cpu: 1e-4, wasm: 1e-4, webgpu: 1e-3 };

/** Switch to a backend for a test step. */
export async function useBackend(name: TestBackend): Promise<void> {
  await initBackend(name, { quiet: true });
}

/**
 * The wasm backend on XNNPACK's own kernels (SGAN_BLAS=0): every tile gets the same bits whatever it is batched
 * with, while the optional OpenBLAS kernels can change the last bit with the batch size and the thread count.
 */
export function batchInvariantWasm(): Runtime {
  return { ...defaultRuntime(), backend: "wasm", blas: { enabled: false } };
}

/** Largest absolute difference of two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return Number.isNaN(m) ? Infinity : m;
}

/** Max |a − b| relative to max |b| (how the own GPU pipelines are compared with the tfjs layers). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  return maxAbsDiff(a, b) / scale;
}
