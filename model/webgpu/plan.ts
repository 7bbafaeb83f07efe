/**
 * The synthesis network as a flat list of GPU steps with host-side weights, ready to upload once: what
 * model/webgpu/synthesis.ts runs as its own compute pipelines instead of ~230 tfjs dispatches per batch.
 *
 * Every runtime scale is folded into the weights here (equalized learning rate, learning-rate multipliers),
 * and each ×2 upscaling convolution becomes four 2×2 "polyphase" kernels: nearest-neighbour upscaling followed
 * by a 3×3 convolution gives, for each output parity, a 2×2 convolution of the small input whose taps are sums
 * of the 3×3 taps. That is exact, needs 4 instead of 9 multiply-adds per input channel, and also covers the
 * port's fused transposed convolution at ≥ 128 px (the same with the kernel mirrored, see upConv).
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { GSynthesis } from "../networks/g_synthesis.ts";
import type { EqualizedConv2d } from "../layers/equalized_conv2d.ts";
import type { LayerEpilogue } from "../layers/layer_epilogue.ts";
import { leakySlopeOf } from "../layers/activation.ts";
import { blurKernel2d } from "../backend/ops.ts";

/** A convolution: `taps`×`taps` kernel(s) [phases][taps·taps·cin][cout], the scale already folded in. */
export interface ConvPlan {
  cin: number;
  cout: number;
  /** Input side in pixels. */
  inSize: number;
  /** Output side in pixels (2 × inSize when `up`). */
  outSize: number;
  /** 3 or 1 for a plain convolution, 2 for the polyphase kernels of an upscaling one. */
  taps: number;
  /** ×2 nearest upscale before a 3×3 convolution, as four polyphase kernels. */
  up: boolean;
  weights: Float32Array;
  /** Bias added by the convolution itself (only where no blur or epilogue follows: to-RGB). */
  bias?: Float32Array;
}

/** Noise, leaky ReLU, instance norm and style after a convolution (or after the learned constant). */
export interface EpiloguePlan {
  channels: number;
  size: number;
  /** Index of the dlatent (style layer) this epilogue uses. */
  styleLayer: number;
  /** Bias of the preceding convolution (or of the constant input), added after the blur. */
  bias: Float32Array;
  /** Normalised 2-D blur kernel (row-major, odd side) applied to the convolution output first, if any. */
  blur?: Float32Array;
  /** The stored constant noise map [size·size] and its per-channel weights [channels]. */
  noise?: { map: Float32Array; weight: Float32Array };
  slope: number;
  epsilon: number;
  /** Style dense layer, scale folded in: weight [dlatent, 2·channels], bias [2·channels]. */
  styleWeight: Float32Array;
  styleBias: Float32Array;
}

/** One synthesis layer: a convolution (none for the first, which starts from the learned constant), then its epilogue. */
export interface LayerPlan {
  conv?: ConvPlan;
  epilogue: EpiloguePlan;
}

export interface SynthesisPlan {
  resolution: number;
  numLayers: number;
  dlatentSize: number;
  /** The learned constant [4·4·channels] (NHWC, batch 1). */
  constInput: Float32Array;
  layers: LayerPlan[];
  /** The 1×1 to-RGB convolution of each depth (depth d reads layer 2d + 1's output, 4·2^d px). */
  toRgb: ConvPlan[];
  outChannels: number;
}

/** Why this network cannot take the WebGPU path (undefined when it can). */
export function unsupportedReason(g: GSynthesis): string | undefined {
  const o = g.options;
  if (!o.const_input_layer) return "the input block is a dense layer (const_input_layer false)";
  if (!o.use_styles) return "no styles (use_styles false)";
  if (!o.use_instance_norm) return "no instance norm";
  if (o.use_pixel_norm) return "pixel norm in the synthesis epilogues";
  if (leakySlopeOf(g.initBlock.epi1.activation) === undefined) {
    return "a nonlinearity other than (leaky) ReLU";
  }
  return undefined;
}

/** Read the network's weights (once) and fold them into a plan. Throws with the reason when unsupported. */
export async function buildSynthesisPlan(g: GSynthesis): Promise<SynthesisPlan> {
  const reason = unsupportedReason(g);
  if (reason) throw new Error(`WebGPU synthesis: unsupported network: ${reason}`);
  const o = g.options;
  const blur = o.blur_filter ? new Float32Array(blurKernel2d(o.blur_filter, true).flat()) : undefined;

  const epilogue = async (
    e: LayerEpilogue,
    size: number,
    styleLayer: number,
    bias: Float32Array,
    blurred: boolean,
  ): Promise<EpiloguePlan> => {
    const lin = e.styleMod!.lin;
    const styleWeight = await readScaled(lin.weight, lin.wMul);
    const styleBias = lin.bias ? await readScaled(lin.bias, lin.bMul) : new Float32Array(lin.outputSize);
    return {
      channels: lin.outputSize / 2,
      size,
      styleLayer,
      bias,
      blur: blurred ? blur : undefined,
      noise: e.noise
        ? { map: await readScaled(e.noise.constNoise), weight: await readScaled(e.noise.weight) }
        : undefined,
      slope: leakySlopeOf(e.activation)!,
      epsilon: e.instanceNorm!.epsilon,
      styleWeight,
      styleBias,
    };
  };
  const convBias = (c: EqualizedConv2d): Promise<Float32Array> =>
    c.bias ? readScaled(c.bias, c.bMul) : Promise.resolve(new Float32Array(c.outChannels));

  const init = g.initBlock;
  const layers: LayerPlan[] = [
    { epilogue: await epilogue(init.epi1, 4, 0, await readScaled(init.bias!), false) },
    {
      conv: await plainConv(init.conv, 4),
      epilogue: await epilogue(init.epi2, 4, 1, await convBias(init.conv), false),
    },
  ];
  for (const [i, block] of g.blocks.entries()) {
    const size = block.outputSize;
    layers.push({
      conv: await upConv(block.conv0Up, size / 2),
      epilogue: await epilogue(block.epi1, size, 2 * i + 2, await convBias(block.conv0Up), Boolean(blur)),
    });
    layers.push({
      conv: await plainConv(block.conv1, size),
      epilogue: await epilogue(block.epi2, size, 2 * i + 3, await convBias(block.conv1), false),
    });
  }
  const toRgb: ConvPlan[] = [];
  for (const [depth, conv] of g.toRgb.entries()) {
    const plan = await plainConv(conv, 4 * 2 ** depth);
    plan.bias = await convBias(conv);
    toRgb.push(plan);
  }
  return {
    resolution: o.resolution,
    numLayers: g.numLayers,
    dlatentSize: o.dlatent_size,
    constInput: await readScaled(init.const!),
    layers,
    toRgb,
    outChannels: o.num_channels,
  };
}

/** A copy of a tensor's values times `factor` (a runtime weight scale folded in). */
export async function readScaled(t: tf.Tensor, factor = 1): Promise<Float32Array> {
  const values = new Float32Array(await t.data()); // a copy: the cpu backend would hand out its own array
  if (factor !== 1) { for (let i = 0; i < values.length; i++) values[i] *= factor; }
  return values;
}

async function plainConv(c: EqualizedConv2d, size: number): Promise<ConvPlan> {
  const w = await readScaled(c.weight, c.wMul); // [k, k, cin, cout] = [K][cout]
  return {
    cin: c.inChannels,
    cout: c.outChannels,
    inSize: size,
    outSize: size,
    taps: c.kernelSize,
    up: false,
    weights: w,
  };
}

async function upConv(c: EqualizedConv2d, inSize: number): Promise<ConvPlan> {
  if (c.kernelSize !== 3) {
    throw new Error(`WebGPU synthesis: upscaling conv must be 3×3, got ${c.kernelSize}`);
  }
  let w = await readScaled(c.weight, c.wMul);
  // From 128 px on the port (and official StyleGAN) fuse the upscale into a transposed convolution with the
  // 4×4 kernel w ∗ box(2×2). Worked out per parity, that is nearest ×2 + a 3×3 correlation with w mirrored in
  // both axes (for output 2a: x[a−1]·w₂ + x[a]·(w₀ + w₁), where nearest + w gives x[a−1]·w₀ + x[a]·(w₁ + w₂)).
  if (inSize * 2 >= c.options.fused_scale_min_res) w = mirrored3x3(w, c.inChannels * c.outChannels);
  return {
    cin: c.inChannels,
    cout: c.outChannels,
    inSize,
    outSize: inSize * 2,
    taps: 2,
    up: true,
    weights: polyphaseKernels(w, c.inChannels, c.outChannels),
  };
}

/** [3, 3, …] → the same kernel mirrored in both spatial axes. */
function mirrored3x3(w: Float32Array, plane: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let ky = 0; ky < 3; ky++) {
    for (let kx = 0; kx < 3; kx++) {
      out.set(w.subarray((ky * 3 + kx) * plane, (ky * 3 + kx + 1) * plane), ((2 - ky) * 3 + 2 - kx) * plane);
    }
  }
  return out;
}

/**
 * The 3×3 taps that land on each 2×2 tap of each output parity after a ×2 nearest upscale. For output row
 * 2a (parity 0) the upscaled rows 2a−1, 2a, 2a+1 are input rows a−1, a, a: tap 0 (row a−1) gets kernel row 0,
 * tap 1 (row a) rows 1 and 2. For 2a+1 (parity 1): rows a, a, a+1, so tap 0 (row a) gets rows 0 and 1, tap 1
 * (row a+1) row 2. Columns alike. Input row of tap t at parity p: a + p − 1 + t.
 */
export const POLYPHASE_ROWS: readonly (readonly (readonly number[])[])[] = [
  [[0], [1, 2]],
  [[0, 1], [2]],
];

/** [3, 3, cin, cout] → [py, px, ty, tx, cin, cout] polyphase kernels (see {@link POLYPHASE_ROWS}). */
export function polyphaseKernels(w: Float32Array, cin: number, cout: number): Float32Array {
  const plane = cin * cout;
  const out = new Float32Array(16 * plane);
  for (let py = 0; py < 2; py++) {
    for (let px = 0; px < 2; px++) {
      for (let ty = 0; ty < 2; ty++) {
        for (let tx = 0; tx < 2; tx++) {
          const dst = (((py * 2 + px) * 2 + ty) * 2 + tx) * plane;
          for (const ky of POLYPHASE_ROWS[py][ty]) {
            for (const kx of POLYPHASE_ROWS[px][tx]) {
              const src = (ky * 3 + kx) * plane;
              for (let i = 0; i < plane; i++) out[dst + i] += w[src + i];
            }
          }
        }
      }
    }
  }
  return out;
}
