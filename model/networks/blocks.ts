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

/** The 4×4 block: learned constant (or dense from w), two epilogues around one 3×3 conv. */
export class InputBlock {
  readonly const?: tf.Variable;
  readonly bias?: tf.Variable;
  readonly dense?: EqualizedLinear;
  readonly epi1: LayerEpilogue;
  readonly conv: EqualizedConv2d;
  readonly epi2: LayerEpilogue;

  constructor(
    tree: ParameterTree,
    readonly nf: number,
    dlatentSize: number,
    constInputLayer: boolean,
    gain: number,
    activation: Activation,
    epilogue: EpilogueOptions,
  ) {
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

  constructor(
    tree: ParameterTree,
    inChannels: number,
    outChannels: number,
    readonly outputSize: number,
    blurFilter: number[] | null,
    dlatentSize: number,
    gain: number,
    activation: Activation,
    epilogue: EpilogueOptions,
    noiseSeed: number,
  ) {
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

  constructor(
    tree: ParameterTree,
    inChannels: number,
    outChannels: number,
    gain: number,
    useWscale: boolean,
    readonly activation: Activation,
    blurFilter: number[] | null,
  ) {
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

  constructor(
    tree: ParameterTree,
    mbstdGroupSize: number,
    mbstdNumFeatures: number,
    inChannels: number,
    intermediateChannels: number,
    gain: number,
    useWscale: boolean,
    readonly activation: Activation,
    resolution = 4,
    outputFeatures = 1,
    lastGain = 1,
  ) {
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
