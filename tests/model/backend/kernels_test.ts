/**
 * The composite training kernels (model/backend/kernels.ts) against direct float64 convolutions in plain JS
 * and against the cpu backend's own kernels, on every backend.
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import {
  conv2dBackpropFilterViaConv,
  conv2dBackpropInputViaConv,
  type ConvPad,
  depthwiseConv2dBackpropFilterViaOps,
  depthwiseConv2dBackpropInputViaOps,
  registeredTrainingKernels,
  registerTrainingKernels,
  unsortedSegmentSumViaMatMul,
} from "../../../model/backend/kernels.ts";
import { assertClose, BACKENDS, toTensor, useBackend } from "./harness.ts";
import * as ref from "./reference.ts";

interface ConvCase {
  x: number[];
  filter: number[];
  strides: number | [number, number];
  pad: ConvPad;
  dataFormat?: "NHWC" | "NCHW";
  rounding?: "floor" | "round" | "ceil";
  dilations?: number | [number, number];
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: 1, pad: "same" },
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: 2, pad: "same" },
  { x: [2, 7, 6, 2], filter: [3, 3, 2, 3], strides: 2, pad: "same" },
  { x: [1, 8, 8, 2], filter: [3, 3, 2, 2], strides: 2, pad: "valid" }, // drops the last row: x is cropped
  { x: [2, 6, 5, 2], filter: [3, 2, 2, 3], strides: 1, pad: "valid" },
  { x: [1, 7, 7, 2], filter: [3, 3, 2, 2], strides: 2, pad: 1 },
  { x: [1, 6, 6, 2], filter: [3, 3, 2, 2], strides: 2, pad: 1, rounding: "ceil" },
  { x: [2, 5, 6, 2], filter: [3, 3, 2, 3], strides: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [2, 4, 4, 3], filter: [1, 1, 3, 5], strides: 1, pad: "valid" }, // 1×1: the matMul path
  { x: [2, 5, 5, 3], filter: [1, 1, 3, 2], strides: 2, pad: "same" },
  { x: [1, 8, 8, 2], filter: [4, 4, 2, 2], strides: 2, pad: "same" }, // even kernel, asymmetric padding
  { x: [2, 6, 7, 2], filter: [3, 1, 2, 2], strides: [2, 1], pad: "same" },
  { x: [1, 9, 9, 2], filter: [3, 3, 2, 2], strides: 3, pad: "valid" },
  { x: [2, 3, 6, 5], filter: [3, 3, 3, 2], strides: 2, pad: "same", dataFormat: "NCHW" },
];

/** NHWC views of an NCHW case, for the reference. */
function toNhwc(a: ref.Nd): ref.Nd {
  const [n, c, h, w] = a.shape;
  return ref.fromIndex([n, h, w, c], ([b, y, x, ch]) => ref.at(a, [b, ch, y, x]) as number);
}

function convSpec(c: ConvCase): ref.ConvSpec {
  return { strides: c.strides, pad: c.pad as ref.Pad, rounding: c.rounding, dilations: c.dilations };
}

/** The case's x and dy, with dy shaped like the forward output. */
function convInputs(c: ConvCase, seed: number): { x: ref.Nd; dy: ref.Nd; xNhwc: ref.Nd; dyNhwc: ref.Nd } {
  const x = ref.randn(c.x, seed);
  const xNhwc = c.dataFormat === "NCHW" ? toNhwc(x) : x;
  const out = ref.conv2d(xNhwc, ref.nd(c.filter), convSpec(c));
  const dyNhwc = ref.randn(out.shape, seed + 1);
  if (c.dataFormat !== "NCHW") return { x, dy: dyNhwc, xNhwc, dyNhwc };
  const [n, h, w, ch] = dyNhwc.shape;
  const dy = ref.fromIndex([n, ch, h, w], ([b, k, y, q]) => ref.at(dyNhwc, [b, y, q, k]) as number);
  return { x, dy, xNhwc, dyNhwc };
}

function label(c: ConvCase): string {
  const pad = Array.isArray(c.pad) ? JSON.stringify(c.pad) : c.pad;
  return `x${JSON.stringify(c.x)} f${JSON.stringify(c.filter)} s${c.strides} pad ${pad}${
    c.dataFormat === "NCHW" ? " NCHW" : ""
  }${c.rounding ? ` ${c.rounding}` : ""}`;
}

async function backpropFilterOn(backend: string, c: ConvCase, x: ref.Nd, dy: ref.Nd): Promise<Float32Array> {
  const previous = tf.getBackend();
  if (previous !== backend) await tf.setBackend(backend);
  const [xt, dyt] = [toTensor(x), toTensor(dy)];
  const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: xt, dy: dyt }, {
    strides: c.strides,
    pad: c.pad,
    dataFormat: c.dataFormat ?? "NHWC",
    dimRoundingMode: c.rounding,
    filterShape: c.filter,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const data = await dw.data() as Float32Array;
  tf.dispose([xt, dyt, dw]);
  if (previous !== backend) await tf.setBackend(previous);
  return data;
}

interface DepthwiseCase {
  x: number[];
  filter: number[];
  strides: number;
  pad: ConvPad;
  dilations?: number;
}

const DEPTHWISE_CASES: DepthwiseCase[] = [
  { x: [2, 6, 6, 3], filter: [3, 3, 3, 1], strides: 1, pad: "same" },
  { x: [2, 8, 8, 2], filter: [3, 3, 2, 1], strides: 2, pad: "same" },
  { x: [1, 7, 8, 2], filter: [3, 3, 2, 1], strides: 2, pad: "valid" },
  { x: [2, 5, 5, 2], filter: [3, 3, 2, 2], strides: 1, pad: "same" }, // channel multiplier 2
  { x: [1, 7, 7, 2], filter: [2, 3, 2, 3], strides: 2, pad: "valid" },
  { x: [1, 7, 7, 2], filter: [3, 3, 2, 1], strides: 1, pad: "same", dilations: 2 },
  { x: [2, 5, 6, 2], filter: [3, 3, 2, 1], strides: 1, pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  { x: [1, 6, 6, 2], filter: [4, 4, 2, 1], strides: 2, pad: "same" },
];

for (const backend of BACKENDS) {
  Deno.test(`training kernels [${backend}]`, async (t) => {
    await useBackend(backend);

    await t.step("registered only where the backend lacks them, idempotently", () => {
      const expected = backend === "wasm"
        ? [
          tf.Conv2DBackpropInput, // replaced: wasm's own is a slow loop
          tf.Conv2DBackpropFilter,
          tf.DepthwiseConv2dNativeBackpropInput,
          tf.DepthwiseConv2dNativeBackpropFilter,
          tf.UnsortedSegmentSum,
        ]
        : [];
      assert.deepEqual(registeredTrainingKernels.get(backend), expected);
      const kernelsBefore = expected.map((name) => tf.getKernel(name, backend));
      registerTrainingKernels(backend);
      registerTrainingKernels(backend);
      assert.deepEqual(registeredTrainingKernels.get(backend), expected);
      expected.forEach((name, i) => assert.equal(tf.getKernel(name, backend), kernelsBefore[i]));
      for (
        const name of [tf.Conv2DBackpropFilter, tf.DepthwiseConv2dNativeBackpropInput, tf.UnsortedSegmentSum]
      ) {
        assert.ok(tf.getKernel(name, backend), `${name} available on ${backend}`);
      }
    });

    const convCases = CONV_CASES;
    await t.step("Conv2DBackpropFilter matches a direct float64 convolution", async () => {
      for (const [k, c] of convCases.entries()) {
        const { x, dy, xNhwc, dyNhwc } = convInputs(c, 10 + k);
        const expected = ref.conv2dBackpropFilter(xNhwc, dyNhwc, c.filter, convSpec(c));
        const viaKernel = await backpropFilterOn(backend, c, x, dy);
        assertClose(viaKernel, expected.data, `kernel ${label(c)}`);
        const [xt, dyt] = [toTensor(x), toTensor(dy)];
        const viaConv = conv2dBackpropFilterViaConv(
          xt as tf.Tensor4D,
          dyt as tf.Tensor4D,
          c.filter as [number, number, number, number],
          c.strides,
          c.pad,
          c.dataFormat,
          c.rounding,
        );
        assert.deepEqual(viaConv.shape, c.filter);
        assertClose(await viaConv.data(), expected.data, `conv formulation ${label(c)}`);
        tf.dispose([xt, dyt, viaConv]);
      }
    });

    await t.step(
      "Conv2DBackpropInput (kernel and conv formulation) matches a direct float64 convolution",
      async () => {
        for (const [k, c] of convCases.entries()) {
          const { dy, xNhwc, dyNhwc } = convInputs(c, 90 + k);
          const w = ref.randn(c.filter, 91 + k);
          const expected = ref.conv2dBackpropInput(xNhwc.shape, dyNhwc, w, convSpec(c));
          const [dyt, wt] = [toTensor(dy), toTensor(w)];
          const dx = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dyt, filter: wt }, {
            strides: c.strides,
            pad: c.pad,
            dataFormat: c.dataFormat ?? "NHWC",
            dimRoundingMode: c.rounding,
            inputShape: c.x,
          } as unknown as tf.NamedAttrMap) as tf.Tensor;
          const got = c.dataFormat === "NCHW" ? tf.transpose(dx, [0, 2, 3, 1]) : dx;
          assertClose(await got.data(), expected.data, `kernel ${label(c)}`);
          if (c.dataFormat !== "NCHW") {
            const viaConv = conv2dBackpropInputViaConv(
              c.x as [number, number, number, number],
              dyt as tf.Tensor4D,
              wt as tf.Tensor4D,
              c.strides,
              c.pad,
              c.rounding,
            );
            assertClose(await viaConv.data(), expected.data, `conv formulation ${label(c)}`);
            viaConv.dispose();
          }
          tf.dispose([dyt, wt, dx, got]);
        }
      },
    );

    if (backend !== "cpu") {
      await t.step("Conv2DBackpropFilter matches the cpu backend's own kernel", async () => {
        for (const [k, c] of convCases.entries()) {
          const { x, dy } = convInputs(c, 40 + k);
          const mine = await backpropFilterOn(backend, c, x, dy);
          const cpu = await backpropFilterOn("cpu", c, x, dy);
          assertClose(mine, cpu, `vs cpu ${label(c)}`, 1e-4);
        }
      });
    }

    await t.step("conv2d's filter gradient (tf.grad) uses the kernel and matches", async () => {
      const c = CONV_CASES[1];
      const { x, dy } = convInputs(c, 70);
      const w = ref.randn(c.filter, 71);
      const [xt, dyt, wt] = [toTensor(x), toTensor(dy), toTensor(w)];
      const g = tf.grad((f: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(xt as tf.Tensor4D, f as tf.Tensor4D, 2, "same"), dyt))
      )(wt);
      assertClose(
        await g.data(),
        ref.conv2dBackpropFilter(x, dy, c.filter, convSpec(c)).data,
        "tf.grad filter",
      );
      tf.dispose([xt, dyt, wt, g]);
    });

    const dwCases = DEPTHWISE_CASES;
    await t.step("depthwise backprop kernels match direct float64 loops", async () => {
      for (const [k, c] of dwCases.entries()) {
        const spec: ref.ConvSpec = { strides: c.strides, pad: c.pad as ref.Pad, dilations: c.dilations };
        const x = ref.randn(c.x, 100 + k), f = ref.randn(c.filter, 200 + k);
        const dy = ref.randn(ref.depthwiseConv2d(x, f, spec).shape, 300 + k);
        const wantDx = ref.depthwiseBackpropInput(c.x, dy, f, spec);
        const wantDw = ref.depthwiseBackpropFilter(x, dy, c.filter, spec);
        const [xt, ft, dyt] = [x, f, dy].map(toTensor) as tf.Tensor4D[];
        const attrs = {
          strides: c.strides,
          pad: c.pad,
          dilations: c.dilations ?? 1,
          dimRoundingMode: undefined,
        };
        const name = `x${JSON.stringify(c.x)} f${JSON.stringify(c.filter)} s${c.strides} ${
          JSON.stringify(c.pad)
        } d${c.dilations ?? 1}`;
        const dx = tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy: dyt, filter: ft }, {
          ...attrs,
          inputShape: c.x,
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        const dw = tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x: xt, dy: dyt }, {
          ...attrs,
          filterShape: c.filter,
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        // The cpu and webgpu kernels ignore dilations (tfjs never asks: depthwise gradients require 1).
        if (backend === "wasm" || (c.dilations ?? 1) === 1) {
          assertClose(await dx.data(), wantDx.data, `backprop input kernel ${name}`);
          assertClose(await dw.data(), wantDw.data, `backprop filter kernel ${name}`);
        }
        const shape4 = c.x as [number, number, number, number];
        const dx2 = depthwiseConv2dBackpropInputViaOps(shape4, dyt, ft, c.strides, c.pad, c.dilations);
        const dw2 = depthwiseConv2dBackpropFilterViaOps(
          xt,
          dyt,
          c.filter as [number, number, number, number],
          c.strides,
          c.pad,
          c.dilations,
        );
        assertClose(await dx2.data(), wantDx.data, `backprop input via ops ${name}`);
        assertClose(await dw2.data(), wantDw.data, `backprop filter via ops ${name}`);
        tf.dispose([xt, ft, dyt, dx, dw, dx2, dw2]);
      }
    });

    await t.step("UnsortedSegmentSum (gather's gradient) matches plain JS", async () => {
      const x = ref.randn([5, 3], 400);
      const ids = [2, 0, 2, -1, 3];
      const want = ref.fromIndex(
        [4, 3],
        ([s, j]) => ids.reduce((acc, id, i) => acc + (id === s ? x.data[i * 3 + j] : 0), 0),
      );
      const xt = toTensor(x), idt = tf.tensor1d(ids, "int32");
      const viaOp = tf.unsortedSegmentSum(xt, idt, 4);
      const viaMatMul = unsortedSegmentSumViaMatMul(xt, idt, 4);
      assertClose(await viaOp.data(), want.data, "unsortedSegmentSum op");
      assertClose(await viaMatMul.data(), want.data, "unsortedSegmentSum via matMul");
      tf.dispose([xt, idt, viaOp, viaMatMul]);
    });

    await t.step("kernels leave no intermediate tensors behind", async () => {
      const c = CONV_CASES[2];
      const { x, dy } = convInputs(c, 500);
      const before = tf.memory().numTensors;
      const data = await backpropFilterOn(backend, c, x, dy);
      assert.equal(tf.memory().numTensors, before);
      assert.equal(data.length, ref.size(c.filter));
    });
  });
}
