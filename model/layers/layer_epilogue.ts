import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "./parameters.ts";
import { NoiseLayer, type NoiseSpec } from "./noise_layer.ts";
import { PixelNormLayer } from "./pixel_norm.ts";
import { InstanceNorm } from "./instance_norm.ts";
import { StyleMod } from "./style_mod.ts";
import { leakySlopeOf } from "./activation.ts";
import { fusedEpilogue, fusedEpilogueUsable } from "../backend/fused_epilogue.ts";

/** Switches of the things done after each synthesis convolution. */
export interface EpilogueOptions {
  use_noise: boolean;
  use_pixel_norm: boolean;
  use_instance_norm: boolean;
  use_styles: boolean;
  use_wscale: boolean;
}

/**
 * What follows every synthesis convolution: noise, activation, normalisation, then the style
 * (`top_epi.noise`, `top_epi.activation`, `top_epi.instance_norm`, `style_mod` in the port).
 */
export class LayerEpilogue {
  readonly noise?: NoiseLayer;
  readonly pixelNorm?: PixelNormLayer;
  readonly instanceNorm?: InstanceNorm;
  readonly styleMod?: StyleMod;

  constructor(
    tree: ParameterTree,
    channels: number,
    size: number,
    dlatentSize: number,
    readonly activation: (x: tf.Tensor) => tf.Tensor,
    options: EpilogueOptions,
    noiseSeed?: number,
  ) {
    const top = tree.child("top_epi");
    if (options.use_noise) this.noise = new NoiseLayer(top.child("noise"), channels, size, noiseSeed);
    if (options.use_pixel_norm) this.pixelNorm = new PixelNormLayer();
    if (options.use_instance_norm) this.instanceNorm = new InstanceNorm();
    if (options.use_styles) {
      this.styleMod = new StyleMod(tree.child("style_mod"), dlatentSize, channels, options.use_wscale);
    }
  }

  apply(x: tf.Tensor4D, dlatent: tf.Tensor2D, noise: NoiseSpec): tf.Tensor4D {
    return tf.tidy(() => {
      // One fused kernel instead of ~20 (model/backend/fused_epilogue.ts): generation on wasm and webgpu,
      // training on wasm (first-order gradient; composed ops where a second derivative could follow).
      const slope = leakySlopeOf(this.activation);
      if (
        slope !== undefined && this.instanceNorm && this.styleMod && !this.pixelNorm &&
        fusedEpilogueUsable(x.shape[3])
      ) {
        const map = this.noise?.noiseMap(x, noise);
        const noiseInput = map && this.noise ? { map, weight: this.noise.weight } : undefined;
        const style = this.styleMod.lin.apply(dlatent) as tf.Tensor2D;
        return fusedEpilogue(x, noiseInput, style, slope, this.instanceNorm.epsilon);
      }
      let y = this.noise ? this.noise.apply(x, noise) : x;
      y = this.activation(y) as tf.Tensor4D;
      if (this.pixelNorm) y = this.pixelNorm.apply(y) as tf.Tensor4D;
      if (this.instanceNorm) y = this.instanceNorm.apply(y);
      if (this.styleMod) y = this.styleMod.apply(y, dlatent);
      return y;
    });
  }
}
