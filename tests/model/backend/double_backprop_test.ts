/**
 * Real double backprop on every backend: the R1 penalty (and WGAN-GP) of a tiny discriminator-like network
 * differentiated with respect to its weights, tf.grad of a function that itself calls tf.grad, against
 * finite differences of the same penalty computed entirely in float64 plain JS (inner and outer gradients
 * both by central differences).
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { blur2d, downscale2dMean } from "../../../model/backend/ops.ts";
import { assertClose, BACKENDS, toTensor, useBackend } from "./harness.ts";
import * as ref from "./reference.ts";
import type { Nd } from "./reference.ts";

const ALPHA = 0.2;
const N = 2, H = 8, C = 2;

/** Parameters of the toy discriminator: names, shapes, seeds. */
const PARAMS = {
  w1: [3, 3, C, 3], // conv 3×3, C → 3, stride 1
  b1: [3],
  wd: [3, 3, 3, 1], // learned depthwise 3×3
  w2: [3, 3, 3, 4], // conv 3×3, 3 → 4, stride 2
  wf: [4, 1], // dense
} as const;
type ParamName = keyof typeof PARAMS;
const NAMES = Object.keys(PARAMS) as ParamName[];

const BLUR_1D = [1, 2, 1];

/** Pre-activations of every leaky ReLU, collected so the test can keep finite differences off the kinks. */
interface Trace {
  preActivations: number[];
}

/**
 * f(x; W) in float64: a fixed depthwise blur, conv 3×3 + bias, leaky ReLU, the blur again, 2×2 average
 * pool, a learned depthwise conv, leaky ReLU, a stride-2 conv, leaky ReLU, a 2×2 average pool, a dense layer,
 * Σ. On the tf side the blurs are the networks' custom-gradient `blur2d`, the pools `downscale2dMean`.
 */
export function fJs(x: Nd, p: Record<ParamName, Nd>, trace?: Trace): number {
  const fixed = ref.nd([3, 3, C, 1]);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      for (let c = 0; c < C; c++) fixed.data[(i * 3 + j) * C + c] = (BLUR_1D[i] * BLUR_1D[j]) / 16;
    }
  }
  const same1: ref.ConvSpec = { strides: 1, pad: "same" };
  const lrelu = (a: Nd) => {
    trace?.preActivations.push(...a.data);
    return ref.leakyRelu(a, ALPHA);
  };
  let h = ref.depthwiseConv2d(x, fixed, same1);
  h = lrelu(ref.add(ref.conv2d(h, p.w1, same1), p.b1));
  h = ref.blur(h, BLUR_1D);
  h = ref.avgPoolValid(h, 2, 2);
  h = lrelu(ref.depthwiseConv2d(h, p.wd, same1));
  h = lrelu(ref.conv2d(h, p.w2, { strides: 2, pad: "same" }));
  h = ref.avgPoolValid(h, 2, 2);
  const flat = { shape: [N, h.data.length / N], data: h.data };
  return ref.matMul(flat, p.wf).data.reduce((s, v) => s + v, 0);
}

function fTf(x: tf.Tensor, p: Record<ParamName, tf.Tensor>): tf.Tensor {
  // The fixed depthwise blur and the average pools are the networks' own ops (blur2d, downscale2dMean);
  // the learned depthwise conv is a conv2d with a channel-diagonal filter (what gradients.ts registers).
  const channelDiagonal = (w: tf.Tensor) => {
    const channels = w.shape[2]!;
    return tf.mul(w, tf.reshape(tf.eye(channels), [1, 1, channels, channels]));
  };
  let h = blur2d(x as tf.Tensor4D, BLUR_1D);
  h = tf.leakyRelu(tf.add(tf.conv2d(h, p.w1 as tf.Tensor4D, 1, "same"), p.b1), ALPHA);
  h = blur2d(h, BLUR_1D);
  h = downscale2dMean(h, 2);
  h = tf.leakyRelu(tf.conv2d(h, channelDiagonal(p.wd) as tf.Tensor4D, 1, "same"), ALPHA);
  h = tf.leakyRelu(tf.conv2d(h, p.w2 as tf.Tensor4D, 2, "same"), ALPHA);
  h = downscale2dMean(h, 2);
  return tf.sum(tf.matMul(tf.reshape(h, [N, -1]), p.wf as tf.Tensor2D));
}

/** Per-sample squared gradient norms ‖∂f/∂x_n‖², by central differences in float64. */
function gradNormsJs(x: Nd, p: Record<ParamName, Nd>, h = 1e-5): number[] {
  const g = ref.finiteDifference((xv) => fJs(xv, p), [x], 0, h);
  const per = g.length / N;
  return Array.from(
    { length: N },
    (_, n) => g.subarray(n * per, (n + 1) * per).reduce((s, v) => s + v * v, 0),
  );
}

const PENALTIES = {
  /** R1 = Σ_n ‖∂f/∂x_n‖² (summed over the batch, as the official StyleGAN). */
  r1: {
    js: (norms2: number[]) => norms2.reduce((s, v) => s + v, 0),
    tf: (gx: tf.Tensor) => tf.sum(tf.square(gx)),
  },
  /** WGAN-GP = Σ_n (‖∂f/∂x_n‖ − 1)². */
  gp: {
    js: (norms2: number[]) => norms2.reduce((s, v) => s + (Math.sqrt(v) - 1) ** 2, 0),
    tf: (gx: tf.Tensor) => tf.sum(tf.square(tf.sub(tf.sqrt(tf.sum(tf.square(gx), [1, 2, 3])), 1))),
  },
} as const;

/** Weight entries whose penalty derivative is checked by finite differences: a spread over every tensor. */
const PROBES: Array<[ParamName, number]> = [
  ["w1", 0],
  ["w1", 29],
  ["w1", 53],
  ["b1", 1],
  ["wd", 4],
  ["wd", 20],
  ["w2", 7],
  ["w2", 101],
  ["wf", 2],
];

export function setup(seed = 23): { x: Nd; p: Record<ParamName, Nd> } {
  const x = ref.randn([N, H, H, C], seed);
  const p = Object.fromEntries(
    NAMES.map((name, i) => [name, ref.randn([...PARAMS[name]], seed + 13 + i, 0.6)]),
  ) as Record<
    ParamName,
    Nd
  >;
  return { x, p };
}

/** The float64 penalty and its finite-difference derivatives at {@link PROBES}; the same for every backend. */
const truthCache = new Map<string, { value: number; derivatives: number[] }>();
function floatTruth(name: keyof typeof PENALTIES): { value: number; derivatives: number[] } {
  const cached = truthCache.get(name);
  if (cached) return cached;
  const { x, p } = setup();
  const penaltyJs = () => PENALTIES[name].js(gradNormsJs(x, p));
  const eps = 1e-4;
  const derivatives = PROBES.map(([param, index]) => {
    const keep = p[param].data[index];
    p[param].data[index] = keep + eps;
    const plus = penaltyJs();
    p[param].data[index] = keep - eps;
    const minus = penaltyJs();
    p[param].data[index] = keep;
    return (plus - minus) / (2 * eps);
  });
  const truth = { value: penaltyJs(), derivatives };
  truthCache.set(name, truth);
  return truth;
}

for (const backend of BACKENDS) {
  Deno.test(`double backprop: R1 and WGAN-GP weight gradients [${backend}]`, async (t) => {
    await useBackend(backend);
    const { x, p } = setup();

    await t.step("the finite differences stay off the leaky-ReLU kinks", () => {
      const trace: Trace = { preActivations: [] };
      fJs(x, p, trace);
      const closest = Math.min(...trace.preActivations.map(Math.abs));
      assert.ok(closest > 2e-3, `closest pre-activation to the kink: ${closest}`);
    });

    for (const [penaltyName, penalty] of Object.entries(PENALTIES)) {
      await t.step(
        `${penaltyName}: ∂penalty/∂W matches finite differences of the float64 penalty`,
        async () => {
          const before = tf.memory().numTensors;
          const xt = toTensor(x);
          const pt = NAMES.map((name) => toTensor(p[name]));
          const asRecord = (ts: tf.Tensor[]) =>
            Object.fromEntries(NAMES.map((n, i) => [n, ts[i]])) as Record<ParamName, tf.Tensor>;
          const penaltyOf = (...params: tf.Tensor[]) => {
            const gx = tf.grad((xv: tf.Tensor) => fTf(xv, asRecord(params)))(xt);
            return penalty.tf(gx);
          };
          const value = tf.tidy(() => penaltyOf(...pt));
          const analytic = tf.grads(penaltyOf)(pt);

          const truth = floatTruth(penaltyName as keyof typeof PENALTIES);
          assertClose(await value.data(), [truth.value], `${penaltyName} value`, 1e-3);
          const got: number[] = [];
          for (const [name, index] of PROBES) got.push((await analytic[NAMES.indexOf(name)].data())[index]);
          assertClose(got, truth.derivatives, `${penaltyName} ∂/∂W at ${JSON.stringify(PROBES)}`, 5e-3);
          tf.dispose([xt, ...pt, value, ...analytic]);
          assert.equal(tf.memory().numTensors, before, "no tensors leaked");
        },
      );
    }
  });
}
