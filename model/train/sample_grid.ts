/** Sample grids written during training: fixed latents, the shadow generator, at the current depth. */
import * as tf from "@tensorflow/tfjs-core";
import { Image } from "imagescript";
import type { Generator } from "../networks/generator.ts";
import { encodePng, imageOf, toRgb8 } from "../images.ts";

/** A grid of `images` (NHWC, about [−1, 1]) with `cols` columns, each tile enlarged (nearest) to ≥ `minTile` px. */
export async function gridImage(images: tf.Tensor4D, cols: number, minTile = 64): Promise<Image> {
  const rasters = await toRgb8(images);
  const tile = rasters[0].width;
  const scale = Math.max(1, Math.ceil(minTile / tile));
  const side = tile * scale;
  const rows = Math.ceil(rasters.length / cols);
  const gap = 2;
  const canvas = new Image(cols * side + (cols - 1) * gap, rows * side + (rows - 1) * gap);
  canvas.fill(0xffffffff);
  rasters.forEach((r, i) => {
    const img = imageOf(r);
    if (scale > 1) img.resize(side, side, Image.RESIZE_NEAREST_NEIGHBOR);
    canvas.composite(img, (i % cols) * (side + gap), Math.floor(i / cols) * (side + gap));
  });
  return canvas;
}

/** PNG bytes of the shadow generator's images for fixed latents `z` at a depth and alpha. */
export async function sampleGridPng(
  G: Generator,
  z: tf.Tensor2D,
  depth: number,
  alpha: number,
  cols: number,
): Promise<Uint8Array> {
  const images = tf.tidy(() => G.gSynthesis.apply(G.mapping(z, 1), { depth, alpha, noise: "const" }));
  try {
    return await encodePng(await gridImage(images, cols));
  } finally {
    images.dispose();
  }
}
