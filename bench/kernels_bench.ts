/**
 * GFLOP/s of the weight gradient (Conv2DBackpropFilter) on the wasm backend, where tfjs has none and
 * model/backend/kernels.ts registers one (a forward conv2d of the transposed input with the transposed
 * output gradient as filter), against the cpu backend's own kernel.
 *
 *   deno run -A bench/kernels_bench.ts      prints a table
 *   deno bench -A bench/kernels_bench.ts    the same cases as Deno.bench (time per call)
 *
 * Each number is the median of repeated calls after a warm-up, inputs resident, result read back.
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { conv2dBackpropFilterViaConv } from "../model/backend/kernels.ts";

interface Case {
  name: string;
  backend: "wasm" | "cpu";
  batch: number;
  size: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  /** Which implementation: the registered kernel through the engine, or a forward conv2d for scale. */
  what: "Conv2DBackpropFilter" | "conv2d forward";
}

const CASES: Case[] = [
  // The StyleGAN-like case quoted in docs/performance.md: batch 8, 32×32, 64→64, 3×3.
  {
    name: "dW 3×3 b8 32px 64→64",
    backend: "wasm",
    batch: 8,
    size: 32,
    cin: 64,
    cout: 64,
    k: 3,
    stride: 1,
    what: "Conv2DBackpropFilter",
  },
  {
    name: "dW 3×3 s2 b8 32px 64→64",
    backend: "wasm",
    batch: 8,
    size: 32,
    cin: 64,
    cout: 64,
    k: 3,
    stride: 2,
    what: "Conv2DBackpropFilter",
  },
  {
    name: "dW 3×3 b8 8px 256→256",
    backend: "wasm",
    batch: 8,
    size: 8,
    cin: 256,
    cout: 256,
    k: 3,
    stride: 1,
    what: "Conv2DBackpropFilter",
  },
  {
    name: "dW 1×1 b8 32px 64→3 (toRGB)",
    backend: "wasm",
    batch: 8,
    size: 32,
    cin: 64,
    cout: 3,
    k: 1,
    stride: 1,
    what: "Conv2DBackpropFilter",
  },
  {
    name: "forward conv2d 3×3 b8 32px 64→64",
    backend: "wasm",
    batch: 8,
    size: 32,
    cin: 64,
    cout: 64,
    k: 3,
    stride: 1,
    what: "conv2d forward",
  },
  // The cpu kernel is ~500× slower: a smaller batch keeps the run short (GFLOP/s barely depends on it).
  {
    name: "dW 3×3 b1 16px 64→64 (cpu's own)",
    backend: "cpu",
    batch: 1,
    size: 16,
    cin: 64,
    cout: 64,
    k: 3,
    stride: 1,
    what: "Conv2DBackpropFilter",
  },
];

function flops(c: Case): number {
  const out = Math.ceil(c.size / c.stride);
  return 2 * c.batch * out * out * c.cin * c.cout * c.k * c.k;
}

interface Prepared {
  run: () => Promise<void>;
  dispose: () => void;
}

async function prepare(c: Case): Promise<Prepared> {
  await initBackend(processRuntime({ backend: c.backend }), { quiet: true });
  const out = Math.ceil(c.size / c.stride);
  const x = tf.randomNormal([c.batch, c.size, c.size, c.cin], 0, 1, "float32", 1) as tf.Tensor4D;
  const dy = tf.randomNormal([c.batch, out, out, c.cout], 0, 1, "float32", 2) as tf.Tensor4D;
  const w = tf.randomNormal([c.k, c.k, c.cin, c.cout], 0, 1, "float32", 3) as tf.Tensor4D;
  const call = () =>
    c.what === "conv2d forward"
      ? tf.conv2d(x, w, c.stride, "same")
      : tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
        strides: c.stride,
        pad: "same",
        dataFormat: "NHWC",
        filterShape: [c.k, c.k, c.cin, c.cout],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
  return {
    run: async () => {
      if (tf.getBackend() !== c.backend) await tf.setBackend(c.backend);
      const r = call();
      await r.data();
      r.dispose();
    },
    dispose: () => tf.dispose([x, dy, w]),
  };
}

async function medianMs(p: Prepared, budgetMs: number): Promise<number> {
  await p.run(); // warm-up (XNNPACK operator creation, shader compilation)
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start < budgetMs && times.length < 50)) {
    const t0 = performance.now();
    await p.run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function main(): Promise<void> {
  // The conv formulation, checked once against the registered kernel so the table measures the real thing.
  await initBackend(processRuntime({ backend: "wasm" }), { quiet: true });
  const probe = tf.tidy(() => {
    const x = tf.randomNormal([2, 6, 6, 3]) as tf.Tensor4D, dy = tf.randomNormal([2, 6, 6, 4]) as tf.Tensor4D;
    const a = conv2dBackpropFilterViaConv(x, dy, [3, 3, 3, 4], 1, "same");
    const b = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
      strides: 1,
      pad: "same",
      dataFormat: "NHWC",
      filterShape: [3, 3, 3, 4],
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return tf.max(tf.abs(tf.sub(a, b)));
  });
  if ((await probe.data())[0] > 1e-4) {
    throw new Error("the registered wasm kernel is not the conv formulation");
  }
  probe.dispose();

  console.log(
    `Conv2DBackpropFilter, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPU threads`,
  );
  console.log("backend | case                                  |   ms/call | GFLOP/s");
  for (const c of CASES) {
    const p = await prepare(c);
    const ms = await medianMs(p, c.backend === "cpu" ? 4000 : 1500);
    p.dispose();
    console.log(
      `${c.backend.padEnd(7)} | ${c.name.padEnd(37)} | ${ms.toFixed(1).padStart(9)} | ${
        (flops(c) / ms / 1e6).toPrecision(3).padStart(7)
      }`,
    );
  }
}

if (import.meta.main) {
  await main();
} else {
  for (const c of CASES) {
    const p = await prepare(c);
    Deno.bench({
      name: `${c.backend} ${c.name} (${(flops(c) / 1e6).toFixed(0)} MFLOP)`,
      n: c.backend === "cpu" ? 2 : undefined,
      warmup: c.backend === "cpu" ? 1 : undefined,
      fn: p.run,
    });
  }
}
