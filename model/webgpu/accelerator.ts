/**
 * Puts the own WebGPU pipelines under a generator for inference on the webgpu backend: the mapping network
 * with truncation (model/webgpu/mapping.ts: w for any ψ and cutoff per row) and the synthesis network
 * (model/webgpu/synthesis.ts: images at any depth, the coarser ground resolutions of `depth=`, with the
 * stored, random or no noise), no gradient being recorded. Everything else (training, fade-ins, other
 * backends) runs the tfjs layers as before.
 *
 * The runtime's webgpu settings (model/runtime.ts) decide: `SGAN_WEBGPU_SYNTHESIS` `auto` (default) uses it on a
 * GPU and not on a software rasteriser (Mesa's llvmpipe runs each 256-thread workgroup and its barriers on CPU
 * threads: there it measured 0.58–1.06× the speed of the tfjs kernels,
 * bench/reference/results/llvmpipe-2026-11-26); `1` always, `0` never (A/B). `SGAN_WEBGPU_TILE=tm,tn,tk,rm,rn[,1]`
 * sets the convolution tile tried first, `,1` with prefetched loads (for tuning on a new GPU).
 *
 * Before a generator is given the pipelines, two latents' w and images go through both them and the tfjs
 * layers, with the GPU's error scopes open: a shader some driver rejects, memory that runs out or numbers that
 * differ keep the tfjs layers, and the status says why (the server and CLIs print it).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Generator, MappingAccelerator } from "../networks/generator.ts";
import type { GSynthesis, SynthesisAccelerator, SynthesisOptions } from "../networks/g_synthesis.ts";
import { buildSynthesisPlan, unsupportedReason } from "./plan.ts";
import { WebGpuSynthesis, type WebGpuSynthesisOptions } from "./synthesis.ts";
import { buildMappingPlan, WebGpuMapping } from "./mapping.ts";
import { activeBackend } from "../backend/select.ts";
import { latentsFromSeeds } from "../seeds.ts";
import { describeWebGpuSettings, type Runtime, type WebGpuSynthesisMode } from "../runtime.ts";

export type { WebGpuSynthesisMode } from "../runtime.ts";

/** What {@link useWebGpuSynthesis} did, in words for a log line. */
export interface AcceleratorStatus {
  enabled: boolean;
  reason: string;
  /** The path was built but failed its self-check: worth a warning (the other reasons are settings). */
  selfCheckFailed?: boolean;
}

/** The GPUDevice of the active tfjs-webgpu backend, if that is the active backend. */
export function tfjsWebGpuDevice(): GPUDevice | undefined {
  if (tf.getBackend() !== "webgpu") return undefined;
  return (tf.backend() as unknown as { device?: GPUDevice }).device;
}

/** The runtime's webgpu settings: the mode, and the convolution tile tried first. */
export type WebGpuSettings = Runtime["webgpu"];

/** One line for logs: how generators given an engine with `settings` will synthesise on the webgpu backend. */
export function describeWebGpuSynthesis(settings: WebGpuSettings): string {
  const off = offBySettings(settings.mode);
  return off
    ? `tfjs kernels (${off})`
    : `own WGSL mapping and synthesis pipelines (${describeWebGpuSettings(settings)})`;
}

/** Why the settings keep tfjs's kernels, if they do. */
function offBySettings(mode: WebGpuSynthesisMode): string | undefined {
  if (mode === "0") return "SGAN_WEBGPU_SYNTHESIS=0";
  if (mode === "auto" && activeBackend()?.software) {
    return "software rasteriser: tfjs kernels are as fast or faster there (SGAN_WEBGPU_SYNTHESIS=1 forces)";
  }
  return undefined;
}

/** The own synthesis engine serving `generator`, if {@link useWebGpuSynthesis} gave it one (benches, tests). */
export function ownSynthesisEngine(generator: Generator): WebGpuSynthesis | undefined {
  const accelerator = generator.gSynthesis.accelerator;
  return accelerator instanceof WebGpuAccelerator ? accelerator.engine : undefined;
}

class WebGpuAccelerator implements SynthesisAccelerator {
  constructor(private readonly g: GSynthesis, readonly engine: WebGpuSynthesis) {}

  tryApply(dlatents: tf.Tensor3D, run: Required<SynthesisOptions>): tf.Tensor4D | undefined {
    // A fade-in (alpha < 1 at a growing depth) blends two depths: only training and its previews ask for it.
    const fixed = this.g.options.structure === "fixed";
    const depth = fixed ? this.engine.depthCount - 1 : run.depth;
    const noise = run.noise;
    if (!fixed && run.alpha < 1 && run.depth > 0) return undefined;
    if (typeof noise === "function") return undefined; // training's seeded noise draws
    if (tf.engine().isTapeOn() || tfjsWebGpuDevice() !== this.engine.device) return undefined;
    return this.engine.run(dlatents, noise, depth);
  }

  dispose(): void {
    this.engine.dispose();
  }
}

class WebGpuMappingAccelerator implements MappingAccelerator {
  constructor(readonly engine: WebGpuMapping) {}

  tryMap(z: tf.Tensor2D, psis: number[], cutoffs: number[]): tf.Tensor3D | undefined {
    if (tf.engine().isTapeOn() || tfjsWebGpuDevice() !== this.engine.device) return undefined;
    if (z.shape[0] > this.engine.maxBatch) return undefined;
    return this.engine.run(z, psis, cutoffs);
  }

  dispose(): void {
    this.engine.dispose();
  }
}

/**
 * Give `generator` the own WebGPU pipelines (mapping with truncation, and synthesis) when the webgpu backend
 * is active, the runtime's `mode` allows it (see the module comment; `"1"` ignores `auto`'s software-rasteriser
 * rule) and the network is one they support. `tile` (the runtime's) and the other engine options go to the
 * engine. Reads the weights once: call it after loading them, and only for a generator that is not trained.
 */
export async function useWebGpuSynthesis(
  generator: Generator,
  options: WebGpuSynthesisOptions & { mode?: WebGpuSynthesisMode } = {},
): Promise<AcceleratorStatus> {
  const device = tfjsWebGpuDevice();
  if (!device) return { enabled: false, reason: "the webgpu backend is not active" };
  const { mode = "auto", ...engineOptions } = options;
  const off = offBySettings(mode);
  if (off) return { enabled: false, reason: off };
  const g = generator.gSynthesis;
  const unsupported = unsupportedReason(g);
  if (unsupported) return { enabled: false, reason: `not for this network: ${unsupported}` };
  const [plan, mappingPlan] = [await buildSynthesisPlan(g), await buildMappingPlan(generator)];
  detach(generator);
  // GPU errors (a shader a driver rejects, memory) are reported asynchronously: catch them around the
  // construction and a first batch, and compare that batch with the tfjs layers before serving with it.
  device.pushErrorScope("validation");
  device.pushErrorScope("out-of-memory");
  let engine: WebGpuSynthesis | undefined;
  let mapping: WebGpuMapping | undefined;
  let failure: string | undefined;
  let check: SelfCheck | undefined;
  try {
    engine = new WebGpuSynthesis(device, plan, engineOptions);
    mapping = new WebGpuMapping(device, mappingPlan);
    check = runSelfCheck(generator, engine, mapping);
  } catch (e) {
    failure = (e as Error).message;
  }
  const errors = [await device.popErrorScope(), await device.popErrorScope()].filter((e) => e !== null);
  if (errors.length > 0) failure = `GPU error: ${errors.map((e) => e!.message.trim()).join("; ")}`;
  if (!failure && check) failure = await check.verdict();
  else check?.dispose();
  if (failure || !engine || !mapping) {
    engine?.dispose();
    mapping?.dispose();
    return {
      enabled: false,
      reason: `self-check failed, tfjs kernels kept: ${failure}`,
      selfCheckFailed: true,
    };
  }
  g.accelerator = new WebGpuAccelerator(g, engine);
  generator.mappingAccelerator = new WebGpuMappingAccelerator(mapping);
  return {
    enabled: true,
    reason:
      `own WGSL pipelines for the mapping and synthesis networks, ${engine.maxBatch} images per recorded batch at most`,
  };
}

/** Removes (and frees) whatever own pipelines the generator had. */
function detach(generator: Generator): void {
  generator.gSynthesis.accelerator?.dispose();
  generator.gSynthesis.accelerator = undefined;
  generator.mappingAccelerator?.dispose();
  generator.mappingAccelerator = undefined;
}

/** Relative error allowed between the own pipelines and the tfjs layers at load (measured: ≤ 2e-4). */
export const SELF_CHECK_TOLERANCE = 1e-3;

export interface SelfCheck {
  verdict(): Promise<string | undefined>;
  dispose(): void;
}

/**
 * Two latents (seeds 0 and 1, ψ 0.7 and 1) through both paths: the mapping's w when `mapping` is given, and
 * images with the stored noise (from the tfjs layers' w); the verdict says what differs, if anything.
 */
export function runSelfCheck(
  generator: Generator,
  engine: WebGpuSynthesis,
  mapping?: WebGpuMapping,
): SelfCheck {
  const size = generator.options.latent_size;
  const psis = [0.7, 1];
  const cutoffs = psis.map(() => generator.options.truncation_cutoff);
  const pairs = tf.tidy(() => {
    const z = tf.tensor2d(latentsFromSeeds([0, 1], size), [2, size]);
    const w = generator.mapping(z, psis, cutoffs);
    const checks: Array<{ what: string; expected: tf.Tensor; got: tf.Tensor }> = [
      {
        what: "images",
        expected: generator.gSynthesis.apply(w, { noise: "const" }),
        got: engine.run(w, "const"),
      },
    ];
    if (mapping) checks.push({ what: "dlatents (mapping)", expected: w, got: mapping.run(z, psis, cutoffs) });
    return checks;
  });
  const dispose = () => tf.dispose(pairs.flatMap((p) => [p.expected, p.got]));
  return {
    dispose,
    async verdict() {
      try {
        for (const { what, expected, got } of pairs) {
          const relative = relativeDifference(await got.data(), await expected.data());
          if (!(Number.isFinite(relative) && relative <= SELF_CHECK_TOLERANCE)) {
            return `${what} differ from the tfjs layers' by ${
              relative.toExponential(2)
            } of their range (allowed ${SELF_CHECK_TOLERANCE})`;
          }
        }
        return undefined;
      } finally {
        dispose();
      }
    },
  };
}

/** max |a − b| / max |b| (or the plain difference where b is all zero). */
function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale > 0 ? diff / scale : diff;
}
