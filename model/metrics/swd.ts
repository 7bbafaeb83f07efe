/**
 * PGGAN's multi-scale sliced Wasserstein distance (Karras et al. 2018, `metrics/sliced_wasserstein.py`),
 * ported function by function to plain typed arrays.
 *
 * Each image is split into a Laplacian pyramid from its full resolution down to 16 px. From every level,
 * 128 random 7×7 neighbourhoods per image become descriptors; each set's descriptors are normalised per
 * colour channel; the distance between two sets at a level is the sliced Wasserstein distance of their
 * descriptors over 4 repeats × 128 random unit directions. Reported numbers are ×1e3, as in the paper.
 *
 * Randomness is seeded and numpy-compatible (`RandomState` of model/seeds.ts), with `seed` (default 0):
 * - neighbourhood centres of a set come from `RandomState(seed)`, image by image and, within an image,
 *   level by level (finest first): `randint(r, W − r)` for the 128 x, then `randint(r, H − r)` for the 128 y
 *   (r = nhood_size // 2). That is PGGAN's draw order with minibatches of one image. Every set starts from
 *   the same state, so image i of two sets of equal resolution is sampled at the same places: a set
 *   compared with itself gives exactly 0, and a comparison is not perturbed by which set came first.
 * - directions come from `RandomState((seed + 1) mod 2^32)`: per level (finest first), per repeat,
 *   `randn(dim, dirs_per_repeat)` normalised per direction and cast to float32, as PGGAN draws them.
 *   They are the same for every comparison, so numbers in a training run's metrics.jsonl move only when
 *   the images do.
 *
 * Two deliberate extensions, both identical to PGGAN where PGGAN is defined:
 * - sets of different sizes are allowed: the 1-D distance is the exact Wasserstein-1 distance between the
 *   two empirical distributions (for equal sizes that is PGGAN's mean |sort(a) − sort(b)|);
 * - a channel whose descriptors have zero variance (a flat image) is centred but not divided, where numpy
 *   would produce NaN.
 *
 * @module
 */
import { MAX_SEED, RandomState } from "../seeds.ts";

/** A float raster, interleaved row-major [height, width, channels] (one image or one pyramid level). */
export interface FloatImage {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/** An 8-bit raster, interleaved [height, width, channels] (the shape of model/images.ts `Raster8`). */
export interface ByteImage {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** Hyper-parameters of the metric; the defaults are PGGAN's (`API.__init__`). */
export interface SWDOptions {
  /** Side of the square neighbourhood a descriptor is cut from, px (odd). */
  nhood_size: number;
  /** Descriptors drawn from each image at each pyramid level. */
  nhoods_per_image: number;
  /** Independent sets of random directions; the distance is their mean. */
  dir_repeats: number;
  /** Random directions per repeat. */
  dirs_per_repeat: number;
  /** Coarsest pyramid level, px; levels run from the image resolution down to this. */
  min_resolution: number;
  /** Seed of the neighbourhood positions; the directions use seed + 1 (mod 2^32). */
  seed: number;
}

/** PGGAN's settings: 7×7 neighbourhoods, 128 per image, 4 × 128 directions, levels down to 16 px. */
export const SWD_DEFAULTS: Readonly<SWDOptions> = Object.freeze({
  nhood_size: 7,
  nhoods_per_image: 128,
  dir_repeats: 4,
  dirs_per_repeat: 128,
  min_resolution: 16,
  seed: 0,
});

/** PGGAN reports the distance multiplied by this. */
export const SWD_SCALE = 1e3;

// ---------------------------------------------------------------------------------------------------
// Laplacian pyramid.

/** The binomial taps [1, 4, 6, 4, 1] / 16; their outer product is PGGAN's 5×5 `gaussian_filter`. */
const GAUSSIAN_TAPS = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];

/** scipy.ndimage's `mode="mirror"` (cv2's BORDER_REFLECT_101): d c b | a b c d | c b a. */
function mirror(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * n - 2 - i;
  return i;
}

/**
 * One axis of a separable filter, resampling `inputs` positions to `offsets.length − 1` outputs: output o
 * sums `weights[k] · input[sources[k]]` for k in [offsets[o], offsets[o + 1]), in tap order.
 */
interface AxisTaps {
  offsets: Int32Array;
  sources: Int32Array;
  weights: Float64Array;
}

function axisTaps(outputs: number, tapsOf: (o: number) => Array<[number, number]>): AxisTaps {
  const offsets = new Int32Array(outputs + 1);
  const sources: number[] = [];
  const weights: number[] = [];
  for (let o = 0; o < outputs; o++) {
    for (const [source, weight] of tapsOf(o)) {
      sources.push(source);
      weights.push(weight);
    }
    offsets[o + 1] = sources.length;
  }
  return { offsets, sources: Int32Array.from(sources), weights: Float64Array.from(weights) };
}

function checkFilterFits(width: number, height: number): void {
  if (width < GAUSSIAN_TAPS.length || height < GAUSSIAN_TAPS.length) {
    throw new RangeError(`a ${width}×${height} px image is too small for the 5×5 pyramid filter`);
  }
}

/**
 * `convolve(x, outer(g, g), mode="mirror")` followed by `[::2]`, along one axis of n positions: only
 * the kept outputs are computed.
 */
function downTaps(n: number): AxisTaps {
  return axisTaps(Math.ceil(n / 2), (o) => GAUSSIAN_TAPS.map((g, t) => [mirror(2 * o + t - 2, n), g]));
}

/**
 * Zero insertion to 2n positions followed by `convolve(x, 2g, mode="mirror")`, along one axis: the taps
 * that land on inserted zeros are dropped (adding 0 changes no sum), the others read input p / 2.
 */
function upTaps(n: number): AxisTaps {
  return axisTaps(2 * n, (o) =>
    GAUSSIAN_TAPS.flatMap((g, t): Array<[number, number]> => {
      const p = mirror(o + t - 2, 2 * n);
      return p % 2 === 0 ? [[p / 2, 2 * g]] : [];
    }));
}

/**
 * Separable filtering of an interleaved image, rows then columns, summed in float64 and rounded to float32
 * once at the end as `scipy.ndimage.convolve` does for a float32 input.
 */
function separable(image: FloatImage, columns: AxisTaps, rows: AxisTaps): FloatImage {
  const { width, height, channels, data } = image;
  const outWidth = columns.offsets.length - 1;
  const outHeight = rows.offsets.length - 1;
  const inRow = width * channels;
  const outRow = outWidth * channels;
  const horizontal = new Float64Array(height * outRow);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      const dst = y * outRow + x * channels;
      for (let k = columns.offsets[x]; k < columns.offsets[x + 1]; k++) {
        const src = y * inRow + columns.sources[k] * channels;
        const w = columns.weights[k];
        for (let c = 0; c < channels; c++) horizontal[dst + c] += w * data[src + c];
      }
    }
  }
  const out = new Float64Array(outHeight * outRow);
  for (let y = 0; y < outHeight; y++) {
    const dst = y * outRow;
    for (let k = rows.offsets[y]; k < rows.offsets[y + 1]; k++) {
      const src = rows.sources[k] * outRow;
      const w = rows.weights[k];
      for (let i = 0; i < outRow; i++) out[dst + i] += w * horizontal[src + i];
    }
  }
  return { width: outWidth, height: outHeight, channels, data: Float32Array.from(out) };
}

/** `pyr_down`: blur with the 5×5 Gaussian (mirrored borders) and keep every second row and column. */
export function pyrDown(image: FloatImage): FloatImage {
  checkFilterFits(image.width, image.height);
  return separable(image, downTaps(image.width), downTaps(image.height));
}

/** `pyr_up`: insert zeros between pixels, then blur with 4 × the 5×5 Gaussian (mirrored borders). */
export function pyrUp(image: FloatImage): FloatImage {
  checkFilterFits(2 * image.width, 2 * image.height);
  // 4 · outer(g, g) = outer(2g, 2g).
  return separable(image, upTaps(image.width), upTaps(image.height));
}

/** An 8-bit raster as float32 values in [0, 255] (PGGAN feeds uint8 images to the metric). */
export function floatImageOf(image: ByteImage): FloatImage {
  return {
    width: image.width,
    height: image.height,
    channels: image.channels,
    data: Float32Array.from(image.data),
  };
}

/**
 * `generate_laplacian_pyramid`: `numLevels` levels, finest first. Every level but the last holds the
 * detail lost by `pyr_down` (the level minus `pyr_up` of the next); the last is the blurred residual.
 */
export function generateLaplacianPyramid(image: FloatImage | ByteImage, numLevels: number): FloatImage[] {
  if (!Number.isInteger(numLevels) || numLevels < 1) {
    throw new RangeError(`numLevels must be a positive integer, got ${numLevels}`);
  }
  const first = image.data instanceof Float32Array
    ? { ...image, data: Float32Array.from(image.data) }
    : floatImageOf(image as ByteImage);
  const pyramid: FloatImage[] = [first];
  for (let i = 1; i < numLevels; i++) {
    const finer = pyramid[pyramid.length - 1];
    const coarser = pyrDown(finer);
    const up = pyrUp(coarser);
    if (up.width !== finer.width || up.height !== finer.height) {
      throw new RangeError(
        `level ${i - 1} is ${finer.width}×${finer.height} px: a Laplacian pyramid needs even sides`,
      );
    }
    // float32 subtraction, as numpy's in-place `pyramid[-2] -= pyr_up(pyramid[-1])`.
    for (let j = 0; j < finer.data.length; j++) finer.data[j] -= up.data[j];
    pyramid.push(coarser);
  }
  return pyramid;
}

/** `reconstruct_laplacian_pyramid`: the image back from its pyramid (exact up to float32 rounding). */
export function reconstructLaplacianPyramid(pyramid: FloatImage[]): FloatImage {
  if (pyramid.length === 0) throw new RangeError("empty pyramid");
  let image = pyramid[pyramid.length - 1];
  for (let i = pyramid.length - 2; i >= 0; i--) {
    const up = pyrUp(image);
    const level = pyramid[i];
    const data = new Float32Array(level.data.length);
    for (let j = 0; j < data.length; j++) data[j] = up.data[j] + level.data[j];
    image = { ...level, data };
  }
  return image;
}

/** Pyramid level sizes PGGAN evaluates for an image of `resolution` px: R, R/2, ... while ≥ `minResolution`. */
export function swdResolutions(resolution: number, minResolution = SWD_DEFAULTS.min_resolution): number[] {
  const log = Math.log2(resolution);
  if (!Number.isInteger(log) || resolution < minResolution) {
    throw new RangeError(
      `resolution must be a power of two of at least ${minResolution} px, got ${resolution}`,
    );
  }
  const out: number[] = [];
  for (let res = resolution; res >= minResolution; res = Math.floor(res / 2)) out.push(res);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Descriptors.

/** Neighbourhood centres in one level: x[i], y[i] in pixels. */
export interface NhoodCentres {
  x: Int32Array;
  y: Int32Array;
}

/**
 * `RandomState.randint(low, high)` for one value, bit-exact with numpy's legacy generator: rejection
 * sampling of 32-bit draws masked to the smallest covering power of two (valid for high − low ≤ 2^32).
 */
export function randint(rng: RandomState, low: number, high: number): number {
  const range = high - low - 1;
  if (!Number.isInteger(low) || !Number.isInteger(high) || range < 0 || range > 0xffffffff) {
    throw new RangeError(`randint needs integers low < high within 2^32, got [${low}, ${high})`);
  }
  if (range === 0) return low;
  if (range === 0xffffffff) return low + rng.nextUint32();
  let mask = range;
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  mask >>>= 0;
  for (;;) {
    const value = (rng.nextUint32() & mask) >>> 0;
    if (value <= range) return low + value;
  }
}

/**
 * Random neighbourhood centres for one image at one level, in PGGAN's order: all x (columns), then all y
 * (rows), each `randint(r, side − r)` so that the whole neighbourhood lies inside the level.
 */
export function sampleNhoodCentres(
  rng: RandomState,
  width: number,
  height: number,
  count: number,
  nhoodSize: number,
): NhoodCentres {
  const r = nhoodSize >> 1;
  if (width < nhoodSize || height < nhoodSize) {
    throw new RangeError(`a ${width}×${height} px level is smaller than the ${nhoodSize} px neighbourhood`);
  }
  const x = new Int32Array(count);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) x[i] = randint(rng, r, width - r);
  for (let i = 0; i < count; i++) y[i] = randint(rng, r, height - r);
  return { x, y };
}

/**
 * `get_descriptors_for_minibatch` for one image: the neighbourhoods around `centres` as rows of
 * `channels · n · n` float32 values. The component order is PGGAN's (channel, dx, dy): its ogrid names
 * the third axis x and the fourth y, so each patch is stored transposed. The order matters only when
 * directions are shared with another implementation, and then it must be this one.
 */
export function getDescriptors(level: FloatImage, centres: NhoodCentres, nhoodSize: number): Float32Array {
  const { width, height, channels, data } = level;
  const r = nhoodSize >> 1;
  const count = centres.x.length;
  const dim = channels * nhoodSize * nhoodSize;
  const out = new Float32Array(count * dim);
  for (let n = 0; n < count; n++) {
    const cx = centres.x[n];
    const cy = centres.y[n];
    if (cx < r || cx >= width - r || cy < r || cy >= height - r) {
      throw new RangeError(`neighbourhood centre (${cx}, ${cy}) does not fit a ${width}×${height} px level`);
    }
    let k = n * dim;
    for (let c = 0; c < channels; c++) {
      for (let dx = -r; dx <= r; dx++) {
        for (let dy = -r; dy <= r; dy++) out[k++] = data[((cy + dy) * width + cx + dx) * channels + c];
      }
    }
  }
  return out;
}

/** A set's descriptors at one level: `count` rows of `dim` float32 components. */
export interface Descriptors {
  count: number;
  dim: number;
  data: Float32Array;
}

/**
 * `finalize_descriptors`: concatenate, then normalise each colour channel to zero mean and unit standard
 * deviation (population std) over all neighbourhoods and pixels of the set. A zero-variance channel is
 * only centred (numpy would divide by zero).
 */
export function finalizeDescriptors(
  parts: Float32Array | Float32Array[],
  channels: number,
  nhoodSize: number,
): Descriptors {
  const chunks = Array.isArray(parts) ? parts : [parts];
  const dim = channels * nhoodSize * nhoodSize;
  const total = chunks.reduce((sum, part) => sum + part.length, 0);
  if (total % dim !== 0) {
    throw new RangeError(`descriptor data of length ${total} is not a multiple of ${dim}`);
  }
  const data = new Float32Array(total);
  let offset = 0;
  for (const part of chunks) {
    data.set(part, offset);
    offset += part.length;
  }
  const count = total / dim;
  const perChannel = nhoodSize * nhoodSize;
  for (let c = 0; c < channels; c++) {
    const start = c * perChannel;
    let sum = 0;
    for (let n = 0; n < count; n++) {
      for (let k = start; k < start + perChannel; k++) sum += data[n * dim + k];
    }
    const mean = sum / (count * perChannel);
    let squares = 0;
    for (let n = 0; n < count; n++) {
      for (let k = start; k < start + perChannel; k++) {
        const centred = Math.fround(data[n * dim + k] - mean);
        data[n * dim + k] = centred;
        squares += centred * centred;
      }
    }
    const std = Math.sqrt(squares / (count * perChannel));
    if (std > 0) {
      for (let n = 0; n < count; n++) {
        for (let k = start; k < start + perChannel; k++) data[n * dim + k] /= std;
      }
    }
  }
  return { count, dim, data };
}

// ---------------------------------------------------------------------------------------------------
// Sliced Wasserstein distance.

/**
 * One repeat's directions as PGGAN draws them: `randn(dim, count)`, each column scaled to unit length,
 * then cast to float32. Row-major [dim, count].
 */
export function randomDirections(rng: RandomState, dim: number, count: number): Float32Array {
  const dirs = rng.randn(dim * count);
  for (let j = 0; j < count; j++) {
    let squares = 0;
    for (let k = 0; k < dim; k++) squares += dirs[k * count + j] ** 2;
    const norm = Math.sqrt(squares);
    for (let k = 0; k < dim; k++) dirs[k * count + j] /= norm;
  }
  return Float32Array.from(dirs);
}

/**
 * Projects descriptors onto directions: `matmul(A, dirs)` returned direction-major, i.e. the values of
 * direction j for all `desc.count` descriptors at [j · count, (j + 1) · count). `dirs` is row-major
 * [desc.dim, dirCount]. {@link projectDescriptors} is the plain-JS one; model/metrics/tf_projection.ts
 * runs the product on the active TensorFlow.js backend.
 */
export type Projector = (desc: Descriptors, dirs: Float32Array, dirCount: number) => Float32Array;

/** {@link Projector} in plain JS: float64 sums, stored as float32 like numpy's float32 matmul result. */
export function projectDescriptors(desc: Descriptors, dirs: Float32Array, dirCount: number): Float32Array {
  const { count, dim, data } = desc;
  const out = new Float32Array(dirCount * count);
  // Four descriptors at a time: each direction component loaded once serves four sums (≈2× faster in V8).
  const acc = [0, 1, 2, 3].map(() => new Float64Array(dirCount));
  const [acc0, acc1, acc2, acc3] = acc;
  let n = 0;
  for (; n + 4 <= count; n += 4) {
    for (const a of acc) a.fill(0);
    const row = n * dim;
    for (let k = 0; k < dim; k++) {
      const x0 = data[row + k];
      const x1 = data[row + dim + k];
      const x2 = data[row + 2 * dim + k];
      const x3 = data[row + 3 * dim + k];
      const dirRow = k * dirCount;
      for (let j = 0; j < dirCount; j++) {
        const w = dirs[dirRow + j];
        acc0[j] += x0 * w;
        acc1[j] += x1 * w;
        acc2[j] += x2 * w;
        acc3[j] += x3 * w;
      }
    }
    for (let j = 0; j < dirCount; j++) {
      const o = j * count + n;
      out[o] = acc0[j];
      out[o + 1] = acc1[j];
      out[o + 2] = acc2[j];
      out[o + 3] = acc3[j];
    }
  }
  for (; n < count; n++) {
    acc0.fill(0);
    const row = n * dim;
    for (let k = 0; k < dim; k++) {
      const x = data[row + k];
      const dirRow = k * dirCount;
      for (let j = 0; j < dirCount; j++) acc0[j] += x * dirs[dirRow + j];
    }
    for (let j = 0; j < dirCount; j++) out[j * count + n] = acc0[j];
  }
  return out;
}

/**
 * Sort float32 values ascending in place (LSD radix sort on the IEEE bits, three 11-bit passes; about 5×
 * faster than `Float32Array.prototype.sort` for the 10^4-value columns sorted here). Same order as
 * `sort()`: −0 before +0; NaN is not expected and lands at an end.
 */
export function radixSortFloat32(
  values: Float32Array,
  scratch: Uint32Array = new Uint32Array(values.length),
): void {
  const n = values.length;
  if (scratch.length < n) throw new RangeError(`scratch holds ${scratch.length} values, need ${n}`);
  const keys = new Uint32Array(values.buffer, values.byteOffset, n);
  // Map the bits to unsigned keys in numeric order: flip all bits of negatives, the sign bit of positives.
  for (let i = 0; i < n; i++) {
    const bits = keys[i];
    keys[i] = bits & 0x80000000 ? ~bits : bits | 0x80000000;
  }
  const counts = new Uint32Array(2048);
  let src = keys;
  let dst = scratch.subarray(0, n);
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(src[i] >>> shift) & 2047]++;
    let total = 0;
    for (let b = 0; b < 2048; b++) {
      const c = counts[b];
      counts[b] = total;
      total += c;
    }
    for (let i = 0; i < n; i++) {
      const key = src[i];
      dst[counts[(key >>> shift) & 2047]++] = key;
    }
    [src, dst] = [dst, src];
  }
  // After an odd number of passes the keys sit in the scratch buffer; map them back into `values`.
  for (let i = 0; i < n; i++) {
    const key = src[i];
    keys[i] = key & 0x80000000 ? key & 0x7fffffff : ~key;
  }
}

/**
 * Project descriptors onto directions and sort: `sort(matmul(A, dirs), axis=0)`, returned direction-major
 * ([dirCount][A.count]) so that each direction's values are contiguous and ascending.
 */
export function sortedProjections(
  desc: Descriptors,
  dirs: Float32Array,
  dirCount: number,
  project: Projector = projectDescriptors,
): Float32Array {
  if (dirs.length !== desc.dim * dirCount) {
    throw new RangeError(`directions hold ${dirs.length} values, expected ${desc.dim} × ${dirCount}`);
  }
  const out = project(desc, dirs, dirCount);
  const scratch = new Uint32Array(desc.count);
  for (let j = 0; j < dirCount; j++) {
    radixSortFloat32(out.subarray(j * desc.count, (j + 1) * desc.count), scratch);
  }
  return out;
}

/**
 * Wasserstein-1 distance between the empirical distributions of two ascending samples, ∫|Fa⁻¹ − Fb⁻¹|.
 * For equal lengths this is mean |a[i] − b[i]|, the pointwise distance PGGAN averages.
 */
export function wasserstein1Sorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) throw new RangeError("wasserstein1Sorted needs two non-empty samples");
  let sum = 0;
  if (na === nb) {
    for (let i = 0; i < na; i++) sum += Math.abs(a[i] - b[i]);
    return sum / na;
  }
  // Quantile functions are steps at i/na and j/nb; walk the merged breakpoints in units of 1/(na·nb).
  let i = 0;
  let j = 0;
  let t = 0;
  while (i < na && j < nb) {
    const nextA = (i + 1) * nb;
    const nextB = (j + 1) * na;
    const next = Math.min(nextA, nextB);
    sum += Math.abs(a[i] - b[j]) * (next - t);
    t = next;
    if (nextA === next) i++;
    if (nextB === next) j++;
  }
  return sum / (na * nb);
}

/** Mean over the directions of one repeat of the 1-D distances between two sorted projection sets. */
function meanOverDirections(
  projA: Float32Array,
  countA: number,
  projB: Float32Array,
  countB: number,
  dirCount: number,
): number {
  let sum = 0;
  for (let j = 0; j < dirCount; j++) {
    sum += wasserstein1Sorted(
      projA.subarray(j * countA, (j + 1) * countA),
      projB.subarray(j * countB, (j + 1) * countB),
    );
  }
  return sum / dirCount;
}

/**
 * `sliced_wasserstein`: the distance between two descriptor sets, averaged over the given repeats of
 * directions (each row-major [dim, dirs per repeat]). Not scaled: multiply by {@link SWD_SCALE} to report.
 */
export function slicedWasserstein(
  a: Descriptors,
  b: Descriptors,
  directions: readonly Float32Array[],
  project: Projector = projectDescriptors,
): number {
  if (a.dim !== b.dim) throw new RangeError(`descriptor sizes differ: ${a.dim} vs ${b.dim}`);
  if (directions.length === 0) throw new RangeError("no directions");
  let sum = 0;
  for (const dirs of directions) {
    const dirCount = dirs.length / a.dim;
    const projA = sortedProjections(a, dirs, dirCount, project);
    const projB = sortedProjections(b, dirs, dirCount, project);
    sum += meanOverDirections(projA, a.count, projB, b.count, dirCount);
  }
  return sum / directions.length;
}

// ---------------------------------------------------------------------------------------------------
// The metric (PGGAN's `API` class).

/** One image set described at every level, ready to compare. */
export interface SetDescriptors {
  /** Images the descriptors came from. */
  images: number;
  /** Finalised descriptors, one entry per level (finest first). */
  levels: Descriptors[];
}

/**
 * The multi-scale SWD for images of one size: describe each set once (`describe`), then compare any two
 * (`distance`). A training loop describes the reals once and each snapshot's fakes as they come.
 */
export class SlicedWassersteinMetric {
  /** Side of each level, px, finest first. */
  readonly resolutions: number[];
  readonly options: Readonly<SWDOptions>;
  /** Per level, per repeat: the directions, row-major [dim, dirs_per_repeat]. */
  readonly #directions: Float32Array[][];

  /**
   * @param resolution side of the (square) images, px; a power of two ≥ `min_resolution`.
   * @param channels channels per pixel (3 for RGB).
   * @param options hyper-parameters and seed; unset fields take {@link SWD_DEFAULTS}.
   * @param project how descriptors are multiplied by directions (plain JS unless given).
   */
  constructor(
    readonly resolution: number,
    readonly channels: number,
    options: Partial<SWDOptions> = {},
    readonly project: Projector = projectDescriptors,
  ) {
    this.options = Object.freeze({ ...SWD_DEFAULTS, ...options });
    const { nhood_size, nhoods_per_image, dir_repeats, dirs_per_repeat, min_resolution, seed } = this.options;
    if (!Number.isInteger(nhood_size) || nhood_size < 1 || nhood_size % 2 === 0) {
      throw new RangeError(`nhood_size must be an odd positive integer, got ${nhood_size}`);
    }
    for (
      const [name, value] of Object.entries({ nhoods_per_image, dir_repeats, dirs_per_repeat, channels })
    ) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(
          `${name} must be a positive integer, got ${value}`,
        );
      }
    }
    if (!Number.isInteger(min_resolution) || min_resolution < nhood_size) {
      throw new RangeError(
        `min_resolution must be an integer of at least nhood_size (${nhood_size}), got ${min_resolution}`,
      );
    }
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      throw new RangeError(`seed must be an integer in [0, ${MAX_SEED}], got ${seed}`);
    }
    this.resolutions = swdResolutions(resolution, min_resolution);
    const rng = new RandomState((seed + 1) >>> 0);
    const dim = channels * nhood_size * nhood_size;
    this.#directions = this.resolutions.map(() =>
      Array.from({ length: dir_repeats }, () => randomDirections(rng, dim, dirs_per_repeat))
    );
  }

  /** Descriptors of a set of images of this metric's size (the images are not kept). */
  describe(images: Iterable<ByteImage | FloatImage>): SetDescriptors {
    const { nhood_size, nhoods_per_image, seed } = this.options;
    const rng = new RandomState(seed);
    const parts: Float32Array[][] = this.resolutions.map(() => []);
    let count = 0;
    for (const image of images) {
      if (
        image.width !== this.resolution || image.height !== this.resolution ||
        image.channels !== this.channels
      ) {
        throw new RangeError(
          `image ${count} is ${image.width}×${image.height}×${image.channels}; ` +
            `this metric compares ${this.resolution}×${this.resolution}×${this.channels} images`,
        );
      }
      const pyramid = generateLaplacianPyramid(image, this.resolutions.length);
      pyramid.forEach((level, lod) => {
        const centres = sampleNhoodCentres(rng, level.width, level.height, nhoods_per_image, nhood_size);
        parts[lod].push(getDescriptors(level, centres, nhood_size));
      });
      count++;
    }
    if (count === 0) throw new RangeError("cannot describe an empty image set");
    return { images: count, levels: parts.map((p) => finalizeDescriptors(p, this.channels, nhood_size)) };
  }

  /** SWD ×1e3 per level (finest first) between two described sets. */
  distance(a: SetDescriptors, b: SetDescriptors): number[] {
    if (a.levels.length !== this.resolutions.length || b.levels.length !== this.resolutions.length) {
      throw new RangeError(`descriptor sets must have ${this.resolutions.length} levels`);
    }
    return this.resolutions.map((_, lod) =>
      SWD_SCALE * slicedWasserstein(a.levels[lod], b.levels[lod], this.#directions[lod], this.project)
    );
  }

  /** The directions used at a level (for tests and for reproducing a number elsewhere). */
  directionsAt(lod: number): readonly Float32Array[] {
    return this.#directions[lod];
  }
}

/** Per-level SWD ×1e3 (finest first) and their mean, as PGGAN's `API.end` returns them. */
export interface SWDResult {
  resolutions: number[];
  swd: number[];
  average: number;
}

/** Describe two sets of equally sized images and compare them: the whole metric in one call. */
export function multiScaleSWD(
  real: Array<ByteImage | FloatImage>,
  fake: Array<ByteImage | FloatImage>,
  options: Partial<SWDOptions> = {},
  project: Projector = projectDescriptors,
): SWDResult {
  if (real.length === 0 || fake.length === 0) throw new RangeError("both image sets must be non-empty");
  const { width, height, channels } = real[0];
  if (width !== height) throw new RangeError(`images must be square, got ${width}×${height}`);
  const metric = new SlicedWassersteinMetric(width, channels, options, project);
  const swd = metric.distance(metric.describe(real), metric.describe(fake));
  return { resolutions: metric.resolutions, swd, average: mean(swd) };
}

/** Arithmetic mean. */
export function mean(values: number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}
