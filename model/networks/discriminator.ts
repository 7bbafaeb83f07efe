import * as tf from "@tensorflow/tfjs-core";
import { ParameterTree } from "../layers/parameters.ts";
import { EqualizedConv2d } from "../layers/equalized_conv2d.ts";
import { NONLINEARITIES } from "../layers/activation.ts";
import { downscale2d } from "../layers/downscale2d.ts";
import { DiscriminatorBlock, DiscriminatorTop } from "./blocks.ts";
import { checkLabels, type Labels, oneHotLabels } from "./labels.ts";
import { DISCRIMINATOR_DEFAULTS, type DiscriminatorOptions, featureMaps, resolutionLog2 } from "./options.ts";

/** StyleGAN's discriminator with progressive (`linear`) or `fixed` structure, port parameter names. */
export class Discriminator {
  readonly options: DiscriminatorOptions;
  readonly params: ParameterTree;
  readonly blocks: DiscriminatorBlock[] = [];
  readonly fromRgb: EqualizedConv2d[] = [];
  readonly finalBlock: DiscriminatorTop;
  /** Number of depths (input resolutions). */
  readonly depthCount: number;

  constructor(options: Partial<DiscriminatorOptions> & { resolution: number }, params = new ParameterTree()) {
    const o = this.options = { ...DISCRIMINATOR_DEFAULTS, ...options };
    this.params = params;
    const log2 = resolutionLog2(o.resolution);
    this.depthCount = log2 - 1;
    const { apply: act, gain } = NONLINEARITIES[o.nonlinearity];
    const nf = (stage: number) => featureMaps(stage, o);
    // Blocks run from the finest resolution down; StyleGAN.pytorch registers them in that order.
    const fromRgbSpecs: Array<[number]> = [];
    for (let res = log2; res > 2; res--) {
      this.blocks.push(
        new DiscriminatorBlock(params.child("blocks").child(log2 - res), {
          inChannels: nf(res - 1),
          outChannels: nf(res - 2),
          activation: act,
          gain,
          useWscale: o.use_wscale,
          blurFilter: o.blur_filter,
        }),
      );
      fromRgbSpecs.push([nf(res - 1)]);
    }
    this.finalBlock = new DiscriminatorTop(params.child("final_block"), {
      mbstdGroupSize: o.mbstd_group_size,
      mbstdNumFeatures: o.mbstd_num_features,
      inChannels: nf(2),
      intermediateChannels: nf(2),
      activation: act,
      gain,
      useWscale: o.use_wscale,
      // Official D_basic: one score per class; the image's class picks its own (apply). The projection head
      // has one more, shared by every image (output 0).
      outputFeatures: o.label_size === 0 ? 1 : o.label_size + (o.label_head === "projection" ? 1 : 0),
    });
    fromRgbSpecs.push([nf(2)]);
    fromRgbSpecs.forEach(([channels], i) => {
      this.fromRgb.push(
        new EqualizedConv2d(params.child("from_rgb").child(i), o.num_channels, channels, 1, {
          gain,
          use_wscale: o.use_wscale,
        }),
      );
    });
  }

  /** Classes of a conditional discriminator (0 = unconditional). */
  get classCount(): number {
    return this.options.label_size;
  }

  /**
   * images [N, H, W, C] at `depth` → scores [N, 1]. A conditional discriminator needs each image's class,
   * and scores it with that class's output (official: sum(scores · one-hot labels)), plus the shared output
   * for the projection head.
   */
  apply(images: tf.Tensor4D, depth = this.depthCount - 1, alpha = 1, labels?: Labels): tf.Tensor2D {
    if (!Number.isInteger(depth) || depth < 0 || depth >= this.depthCount) {
      throw new RangeError(`depth must be an integer in [0, ${this.depthCount - 1}], got ${depth}`);
    }
    checkLabels(labels, images.shape[0], this.classCount, "this discriminator");
    return tf.tidy(() => {
      const last = this.depthCount - 1;
      let x: tf.Tensor4D;
      if (this.options.structure === "fixed") {
        x = this.fromRgb[0].apply(images);
        for (const block of this.blocks) x = block.apply(x);
      } else if (depth > 0) {
        const first = last - depth; // index of the block that consumes this resolution
        const straight = this.blocks[first].apply(this.fromRgb[first].apply(images));
        x = alpha >= 1 ? straight : tf.add(
          tf.mul(straight, alpha),
          tf.mul(this.fromRgb[first + 1].apply(downscale2d(images)), 1 - alpha),
        ) as tf.Tensor4D;
        for (const block of this.blocks.slice(first + 1)) x = block.apply(x);
      } else {
        x = this.fromRgb[this.fromRgb.length - 1].apply(images);
      }
      const scores = this.finalBlock.apply(x);
      if (!labels) return scores;
      if (this.options.label_head === "per-class") {
        return tf.sum(tf.mul(scores, oneHotLabels(labels, this.classCount)), 1, true) as tf.Tensor2D;
      }
      const [n] = scores.shape;
      const shared = tf.slice(scores, [0, 0], [n, 1]);
      const perClass = tf.slice(scores, [0, 1], [n, this.classCount]);
      return tf.add(
        shared,
        tf.sum(tf.mul(perClass, oneHotLabels(labels, this.classCount)), 1, true),
      ) as tf.Tensor2D;
    });
  }

  /** Free every tensor of this network. */
  dispose(): void {
    this.params.dispose();
  }
}
