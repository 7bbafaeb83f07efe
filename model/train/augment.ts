/**
 * DiffAugment's transforms as differentiable tensor ops on NHWC batches (parameters from
 * model/train/augment_policy.ts). D sees `augmentImages(x, params)` for reals and fakes alike, in the D step,
 * the G step and inside R1's gradient, so G's gradient and R1's double backprop go through the transforms.
 *
 * Every transform is linear in the images for fixed parameters, and uses only ops whose gradients (and their
 * gradients) model/backend/gradients.ts registers on every backend: add, sub, mul, mean, batched matMul,
 * transpose, reshape.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  type AugmentParams,
  augmentsAnything,
  cutoutSide,
  type TranslationPadding,
} from "./augment_policy.ts";

/** The images with the batch's transforms applied (the images themselves when the policy is empty). */
export function augmentImages(x: tf.Tensor4D, params: AugmentParams | undefined): tf.Tensor4D {
  if (!augmentsAnything(params)) return x;
  const [n, h, w] = x.shape;
  if (n !== params.count || h !== params.size || w !== params.size) {
    throw new Error(
      `augmentation parameters for ${params.count} images of ${params.size} px, got images ${
        x.shape.join("×")
      }`,
    );
  }
  return tf.tidy(() => {
    let y = x;
    if (params.color) y = adjustColor(y, params.color);
    if (params.translation) y = translate(y, params.translation);
    if (params.cutout) y = cutout(y, params.cutout);
    return y;
  });
}

/** Per-image scalars as a [N, 1, 1, 1] tensor. */
function perImage(values: number[]): tf.Tensor4D {
  return tf.tensor4d(values, [values.length, 1, 1, 1]);
}

/** Brightness, then saturation about the mean over channels, then contrast about the image mean. */
function adjustColor(x: tf.Tensor4D, color: NonNullable<AugmentParams["color"]>): tf.Tensor4D {
  const about = (v: tf.Tensor4D, mean: tf.Tensor, factor: tf.Tensor4D) =>
    tf.add(tf.mul(tf.sub(v, mean), factor), mean) as tf.Tensor4D;
  let y = tf.add(x, perImage(color.brightness)) as tf.Tensor4D;
  y = about(y, tf.mean(y, 3, true), perImage(color.saturation));
  return about(y, tf.mean(y, [1, 2, 3], true), perImage(color.contrast));
}

/**
 * out(i, j) = in(i + rows, j + cols), per image. Written as products with 0/1 selection matrices ([N, size,
 * size], one 1 per row at the source index, none where the source is outside and padding is zero) rather
 * than per-image slices or a gather: one batched op per axis whatever the batch size, exact (each output is
 * one input times 1), its gradient is the transposed product, and tfjs has no per-image gather whose gradient
 * can itself be differentiated (R1).
 */
function translate(x: tf.Tensor4D, t: NonNullable<AugmentParams["translation"]>): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const rowsMoved = tf.reshape(
    tf.matMul(selectionMatrices(t.rows, h, t.padding), tf.reshape(x, [n, h, w * c])),
    [n, h, w, c],
  );
  // Columns: the same product along W, with W brought to the matrix axis and back.
  const columnsFirst = tf.reshape(tf.transpose(rowsMoved, [0, 2, 1, 3]), [n, w, h * c]);
  const moved = tf.reshape(tf.matMul(selectionMatrices(t.cols, w, t.padding), columnsFirst), [n, w, h, c]);
  return tf.transpose(moved, [0, 2, 1, 3]) as tf.Tensor4D;
}

/** [N, size, size] matrices S with S[k, i, source(i + shift_k)] = 1 (see {@link translate}). */
function selectionMatrices(shifts: number[], size: number, padding: TranslationPadding): tf.Tensor3D {
  const values = new Float32Array(shifts.length * size * size);
  shifts.forEach((shift, k) => {
    for (let i = 0; i < size; i++) {
      const source = sourceIndex(i + shift, size, padding);
      if (source !== undefined) values[(k * size + i) * size + source] = 1;
    }
  });
  return tf.tensor3d(values, [shifts.length, size, size]);
}

/** Where index `i` of a padded axis reads from: inside as is; outside nothing (zero) or the mirror image. */
function sourceIndex(i: number, size: number, padding: TranslationPadding): number | undefined {
  if (i >= 0 && i < size) return i;
  if (padding === "zero") return undefined;
  // Reflection without repeating the edge (numpy's and tf.mirrorPad's "reflect"): −1 → 1, size → size − 2.
  // A shift is at most size/8, so one reflection always lands inside.
  return i < 0 ? -i : 2 * (size - 1) - i;
}

/** Zero the square of side ⌊size/2 + ½⌋ centred at (rows, cols) of each image (clipped by the border). */
function cutout(x: tf.Tensor4D, cut: NonNullable<AugmentParams["cutout"]>): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const side = cutoutSide(h);
  const mask = new Float32Array(n * h * w).fill(1);
  for (let k = 0; k < n; k++) {
    const top = Math.max(0, cut.rows[k] - Math.floor(side / 2));
    const left = Math.max(0, cut.cols[k] - Math.floor(side / 2));
    const bottom = Math.min(h, cut.rows[k] - Math.floor(side / 2) + side);
    const right = Math.min(w, cut.cols[k] - Math.floor(side / 2) + side);
    for (let i = top; i < bottom; i++) {
      mask.fill(0, (k * h + i) * w + left, (k * h + i) * w + Math.max(left, right));
    }
  }
  return tf.mul(x, tf.tensor4d(mask, [n, h, w, 1])) as tf.Tensor4D;
}
