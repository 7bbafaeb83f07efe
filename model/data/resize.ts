/**
 * Turn a decoded image of any size into a square training tile: centre-crop to a square (aerial tiles keep
 * their scale; squashing would stretch the ground anisotropically), then resample to the resolution.
 *
 * Downscaling is area averaging computed exactly in integers: every output pixel is the mean of the input
 * area it covers, with partial pixels weighted by their overlap. When the input size is an integer multiple
 * of the output (256 → 64) this is exactly the mean of each 4 × 4 block, which is alias-free and is what
 * StyleGAN's own dataset tool and the progressive-growing downsampling do. Results are rounded half up.
 *
 * Upscaling (an image smaller than the resolution) is bilinear. imagescript's resize, used elsewhere for
 * figures, only offers nearest neighbour, which would teach the generator blocky pixels; bilinear only
 * blurs. The caller reports upscaled images, because either way they carry less detail than the
 * resolution claims.
 *
 * All functions here are pure: rasters in, new rasters out.
 *
 * @module
 */
import type { Raster8 } from "../images.ts";

/** How {@link toTrainingTile} resampled an image. */
export type ResampleMethod = "none" | "area" | "bilinear";

/** A training tile and how it was made. */
export interface TrainingTile {
  /** `resolution` × `resolution` pixels, same channels as the input. */
  raster: Raster8;
  /** "none" when the cropped image already had the resolution; "bilinear" means it was upscaled. */
  method: ResampleMethod;
}

/**
 * Centre-crop to a square, then resample to `resolution` × `resolution` (area averaging down, bilinear up).
 * @param resolution target side in pixels (a positive integer).
 */
export function toTrainingTile(raster: Raster8, resolution: number): TrainingTile {
  checkSize("resolution", resolution);
  const square = centreCropSquare(raster);
  if (square.width === resolution) return { raster: square, method: "none" };
  if (square.width > resolution) {
    return { raster: areaResize(square, resolution, resolution), method: "area" };
  }
  return { raster: bilinearResize(square, resolution, resolution), method: "bilinear" };
}

/**
 * The largest centred square of a raster. When the excess is odd the extra pixel is cut from the right or
 * bottom. A square raster is returned as is (not copied).
 */
export function centreCropSquare(raster: Raster8): Raster8 {
  const { width, height, channels, data } = raster;
  if (width === height) return raster;
  const side = Math.min(width, height);
  const left = Math.floor((width - side) / 2);
  const top = Math.floor((height - side) / 2);
  const out = new Uint8Array(side * side * channels);
  const rowBytes = side * channels;
  for (let y = 0; y < side; y++) {
    const from = ((top + y) * width + left) * channels;
    out.set(data.subarray(from, from + rowBytes), y * rowBytes);
  }
  return { width: side, height: side, channels, data: out };
}

/**
 * Area-averaging downscale to `width` × `height` (each no larger than the input's), computed exactly.
 *
 * Measured in units of 1/outSize input pixels, output pixel i spans [i·inSize, (i+1)·inSize) and input
 * pixel j spans [j·outSize, (j+1)·outSize), so every overlap weight is an integer and each output value is
 * an exact fraction Σ wx·wy·v / (inW·inH), rounded half up. The numerator is at most 255·inW·inH, an
 * integer that float64 holds exactly for any image that fits in memory, so nothing is rounded before the
 * final rounding.
 */
export function areaResize(raster: Raster8, width: number, height: number): Raster8 {
  checkSize("width", width);
  checkSize("height", height);
  const { width: inW, height: inH, channels, data } = raster;
  if (width > inW || height > inH) {
    throw new RangeError(`areaResize only shrinks: ${inW}×${inH} → ${width}×${height}`);
  }
  const wx = overlapWeights(inW, width);
  const wy = overlapWeights(inH, height);

  // Horizontal pass: each input row → `width` weighted sums per channel.
  const rowSums = new Float64Array(inH * width * channels);
  for (let y = 0; y < inH; y++) {
    const inRow = y * inW * channels;
    const outRow = y * width * channels;
    for (let x = 0; x < width; x++) {
      const { first, weights } = wx[x];
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += weights[k] * data[inRow + (first + k) * channels + c];
        rowSums[outRow + x * channels + c] = sum;
      }
    }
  }

  // Vertical pass, then the one rounding: floor((2·num + den) / (2·den)) is num/den rounded half up.
  const denominator = inW * inH;
  const out = new Uint8Array(width * height * channels);
  const outRowLength = width * channels;
  const column = new Float64Array(outRowLength);
  for (let y = 0; y < height; y++) {
    const { first, weights } = wy[y];
    column.fill(0);
    for (let k = 0; k < weights.length; k++) {
      const w = weights[k];
      const from = (first + k) * outRowLength;
      for (let i = 0; i < outRowLength; i++) column[i] += w * rowSums[from + i];
    }
    for (let i = 0; i < outRowLength; i++) {
      out[y * outRowLength + i] = Math.floor((2 * column[i] + denominator) / (2 * denominator));
    }
  }
  return { width, height, channels, data: out };
}

/** Per output pixel: the first input pixel it covers and the integer overlap of each covered input pixel. */
export function overlapWeights(inSize: number, outSize: number): { first: number; weights: number[] }[] {
  const spans: { first: number; weights: number[] }[] = [];
  for (let i = 0; i < outSize; i++) {
    const start = i * inSize;
    const end = start + inSize;
    const first = Math.floor(start / outSize);
    const last = Math.ceil(end / outSize) - 1;
    const weights: number[] = [];
    for (let j = first; j <= last; j++) {
      weights.push(Math.min(end, (j + 1) * outSize) - Math.max(start, j * outSize));
    }
    spans.push({ first, weights });
  }
  return spans;
}

/**
 * Bilinear resize with pixel centres aligned (`align_corners = false`, as PIL and OpenCV), edges clamped.
 * Meant for upscaling; for shrinking use {@link areaResize}, which does not alias.
 */
export function bilinearResize(raster: Raster8, width: number, height: number): Raster8 {
  checkSize("width", width);
  checkSize("height", height);
  const { width: inW, height: inH, channels, data } = raster;
  const xs = bilinearTaps(inW, width);
  const ys = bilinearTaps(inH, height);
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const { low: y0, high: y1, fraction: fy } = ys[y];
    for (let x = 0; x < width; x++) {
      const { low: x0, high: x1, fraction: fx } = xs[x];
      for (let c = 0; c < channels; c++) {
        const at = (yy: number, xx: number) => data[(yy * inW + xx) * channels + c];
        const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
        const bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
        out[(y * width + x) * channels + c] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return { width, height, channels, data: out };
}

/** Per output pixel: the two input pixels it lies between and the fraction towards the second. */
export function bilinearTaps(
  inSize: number,
  outSize: number,
): { low: number; high: number; fraction: number }[] {
  const taps = [];
  for (let i = 0; i < outSize; i++) {
    const source = Math.min(Math.max((i + 0.5) * inSize / outSize - 0.5, 0), inSize - 1);
    const low = Math.floor(source);
    taps.push({ low, high: Math.min(low + 1, inSize - 1), fraction: source - low });
  }
  return taps;
}

function checkSize(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}
