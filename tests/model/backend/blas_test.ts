/**
 * The OpenBLAS kernels of the wasm backend against the original wasm kernels and the cpu backend.
 * Skipped (ignored, with the reason logged) where OpenBLAS is not installed.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type { KernelBackend, KernelConfig, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { initBackend } from "../../../model/backend/select.ts";
import {
  BLAS_KERNEL_NAMES,
  blasInfo,
  type BlasKernelName,
  loadOpenBlas,
  originalKernel,
  registerBlasKernels,
  setConvStrategy,
  tuneConv,
} from "../../../model/backend/blas.ts";
import { MULTITHREAD_MIN_FLOPS, ThreadGovernor } from "../../../model/backend/blas/threads.ts";

const library = loadOpenBlas();
const ignore = typeof library === "string";
if (ignore) console.log(`ignore: OpenBLAS kernels not tested: ${library}`);

let setup: Promise<void> | undefined;
function ready(): Promise<void> {
  setup ??= (async () => {
    await initBackend("wasm", { quiet: true });
    ensureConv2DGradient();
    const status = registerBlasKernels();
    assert.equal(status.enabled, true, JSON.stringify(status));
  })();
  return setup;
}

// ---------------------------------------------------------------------------------------------------
// Helpers

/**
 * tfjs-core's node bundle registers no gradients (the union package does); until the project registers
 * them, give Conv2D tfjs' own gradient so that tf.grads reaches the two backprop kernels.
 */
function ensureConv2DGradient(): void {
  if (tf.getGradient("Conv2D")) return;
  tf.registerGradient({
    kernelName: "Conv2D",
    inputsToSave: ["x", "filter"],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved;
      const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as tf.Conv2DAttrs;
      const common = { strides, pad, dataFormat, dimRoundingMode } as unknown as NamedAttrMap;
      return {
        x: () =>
          tf.engine().runKernel("Conv2DBackpropInput", { dy: dy as tf.Tensor, filter }, {
            ...common,
            inputShape: x.shape,
          }) as tf.Tensor,
        filter: () =>
          tf.engine().runKernel("Conv2DBackpropFilter", { x, dy: dy as tf.Tensor }, {
            ...common,
            filterShape: filter.shape,
          }) as tf.Tensor,
      };
    },
  });
}

/** Deterministic uniform(-1, 1) values (mulberry32). */
function randomArray(size: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  tolerance = 1e-4,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1e-6;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= worst)) {
      worst = diff;
      at = i;
    }
  }
  assert.ok(
    worst / scale <= tolerance,
    `${what}: relative error ${worst / scale} at ${at} (got ${actual[at]}, want ${expected[at]})`,
  );
}

/** Run a kernel config directly on the wasm backend and read its result. */
function runOriginal(
  name: BlasKernelName,
  inputs: Record<string, tf.Tensor>,
  attrs: NamedAttrMap,
): Float32Array {
  const config = originalKernel(name);
  assert.ok(config, `no original wasm kernel ${name}`);
  const info = config.kernelFunc({ inputs, attrs, backend: tf.backend() }) as TensorInfo;
  const result = tf.engine().makeTensorFromTensorInfo(info);
  const values = result.dataSync() as Float32Array;
  result.dispose();
  return values;
}

/** Run the cpu backend's kernel on plain arrays, without switching the active backend. */
function runCpu(
  name: string,
  inputs: Record<string, { values: Float32Array; shape: number[] }>,
  attrs: NamedAttrMap,
): Float32Array {
  const cpu = tf.engine().findBackend("cpu") as KernelBackend;
  const config = tf.getKernel(name, "cpu") as KernelConfig;
  const infos: Record<string, TensorInfo> = {};
  for (const [key, { values, shape }] of Object.entries(inputs)) {
    infos[key] = { dataId: cpu.write(values, shape, "float32"), shape, dtype: "float32" };
  }
  const out = config.kernelFunc({ inputs: infos, attrs, backend: cpu }) as TensorInfo;
  const values = cpu.readSync(out.dataId) as Float32Array;
  for (const info of [...Object.values(infos), out]) cpu.disposeData(info.dataId);
  return values;
}

function runBlas(name: BlasKernelName, inputs: Record<string, tf.Tensor>, attrs: NamedAttrMap): Float32Array {
  const result = tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;
  const values = result.dataSync() as Float32Array;
  result.dispose();
  return values;
}

/**
 * Run `body` once per convolution formulation: the automatic choice, each forced one, and im2col with
 * the smallest chunks (256 output pixels) so that chunks end inside images and rows.
 */
function forEachStrategy(body: (strategy: string) => void): void {
  const defaults = tuneConv();
  try {
    for (const strategy of ["auto", "shifted", "im2col", "im2col-chunked"]) {
      setConvStrategy(strategy === "im2col-chunked" ? "im2col" : strategy as "auto");
      tuneConv({ columnChunkFloats: strategy === "im2col-chunked" ? 1 : defaults.columnChunkFloats });
      body(strategy);
    }
  } finally {
    setConvStrategy("auto");
    tuneConv(defaults);
  }
}

function blasCount(name: BlasKernelName): { blas: number; delegated: number } {
  const info = blasInfo();
  assert.ok(info.enabled);
  return info.counts[name] ?? { blas: 0, delegated: 0 };
}

// ---------------------------------------------------------------------------------------------------
// Convolution grid

type Pad = "same" | "valid" | tf.backend_util.ExplicitPadding;
interface ConvCase {
  batch: number;
  size: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  pad: Pad;
}

const PADS: Array<[string, Pad]> = [
  ["same", "same"],
  ["valid", "valid"],
  ["explicit", [[0, 0], [1, 2], [2, 0], [0, 0]]],
];
const CHANNELS: Array<[number, number, number]> = [[1, 3, 16], [3, 16, 65], [1, 65, 3], [3, 16, 16]];

function convCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  let variant = 0;
  for (const kernel of [1, 3, 4]) {
    for (const stride of [1, 2]) {
      for (const [, pad] of PADS) {
        for (const size of [4, 7, 16]) {
          const [batch, inChannels, outChannels] = CHANNELS[variant++ % CHANNELS.length];
          if (pad === "valid" && kernel > size) continue;
          cases.push({ batch, size, inChannels, outChannels, kernel, stride, pad });
        }
      }
    }
  }
  return cases;
}

function describe(c: ConvCase): string {
  const pad = typeof c.pad === "string" ? c.pad : "explicit";
  return `b${c.batch} ${c.size}px ${c.inChannels}→${c.outChannels} k${c.kernel} s${c.stride} ${pad}`;
}

function outSize(c: ConvCase): [number, number] {
  const info = tf.backend_util.computeConv2DInfo(
    [c.batch, c.size, c.size, c.inChannels],
    [c.kernel, c.kernel, c.inChannels, c.outChannels],
    c.stride,
    1,
    c.pad,
  );
  return [info.outHeight, info.outWidth];
}

Deno.test({
  name: "blas: Conv2D and FusedConv2D (bias + leakyrelu) match the original wasm kernels",
  ignore,
  async fn() {
    await ready();
    const before = { conv: blasCount("Conv2D").blas, fused: blasCount("FusedConv2D").blas };
    let seed = 1;
    const cases = convCases();
    for (const c of cases) {
      tf.tidy(() => {
        const x = tf.tensor4d(randomArray(c.batch * c.size * c.size * c.inChannels, seed++), [
          c.batch,
          c.size,
          c.size,
          c.inChannels,
        ]);
        const filter = tf.tensor4d(randomArray(c.kernel * c.kernel * c.inChannels * c.outChannels, seed++), [
          c.kernel,
          c.kernel,
          c.inChannels,
          c.outChannels,
        ]);
        const bias = tf.tensor1d(randomArray(c.outChannels, seed++));
        const attrs = {
          strides: c.stride,
          pad: c.pad,
          dataFormat: "NHWC",
          dilations: 1,
        } as unknown as NamedAttrMap;
        const fusedAttrs = { ...attrs, activation: "leakyrelu", leakyreluAlpha: 0.2 } as NamedAttrMap;
        const plain = runOriginal("Conv2D", { x, filter }, attrs);
        const fused = runOriginal("FusedConv2D", { x, filter, bias }, fusedAttrs);
        forEachStrategy((strategy) => {
          assertClose(runBlas("Conv2D", { x, filter }, attrs), plain, `Conv2D ${describe(c)} ${strategy}`);
          assertClose(
            runBlas("FusedConv2D", { x, filter, bias }, fusedAttrs),
            fused,
            `FusedConv2D ${describe(c)} ${strategy}`,
          );
        });
      });
    }
    assert.equal(blasCount("Conv2D").blas - before.conv, 4 * cases.length, "every Conv2D case ran on BLAS");
    assert.equal(
      blasCount("FusedConv2D").blas - before.fused,
      4 * cases.length,
      "every FusedConv2D case ran on BLAS",
    );
  },
});

Deno.test({
  name: "blas: FusedConv2D relu, linear without bias, and tf.fused.conv2d",
  ignore,
  async fn() {
    await ready();
    tf.tidy(() => {
      const x = tf.tensor4d(randomArray(2 * 8 * 8 * 16, 7), [2, 8, 8, 16]);
      const filter = tf.tensor4d(randomArray(3 * 3 * 16 * 8, 8), [3, 3, 16, 8]);
      const bias = tf.tensor1d(randomArray(8, 9));
      const base = { strides: 1, pad: "same", dataFormat: "NHWC", dilations: 1 };
      for (const activation of ["relu", "linear", "relu6", "sigmoid", "elu"]) {
        const attrs = { ...base, activation } as unknown as NamedAttrMap;
        assertClose(
          runBlas("FusedConv2D", { x, filter, bias }, attrs),
          runOriginal("FusedConv2D", { x, filter, bias }, attrs),
          `FusedConv2D ${activation}`,
        );
      }
      const attrs = { ...base, activation: "linear" } as unknown as NamedAttrMap;
      assertClose(
        runBlas("FusedConv2D", { x, filter }, attrs),
        runOriginal("FusedConv2D", { x, filter }, attrs),
        "FusedConv2D without bias",
      );
      const viaOp = tf.fused.conv2d({
        x,
        filter,
        strides: 1,
        pad: "same",
        bias,
        activation: "leakyrelu",
        leakyreluAlpha: 0.2,
      });
      const reference = tf.leakyRelu(tf.add(tf.conv2d(x, filter, 1, "same"), bias), 0.2);
      assertClose(viaOp.dataSync(), reference.dataSync(), "tf.fused.conv2d");
    });
  },
});

Deno.test({
  name: "blas: Conv2DBackpropInput and Conv2DBackpropFilter match the cpu backend",
  ignore,
  async fn() {
    await ready();
    let seed = 1000;
    const cases = convCases();
    const before = {
      input: blasCount("Conv2DBackpropInput").blas,
      filter: blasCount("Conv2DBackpropFilter").blas,
    };
    for (const c of cases) {
      const [oh, ow] = outSize(c);
      const inputShape = [c.batch, c.size, c.size, c.inChannels];
      const filterShape = [c.kernel, c.kernel, c.inChannels, c.outChannels];
      const dyShape = [c.batch, oh, ow, c.outChannels];
      const xValues = randomArray(inputShape.reduce((p, v) => p * v), seed++);
      const filterValues = randomArray(filterShape.reduce((p, v) => p * v), seed++);
      const dyValues = randomArray(dyShape.reduce((p, v) => p * v), seed++);
      const common = { strides: c.stride, pad: c.pad, dataFormat: "NHWC" };
      const inputAttrs = { ...common, inputShape } as unknown as NamedAttrMap;
      const filterAttrs = { ...common, filterShape } as unknown as NamedAttrMap;
      const dxExpected = runCpu("Conv2DBackpropInput", {
        dy: { values: dyValues, shape: dyShape },
        filter: { values: filterValues, shape: filterShape },
      }, inputAttrs);
      const dwExpected = runCpu("Conv2DBackpropFilter", {
        x: { values: xValues, shape: inputShape },
        dy: { values: dyValues, shape: dyShape },
      }, filterAttrs);
      tf.tidy(() => {
        const x = tf.tensor(xValues, inputShape);
        const filter = tf.tensor(filterValues, filterShape);
        const dy = tf.tensor(dyValues, dyShape);
        forEachStrategy((strategy) => {
          assertClose(
            runBlas("Conv2DBackpropInput", { dy, filter }, inputAttrs),
            dxExpected,
            `Conv2DBackpropInput ${describe(c)} ${strategy}`,
          );
          assertClose(
            runBlas("Conv2DBackpropFilter", { x, dy }, filterAttrs),
            dwExpected,
            `Conv2DBackpropFilter ${describe(c)} ${strategy}`,
          );
        });
      });
    }
    assert.equal(blasCount("Conv2DBackpropInput").blas - before.input, 4 * cases.length);
    assert.equal(blasCount("Conv2DBackpropFilter").blas - before.filter, 4 * cases.length);
  },
});

Deno.test({
  name: "blas: tf.grad of conv2d matches the cpu backend",
  ignore,
  async fn() {
    await ready();
    const cases: ConvCase[] = [
      { batch: 2, size: 8, inChannels: 16, outChannels: 8, kernel: 3, stride: 1, pad: "same" },
      { batch: 3, size: 7, inChannels: 5, outChannels: 6, kernel: 4, stride: 2, pad: "same" },
      { batch: 1, size: 16, inChannels: 3, outChannels: 16, kernel: 1, stride: 1, pad: "valid" },
      {
        batch: 2,
        size: 9,
        inChannels: 4,
        outChannels: 7,
        kernel: 3,
        stride: 2,
        pad: [[0, 0], [1, 1], [0, 2], [0, 0]],
      },
    ];
    let seed = 5000;
    for (const c of cases) {
      const xShape = [c.batch, c.size, c.size, c.inChannels] as [number, number, number, number];
      const wShape = [c.kernel, c.kernel, c.inChannels, c.outChannels] as [number, number, number, number];
      const xValues = randomArray(xShape.reduce((p, v) => p * v), seed++);
      const wValues = randomArray(wShape.reduce((p, v) => p * v), seed++);
      const [oh, ow] = outSize(c);
      const dyValues = randomArray(c.batch * oh * ow * c.outChannels, seed++);
      const gradients = () =>
        tf.tidy(() => {
          const x = tf.tensor4d(xValues, xShape);
          const w = tf.tensor4d(wValues, wShape);
          const dy = tf.tensor4d(dyValues, [c.batch, oh, ow, c.outChannels]);
          const conv = (xs: tf.Tensor, ws: tf.Tensor) =>
            tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, c.stride, c.pad as "same");
          const [dx, dw] = tf.grads(conv)([x, w], dy);
          return [dx.dataSync().slice(), dw.dataSync().slice()];
        });
      const input = blasCount("Conv2DBackpropInput").blas;
      const [dxBlas, dwBlas] = gradients();
      assert.ok(blasCount("Conv2DBackpropInput").blas > input, "tf.grad used the BLAS input gradient");
      await tf.setBackend("cpu");
      const [dxCpu, dwCpu] = gradients();
      await tf.setBackend("wasm");
      assertClose(dxBlas, dxCpu, `dx ${describe(c)}`);
      assertClose(dwBlas, dwCpu, `dw ${describe(c)}`);
    }
    // Switching back re-ran the kernels' setupFunc: the originals must still work as fallbacks.
    tf.tidy(() => {
      const x = tf.ones([1, 5, 5, 2]) as tf.Tensor4D;
      const w = tf.ones([3, 3, 2, 1]) as tf.Tensor4D;
      const dilated = tf.conv2d(x, w, 1, "same", "NHWC", 2);
      assert.equal(dilated.dataSync()[12], 18);
    });
  },
});

// ---------------------------------------------------------------------------------------------------
// Matrix products

Deno.test({
  name: "blas: BatchMatMul matches the original wasm kernel, _FusedMatMul the cpu one",
  ignore,
  async fn() {
    await ready();
    const shapes: Array<{ a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }> = [
      { a: [8, 512], b: [512, 512], transposeA: false, transposeB: false },
      { a: [7, 65], b: [65, 3], transposeA: false, transposeB: false },
      { a: [65, 7], b: [65, 16], transposeA: true, transposeB: false },
      { a: [7, 65], b: [16, 65], transposeA: false, transposeB: true },
      { a: [65, 7], b: [16, 65], transposeA: true, transposeB: true },
      { a: [3, 7, 16], b: [3, 16, 5], transposeA: false, transposeB: false },
      { a: [3, 16, 7], b: [3, 5, 16], transposeA: true, transposeB: true },
      { a: [2, 3, 7, 16], b: [16, 5], transposeA: false, transposeB: false },
      { a: [3, 16, 7], b: [16, 5], transposeA: true, transposeB: false },
      { a: [7, 16], b: [3, 16, 5], transposeA: false, transposeB: false },
      { a: [1, 4], b: [4, 1], transposeA: false, transposeB: false },
    ];
    let seed = 9000;
    const before = { plain: blasCount("BatchMatMul").blas, fused: blasCount("_FusedMatMul").blas };
    for (const s of shapes) {
      tf.tidy(() => {
        const a = tf.tensor(randomArray(s.a.reduce((p, v) => p * v), seed++), s.a);
        const b = tf.tensor(randomArray(s.b.reduce((p, v) => p * v), seed++), s.b);
        const n = s.transposeB ? s.b[s.b.length - 2] : s.b[s.b.length - 1];
        const bias = tf.tensor1d(randomArray(n, seed++));
        const what = `[${s.a}]${s.transposeA ? "ᵀ" : ""}·[${s.b}]${s.transposeB ? "ᵀ" : ""}`;
        const attrs = { transposeA: s.transposeA, transposeB: s.transposeB };
        assertClose(
          runBlas("BatchMatMul", { a, b }, attrs),
          runOriginal("BatchMatMul", { a, b }, attrs),
          what,
        );
        if (s.a.length === s.b.length && s.a.length <= 3) {
          // tf.fused.matMul hands the kernel rank-3 tensors. The reference is the cpu kernel: the wasm
          // one is wrong with transposeA (tfjs-backend-wasm 4.22) and reads past rank-2 shapes.
          const a3 = s.a.length === 2 ? tf.expandDims(a, 0) : a;
          const b3 = s.b.length === 2 ? tf.expandDims(b, 0) : b;
          for (const activation of ["leakyrelu", "relu", "linear"]) {
            const fusedAttrs = { ...attrs, activation, leakyreluAlpha: 0.2 } as NamedAttrMap;
            const expected = runCpu("_FusedMatMul", {
              a: { values: a.dataSync() as Float32Array, shape: a3.shape },
              b: { values: b.dataSync() as Float32Array, shape: b3.shape },
              bias: { values: bias.dataSync() as Float32Array, shape: bias.shape },
            }, fusedAttrs);
            assertClose(
              runBlas("_FusedMatMul", { a: a3, b: b3, bias }, fusedAttrs),
              expected,
              `fused ${activation} ${what}`,
            );
            assertClose(
              runBlas("_FusedMatMul", { a, b, bias }, fusedAttrs),
              expected,
              `fused rank-2 ${activation} ${what}`,
            );
          }
        }
      });
    }
    assert.equal(blasCount("BatchMatMul").blas - before.plain, shapes.length);
    assert.ok(blasCount("_FusedMatMul").blas > before.fused);
    // Through the public ops.
    tf.tidy(() => {
      const a = tf.tensor2d(randomArray(6 * 4, 1), [6, 4]);
      const b = tf.tensor2d(randomArray(4 * 5, 2), [4, 5]);
      const plain = tf.matMul(a, b).dataSync();
      const expected = new Float32Array(30);
      const av = a.dataSync();
      const bv = b.dataSync();
      for (let i = 0; i < 6; i++) {
        for (let j = 0; j < 5; j++) {
          for (let k = 0; k < 4; k++) expected[i * 5 + j] += av[i * 4 + k] * bv[k * 5 + j];
        }
      }
      assertClose(plain, expected, "tf.matMul");
      const dense = tf.fused.matMul({ a, b, bias: tf.ones([5]), activation: "relu" });
      assertClose(dense.dataSync(), expected.map((v) => Math.max(0, v + 1)), "tf.fused.matMul");
    });
  },
});

// ---------------------------------------------------------------------------------------------------
// Robustness

Deno.test({
  name: "blas: unsupported cases fall back to the original kernels",
  ignore,
  async fn() {
    await ready();
    tf.tidy(() => {
      const x = tf.tensor4d(randomArray(2 * 9 * 9 * 4, 31), [2, 9, 9, 4]);
      const filter = tf.tensor4d(randomArray(3 * 3 * 4 * 5, 32), [3, 3, 4, 5]);
      const attrs = { strides: 1, pad: "same", dataFormat: "NHWC", dilations: 2 } as unknown as NamedAttrMap;
      const delegated = blasCount("Conv2D").delegated;
      assertClose(
        runBlas("Conv2D", { x, filter }, attrs),
        runOriginal("Conv2D", { x, filter }, attrs),
        "dilated",
      );
      assert.equal(blasCount("Conv2D").delegated, delegated + 1, "dilation 2 was delegated");
      const prelu = tf.fill([5], 0.3);
      const fusedAttrs = { ...attrs, dilations: 1, activation: "prelu" } as unknown as NamedAttrMap;
      const fusedDelegated = blasCount("FusedConv2D").delegated;
      assertClose(
        runBlas("FusedConv2D", { x, filter, preluActivationWeights: prelu }, fusedAttrs),
        runOriginal("FusedConv2D", { x, filter, preluActivationWeights: prelu }, fusedAttrs),
        "prelu",
      );
      assert.equal(blasCount("FusedConv2D").delegated, fusedDelegated + 1, "prelu was delegated");
    });
  },
});

Deno.test({
  name: "blas: no tensors leak over repeated forward and backward passes",
  ignore,
  async fn() {
    await ready();
    const x = tf.tensor4d(randomArray(2 * 8 * 8 * 8, 41), [2, 8, 8, 8]);
    const w = tf.tensor4d(randomArray(3 * 3 * 8 * 8, 42), [3, 3, 8, 8]);
    const up = tf.tensor4d(randomArray(4 * 4 * 8 * 8, 43), [4, 4, 8, 8]);
    const dy = tf.tensor4d(randomArray(2 * 8 * 8 * 8, 44), [2, 8, 8, 8]);
    const step = () =>
      tf.tidy(() => {
        const conv = (xs: tf.Tensor, ws: tf.Tensor) =>
          tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, 1, "same");
        const [dx, dw] = tf.grads(conv)([x, w], dy);
        const upscaled = tf.conv2dTranspose(dx as tf.Tensor4D, up, [2, 16, 16, 8], 2, "same");
        const dense = tf.matMul(tf.reshape(upscaled, [2 * 16 * 16, 8]), tf.reshape(dw, [72, 8]), false, true);
        return tf.add(tf.sum(dense), tf.sum(upscaled)).dataSync()[0];
      });
    const first = step();
    const tensors = tf.memory().numTensors;
    const dataIds = tf.backend().numDataIds();
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(step() - first) <= 1e-4 * Math.abs(first) + 1e-6);
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.backend().numDataIds(), dataIds);
    tf.dispose([x, w, up, dy]);
  },
});

Deno.test({
  name: "blas: wasm heap growth between and inside calls does not corrupt results",
  ignore,
  async fn() {
    await ready();
    // deno-lint-ignore no-explicit-any
    const heap = () => (tf.backend() as any).wasm.HEAPU8.buffer as ArrayBuffer;
    const x = tf.tensor4d(randomArray(2 * 16 * 16 * 32, 51), [2, 16, 16, 32]);
    const w = tf.tensor4d(randomArray(3 * 3 * 32 * 32, 52), [3, 3, 32, 32]);
    const conv = () => tf.tidy(() => tf.conv2d(x, w, 1, "same").dataSync().slice());
    const first = conv();

    // Growth between two calls: a tensor larger than the whole current heap.
    const sizeBefore = heap().byteLength;
    const ballast = tf.zeros([Math.ceil(sizeBefore / 4) + 1024 * 1024]);
    assert.ok(heap().byteLength > sizeBefore, "the heap grew");
    assertClose(conv(), first, "after growth");
    ballast.dispose();

    // Growth inside the kernel: an output larger than the heap, allocated after the inputs are known.
    const grownBefore = heap().byteLength;
    const channels = Math.ceil(grownBefore / 4 / (2 * 16 * 16)) + 64;
    const wide = tf.tensor4d(randomArray(32 * channels, 53), [1, 1, 32, channels]);
    const big = tf.conv2d(x, wide, 1, "valid");
    assert.ok(heap().byteLength > grownBefore, "the kernel's output grew the heap");
    const got = big.dataSync();
    const xv = x.dataSync();
    const wv = wide.dataSync();
    for (const [pixel, channel] of [[0, 0], [511, channels - 1], [300, 1234 % channels]]) {
      let sum = 0;
      for (let c = 0; c < 32; c++) sum += xv[pixel * 32 + c] * wv[c * channels + channel];
      assert.ok(Math.abs(got[pixel * channels + channel] - sum) <= 1e-4, `pixel ${pixel} channel ${channel}`);
    }
    tf.dispose([x, w, wide, big]);
  },
});

Deno.test({
  name: "blas: registering twice is a no-op and keeps the first originals",
  ignore,
  async fn() {
    await ready();
    const first = BLAS_KERNEL_NAMES.map((name) => originalKernel(name));
    const status = registerBlasKernels();
    assert.equal(status.enabled, true);
    assert.deepEqual(BLAS_KERNEL_NAMES.map((name) => originalKernel(name)), first);
    for (const name of BLAS_KERNEL_NAMES) {
      assert.notEqual(tf.getKernel(name, "wasm"), originalKernel(name), `${name} is ours`);
    }
  },
});

Deno.test("blas: the thread governor backs off to one thread on a contended core, and comes back", () => {
  let clock = 0;
  const governor = new ThreadGovernor(100e6, () => clock); // 100 GFLOP/s on one thread
  const work = 1e9;
  assert.equal(governor.choose(MULTITHREAD_MIN_FLOPS / 2, 2), 1, "small products run on one thread");
  assert.equal(governor.choose(work, 2), 2);
  assert.ok(governor.wantsTiming(work, 2));
  governor.record(work, 5); // 200 GFLOP/s: two threads help
  assert.equal(governor.choose(work, 2), 2);
  governor.record(work, 100); // 10 GFLOP/s: a core is taken
  assert.equal(governor.backoffs, 1);
  assert.equal(governor.choose(work, 2), 1);
  clock += 501;
  assert.equal(governor.choose(work, 2), 2, "probes again after the back-off");
  governor.record(work, 100); // still contended: a longer back-off
  clock += 600;
  assert.equal(governor.choose(work, 2), 1);
  clock += 500;
  assert.equal(governor.choose(work, 2), 2);
  governor.record(work, 6); // free again
  assert.equal(governor.backingOff, false);
  assert.equal(governor.choose(work, 2), 2);
  assert.equal(new ThreadGovernor(0).wantsTiming(work, 2), false, "no yardstick, no timing");
});

Deno.test("blas: a missing library is a reason, not an exception", () => {
  const result = loadOpenBlas("/nonexistent/libopenblas.so.0");
  assert.equal(typeof result, "string");
  assert.match(result as string, /not found/);
});

Deno.test("blas: without --allow-ffi loading reports a reason and does not throw", async () => {
  const module = new URL("../../../model/backend/blas.ts", import.meta.url).href;
  const script = `import { loadOpenBlas } from "${module}"; console.log(JSON.stringify(loadOpenBlas()));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-read",
      "--allow-env",
      "--config",
      new URL("../../../deno.json", import.meta.url).pathname,
      "-",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const reason = JSON.parse(new TextDecoder().decode(stdout));
  assert.equal(typeof reason, "string");
  if (!ignore) assert.match(reason, /FFI permission|--allow-ffi/);
});
