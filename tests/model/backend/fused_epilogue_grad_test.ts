/**
 * The fused training epilogue on wasm (model/backend/fused_epilogue.ts, fused_epilogue_grad.ts): its forward
 * equals the inference kernel bit for bit and the composed ops within float rounding; its gradients (x, the
 * noise map, the noise weight, the style) equal tf.grad of the composed ops within 1e-5 relative and central
 * float64 finite differences of the formula worked here; a second derivative through it fails with its
 * message, while the layers keep the composed ops under nested tapes; bad inputs are refused by name.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  FUSED_EPILOGUE,
  FUSED_EPILOGUE_GRAD,
  FUSED_EPILOGUE_TRAINING,
  fusedEpilogue,
  setFusedEpilogueEnabled,
} from "../../../model/backend/fused_epilogue.ts";
import { SECOND_ORDER_MESSAGE } from "../../../model/backend/fused_epilogue_grad.ts";
import { InstanceNorm } from "../../../model/layers/instance_norm.ts";
import { LayerEpilogue } from "../../../model/layers/layer_epilogue.ts";
import { NONLINEARITIES } from "../../../model/layers/activation.ts";
import { ParameterTree } from "../../../model/layers/parameters.ts";
import { assertClose, checkGradients } from "./harness.ts";
import { type Nd, nd, randn } from "./reference.ts";
import { useBackend } from "../../support/backends.ts";
import { kernelsOnTape } from "../../support/taped_kernels.ts";

/** One shape of the checks: odd sizes, channel counts 4..20, noise per sample, shared or none, ReLU too. */
interface Case {
  n: number;
  h: number;
  w: number;
  c: number;
  /** Noise maps: 0 (none), 1 (shared by the batch) or n. */
  noiseBatch: number;
  slope: number;
}
const CASES: Case[] = [
  { n: 2, h: 3, w: 5, c: 4, noiseBatch: 2, slope: 0.2 },
  { n: 2, h: 5, w: 3, c: 8, noiseBatch: 1, slope: 0.2 },
  { n: 1, h: 7, w: 7, c: 12, noiseBatch: 1, slope: 0 },
  { n: 3, h: 1, w: 9, c: 20, noiseBatch: 3, slope: 0.2 },
  { n: 2, h: 3, w: 3, c: 8, noiseBatch: 0, slope: 0.2 },
];
const EPSILON = 1e-5;
const name = (k: Case) =>
  `${k.n}×${k.h}×${k.w}×${k.c}, noise ${k.noiseBatch ? `[${k.noiseBatch}]` : "none"}, slope ${k.slope}`;

/** instnorm(lrelu(x + w[c]·noise)) · (1 + s) + b in float64, NHWC, as the papers define it. */
function reference(k: Case, x: Nd, noise: Nd | undefined, weight: Nd | undefined, style: Nd): Nd {
  const { n: N, c: C } = k, hw = k.h * k.w;
  const out = nd(x.shape);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const v: number[] = [];
      for (let p = 0; p < hw; p++) {
        const nz = noise ? noise.data[(noise.shape[0] === 1 ? 0 : n) * hw + p] * weight!.data[c] : 0;
        const a = x.data[(n * hw + p) * C + c] + nz;
        v.push(a > 0 ? a : a * k.slope);
      }
      const mean = v.reduce((s, a) => s + a, 0) / hw;
      const variance = v.reduce((s, a) => s + (a - mean) ** 2, 0) / hw;
      for (let p = 0; p < hw; p++) {
        const normed = (v[p] - mean) / Math.sqrt(variance + EPSILON);
        out.data[(n * hw + p) * C + c] = normed * (1 + style.data[n * 2 * C + c]) +
          style.data[n * 2 * C + C + c];
      }
    }
  }
  return out;
}

/** The same with the composed tfjs ops the layers use without the fused kernel (the project's InstanceNorm). */
function composed(
  k: Case,
  x: tf.Tensor,
  noise: tf.Tensor | undefined,
  weight: tf.Tensor | undefined,
  style: tf.Tensor,
): tf.Tensor {
  let y = noise ? tf.add(x, tf.mul(tf.reshape(weight!, [1, 1, 1, -1]), noise)) : x;
  y = k.slope ? tf.leakyRelu(y, k.slope) : tf.relu(y);
  y = new InstanceNorm(EPSILON).apply(y as tf.Tensor4D);
  const [scale, shift] = tf.split(style, 2, 1);
  return tf.add(
    tf.mul(y, tf.reshape(tf.add(scale, 1), [k.n, 1, 1, k.c])),
    tf.reshape(shift, [k.n, 1, 1, k.c]),
  );
}

function fused(
  k: Case,
  x: tf.Tensor,
  noise: tf.Tensor | undefined,
  weight: tf.Tensor | undefined,
  style: tf.Tensor,
): tf.Tensor {
  return fusedEpilogue(
    x as tf.Tensor4D,
    noise ? { map: noise, weight: weight! } : undefined,
    style as tf.Tensor2D,
    k.slope,
    EPSILON,
  );
}

/** Inputs of a case (x, then noise and weight where it has noise, then style) in float64. */
function inputsOf(k: Case, seed: number): Nd[] {
  const x = randn([k.n, k.h, k.w, k.c], seed);
  const style = randn([k.n, 2 * k.c], seed + 1, 0.3);
  if (!k.noiseBatch) return [x, style];
  return [x, randn([k.noiseBatch, k.h, k.w, 1], seed + 2), randn([k.c], seed + 3), style];
}

/** `fn` of a case on its inputs in the order of {@link inputsOf}. */
function spread<T>(
  k: Case,
  fn: (x: T, noise: T | undefined, weight: T | undefined, style: T) => T,
): (...xs: T[]) => T {
  return (...xs) => k.noiseBatch ? fn(xs[0], xs[1], xs[2], xs[3]) : fn(xs[0], undefined, undefined, xs[1]);
}

const toTensor = (a: Nd) => tf.tensor(Float32Array.from(a.data), a.shape);

Deno.test("fused training epilogue (wasm)", async (t) => {
  await useBackend("wasm");
  for (const [i, k] of CASES.entries()) {
    const inputs = inputsOf(k, 10 * i + 1);

    await t.step(
      `${name(k)}: forward = the inference kernel, bit for bit, and the composed ops`,
      async () => {
        const xs = inputs.map(toTensor);
        const inference = tf.tidy(() =>
          spread<tf.Tensor>(k, (x, nz, w, st) => fused(k, x, nz, w, st))(...xs)
        );
        let training: tf.Tensor | undefined, kernels: Set<string> | undefined;
        // Under a tape the op runs the training kernel.
        tf.dispose(
          tf.grad((x: tf.Tensor) => {
            kernels = kernelsOnTape(() => {
              training = tf.keep(
                spread<tf.Tensor>(k, (x, nz, w, st) => fused(k, x, nz, w, st))(x, ...xs.slice(1)),
              );
            });
            return tf.sum(training!);
          })(xs[0]),
        );
        assert.ok(kernels!.has(FUSED_EPILOGUE_TRAINING), [...kernels!].join(", "));
        assert.deepEqual(await training!.data(), await inference.data());
        const reference = tf.tidy(() =>
          spread<tf.Tensor>(k, (x, nz, w, st) => composed(k, x, nz, w, st))(...xs)
        );
        assertClose(await training!.data(), await reference.data(), "training forward vs composed", 1e-5);
        tf.dispose([...xs, inference, training!, reference]);
      },
    );

    await t.step(`${name(k)}: gradients = tf.grad of the composed ops within 1e-5 relative`, async () => {
      const xs = inputs.map(toTensor);
      const cotangent = toTensor(randn([k.n, k.h, k.w, k.c], 10 * i + 5));
      const before = tf.memory().numTensors;
      const loss = (fn: typeof fused) => (...a: tf.Tensor[]) =>
        tf.sum(tf.mul(spread<tf.Tensor>(k, (x, nz, w, st) => fn(k, x, nz, w, st))(...a), cotangent));
      let got: tf.Tensor[] = [];
      const kernels = kernelsOnTape(() => {
        got = tf.grads(loss(fused))(xs);
      });
      assert.ok(kernels.has(FUSED_EPILOGUE_TRAINING), [...kernels].join(", "));
      const want = tf.grads(loss(composed))(xs);
      assert.equal(tf.memory().numTensors, before + 2 * xs.length, "the fused gradient leaks nothing");
      const names = k.noiseBatch ? ["x", "noise", "weight", "style"] : ["x", "style"];
      for (const [j, g] of got.entries()) {
        assertClose(await g.data(), await want[j].data(), `d/d${names[j]}`, 1e-5, 0);
      }
      tf.dispose([...xs, cotangent, ...got, ...want]);
    });

    await t.step(`${name(k)}: gradients = float64 central finite differences of the formula`, async () => {
      await checkGradients(`fused epilogue ${name(k)}`, {
        tfFn: spread<tf.Tensor>(k, (x, nz, w, st) => fused(k, x, nz, w, st)),
        jsFn: spread<Nd>(k, (x, nz, w, st) => reference(k, x, nz, w, st)),
        inputs,
        rtol: 1e-4,
        h: 1e-6,
        seed: 10 * i + 7,
      });
    });
  }

  await t.step("a second derivative through the fused op fails, naming why", () => {
    const k = CASES[0];
    const xs = inputsOf(k, 3).map(toTensor);
    const inner = (x: tf.Tensor) => tf.sum(tf.square(fused(k, x, xs[1], xs[2], xs[3])));
    assert.throws(
      () => tf.grad((x: tf.Tensor) => tf.sum(tf.grad(inner)(x)))(xs[0]),
      (e: Error) => e.message === SECOND_ORDER_MESSAGE,
    );
    tf.dispose(xs);
  });

  await t.step("a second derivative through a LayerEpilogue: refused fused, and impossible composed", () => {
    const [N, H, W, C] = [2, 5, 5, 8];
    const tree = new ParameterTree();
    const epi = new LayerEpilogue(tree, C, H, 4, NONLINEARITIES.lrelu.apply, {
      use_noise: true,
      use_pixel_norm: false,
      use_instance_norm: true,
      use_styles: true,
      use_wscale: true,
    }, 3);
    const x = toTensor(randn([N, H, W, C], 5));
    const dlatent = toTensor(randn([N, 4], 6)) as tf.Tensor2D;
    // Σ (∂/∂x Σ epi(x)²)²: R1's form, were it applied to G's layers.
    const penalty = (x: tf.Tensor) => {
      const inner = tf.grad((v: tf.Tensor) =>
        tf.sum(tf.square(epi.apply(v as tf.Tensor4D, dlatent, "const")))
      )(x);
      return tf.sum(tf.square(inner));
    };
    assert.throws(() => tf.grad(penalty)(x), (e: Error) => e.message === SECOND_ORDER_MESSAGE);
    // The composed ops fail too (Rsqrt's gradient calls Pow, whose gradient nothing registers): the fused
    // kernel takes no ability away from training.
    setFusedEpilogueEnabled(false);
    try {
      assert.throws(() => tf.grad(penalty)(x), /gradient function not found for Pow/);
    } finally {
      setFusedEpilogueEnabled(true);
    }
    tf.dispose([x, dlatent]);
    tree.dispose();
  });

  await t.step("bad inputs are refused with the kernel's name, and nothing is left allocated", () => {
    const [N, H, W, C] = [2, 3, 3, 4];
    const x = tf.zeros([N, H, W, C]), style = tf.zeros([N, 2 * C]);
    const noise = tf.zeros([1, H, W, 1]), weight = tf.zeros([C]);
    const run = (kernel: string, inputs: Record<string, tf.Tensor>) => () =>
      tf.engine().runKernel(kernel, inputs, { slope: 0.2, epsilon: EPSILON });
    const before = tf.memory().numTensors;
    assert.throws(
      run(FUSED_EPILOGUE_TRAINING, { x, style }),
      new RegExp(`^Error: ${FUSED_EPILOGUE_TRAINING}: input 'noise' is missing$`),
    );
    assert.throws(
      run(FUSED_EPILOGUE_TRAINING, { x, style: tf.zeros([N, C]), noise, weight }),
      new RegExp(`${FUSED_EPILOGUE_TRAINING}: style must be \\[${N}, ${2 * C}\\]`),
    );
    const stats = tf.zeros([N, 2 * C]);
    assert.throws(
      run(FUSED_EPILOGUE_GRAD, { x, style, noise, weight, stats: tf.zeros([N, C]), dy: x }),
      new RegExp(`${FUSED_EPILOGUE_GRAD}: stats must be \\[${N}, ${2 * C}\\], got \\[${N},${C}\\]`),
    );
    assert.throws(
      run(FUSED_EPILOGUE_GRAD, { x, style, noise, weight, stats, dy: tf.zeros([N, H, W, 2 * C]) }),
      new RegExp(`${FUSED_EPILOGUE_GRAD}: dy must be \\[${N},${H},${W},${C}\\]`),
    );
    assert.throws(
      run(FUSED_EPILOGUE_GRAD, { x, style, noise, weight: tf.zeros([C + 1]), stats, dy: x }),
      new RegExp(`${FUSED_EPILOGUE_GRAD}: the noise weight must have ${C} values`),
    );
    // The inputs made inside the asserts (5) and stats; no output of a refused call survives.
    assert.equal(tf.memory().numTensors, before + 5);
    tf.dispose([x, style, noise, weight, stats]);
    assert.ok(tf.getKernel(FUSED_EPILOGUE, "wasm"));
  });
});
