/**
 * GFLOP/s of the wasm backend's own kernels against the OpenBLAS kernels (1 and 2 threads), in one run.
 *
 *   deno run -A bench/blas_bench.ts [--quick] [--strategies] [--json=PATH]
 *
 * --quick       fewer and smaller cases (a smoke run)
 * --strategies  also time each convolution formulation (shifted views, im2col) forced, per thread count
 * --only=TEXT   only the cases whose name contains TEXT
 * --repeat=N     time every mode N times (interleaved) and keep the best median: on a shared machine
 *                other processes only ever slow a run down, so the best median is the least disturbed
 * --json=PATH   write the rows as JSON as well
 *
 * Each number is the median over repeated calls (at least 3, more while a case takes under ~1.5 s),
 * after one warm-up call, with the inputs already on the wasm heap and the output read back.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NamedAttrMap } from "@tensorflow/tfjs-core";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import {
  blasInfo,
  type BlasKernelName,
  type ConvStrategy,
  defaultBlasThreads,
  loadOpenBlas,
  registerBlasKernels,
  setBlasThreads,
  setConvStrategy,
  unregisterBlasKernels,
} from "../model/backend/blas.ts";

interface BenchCase {
  name: string;
  kernel: BlasKernelName;
  flops: number;
  /** Build the inputs (kept across modes) and return the call to time. */
  prepare(): { run: () => void; dispose: () => void };
}

function conv3x3(batch: number, size: number, channels: number): BenchCase {
  return {
    name: `conv2d 3×3 b${batch} ${size}px ${channels}→${channels}`,
    kernel: "Conv2D",
    flops: 2 * batch * size * size * channels * channels * 9,
    prepare() {
      const x = tf.randomNormal([batch, size, size, channels]) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, channels, channels]) as tf.Tensor4D;
      return {
        run: () => tf.tidy(() => void tf.conv2d(x, w, 1, "same").dataSync()),
        dispose: () => tf.dispose([x, w]),
      };
    },
  };
}

function matMul(m: number, k: number, n: number): BenchCase {
  return {
    name: `matMul [${m},${k}]·[${k},${n}]`,
    kernel: "BatchMatMul",
    flops: 2 * m * k * n,
    prepare() {
      const a = tf.randomNormal([m, k]) as tf.Tensor2D;
      const b = tf.randomNormal([k, n]) as tf.Tensor2D;
      return {
        run: () => tf.tidy(() => void tf.matMul(a, b).dataSync()),
        dispose: () => tf.dispose([a, b]),
      };
    },
  };
}

interface GradientShape {
  batch: number;
  size: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
}

function describeGradient(s: GradientShape): string {
  const out = Math.ceil(s.size / s.stride);
  return `${s.kernel}×${s.kernel}${s.stride > 1 ? ` s${s.stride}` : ""} b${s.batch} ${s.size}→${out}px ` +
    `${s.inChannels}→${s.outChannels}`;
}

function backpropFilter(s: GradientShape): BenchCase {
  const out = Math.ceil(s.size / s.stride);
  return {
    name: `Conv2DBackpropFilter ${describeGradient(s)}`,
    kernel: "Conv2DBackpropFilter",
    flops: 2 * s.batch * out * out * s.inChannels * s.outChannels * s.kernel * s.kernel,
    prepare() {
      const x = tf.randomNormal([s.batch, s.size, s.size, s.inChannels]);
      const dy = tf.randomNormal([s.batch, out, out, s.outChannels]);
      const attrs = {
        strides: s.stride,
        pad: "same",
        dataFormat: "NHWC",
        filterShape: [s.kernel, s.kernel, s.inChannels, s.outChannels],
      } as unknown as NamedAttrMap;
      return {
        run: () =>
          tf.tidy(() =>
            void (tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, attrs) as tf.Tensor).dataSync()
          ),
        dispose: () => tf.dispose([x, dy]),
      };
    },
  };
}

/** The input gradient of `s`; with stride 2 this is also the forward pass of a 2× transposed (upscaling) conv. */
function backpropInput(s: GradientShape): BenchCase {
  const out = Math.ceil(s.size / s.stride);
  return {
    name: `Conv2DBackpropInput ${describeGradient(s)}`,
    kernel: "Conv2DBackpropInput",
    flops: 2 * s.batch * out * out * s.inChannels * s.outChannels * s.kernel * s.kernel,
    prepare() {
      const dy = tf.randomNormal([s.batch, out, out, s.outChannels]);
      const filter = tf.randomNormal([s.kernel, s.kernel, s.inChannels, s.outChannels]);
      const attrs = {
        strides: s.stride,
        pad: "same",
        dataFormat: "NHWC",
        inputShape: [s.batch, s.size, s.size, s.inChannels],
      } as unknown as NamedAttrMap;
      return {
        run: () =>
          tf.tidy(() =>
            void (tf.engine().runKernel("Conv2DBackpropInput", { dy, filter }, attrs) as tf.Tensor).dataSync()
          ),
        dispose: () => tf.dispose([dy, filter]),
      };
    },
  };
}

function stridedConv(batch: number, size: number, channels: number): BenchCase {
  return {
    name: `conv2d 4×4 s2 b${batch} ${size}→${size / 2}px ${channels}→${channels}`,
    kernel: "Conv2D",
    flops: 2 * batch * (size / 2) ** 2 * channels * channels * 16,
    prepare() {
      const x = tf.randomNormal([batch, size, size, channels]) as tf.Tensor4D;
      const w = tf.randomNormal([4, 4, channels, channels]) as tf.Tensor4D;
      return {
        run: () => tf.tidy(() => void tf.conv2d(x, w, 2, "same").dataSync()),
        dispose: () => tf.dispose([x, w]),
      };
    },
  };
}

function cases(quick: boolean): BenchCase[] {
  const sizes = quick ? [8, 16] : [8, 16, 32, 64];
  const list: BenchCase[] = [];
  for (const channels of quick ? [128] : [512, 128]) {
    for (const size of sizes) list.push(conv3x3(8, size, channels));
  }
  list.push(matMul(8, 512, 512));
  const gradient = { batch: 8, size: quick ? 16 : 32, inChannels: 64, outChannels: 64, kernel: 3, stride: 1 };
  list.push(backpropFilter(gradient), backpropInput(gradient));
  if (!quick) {
    // StyleGAN's fused scaling convolutions: 4×4 stride 2, down in D, transposed (up) in G, and their filter gradient.
    const scaled = { batch: 8, size: 64, inChannels: 128, outChannels: 128, kernel: 4, stride: 2 };
    list.push(stridedConv(8, 64, 128), backpropInput(scaled), backpropFilter(scaled));
  }
  return list;
}

/** Median milliseconds of `run`, after one warm-up call. */
function medianMs(run: () => void): number {
  const first = performance.now();
  run();
  const warmup = performance.now() - first;
  const times: number[] = [];
  const budget = warmup > 3000 ? 0 : 1500;
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start < budget && times.length < 15)) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

interface Row {
  name: string;
  gflop: number;
  /** GFLOP/s per mode. */
  rates: Record<string, number>;
}

function fmt(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

async function main(): Promise<void> {
  const quick = Deno.args.includes("--quick");
  const strategies = Deno.args.includes("--strategies");
  const option = (name: string) =>
    Deno.args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const jsonPath = option("json");
  const only = option("only");
  const repeat = Math.max(1, Number(option("repeat") ?? 1));

  const runtime = processRuntime({ backend: "wasm" });
  await initBackend(runtime, { quiet: true });
  const library = loadOpenBlas(runtime.blas.library);
  if (typeof library === "string") {
    console.error(`OpenBLAS unavailable: ${library}`);
    Deno.exit(1);
  }
  const cores = runtime.blas.threads ?? defaultBlasThreads();
  const threadCounts = [...new Set([1, Math.max(2, cores)])];
  console.log(`# wasm vs wasm+OpenBLAS (${library.config}; ${navigator.hardwareConcurrency} cores)\n`);
  const load = () => Deno.loadavg().map((v) => v.toFixed(2)).join(" ");
  console.log(`load average at start: ${load()} (other processes skew the 2-thread numbers most)\n`);

  const modes = ["wasm", ...threadCounts.map((t) => `blas ${t}t`)];
  if (strategies) {
    for (const threads of threadCounts) {
      for (const strategy of ["shifted", "im2col"]) modes.push(`${strategy} ${threads}t`);
    }
  }
  const header = `| case | GFLOP | ${modes.join(" | ")} | speed-up |`;
  console.log(header);
  console.log(`|${header.split("|").slice(1, -1).map(() => "---").join("|")}|`);

  const rows: Row[] = [];
  for (const benchCase of cases(quick).filter((c) => !only || c.name.includes(only))) {
    const { run, dispose } = benchCase.prepare();
    const rates: Record<string, number> = {};
    const time = (
      mode: string,
    ) => (rates[mode] = Math.max(rates[mode] ?? 0, benchCase.flops / 1e6 / medianMs(run)));
    for (let round = 0; round < repeat; round++) {
      unregisterBlasKernels();
      time("wasm");
      for (const threads of threadCounts) {
        const status = registerBlasKernels({ threads });
        if (!status.enabled) throw new Error(status.reason);
        setBlasThreads(threads);
        const before = countOf(benchCase.kernel);
        time(`blas ${threads}t`);
        if (countOf(benchCase.kernel) === before) {
          throw new Error(`${benchCase.name}: the BLAS kernel was not used`);
        }
      }
      if (strategies && benchCase.kernel !== "BatchMatMul") {
        for (const threads of threadCounts) {
          setBlasThreads(threads);
          for (const strategy of ["shifted", "im2col"] as ConvStrategy[]) {
            setConvStrategy(strategy);
            time(`${strategy} ${threads}t`);
          }
        }
        setConvStrategy("auto");
      }
    }
    dispose();
    const best = Math.max(...threadCounts.map((t) => rates[`blas ${t}t`]));
    const row: Row = { name: benchCase.name, gflop: benchCase.flops / 1e9, rates };
    rows.push(row);
    console.log(
      `| ${row.name} | ${fmt(row.gflop, 3)} | ${modes.map((mode) => fmt(rates[mode])).join(" | ")} | ` +
        `${fmt(best / rates.wasm)}× |`,
    );
  }
  unregisterBlasKernels();
  const how = repeat > 1 ? `best of ${repeat} medians` : "median";
  console.log(`\nGFLOP/s, ${how}; speed-up = best BLAS / wasm. Load average at end: ${load()}.`);
  const backoffs = library.governor.backoffs;
  if (backoffs > 0) {
    console.log(
      `${backoffs} multi-threaded calls found a contended core and sent the next calls to one thread.`,
    );
  }
  if (jsonPath) await Deno.writeTextFile(jsonPath, JSON.stringify({ config: library.config, rows }, null, 2));
}

function countOf(kernel: BlasKernelName): number {
  const info = blasInfo();
  return info.enabled ? info.counts[kernel]?.blas ?? 0 : 0;
}

if (import.meta.main) await main();
