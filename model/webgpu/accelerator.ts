/**
 * Puts the WebGPU synthesis path (model/webgpu/synthesis.ts) under a generator for inference on the webgpu
 * backend: full-resolution images with the stored or no noise, no gradient being recorded. Everything else
 * (training, growing depths and fade-ins, random noise, other backends) runs the tfjs layers as before.
 *
 * `SGAN_WEBGPU_SYNTHESIS`: `auto` (default) uses it on a GPU and not on a software rasteriser (Mesa's
 * llvmpipe runs each 256-thread workgroup and its barriers on CPU threads: there the tfjs kernels were about
 * 1.5–4× faster, measured with the tests' small networks); `1` always, `0` never (A/B benchmarks).
 * `SGAN_WEBGPU_TILE=tm,tn,tk,rm,rn` sets the convolution tile (for tuning on a new GPU).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Generator } from "../networks/generator.ts";
import type { GSynthesis, SynthesisAccelerator, SynthesisOptions } from "../networks/g_synthesis.ts";
import { buildSynthesisPlan, unsupportedReason } from "./plan.ts";
import { WebGpuSynthesis, type WebGpuSynthesisOptions } from "./synthesis.ts";
import { checkTile, type ConvTile } from "./shaders.ts";
import { activeBackend } from "../backend/select.ts";

/** What {@link useWebGpuSynthesis} did, in words for a log line. */
export interface AcceleratorStatus {
  enabled: boolean;
  reason: string;
}

/** The GPUDevice of the active tfjs-webgpu backend, if that is the active backend. */
export function tfjsWebGpuDevice(): GPUDevice | undefined {
  if (tf.getBackend() !== "webgpu") return undefined;
  return (tf.backend() as unknown as { device?: GPUDevice }).device;
}

export type WebGpuSynthesisMode = "auto" | "1" | "0";

/** The settings from SGAN_WEBGPU_SYNTHESIS and SGAN_WEBGPU_TILE, checked (clear errors for bad values). */
export function webGpuSynthesisSettings(): { mode: WebGpuSynthesisMode; tile?: ConvTile } {
  const env = (name: string) => {
    try {
      return Deno.env.get(name)?.trim() || undefined;
    } catch {
      return undefined; // no --allow-env: the defaults
    }
  };
  const mode = (env("SGAN_WEBGPU_SYNTHESIS") ?? "auto").toLowerCase();
  if (mode !== "auto" && mode !== "1" && mode !== "0") {
    throw new Error(`SGAN_WEBGPU_SYNTHESIS must be auto, 1 or 0, got "${mode}"`);
  }
  const tileText = env("SGAN_WEBGPU_TILE");
  if (tileText === undefined) return { mode };
  const parts = tileText.split(",").map((v) => Number(v.trim()));
  if (parts.length !== 5 || parts.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(`SGAN_WEBGPU_TILE must be five positive integers tm,tn,tk,rm,rn, got "${tileText}"`);
  }
  const [tm, tn, tk, rm, rn] = parts;
  const tile = { tm, tn, tk, rm, rn };
  checkTile(tile);
  return { mode, tile };
}

/** One line for logs: how generators loaded from now on will synthesise on the webgpu backend. */
export function describeWebGpuSynthesis(): string {
  const { mode, tile } = webGpuSynthesisSettings();
  const tileText = tile ? `, tile ${tile.tm}×${tile.tn}×${tile.tk}/${tile.rm}×${tile.rn}` : "";
  if (mode === "0") return "tfjs kernels (SGAN_WEBGPU_SYNTHESIS=0)";
  if (mode === "auto" && activeBackend()?.software) {
    return "tfjs kernels (software rasteriser; SGAN_WEBGPU_SYNTHESIS=1 uses the own WGSL pipelines)";
  }
  return `own WGSL synthesis pipelines (SGAN_WEBGPU_SYNTHESIS=${mode}${tileText})`;
}

class WebGpuAccelerator implements SynthesisAccelerator {
  constructor(private readonly g: GSynthesis, readonly engine: WebGpuSynthesis) {}

  tryApply(dlatents: tf.Tensor3D, run: Required<SynthesisOptions>): tf.Tensor4D | undefined {
    const fullSize = this.g.options.structure === "fixed" ||
      (run.depth === this.g.depthCount - 1 && run.alpha >= 1);
    const noise = run.noise;
    if (!fullSize || (noise !== "const" && noise !== "none")) return undefined;
    if (tf.engine().isTapeOn() || tfjsWebGpuDevice() !== this.engine.device) return undefined;
    return this.engine.run(dlatents, noise);
  }

  dispose(): void {
    this.engine.dispose();
  }
}

/**
 * Give `generator` the WebGPU synthesis path when the webgpu backend is active, the settings allow it (see
 * the module comment; `force` ignores `auto`'s software-rasteriser rule, for tests) and the network is one it
 * supports. Reads the weights once: call it after loading them, and only for a generator that is not trained.
 */
export async function useWebGpuSynthesis(
  generator: Generator,
  options: WebGpuSynthesisOptions & { force?: boolean } = {},
): Promise<AcceleratorStatus> {
  const device = tfjsWebGpuDevice();
  if (!device) return { enabled: false, reason: "the webgpu backend is not active" };
  const settings = webGpuSynthesisSettings();
  if (settings.mode === "0") return { enabled: false, reason: "SGAN_WEBGPU_SYNTHESIS=0" };
  if (settings.mode === "auto" && activeBackend()?.software && !options.force) {
    return {
      enabled: false,
      reason: "software rasteriser: tfjs kernels are faster there (SGAN_WEBGPU_SYNTHESIS=1 forces)",
    };
  }
  const g = generator.gSynthesis;
  const unsupported = unsupportedReason(g);
  if (unsupported) return { enabled: false, reason: `not for this network: ${unsupported}` };
  const engine = new WebGpuSynthesis(device, await buildSynthesisPlan(g), {
    tile: settings.tile,
    ...options,
  });
  g.accelerator?.dispose();
  g.accelerator = new WebGpuAccelerator(g, engine);
  return {
    enabled: true,
    reason: `own WGSL pipelines, ${engine.maxBatch} images per recorded batch at most`,
  };
}
