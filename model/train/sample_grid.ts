/** Sample grids written during training: fixed latents, the shadow generator, at the current depth. */
import * as tf from "@tensorflow/tfjs-core";
import type { Generator } from "../networks/generator.ts";
import type { Labels } from "../networks/labels.ts";
import { encodePng, toRgb8 } from "../images.ts";
import { drawSampleGrid } from "../figures/grid.ts";

/** Smallest side a tile is drawn at, so that 4 px samples are still visible. */
const MIN_TILE_PX = 64;

/**
 * PNG bytes of the shadow generator's images for the latents of `seeds` (`z`, in the same order) at a depth
 * and alpha, drawn like the API's sample grid (tiles enlarged without smoothing); a conditional generator
 * needs each latent's class (`labels`).
 */
export async function sampleGridPng(
  G: Generator,
  z: tf.Tensor2D,
  seeds: number[],
  depth: number,
  alpha: number,
  cols: number,
  labels?: Labels,
): Promise<Uint8Array> {
  const images = tf.tidy(() =>
    G.gSynthesis.apply(G.mapping(z, 1, undefined, labels), { depth, alpha, noise: "const" })
  );
  try {
    const tiles = await toRgb8(images);
    const tileSize = Math.max(MIN_TILE_PX, tiles[0].width);
    return await encodePng(drawSampleGrid(tiles, { seeds, psi: 1, cols }, { tileSize }));
  } finally {
    images.dispose();
  }
}
