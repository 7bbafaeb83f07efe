/**
 * Square training tiles from float rasters (elevation, wide-integer bands), NaN marking NoData: the float
 * twins of resize.ts's centre crop, area averaging and bilinear upscaling. NoData does not bleed into the
 * result: every output pixel averages the valid input pixels it covers (weighted by overlap), and is NaN
 * only when it covers none.
 *
 * @module
 */
import { bilinearTaps, overlapWeights, type ResampleMethod } from "./resize.ts";

/** An interleaved float raster; NaN is NoData. */
export interface RasterF32 {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/** Centre-crop to a square, then resample to `resolution` (area averaging down, bilinear up), NoData-aware. */
export function toFloatTrainingTile(
  raster: RasterF32,
  resolution: number,
): { raster: RasterF32; method: ResampleMethod } {
  if (!Number.isInteger(resolution) || resolution < 1) {
    throw new RangeError(`resolution must be a positive integer, got ${resolution}`);
  }
  const square = centreCropSquareF32(raster);
  if (square.width === resolution) return { raster: square, method: "none" };
  if (square.width > resolution) {
    return { raster: areaResizeF32(square, resolution, resolution), method: "area" };
  }
  return { raster: bilinearResizeF32(square, resolution, resolution), method: "bilinear" };
}

/** The largest centred square (the extra pixel of an odd excess is cut from the right or bottom). */
export function centreCropSquareF32(raster: RasterF32): RasterF32 {
  const { width, height, channels, data } = raster;
  if (width === height) return raster;
  const side = Math.min(width, height);
  const left = Math.floor((width - side) / 2);
  const top = Math.floor((height - side) / 2);
  const out = new Float32Array(side * side * channels);
  const row = side * channels;
  for (let y = 0; y < side; y++) {
    const from = ((top + y) * width + left) * channels;
    out.set(data.subarray(from, from + row), y * row);
  }
  return { width: side, height: side, channels, data: out };
}

/** Area-averaging downscale over valid pixels only (see the module note). */
export function areaResizeF32(raster: RasterF32, width: number, height: number): RasterF32 {
  const { width: inW, height: inH, channels, data } = raster;
  if (width > inW || height > inH) {
    throw new RangeError(`areaResizeF32 only shrinks: ${inW}×${inH} → ${width}×${height}`);
  }
  const wx = overlapWeights(inW, width);
  const wy = overlapWeights(inH, height);
  const out = new Float32Array(width * height * channels);
  const sum = new Float64Array(channels);
  const weight = new Float64Array(channels);
  for (let y = 0; y < height; y++) {
    const { first: y0, weights: wys } = wy[y];
    for (let x = 0; x < width; x++) {
      const { first: x0, weights: wxs } = wx[x];
      sum.fill(0);
      weight.fill(0);
      for (let j = 0; j < wys.length; j++) {
        const row = (y0 + j) * inW;
        for (let i = 0; i < wxs.length; i++) {
          const w = wys[j] * wxs[i];
          const at = (row + x0 + i) * channels;
          for (let c = 0; c < channels; c++) {
            const v = data[at + c];
            if (v === v) {
              sum[c] += w * v;
              weight[c] += w;
            }
          }
        }
      }
      const o = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) out[o + c] = weight[c] > 0 ? sum[c] / weight[c] : NaN;
    }
  }
  return { width, height, channels, data: out };
}

/** Bilinear resize (pixel centres aligned, edges clamped) over valid taps only. */
export function bilinearResizeF32(raster: RasterF32, width: number, height: number): RasterF32 {
  const { width: inW, height: inH, channels, data } = raster;
  const xs = bilinearTaps(inW, width);
  const ys = bilinearTaps(inH, height);
  const out = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const { low: y0, high: y1, fraction: fy } = ys[y];
    for (let x = 0; x < width; x++) {
      const { low: x0, high: x1, fraction: fx } = xs[x];
      for (let c = 0; c < channels; c++) {
        const taps = [
          [y0, x0, (1 - fy) * (1 - fx)],
          [y0, x1, (1 - fy) * fx],
          [y1, x0, fy * (1 - fx)],
          [y1, x1, fy * fx],
        ];
        let sum = 0;
        let weight = 0;
        for (const [yy, xx, w] of taps) {
          const v = data[(yy * inW + xx) * channels + c];
          if (v === v && w > 0) {
            sum += w * v;
            weight += w;
          }
        }
        out[(y * width + x) * channels + c] = weight > 0 ? sum / weight : NaN;
      }
    }
  }
  return { width, height, channels, data: out };
}
