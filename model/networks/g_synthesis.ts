import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "../layers/parameters.ts";
import { EqualizedConv2d } from "../layers/equalized_conv2d.ts";
import { NONLINEARITIES } from "../layers/activation.ts";
import type { NoiseSpec } from "../layers/noise_layer.ts";
import { upscale2d } from "../layers/upscale2d.ts";
import { GSynthesisBlock, InputBlock } from "./blocks.ts";
import { featureMaps, type GeneratorOptions, resolutionLog2 } from "./options.ts";

/** How to run the synthesis network. */
export interface SynthesisOptions {
  /** Output depth: 0 = 4 px, depth_count − 1 = full resolution. Default: full resolution. */
  depth?: number;
  /** Fade-in of the newest block (1 = fully grown). */
  alpha?: number;
  /** Noise inputs (default `const`). */
  noise?: NoiseSpec;
}

/**
 * Another way to run a synthesis network for the calls it can serve (model/webgpu/accelerator.ts): it
 * returns undefined for any call it does not take, and the network then runs as usual.
 */
export interface SynthesisAccelerator {
  tryApply(dlatents: tf.Tensor3D, run: Required<SynthesisOptions>): tf.Tensor4D | undefined;
  dispose(): void;
}

/** The synthesis network g: w → image, growing from 4 px by ×2 per block. */
export class GSynthesis {
  readonly initBlock: InputBlock;
  readonly blocks: GSynthesisBlock[] = [];
  readonly toRgb: EqualizedConv2d[] = [];
  /** Number of depths (output resolutions): log2(resolution) − 1. */
  readonly depthCount: number;
  /** Number of style layers: 2 per depth. */
  readonly numLayers: number;
  /** Set by {@link SynthesisAccelerator} providers for inference; training never sets one. */
  accelerator?: SynthesisAccelerator;

  constructor(tree: ParameterTree, readonly options: GeneratorOptions) {
    const o = options;
    const log2 = resolutionLog2(o.resolution);
    this.depthCount = log2 - 1;
    this.numLayers = log2 * 2 - 2;
    const { apply: act, gain } = NONLINEARITIES[o.nonlinearity];
    const nf = (stage: number) => featureMaps(stage, o);
    const epilogue = {
      use_noise: o.use_noise,
      use_pixel_norm: o.use_pixel_norm,
      use_instance_norm: o.use_instance_norm,
      use_styles: o.use_styles,
      use_wscale: o.use_wscale,
    };
    this.initBlock = new InputBlock(tree.child("init_block"), {
      channels: nf(1),
      dlatentSize: o.dlatent_size,
      constInputLayer: o.const_input_layer,
      activation: act,
      gain,
      epilogue,
    });
    for (let res = 3; res <= log2; res++) {
      const i = res - 3;
      this.blocks.push(
        new GSynthesisBlock(tree.child("blocks").child(i), {
          inChannels: nf(res - 2),
          outChannels: nf(res - 1),
          outputSize: 2 ** res,
          blurFilter: o.blur_filter,
          dlatentSize: o.dlatent_size,
          activation: act,
          gain,
          epilogue,
          noiseSeed: 2 * (i + 1),
        }),
      );
    }
    // Created after the blocks so that the key order equals StyleGAN.pytorch's state_dict.
    const rgb = tree.child("to_rgb");
    for (let depth = 0; depth < this.depthCount; depth++) {
      const channels = nf(depth + 1);
      this.toRgb.push(
        new EqualizedConv2d(rgb.child(depth), channels, o.num_channels, 1, {
          gain: 1,
          use_wscale: o.use_wscale,
        }),
      );
    }
  }

  /** w [N, num_layers, L] → images [N, H, W, C] in about [−1, 1]. */
  apply(dlatents: tf.Tensor3D, run: SynthesisOptions = {}): tf.Tensor4D {
    const depth = run.depth ?? this.depthCount - 1;
    const alpha = run.alpha ?? 1;
    const noise = run.noise ?? "const";
    if (!Number.isInteger(depth) || depth < 0 || depth >= this.depthCount) {
      throw new RangeError(`depth must be an integer in [0, ${this.depthCount - 1}], got ${depth}`);
    }
    const fast = this.accelerator?.tryApply(dlatents, { depth, alpha, noise });
    if (fast) return fast;
    return tf.tidy(() => {
      const styles = tf.unstack(dlatents, 1) as tf.Tensor2D[];
      const pair = (i: number): [tf.Tensor2D, tf.Tensor2D] => [styles[2 * i], styles[2 * i + 1]];
      let x = this.initBlock.apply(pair(0), noise);
      if (this.options.structure === "fixed") {
        this.blocks.forEach((block, i) => x = block.apply(x, pair(i + 1), noise));
        return this.toRgb[this.toRgb.length - 1].apply(x);
      }
      if (depth === 0) return this.toRgb[0].apply(x);
      for (let i = 0; i < depth - 1; i++) x = this.blocks[i].apply(x, pair(i + 1), noise);
      const straight = this.toRgb[depth].apply(this.blocks[depth - 1].apply(x, pair(depth), noise));
      if (alpha >= 1) return straight;
      const residual = this.toRgb[depth - 1].apply(upscale2d(x));
      return tf.add(tf.mul(straight, alpha), tf.mul(residual, 1 - alpha)) as tf.Tensor4D;
    });
  }
}
