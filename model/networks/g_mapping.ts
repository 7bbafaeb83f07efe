import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "../layers/parameters.ts";
import { PixelNormLayer } from "../layers/pixel_norm.ts";
import { EqualizedLinear } from "../layers/equalized_linear.ts";
import { NONLINEARITIES } from "../layers/activation.ts";
import type { GeneratorOptions } from "./options.ts";

/** The mapping network f: z → w, broadcast to every style layer. */
export class GMapping {
  readonly pixelNorm?: PixelNormLayer;
  readonly dense: EqualizedLinear[] = [];
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(tree: ParameterTree, readonly options: GeneratorOptions, readonly dlatentBroadcast: number) {
    const o = options;
    const { apply, gain } = NONLINEARITIES[o.mapping_nonlinearity];
    this.act = apply;
    const map = tree.child("map");
    // Normalize latents.
    if (o.normalize_latents) this.pixelNorm = new PixelNormLayer();
    // Mapping layers.
    for (let i = 0; i < o.mapping_layers; i++) {
      // A conditional mapping reads [z, embedded label] (official G_mapping: concatenated before the norm).
      const fmapsIn = i === 0 ? o.latent_size * (o.label_size > 0 ? 2 : 1) : o.mapping_fmaps;
      const fmapsOut = i === o.mapping_layers - 1 ? o.dlatent_size : o.mapping_fmaps;
      this.dense.push(
        new EqualizedLinear(map.child(`dense${i}`), fmapsIn, fmapsOut, {
          gain,
          lrmul: o.mapping_lrmul,
          use_wscale: o.use_wscale,
        }),
      );
    }
  }

  /**
   * z [N, latent_size] → w [N, L] (one dlatent, before broadcasting). A conditional network also takes the
   * embedded labels y [N, latent_size], concatenated with z before the pixel norm.
   */
  mapOne(z: tf.Tensor2D, y?: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const input = y ? tf.concat([z, y], 1) as tf.Tensor2D : z;
      let x = this.pixelNorm ? this.pixelNorm.apply(input) as tf.Tensor2D : input;
      for (const layer of this.dense) x = this.act(layer.apply(x)) as tf.Tensor2D;
      return x;
    });
  }

  /** z [N, latent_size] (and embedded labels y) → w [N, num_layers, L]. */
  apply(z: tf.Tensor2D, y?: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const w = this.mapOne(z, y);
      const [n, l] = w.shape;
      return tf.broadcastTo(tf.reshape(w, [n, 1, l]), [n, this.dlatentBroadcast, l]) as tf.Tensor3D;
    });
  }
}
