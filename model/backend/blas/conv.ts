/**
 * 2-D convolutions (NHWC, filter `[kh, kw, cin, cout]`, i.e. a row-major `[kh·kw·cin, cout]` matrix) and
 * their two gradients as a handful of sgemm calls, in one of two formulations.
 *
 * Shifted views (no im2col). The (zero-padded) input is laid out once in a scratch buffer; for a
 * stride-1 convolution each filter tap `(ky, kx)` is then one sgemm whose A matrix is that buffer viewed
 * `ky·Wp + kx` pixels further on (lda = cin): pixel `(y, x)` of the padded grid plus the shift is exactly
 * the input pixel the tap reads. The products accumulate (beta = 1) into an output grid of padded width,
 * whose valid columns are copied out at the end. For stride s the input is first split into its s×s
 * polyphase images (pixel `(s·i + a, s·j + b)` goes to phase `(a, b)` at `(i, j)`); tap `(ky, kx)` reads
 * phase `(ky mod s, kx mod s)` shifted by `(⌊ky/s⌋, ⌊kx/s⌋)`, again one view. The input gradient is the
 * same trick run per output phase of the transposed convolution, and the filter gradient is
 * `A_tapᵀ · dY` with dY laid on the same grid (zeros where the grid has no output). Grid rows that fall
 * in the padding are computed and thrown away; their reads stay inside the scratch buffer because each
 * product stops at the last valid row.
 *
 * im2col, in chunks of output pixels: one long-K product per chunk (and col2im, a scatter-add, for the
 * input gradient). {@link chooseStrategy} picks per call from a measured cost model.
 */
import type { BlasLibrary } from "./ffi.ts";
import { scratch } from "./scratch.ts";

/** Everything a kernel needs to know about one convolution (a subset of tfjs' `Conv2DInfo`). */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  /** Zero rows above the input (the bottom padding follows from the output size). */
  padTop: number;
  /** Zero columns left of the input. */
  padLeft: number;
}

/** How a forward convolution or filter gradient is laid out: shifted views of polyphase images, or im2col. */
export type ConvStrategy = "auto" | "shifted" | "im2col";

let preferred: ConvStrategy = "auto";

/** Force a formulation for every later call ("auto" restores the size-based choice); for tests and benchmarks. */
export function setConvStrategy(strategy: ConvStrategy): void {
  preferred = strategy;
}

/** Floats of im2col columns per chunk (16 MiB). */
let columnChunkFloats = 4 * 1024 * 1024;
/**
 * Nanoseconds of JS work per column float: im2col's copy (forward, filter gradient) and col2im's
 * scatter-add (input gradient), measured here (V8, one core).
 */
let copyNsPerFloat = 0.45;
let addNsPerFloat = 1.0;
/** sgemm flops per nanosecond and thread (OpenBLAS sgemm ≈ 95 GFLOP/s per core here). */
let flopsPerNsPerThread = 95;

/** Tuning knobs of the automatic choice (for the benchmark); returns the values in force. */
export function tuneConv(
  knobs: {
    columnChunkFloats?: number;
    copyNsPerFloat?: number;
    addNsPerFloat?: number;
    flopsPerNsPerThread?: number;
  } = {},
) {
  columnChunkFloats = knobs.columnChunkFloats ?? columnChunkFloats;
  copyNsPerFloat = knobs.copyNsPerFloat ?? copyNsPerFloat;
  addNsPerFloat = knobs.addNsPerFloat ?? addNsPerFloat;
  flopsPerNsPerThread = knobs.flopsPerNsPerThread ?? flopsPerNsPerThread;
  return { columnChunkFloats, copyNsPerFloat, addNsPerFloat, flopsPerNsPerThread };
}

/** Copy `length` floats; short runs in a plain loop, which beats `subarray` + `set` below ~32. */
function copyRun(dst: Float32Array, dstAt: number, src: Float32Array, srcAt: number, length: number): void {
  if (length >= 32) {
    dst.set(src.subarray(srcAt, srcAt + length), dstAt);
  } else {
    for (let i = 0; i < length; i++) dst[dstAt + i] = src[srcAt + i];
  }
}

// ---------------------------------------------------------------------------------------------------
// Polyphase layout of the (virtually zero-padded) input, shared by the forward pass and the filter gradient.

interface PhaseLayout {
  /** Phases used along each axis: min(stride, filter size). */
  phasesH: number;
  phasesW: number;
  /** Height and width of one phase image: output size plus the largest tap shift. */
  height: number;
  width: number;
  /** Floats in one phase (all images of the batch). */
  phaseFloats: number;
  /** Grid rows each product covers: up to and including the last valid output pixel. */
  rows: number;
}

function phaseLayout(g: ConvGeometry): PhaseLayout {
  const phasesH = Math.min(g.strideHeight, g.filterHeight);
  const phasesW = Math.min(g.strideWidth, g.filterWidth);
  const height = g.outHeight + Math.floor((g.filterHeight - 1) / g.strideHeight);
  const width = g.outWidth + Math.floor((g.filterWidth - 1) / g.strideWidth);
  const rows = (g.batch - 1) * height * width + (g.outHeight - 1) * width + g.outWidth;
  return { phasesH, phasesW, height, width, phaseFloats: g.batch * height * width * g.inChannels, rows };
}

/** Write the polyphase images of the zero-padded input `x` into a scratch buffer. */
function fillPhases(x: Float32Array, g: ConvGeometry, layout: PhaseLayout): Float32Array {
  const { phasesH, phasesW, height, width, phaseFloats } = layout;
  const { batch, inHeight, inWidth, inChannels: c, strideHeight: sh, strideWidth: sw } = g;
  const phases = scratch("source", phasesH * phasesW * phaseFloats);
  phases.fill(0, 0, phasesH * phasesW * phaseFloats);
  for (let a = 0; a < phasesH; a++) {
    for (let b = 0; b < phasesW; b++) {
      const base = (a * phasesW + b) * phaseFloats;
      // Columns j whose source column sw·j + b − padLeft lies inside the input.
      const jFirst = Math.max(0, Math.ceil((g.padLeft - b) / sw));
      const jLast = Math.min(width - 1, Math.floor((inWidth - 1 + g.padLeft - b) / sw));
      if (jLast < jFirst) continue;
      for (let n = 0; n < batch; n++) {
        for (let i = 0; i < height; i++) {
          const r = sh * i + a - g.padTop;
          if (r < 0 || r >= inHeight) continue;
          const srcRow = (n * inHeight + r) * inWidth * c;
          const dstRow = base + (n * height + i) * width * c;
          if (sw === 1) {
            copyRun(
              phases,
              dstRow + jFirst * c,
              x,
              srcRow + (jFirst + b - g.padLeft) * c,
              (jLast - jFirst + 1) * c,
            );
          } else {
            for (let j = jFirst; j <= jLast; j++) {
              copyRun(phases, dstRow + j * c, x, srcRow + (sw * j + b - g.padLeft) * c, c);
            }
          }
        }
      }
    }
  }
  return phases;
}

/** The view of the phase buffer that filter tap `(ky, kx)` reads for grid row 0. */
function tapView(phases: Float32Array, g: ConvGeometry, layout: PhaseLayout, ky: number, kx: number) {
  const phase = (ky % g.strideHeight) * layout.phasesW + (kx % g.strideWidth);
  const shift = Math.floor(ky / g.strideHeight) * layout.width + Math.floor(kx / g.strideWidth);
  return phases.subarray(phase * layout.phaseFloats + shift * g.inChannels);
}

// ---------------------------------------------------------------------------------------------------
// im2col / col2im, in chunks of output pixels so that the column buffer stays small

/** Output pixels per im2col chunk: about {@link COLUMN_CHUNK_FLOATS} floats of columns, at least 256 rows. */
function chunkRows(total: number, k: number): number {
  return Math.min(total, Math.max(256, Math.floor(columnChunkFloats / k)));
}

/**
 * Rows `first ... first + count − 1` of the column matrix, whose row `(n, y, x)` holds the patch
 * `(ky, kx, c)` that output pixel `(n, y, x)` sees, written to `columns` from its start.
 */
function fillColumns(
  x: Float32Array,
  g: ConvGeometry,
  first: number,
  count: number,
  columns: Float32Array,
): void {
  const { inHeight, inWidth, inChannels: c, outHeight, outWidth } = g;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = g;
  const k = kh * kw * c;
  let xo = first % outWidth;
  let y = Math.floor(first / outWidth) % outHeight;
  let n = Math.floor(first / (outWidth * outHeight));
  for (let row = 0; row < count * k; row += k) {
    const x0 = sw * xo - g.padLeft;
    const inside = x0 >= 0 && x0 + kw <= inWidth;
    for (let ky = 0; ky < kh; ky++) {
      const r = sh * y + ky - g.padTop;
      const dst = row + ky * kw * c;
      if (r < 0 || r >= inHeight) {
        columns.fill(0, dst, dst + kw * c);
        continue;
      }
      const srcRow = (n * inHeight + r) * inWidth;
      if (inside) {
        copyRun(columns, dst, x, (srcRow + x0) * c, kw * c);
        continue;
      }
      for (let kx = 0; kx < kw; kx++) {
        const col = x0 + kx;
        if (col < 0 || col >= inWidth) columns.fill(0, dst + kx * c, dst + (kx + 1) * c);
        else copyRun(columns, dst + kx * c, x, (srcRow + col) * c, c);
      }
    }
    if (++xo === outWidth) {
      xo = 0;
      if (++y === outHeight) {
        y = 0;
        n++;
      }
    }
  }
}

/** The adjoint of {@link fillColumns}: add each patch of `columns` back onto the input-shaped `dx`. */
function addColumns(
  columns: Float32Array,
  g: ConvGeometry,
  first: number,
  count: number,
  dx: Float32Array,
): void {
  const { inHeight, inWidth, inChannels: c, outHeight, outWidth } = g;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = g;
  const k = kh * kw * c;
  let xo = first % outWidth;
  let y = Math.floor(first / outWidth) % outHeight;
  let n = Math.floor(first / (outWidth * outHeight));
  for (let row = 0; row < count * k; row += k) {
    for (let ky = 0; ky < kh; ky++) {
      const r = sh * y + ky - g.padTop;
      if (r < 0 || r >= inHeight) continue;
      const dstRow = (n * inHeight + r) * inWidth;
      for (let kx = 0; kx < kw; kx++) {
        const col = sw * xo + kx - g.padLeft;
        if (col < 0 || col >= inWidth) continue;
        const dst = (dstRow + col) * c;
        const src = row + (ky * kw + kx) * c;
        for (let i = 0; i < c; i++) dx[dst + i] += columns[src + i];
      }
    }
    if (++xo === outWidth) {
      xo = 0;
      if (++y === outHeight) {
        y = 0;
        n++;
      }
    }
  }
}

/** A 1×1, stride-1, unpadded convolution: one plain matrix product over the pixels. */
function isPointwise(g: ConvGeometry): boolean {
  return g.filterHeight === 1 && g.filterWidth === 1 && g.strideHeight === 1 && g.strideWidth === 1 &&
    g.padTop === 0 && g.padLeft === 0 && g.outHeight === g.inHeight && g.outWidth === g.inWidth;
}

/**
 * Which formulation to use, from a cost model. Both run the same useful flops F. im2col (in chunks)
 * adds a single-threaded JS pass over its kh·kw·cin columns per output pixel: a copy, or for the input
 * gradient a scatter-add. The shifted views skip that pass but also compute the padding rows of the
 * grid: (waste − 1)·F more flops, spread over the BLAS threads. Per output pixel that is
 * `(waste − 1) · 2·K·cout / (rate · threads)` against `K · ns-per-float`, so the shifted views win on
 * large images (little waste) with few output channels, and more often the more threads sgemm has.
 * The constants were measured here; bench/blas_bench.ts --strategies compares the two.
 */
function chooseStrategy(
  g: ConvGeometry,
  strategy: ConvStrategy,
  pass: "forward" | "input",
  threads: number,
): "shifted" | "im2col" {
  if (strategy !== "auto") return strategy;
  const waste = phaseLayout(g).rows / (g.batch * g.outHeight * g.outWidth);
  const extraFlopNs = (waste - 1) * 2 * g.outChannels /
    (flopsPerNsPerThread * (threads > 1 ? 0.95 * threads : 1));
  const columnNs = pass === "input" ? addNsPerFloat : copyNsPerFloat;
  return extraFlopNs < columnNs ? "shifted" : "im2col";
}

// ---------------------------------------------------------------------------------------------------
// Forward

/**
 * `out = conv2d(x, filter)`; `x`, `filter` and `out` are dense NHWC / HWIO views (the wasm heap or JS memory).
 * `out` must not overlap `x` or `filter`.
 */
export function conv2dForward(
  blas: BlasLibrary,
  x: Float32Array,
  filter: Float32Array,
  out: Float32Array,
  g: ConvGeometry,
  strategy: ConvStrategy = preferred,
): void {
  const { batch, inChannels: c, outChannels: co, outHeight, outWidth } = g;
  if (out.length === 0) return;
  if (isPointwise(g)) {
    blas.sgemm({
      transA: false,
      transB: false,
      m: batch * outHeight * outWidth,
      n: co,
      k: c,
      a: x,
      lda: c,
      b: filter,
      ldb: co,
      c: out,
      ldc: co,
    });
    return;
  }
  if (chooseStrategy(g, strategy, "forward", blas.threads) === "im2col") {
    const k = g.filterHeight * g.filterWidth * c;
    const total = batch * outHeight * outWidth;
    const chunk = chunkRows(total, k);
    const columns = scratch("columns", chunk * k);
    for (let first = 0; first < total; first += chunk) {
      const rows = Math.min(chunk, total - first);
      fillColumns(x, g, first, rows, columns);
      blas.sgemm({
        transA: false,
        transB: false,
        m: rows,
        n: co,
        k,
        a: columns,
        lda: k,
        b: filter,
        ldb: co,
        c: out.subarray(first * co),
        ldc: co,
      });
    }
    return;
  }
  const layout = phaseLayout(g);
  const phases = fillPhases(x, g, layout);
  const grid = scratch("grid", layout.rows * co);
  for (let ky = 0; ky < g.filterHeight; ky++) {
    for (let kx = 0; kx < g.filterWidth; kx++) {
      blas.sgemm({
        transA: false,
        transB: false,
        m: layout.rows,
        n: co,
        k: c,
        a: tapView(phases, g, layout, ky, kx),
        lda: c,
        b: filter.subarray((ky * g.filterWidth + kx) * c * co),
        ldb: co,
        beta: ky === 0 && kx === 0 ? 0 : 1,
        c: grid,
        ldc: co,
      });
    }
  }
  // Keep the valid columns of each grid row.
  const imageRows = layout.height * layout.width;
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < outHeight; y++) {
      copyRun(
        out,
        (n * outHeight + y) * outWidth * co,
        grid,
        (n * imageRows + y * layout.width) * co,
        outWidth * co,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Filter gradient

/** `dFilter = Σ_n,y,x patch(x)ᵀ · dy`, written to the dense `[kh, kw, cin, cout]` view `dFilter`. */
export function conv2dBackpropFilter(
  blas: BlasLibrary,
  x: Float32Array,
  dy: Float32Array,
  dFilter: Float32Array,
  g: ConvGeometry,
  strategy: ConvStrategy = preferred,
): void {
  const { batch, inChannels: c, outChannels: co, outHeight, outWidth } = g;
  if (dFilter.length === 0) return;
  const useful = batch * outHeight * outWidth;
  if (useful === 0) {
    dFilter.fill(0);
    return;
  }
  if (isPointwise(g)) {
    blas.sgemm({
      transA: true,
      transB: false,
      m: c,
      n: co,
      k: useful,
      a: x,
      lda: c,
      b: dy,
      ldb: co,
      c: dFilter,
      ldc: co,
    });
    return;
  }
  if (chooseStrategy(g, strategy, "forward", blas.threads) === "im2col") {
    const k = g.filterHeight * g.filterWidth * c;
    const chunk = chunkRows(useful, k);
    const columns = scratch("columns", chunk * k);
    for (let first = 0; first < useful; first += chunk) {
      const rows = Math.min(chunk, useful - first);
      fillColumns(x, g, first, rows, columns);
      blas.sgemm({
        transA: true,
        transB: false,
        m: k,
        n: co,
        k: rows,
        a: columns,
        lda: k,
        b: dy.subarray(first * co),
        ldb: co,
        beta: first === 0 ? 0 : 1,
        c: dFilter,
        ldc: co,
      });
    }
    return;
  }
  const layout = phaseLayout(g);
  const phases = fillPhases(x, g, layout);
  // dy on the phase grid, zero where the grid has no output pixel.
  const imageRows = layout.height * layout.width;
  const grid = scratch("grid", layout.rows * co);
  grid.fill(0, 0, layout.rows * co);
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < outHeight; y++) {
      copyRun(
        grid,
        (n * imageRows + y * layout.width) * co,
        dy,
        (n * outHeight + y) * outWidth * co,
        outWidth * co,
      );
    }
  }
  for (let ky = 0; ky < g.filterHeight; ky++) {
    for (let kx = 0; kx < g.filterWidth; kx++) {
      blas.sgemm({
        transA: true,
        transB: false,
        m: c,
        n: co,
        k: layout.rows,
        a: tapView(phases, g, layout, ky, kx),
        lda: c,
        b: grid,
        ldb: co,
        c: dFilter.subarray((ky * g.filterWidth + kx) * c * co),
        ldc: co,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Input gradient (the transposed convolution)

interface AxisTap {
  /** Filter index along the axis. */
  k: number;
  /** Output-gradient offset: input position s·q + phase reads dy at q − shift. */
  shift: number;
}

interface AxisPhase {
  /** Input positions of this phase: phase, phase + s, ... */
  count: number;
  taps: AxisTap[];
}

interface AxisPlan {
  phases: AxisPhase[];
  /** Zero rows (or columns) placed before dy so that every shifted read is at a non-negative index. */
  before: number;
  /** Padded dy extent along the axis. */
  extent: number;
}

/**
 * Along one axis, input position `s·q + a` receives dy at `q − shift` for every tap `k` with
 * `k ≡ a + pad (mod s)`, `shift = (k − a − pad) / s`.
 */
function axisPlan(
  inSize: number,
  outSize: number,
  filterSize: number,
  stride: number,
  pad: number,
): AxisPlan {
  const phases: AxisPhase[] = [];
  let before = 0;
  let after = 0;
  for (let a = 0; a < stride; a++) {
    const count = Math.max(0, Math.ceil((inSize - a) / stride));
    const taps: AxisTap[] = [];
    for (let k = 0; k < filterSize; k++) {
      const offset = k - a - pad;
      if (((offset % stride) + stride) % stride !== 0) continue;
      const shift = offset / stride;
      taps.push({ k, shift });
      if (count > 0) {
        before = Math.max(before, shift);
        after = Math.max(after, count - shift - outSize);
      }
    }
    phases.push({ count, taps });
  }
  return { phases, before, extent: outSize + before + after };
}

/** `dx = conv2dTranspose(dy, filter)` for the forward convolution `g`, written to the dense NHWC view `dx`. */
export function conv2dBackpropInput(
  blas: BlasLibrary,
  dy: Float32Array,
  filter: Float32Array,
  dx: Float32Array,
  g: ConvGeometry,
  strategy: ConvStrategy = preferred,
): void {
  const { batch, inHeight, inWidth, inChannels: c, outHeight, outWidth, outChannels: co } = g;
  if (dx.length === 0) return;
  if (dy.length === 0 || co === 0) {
    dx.fill(0);
    return;
  }
  if (isPointwise(g)) {
    blas.sgemm({
      transA: false,
      transB: true,
      m: batch * inHeight * inWidth,
      n: c,
      k: co,
      a: dy,
      lda: co,
      b: filter,
      ldb: co,
      c: dx,
      ldc: c,
    });
    return;
  }
  if (chooseStrategy(g, strategy, "input", blas.threads) === "im2col") {
    // col2im: columns = dy · filterᵀ, then every patch is added back where im2col took it from.
    const k = g.filterHeight * g.filterWidth * c;
    const total = batch * outHeight * outWidth;
    const chunk = chunkRows(total, k);
    const columns = scratch("columns", chunk * k);
    dx.fill(0);
    for (let first = 0; first < total; first += chunk) {
      const rows = Math.min(chunk, total - first);
      blas.sgemm({
        transA: false,
        transB: true,
        m: rows,
        n: k,
        k: co,
        a: dy.subarray(first * co),
        lda: co,
        b: filter,
        ldb: co,
        c: columns,
        ldc: k,
      });
      addColumns(columns, g, first, rows, dx);
    }
    return;
  }
  const rowsPlan = axisPlan(inHeight, outHeight, g.filterHeight, g.strideHeight, g.padTop);
  const colsPlan = axisPlan(inWidth, outWidth, g.filterWidth, g.strideWidth, g.padLeft);
  const height = rowsPlan.extent;
  const width = colsPlan.extent;
  const imageRows = height * width;

  // dy, zero-padded so that every tap of every phase is a plain shifted view.
  const padded = scratch("source", batch * imageRows * co);
  padded.fill(0, 0, batch * imageRows * co);
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < outHeight; y++) {
      copyRun(
        padded,
        ((n * height + y + rowsPlan.before) * width + colsPlan.before) * co,
        dy,
        (n * outHeight + y) * outWidth * co,
        outWidth * co,
      );
    }
  }

  const hasEmptyPhase = rowsPlan.phases.some((p) => p.count > 0 && p.taps.length === 0) ||
    colsPlan.phases.some((p) => p.count > 0 && p.taps.length === 0);
  if (hasEmptyPhase) dx.fill(0);

  for (let a = 0; a < rowsPlan.phases.length; a++) {
    const rowPhase = rowsPlan.phases[a];
    if (rowPhase.count === 0 || rowPhase.taps.length === 0) continue;
    for (let b = 0; b < colsPlan.phases.length; b++) {
      const colPhase = colsPlan.phases[b];
      if (colPhase.count === 0 || colPhase.taps.length === 0) continue;
      const rows = (batch - 1) * imageRows + (rowPhase.count - 1) * width + colPhase.count;
      const grid = scratch("grid", rows * c);
      let first = true;
      for (const rowTap of rowPhase.taps) {
        for (const colTap of colPhase.taps) {
          const shift = (rowsPlan.before - rowTap.shift) * width + (colsPlan.before - colTap.shift);
          blas.sgemm({
            transA: false,
            transB: true,
            m: rows,
            n: c,
            k: co,
            a: padded.subarray(shift * co),
            lda: co,
            b: filter.subarray((rowTap.k * g.filterWidth + colTap.k) * c * co),
            ldb: co,
            beta: first ? 0 : 1,
            c: grid,
            ldc: c,
          });
          first = false;
        }
      }
      // Scatter the phase into dx.
      const sh = g.strideHeight;
      const sw = g.strideWidth;
      for (let n = 0; n < batch; n++) {
        for (let q = 0; q < rowPhase.count; q++) {
          const dxRow = (n * inHeight + sh * q + a) * inWidth;
          const gridRow = n * imageRows + q * width;
          if (sw === 1) {
            copyRun(dx, dxRow * c, grid, gridRow * c, inWidth * c);
          } else {
            for (let p = 0; p < colPhase.count; p++) {
              copyRun(dx, (dxRow + sw * p + b) * c, grid, (gridRow + p) * c, c);
            }
          }
        }
      }
    }
  }
}
