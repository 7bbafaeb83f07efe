/**
 * The fused noise + leaky ReLU + instance norm + style kernel against the formula worked in float64, against
 * the composed ops it replaces, and its rule of use (generation on wasm or webgpu, training on wasm only), on
 * both backends that have it. The training kernel's gradient: fused_epilogue_grad_test.ts.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  FUSED_EPILOGUE,
  fusedEpilogue,
  fusedEpilogueUsable,
  setFusedEpilogueEnabled,
} from "../../../model/backend/fused_epilogue.ts";
import { LayerEpilogue } from "../../../model/layers/layer_epilogue.ts";
import { NONLINEARITIES } from "../../../model/layers/activation.ts";
import { ParameterTree } from "../../../model/layers/parameters.ts";
import { RandomState } from "../../../model/seeds.ts";
import { maxAbsDiff, useBackend } from "../../support/backends.ts";

const [N, H, W, C] = [2, 6, 6, 8];

/** instnorm(lrelu(x + w[c]·noise)) · (1 + s) + b in float64, NHWC, noise batch 1 or N. */
function reference(
  x: Float64Array,
  noise: Float64Array | undefined,
  noiseBatch: number,
  weight: Float64Array,
  style: Float64Array,
  slope: number,
): Float64Array {
  const out = new Float64Array(x.length);
  const hw = H * W;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const v: number[] = [];
      for (let p = 0; p < hw; p++) {
        const nz = noise ? noise[(noiseBatch === 1 ? 0 : n) * hw + p] : 0;
        const a = x[(n * hw + p) * C + c] + weight[c] * nz;
        v.push(a < 0 ? a * slope : a);
      }
      const mean = v.reduce((s, a) => s + a, 0) / hw;
      const variance = v.reduce((s, a) => s + (a - mean) ** 2, 0) / hw;
      for (let p = 0; p < hw; p++) {
        const normed = (v[p] - mean) / Math.sqrt(variance + 1e-5);
        out[(n * hw + p) * C + c] = normed * (1 + style[n * 2 * C + c]) + style[n * 2 * C + C + c];
      }
    }
  }
  return out;
}

const rng = new RandomState(7);
const gauss = (count: number) => Float64Array.from(rng.randn(count));

// WebGPU's float32 arithmetic (fused multiply-adds, parallel sums) is looser than wasm's.
const TOLERANCE = { wasm: 2e-5, webgpu: 1e-4 } as const;

for (const backend of ["wasm", "webgpu"] as const) {
  Deno.test(`fused epilogue on ${backend}`, async (t) => {
    await useBackend(backend);
    const tol = TOLERANCE[backend];
    const x = gauss(N * H * W * C);
    const weight = gauss(C);
    const style = gauss(N * 2 * C).map((v) => 0.3 * v);

    for (const noiseBatch of [0, 1, N]) {
      await t.step(`matches the float64 formula (noise maps: ${noiseBatch || "none"})`, async () => {
        const noise = noiseBatch ? gauss(noiseBatch * H * W) : undefined;
        const expected = reference(x, noise, noiseBatch, weight, style, 0.2);
        const y = tf.tidy(() =>
          fusedEpilogue(
            tf.tensor4d(Float32Array.from(x), [N, H, W, C]),
            noise
              ? {
                map: tf.tensor4d(Float32Array.from(noise), [noiseBatch, H, W, 1]),
                weight: tf.tensor1d(Float32Array.from(weight)),
              }
              : undefined,
            tf.tensor2d(Float32Array.from(style), [N, 2 * C]),
            0.2,
          )
        );
        const err = maxAbsDiff(await y.data(), expected);
        y.dispose();
        assert.ok(err < tol, `max abs error ${err}`);
      });
    }

    await t.step("a LayerEpilogue gives the same output fused and composed", async () => {
      const tree = new ParameterTree();
      const epi = new LayerEpilogue(tree, C, H, 4, NONLINEARITIES.lrelu.apply, {
        use_noise: true,
        use_pixel_norm: false,
        use_instance_norm: true,
        use_styles: true,
        use_wscale: true,
      }, 3);
      // Non-zero noise weights and a style layer with weights, so that every part matters.
      epi.noise!.weight.assign(tf.tensor1d(Float32Array.from(weight)));
      const input = tf.tensor4d(Float32Array.from(x), [N, H, W, C]);
      const dlatent = tf.tensor2d(Float32Array.from(gauss(N * 4)), [N, 4]);
      assert.ok(fusedEpilogueUsable(C));
      const before = tf.memory().numTensors;
      const fused = epi.apply(input, dlatent, "const");
      assert.equal(tf.memory().numTensors, before + 1, "the fused path leaks no tensors");
      setFusedEpilogueEnabled(false); // what initBackend does for a runtime with SGAN_FUSED_EPILOGUE=0
      let composed: tf.Tensor;
      try {
        assert.equal(fusedEpilogueUsable(C), false);
        composed = epi.apply(input, dlatent, "const");
      } finally {
        setFusedEpilogueEnabled(true);
      }
      const err = maxAbsDiff(await fused.data(), await composed.data());
      assert.ok(err < tol, `fused vs composed: max abs error ${err}`);
      tf.dispose([fused, composed, input, dlatent]);
      tree.dispose();
    });

    await t.step("under a gradient tape only on wasm (its training kernel; webgpu trains composed)", () => {
      let usableInside: boolean | undefined;
      tf.grad((v: tf.Tensor) => {
        usableInside = fusedEpilogueUsable(C);
        return tf.sum(v);
      })(tf.ones([2]));
      assert.equal(usableInside, backend === "wasm");
      assert.equal(fusedEpilogueUsable(C), true);
    });

    await t.step("bad shapes are refused with the kernel's name", () => {
      assert.throws(
        () => fusedEpilogue(tf.zeros([N, H, W, C]), undefined, tf.zeros([N, C]) as tf.Tensor2D, 0.2),
        new RegExp(`${FUSED_EPILOGUE}: style must be \\[${N}, ${2 * C}\\]`),
      );
      assert.throws(
        () =>
          fusedEpilogue(
            tf.zeros([N, H, W, C]),
            { map: tf.zeros([3, H, W, 1]), weight: tf.zeros([C]) },
            tf.zeros([N, 2 * C]) as tf.Tensor2D,
            0.2,
          ),
        /noise must be \[1 or 2/,
      );
      assert.throws(
        () =>
          fusedEpilogue(
            tf.zeros([N, H, W, C]),
            { map: tf.zeros([1, H, W, 1]), weight: tf.zeros([C + 1]) },
            tf.zeros([N, 2 * C]) as tf.Tensor2D,
            0.2,
          ),
        /noise weight must have 8 values/,
      );
    });
  });
}

Deno.test("where the fused kernels apply: wasm (channels a multiple of 4) and webgpu, never cpu", async () => {
  await useBackend("wasm");
  assert.equal(fusedEpilogueUsable(8), true);
  assert.equal(fusedEpilogueUsable(6), false);
  await useBackend("webgpu");
  assert.equal(fusedEpilogueUsable(6), true);
  await useBackend("cpu");
  assert.equal(fusedEpilogueUsable(8), false);
});
