import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "../layers/parameters.ts";
import { EqualizedLinear } from "../layers/equalized_linear.ts";
import { EqualizedConv2d } from "../layers/equalized_conv2d.ts";
import { BlurLayer } from "../layers/blur_layer.ts";
import { type EpilogueOptions, LayerEpilogue } from "../layers/layer_epilogue.ts";
import type { NoiseSpec } from "../layers/noise_layer.ts";
import { StddevLayer } from "../layers/stddev_layer.ts";
import { View } from "../layers/view.ts";

type Activation = (x: tf.Tensor) => tf.Tensor;

/** The activation a network's blocks share, with the He gain its weights are initialised for. */
export interface BlockActivation {
  /** The nonlinearity (model/layers/activation.ts). */
  activation: Activation;
  /** Its gain (√2 for leaky ReLU and ReLU). */
  gain: number;
}

/** Hyper-parameters of the synthesis network's 4×4 {@link InputBlock}. */
export interface InputBlockOptions extends BlockActivation {
  /** Feature maps of the block. */
  channels: number;
  /** Size of w. */
  dlatentSize: number;
  /** Learned constant 4×4 input (else a dense layer from w). */
  constInputLayer: boolean;
  /** Noise, normalisation, styles and equalized learning rate of both epilogues. */
  epilogue: EpilogueOptions;
}

/** Hyper-parameters of one {@link GSynthesisBlock}. */
export interface GSynthesisBlockOptions extends BlockActivation {
  /** Feature maps coming in (at half the output size). */
  inChannels: number;
  /** Feature maps going out. */
  outChannels: number;
  /** Output side in pixels. */
  outputSize: number;
  /** Low-pass filter taps after the upscaling, or null for none. */
  blurFilter: number[] | null;
  /** Size of w. */
  dlatentSize: number;
  /** Noise, normalisation, styles and equalized learning rate of both epilogues. */
  epilogue: EpilogueOptions;
  /** Index of the first of the block's two noise maps (their fixed noise seeds). */
  noiseSeed: number;
}

/** Hyper-parameters of one {@link DiscriminatorBlock}. */
export interface DiscriminatorBlockOptions extends BlockActivation {
  /** Feature maps coming in (at twice the output size). */
  inChannels: number;
  /** Feature maps going out. */
  outChannels: number;
  /** Equalized learning rate. */
  useWscale: boolean;
  /** Low-pass filter taps before the downscaling conv, or null for none. */
  blurFilter: number[] | null;
}

/** Hyper-parameters of the final 4×4 {@link DiscriminatorTop}. */
export interface DiscriminatorTopOptions extends BlockActivation {
  /** Group size of the minibatch standard deviation layer (≤ 1: no such layer). */
  mbstdGroupSize: number;
  /** Channels that layer appends. */
  mbstdNumFeatures: number;
  /** Feature maps coming in. */
  inChannels: number;
  /** Width of the hidden dense layer. */
  intermediateChannels: number;
  /** Equalized learning rate. */
  useWscale: boolean;
  /** Side of the input in pixels (default 4). */
  resolution?: number;
  /** Scores per image (default 1). */
  outputFeatures?: number;
  /** Gain of the last dense layer (default 1). */
  lastGain?: number;
}

/** The 4×4 block: learned constant (or dense from w), two epilogues around one 3×3 conv. */
export class InputBlock {
  readonly const?: tf.Variable;
  readonly bias?: tf.Variable;
  readonly dense?: EqualizedLinear;
  readonly epi1: LayerEpilogue;
  readonly conv: EqualizedConv2d;
  readonly epi2: LayerEpilogue;

  /** Feature maps of the block. */
  readonly nf: number;

  constructor(tree: ParameterTree, options: InputBlockOptions) {
    const { channels: nf, dlatentSize, constInputLayer, gain, activation, epilogue } = options;
    this.nf = nf;
    if (constInputLayer) {
      this.const = tree.create("const", tf.ones([1, 4, 4, nf]), "nchw");
      this.bias = tree.create("bias", tf.ones([nf]), "plain");
    } else {
      this.dense = new EqualizedLinear(tree.child("dense"), dlatentSize, nf * 16, {
        gain: gain / 4,
        use_wscale: epilogue.use_wscale,
      });
    }
    this.epi1 = new LayerEpilogue(tree.child("epi1"), nf, 4, dlatentSize, activation, epilogue, 0);
    this.conv = new EqualizedConv2d(tree.child("conv"), nf, nf, 3, { gain, use_wscale: epilogue.use_wscale });
    this.epi2 = new LayerEpilogue(tree.child("epi2"), nf, 4, dlatentSize, activation, epilogue, 1);
  }

  /** `styles` = the two dlatents [N, L] of this block. */
  apply(styles: [tf.Tensor2D, tf.Tensor2D], noise: NoiseSpec): tf.Tensor4D {
    return tf.tidy(() => {
      const n = styles[0].shape[0];
      let x: tf.Tensor4D;
      if (this.const && this.bias) {
        x = tf.add(tf.tile(this.const, [n, 1, 1, 1]), this.bias) as tf.Tensor4D;
      } else {
        // The port views the dense output as NCHW [N, nf, 4, 4].
        const flat = this.dense!.apply(styles[0]);
        x = tf.transpose(tf.reshape(flat, [n, this.nf, 4, 4]), [0, 2, 3, 1]);
      }
      x = this.epi1.apply(x, styles[0], noise);
      x = this.conv.apply(x);
      return this.epi2.apply(x, styles[1], noise);
    });
  }
}

/** One synthesis block: ×2 upscale conv (+ blur), epilogue, 3×3 conv, epilogue. */
export class GSynthesisBlock {
  readonly conv0Up: EqualizedConv2d;
  readonly epi1: LayerEpilogue;
  readonly conv1: EqualizedConv2d;
  readonly epi2: LayerEpilogue;

  /** Output side in pixels. */
  readonly outputSize: number;

  constructor(tree: ParameterTree, options: GSynthesisBlockOptions) {
    const {
      inChannels,
      outChannels,
      outputSize,
      blurFilter,
      dlatentSize,
      gain,
      activation,
      epilogue,
      noiseSeed,
    } = options;
    this.outputSize = outputSize;
    const convTree = tree.child("conv0_up");
    const blur = blurFilter ? new BlurLayer(undefined, blurFilter) : undefined;
    this.conv0Up = new EqualizedConv2d(convTree, inChannels, outChannels, 3, {
      gain,
      use_wscale: epilogue.use_wscale,
      intermediate: blur,
      upscale: true,
    });
    // The port's state_dict lists conv0_up.weight and .bias before conv0_up.intermediate.kernel.
    blur?.keepKernelIn(convTree.child("intermediate"));
    this.epi1 = new LayerEpilogue(
      tree.child("epi1"),
      outChannels,
      outputSize,
      dlatentSize,
      activation,
      epilogue,
      noiseSeed,
    );
    this.conv1 = new EqualizedConv2d(tree.child("conv1"), outChannels, outChannels, 3, {
      gain,
      use_wscale: epilogue.use_wscale,
    });
    this.epi2 = new LayerEpilogue(
      tree.child("epi2"),
      outChannels,
      outputSize,
      dlatentSize,
      activation,
      epilogue,
      noiseSeed + 1,
    );
  }

  apply(x: tf.Tensor4D, styles: [tf.Tensor2D, tf.Tensor2D], noise: NoiseSpec): tf.Tensor4D {
    return tf.tidy(() => {
      let y = this.conv0Up.apply(x);
      y = this.epi1.apply(y, styles[0], noise);
      y = this.conv1.apply(y);
      return this.epi2.apply(y, styles[1], noise);
    });
  }
}

/** Discriminator block: 3×3 conv, act, blur, 3×3 conv with ×2 downscale, act. */
export class DiscriminatorBlock {
  readonly conv0: EqualizedConv2d;
  readonly blur?: BlurLayer;
  readonly conv1Down: EqualizedConv2d;

  readonly activation: Activation;

  constructor(tree: ParameterTree, options: DiscriminatorBlockOptions) {
    const { inChannels, outChannels, gain, useWscale, blurFilter } = options;
    this.activation = options.activation;
    this.conv0 = new EqualizedConv2d(tree.child("conv0"), inChannels, inChannels, 3, {
      gain,
      use_wscale: useWscale,
    });
    if (blurFilter) this.blur = new BlurLayer(tree.child("blur"), blurFilter);
    this.conv1Down = new EqualizedConv2d(tree.child("conv1_down"), inChannels, outChannels, 3, {
      gain,
      use_wscale: useWscale,
      downscale: true,
    });
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let y = this.activation(this.conv0.apply(x)) as tf.Tensor4D;
      if (this.blur) y = this.blur.apply(y);
      return this.activation(this.conv1Down.apply(y)) as tf.Tensor4D;
    });
  }
}

/** Final 4×4 discriminator block: minibatch stddev, conv, dense, dense → one score per image. */
export class DiscriminatorTop {
  readonly stddev?: StddevLayer;
  readonly conv: EqualizedConv2d;
  readonly view = new View();
  readonly dense0: EqualizedLinear;
  readonly dense1: EqualizedLinear;

  readonly activation: Activation;

  constructor(tree: ParameterTree, options: DiscriminatorTopOptions) {
    const { mbstdGroupSize, mbstdNumFeatures, inChannels, intermediateChannels, gain, useWscale } = options;
    const { resolution = 4, outputFeatures = 1, lastGain = 1 } = options;
    this.activation = options.activation;
    if (mbstdGroupSize > 1) this.stddev = new StddevLayer(mbstdGroupSize, mbstdNumFeatures);
    const extra = mbstdGroupSize > 1 ? mbstdNumFeatures : 0;
    this.conv = new EqualizedConv2d(tree.child("conv"), inChannels + extra, inChannels, 3, {
      gain,
      use_wscale: useWscale,
    });
    this.dense0 = new EqualizedLinear(
      tree.child("dense0"),
      inChannels * resolution * resolution,
      intermediateChannels,
      {
        gain,
        use_wscale: useWscale,
      },
    );
    this.dense1 = new EqualizedLinear(tree.child("dense1"), intermediateChannels, outputFeatures, {
      gain: lastGain,
      use_wscale: useWscale,
    });
  }

  apply(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let y = this.stddev ? this.stddev.apply(x) : x;
      y = this.activation(this.conv.apply(y)) as tf.Tensor4D;
      const flat = this.view.apply(y);
      return this.dense1.apply(this.activation(this.dense0.apply(flat)) as tf.Tensor2D);
    });
  }
}
