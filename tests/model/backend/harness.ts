/** Shared helpers for the backend tests: backend switching, tensor ↔ float64 conversion, tolerances. */
import * as tf from "@tensorflow/tfjs-core";
import { AssertionError } from "node:assert/strict";
import { initBackend } from "../../../model/backend/select.ts";
import { dot, finiteDifference, type Nd, nd, randn } from "./reference.ts";

/** Every backend the project trains on; each test runs on all of them. */
export const BACKENDS = ["cpu", "wasm", "webgpu"] as const;
export type BackendName = typeof BACKENDS[number];

/** Initialise (once) and activate a backend. */
export async function useBackend(name: BackendName): Promise<void> {
  await initBackend(name, { quiet: true });
  if (tf.getBackend() !== name) await tf.setBackend(name);
}

export function toTensor(a: Nd): tf.Tensor {
  return tf.tensor(Float32Array.from(a.data), a.shape, "float32");
}

export async function toNd(t: tf.Tensor): Promise<Nd> {
  return nd(t.shape, await t.data());
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * Assert that float32 results match float64 truth: the largest absolute error must stay within
 * `rtol` of the largest expected magnitude (plus `atol`), the natural scale for sums of float32 products.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  rtol = 1e-3,
  atol = 1e-6,
): number {
  if (actual.length !== expected.length) {
    throw new AssertionError({ message: `${what}: length ${actual.length} != ${expected.length}` });
  }
  let worst = 0, at = -1;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= worst)) [worst, at] = [err, i];
  }
  const scale = maxAbs(expected);
  const allowed = rtol * scale + atol;
  if (!(worst <= allowed)) {
    throw new AssertionError({
      message: `${what}: max |error| ${worst.toExponential(3)} at ${at} (got ${actual[at]}, want ${
        expected[at]
      }) exceeds ${allowed.toExponential(3)} (scale ${scale.toExponential(3)})`,
    });
  }
  return worst / Math.max(scale, 1e-30);
}

export interface GradientCheck {
  /** The op under test on float32 tensors. */
  tfFn: (...xs: tf.Tensor[]) => tf.Tensor;
  /** The same op in float64 plain JS. */
  jsFn: (...xs: Nd[]) => Nd;
  inputs: Nd[];
  /** Inputs to differentiate with respect to (default: all). */
  wrt?: number[];
  rtol?: number;
  h?: number;
  seed?: number;
}

/**
 * Check tf's analytic gradients of L = Σ c ⊙ op(inputs) (random cotangent c) against central finite
 * differences of the float64 reference. Also checks the forward values. Returns the worst relative error.
 */
export async function checkGradients(what: string, check: GradientCheck): Promise<number> {
  const { tfFn, jsFn, inputs, rtol = 2e-3, h = 1e-5, seed = 99 } = check;
  const wrt = check.wrt ?? inputs.map((_, i) => i);
  const expectedOut = jsFn(...inputs);
  const cot = randn(expectedOut.shape, seed);
  const loss = (...xs: Nd[]) => dot(jsFn(...xs).data, cot.data);
  const before = tf.memory().numTensors;
  const tensors = inputs.map(toTensor);
  const cotT = toTensor(cot);
  const out = tf.tidy(() => tfFn(...tensors));
  let worst = assertClose(await out.data(), expectedOut.data, `${what}: forward`, rtol);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(tfFn(...xs), cotT)))(tensors);
  for (const i of wrt) {
    const fd = finiteDifference(loss, inputs, i, h);
    worst = Math.max(worst, assertClose(await grads[i].data(), fd, `${what}: d/d input ${i}`, rtol));
  }
  tf.dispose([...tensors, cotT, out, ...grads]);
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) throw new AssertionError({ message: `${what}: ${leaked} tensors leaked` });
  return worst;
}
