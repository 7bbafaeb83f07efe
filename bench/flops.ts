/** Multiply-add counts (×2 = FLOPs) of the generator's convolutions and dense layers, per image. */
import { featureMaps, GENERATOR_DEFAULTS, type GeneratorOptions } from "../model/networks/options.ts";

/** FLOPs of one image through mapping + synthesis (convolutions and dense layers only). */
export function generatorFlops(partial: Partial<GeneratorOptions> & { resolution: number }): number {
  const o = { ...GENERATOR_DEFAULTS, ...partial };
  const log2 = Math.log2(o.resolution);
  const nf = (s: number) => featureMaps(s, o);
  let macs = 0;
  // Mapping.
  for (let i = 0; i < o.mapping_layers; i++) {
    macs += (i === 0 ? o.latent_size : o.mapping_fmaps) *
      (i === o.mapping_layers - 1 ? o.dlatent_size : o.mapping_fmaps);
  }
  const styles = (channels: number) => 2 * o.dlatent_size * channels * 2; // two StyleMods per block
  // 4×4 block: one 3×3 conv.
  macs += 16 * 9 * nf(1) * nf(1) + styles(nf(1));
  for (let res = 3; res <= log2; res++) {
    const px = 4 ** res;
    macs += px * 9 * nf(res - 2) * nf(res - 1) + px * 9 * nf(res - 1) * nf(res - 1) + styles(nf(res - 1));
  }
  macs += 4 ** log2 * nf(log2 - 1) * o.num_channels; // to_rgb
  return 2 * macs;
}
