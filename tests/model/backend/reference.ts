/**
 * Independent truth for the backend tests: float64 reference implementations in plain JavaScript and
 * central finite differences. Nothing here calls TensorFlow.js.
 */

/** A dense float64 array with a row-major shape. */
export interface Nd {
  shape: number[];
  data: Float64Array;
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function nd(shape: number[], data?: ArrayLike<number>): Nd {
  const out = new Float64Array(size(shape));
  if (data) out.set(Array.from(data));
  return { shape: shape.slice(), data: out };
}

function strides(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Build an array by computing every output element from its multi-index. */
export function fromIndex(shape: number[], value: (idx: number[]) => number): Nd {
  const out = nd(shape);
  const st = strides(shape);
  const idx = new Array(shape.length).fill(0);
  for (let flat = 0; flat < out.data.length; flat++) {
    let rem = flat;
    for (let d = 0; d < shape.length; d++) {
      idx[d] = Math.floor(rem / st[d]);
      rem -= idx[d] * st[d];
    }
    out.data[flat] = value(idx);
  }
  return out;
}

/** Element at a multi-index; `undefined` outside the array (callers decide: zero pad, clamp, ...). */
export function at(a: Nd, idx: readonly number[]): number | undefined {
  let flat = 0;
  const st = strides(a.shape);
  for (let d = 0; d < a.shape.length; d++) {
    if (idx[d] < 0 || idx[d] >= a.shape[d]) return undefined;
    flat += idx[d] * st[d];
  }
  return a.data[flat];
}

/** Deterministic PRNG (mulberry32) so every backend sees the same numbers. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard-normal values rounded to float32, so the float32 side and the float64 side share inputs. */
export function randn(shape: number[], seed: number, scale = 1): Nd {
  const r = rng(seed);
  const out = nd(shape);
  for (let i = 0; i < out.data.length; i++) {
    const u = Math.max(r(), 1e-12), v = r();
    out.data[i] = Math.fround(scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

/** Uniform values in [lo, hi), rounded to float32. */
export function uniform(shape: number[], seed: number, lo: number, hi: number): Nd {
  const r = rng(seed);
  const out = nd(shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.fround(lo + (hi - lo) * r());
  return out;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Central finite differences of a scalar function of several arrays, with respect to input `which`,
 * at the entries `entries` (all when omitted). Runs in float64.
 */
export function finiteDifference(
  fn: (...xs: Nd[]) => number,
  inputs: Nd[],
  which: number,
  h = 1e-5,
  entries?: number[],
): Float64Array {
  const x = inputs[which];
  const list = entries ?? Array.from({ length: x.data.length }, (_, i) => i);
  const out = new Float64Array(list.length);
  list.forEach((i, k) => {
    const keep = x.data[i];
    x.data[i] = keep + h;
    const plus = fn(...inputs);
    x.data[i] = keep - h;
    const minus = fn(...inputs);
    x.data[i] = keep;
    out[k] = (plus - minus) / (2 * h);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Convolution geometry (TensorFlow's rules, re-derived here).

export type Pad = "same" | "valid" | number | [
  [number, number],
  [number, number],
  [number, number],
  [number, number],
];

export interface Geometry {
  outH: number;
  outW: number;
  top: number;
  left: number;
}

/** Output size and leading padding of a 2-D window op, TensorFlow conventions (effective filter size k). */
export function geometry(
  h: number,
  w: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pad: Pad,
  rounding: "floor" | "round" | "ceil" = "floor",
): Geometry {
  if (pad === "same") {
    const outH = Math.ceil(h / sh), outW = Math.ceil(w / sw);
    const ph = Math.max(0, (outH - 1) * sh + kh - h), pw = Math.max(0, (outW - 1) * sw + kw - w);
    return { outH, outW, top: Math.floor(ph / 2), left: Math.floor(pw / 2) };
  }
  if (pad === "valid") {
    return { outH: Math.ceil((h - kh + 1) / sh), outW: Math.ceil((w - kw + 1) / sw), top: 0, left: 0 };
  }
  if (typeof pad === "number") {
    const round = Math[rounding];
    return {
      outH: round((h - kh + 2 * pad) / sh + 1),
      outW: round((w - kw + 2 * pad) / sw + 1),
      top: pad,
      left: pad,
    };
  }
  const [, [t, b], [l, r]] = pad;
  return {
    outH: Math.floor((h + t + b - kh) / sh + 1),
    outW: Math.floor((w + l + r - kw) / sw + 1),
    top: t,
    left: l,
  };
}

export interface ConvSpec {
  strides?: number | [number, number];
  dilations?: number | [number, number];
  pad: Pad;
  rounding?: "floor" | "round" | "ceil";
}

function pair(v: number | [number, number] | undefined): [number, number] {
  return v == null ? [1, 1] : typeof v === "number" ? [v, v] : v;
}

function convGeometry(
  xShape: number[],
  kh: number,
  kw: number,
  spec: ConvSpec,
): Geometry & { s: number[]; d: number[] } {
  const s = pair(spec.strides), d = pair(spec.dilations);
  const ekh = (kh - 1) * d[0] + 1, ekw = (kw - 1) * d[1] + 1;
  return { ...geometry(xShape[1], xShape[2], ekh, ekw, s[0], s[1], spec.pad, spec.rounding), s, d };
}

/** Direct NHWC convolution (cross-correlation), filter [kh, kw, Cin, Cout]. */
export function conv2d(x: Nd, f: Nd, spec: ConvSpec): Nd {
  const [n, , , cin] = x.shape;
  const [kh, kw, , cout] = f.shape;
  const g = convGeometry(x.shape, kh, kw, spec);
  return fromIndex([n, g.outH, g.outW, cout], ([b, y, xx, o]) => {
    let acc = 0;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const r = y * g.s[0] + i * g.d[0] - g.top, c = xx * g.s[1] + j * g.d[1] - g.left;
        if (r < 0 || c < 0 || r >= x.shape[1] || c >= x.shape[2]) continue;
        for (let ci = 0; ci < cin; ci++) {
          acc += x.data[((b * x.shape[1] + r) * x.shape[2] + c) * cin + ci] *
            f.data[((i * kw + j) * cin + ci) * cout + o];
        }
      }
    }
    return acc;
  });
}

/** dW of {@link conv2d}: Σ over batch and output positions of x-patch ⊗ dy. */
export function conv2dBackpropFilter(x: Nd, dy: Nd, filterShape: number[], spec: ConvSpec): Nd {
  const [n, h, w, cin] = x.shape;
  const [kh, kw, , cout] = filterShape;
  const g = convGeometry(x.shape, kh, kw, spec);
  const out = nd(filterShape);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < g.outH; y++) {
      for (let xx = 0; xx < g.outW; xx++) {
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const r = y * g.s[0] + i * g.d[0] - g.top, c = xx * g.s[1] + j * g.d[1] - g.left;
            if (r < 0 || c < 0 || r >= h || c >= w) continue;
            for (let ci = 0; ci < cin; ci++) {
              const xv = x.data[((b * h + r) * w + c) * cin + ci];
              for (let o = 0; o < cout; o++) {
                out.data[((i * kw + j) * cin + ci) * cout + o] += xv *
                  dy.data[((b * g.outH + y) * g.outW + xx) * cout + o];
              }
            }
          }
        }
      }
    }
  }
  return out;
}

/** dx of {@link conv2d}. */
export function conv2dBackpropInput(xShape: number[], dy: Nd, f: Nd, spec: ConvSpec): Nd {
  const [n, h, w, cin] = xShape;
  const [kh, kw, , cout] = f.shape;
  const g = convGeometry(xShape, kh, kw, spec);
  const out = nd(xShape);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < g.outH; y++) {
      for (let xx = 0; xx < g.outW; xx++) {
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const r = y * g.s[0] + i * g.d[0] - g.top, c = xx * g.s[1] + j * g.d[1] - g.left;
            if (r < 0 || c < 0 || r >= h || c >= w) continue;
            for (let ci = 0; ci < cin; ci++) {
              let acc = 0;
              for (let o = 0; o < cout; o++) {
                acc += f.data[((i * kw + j) * cin + ci) * cout + o] *
                  dy.data[((b * g.outH + y) * g.outW + xx) * cout + o];
              }
              out.data[((b * h + r) * w + c) * cin + ci] += acc;
            }
          }
        }
      }
    }
  }
  return out;
}

/** Direct NHWC depthwise convolution, filter [kh, kw, C, m], output channel c·m + q. */
export function depthwiseConv2d(x: Nd, f: Nd, spec: ConvSpec): Nd {
  const [n, h, w, ch] = x.shape;
  const [kh, kw, , m] = f.shape;
  const g = convGeometry(x.shape, kh, kw, spec);
  return fromIndex([n, g.outH, g.outW, ch * m], ([b, y, xx, oc]) => {
    const c = Math.floor(oc / m), q = oc % m;
    let acc = 0;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const r = y * g.s[0] + i * g.d[0] - g.top, cc = xx * g.s[1] + j * g.d[1] - g.left;
        if (r < 0 || cc < 0 || r >= h || cc >= w) continue;
        acc += x.data[((b * h + r) * w + cc) * ch + c] * f.data[((i * kw + j) * ch + c) * m + q];
      }
    }
    return acc;
  });
}

/** dx of {@link depthwiseConv2d}. */
export function depthwiseBackpropInput(xShape: number[], dy: Nd, f: Nd, spec: ConvSpec): Nd {
  const [n, h, w, ch] = xShape;
  const [kh, kw, , m] = f.shape;
  const g = convGeometry(xShape, kh, kw, spec);
  const out = nd(xShape);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < g.outH; y++) {
      for (let xx = 0; xx < g.outW; xx++) {
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const r = y * g.s[0] + i * g.d[0] - g.top, cc = xx * g.s[1] + j * g.d[1] - g.left;
            if (r < 0 || cc < 0 || r >= h || cc >= w) continue;
            for (let c = 0; c < ch; c++) {
              for (let q = 0; q < m; q++) {
                out.data[((b * h + r) * w + cc) * ch + c] += f.data[((i * kw + j) * ch + c) * m + q] *
                  dy.data[((b * g.outH + y) * g.outW + xx) * ch * m + c * m + q];
              }
            }
          }
        }
      }
    }
  }
  return out;
}

/** dW of {@link depthwiseConv2d}. */
export function depthwiseBackpropFilter(x: Nd, dy: Nd, filterShape: number[], spec: ConvSpec): Nd {
  const [n, h, w, ch] = x.shape;
  const [kh, kw, , m] = filterShape;
  const g = convGeometry(x.shape, kh, kw, spec);
  const out = nd(filterShape);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < g.outH; y++) {
      for (let xx = 0; xx < g.outW; xx++) {
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const r = y * g.s[0] + i * g.d[0] - g.top, cc = xx * g.s[1] + j * g.d[1] - g.left;
            if (r < 0 || cc < 0 || r >= h || cc >= w) continue;
            for (let c = 0; c < ch; c++) {
              for (let q = 0; q < m; q++) {
                out.data[((i * kw + j) * ch + c) * m + q] += x.data[((b * h + r) * w + cc) * ch + c] *
                  dy.data[((b * g.outH + y) * g.outW + xx) * ch * m + c * m + q];
              }
            }
          }
        }
      }
    }
  }
  return out;
}

/** Average pooling over 'valid' windows (the only kind the networks use). */
export function avgPoolValid(x: Nd, k: number, s: number): Nd {
  const [n, h, w, c] = x.shape;
  const oh = Math.floor((h - k) / s) + 1, ow = Math.floor((w - k) / s) + 1;
  return fromIndex([n, oh, ow, c], ([b, y, xx, ch]) => {
    let acc = 0;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) acc += at(x, [b, y * s + i, xx * s + j, ch]) as number;
    }
    return acc / (k * k);
  });
}

/**
 * Average pooling with TensorFlow's geometry. `divideBy: "valid"` averages over the window's entries inside
 * the input (the forward op); `"window"` divides the zero-padded sum by kh·kw (what AvgPoolGrad transposes).
 */
export function avgPool(
  x: Nd,
  k: number,
  s: number,
  pad: "same" | "valid",
  divideBy: "valid" | "window" = "valid",
): Nd {
  const [n, h, w, c] = x.shape;
  const g = geometry(h, w, k, k, s, s, pad);
  return fromIndex([n, g.outH, g.outW, c], ([b, y, xx, ch]) => {
    let acc = 0, count = 0;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const v = at(x, [b, y * s + i - g.top, xx * s + j - g.left, ch]);
        if (v === undefined) continue;
        acc += v;
        count++;
      }
    }
    return acc / (divideBy === "valid" ? count : k * k);
  });
}

/** Nearest-neighbour resize, TensorFlow's default (no corner alignment, no half-pixel centres). */
export function resizeNearest(x: Nd, oh: number, ow: number): Nd {
  const [n, h, w, c] = x.shape;
  return fromIndex(
    [n, oh, ow, c],
    ([b, y, xx, ch]) =>
      at(x, [
        b,
        Math.min(h - 1, Math.floor((y * h) / oh)),
        Math.min(w - 1, Math.floor((xx * w) / ow)),
        ch,
      ]) as number,
  );
}

/** Bilinear resize, TensorFlow's default (no corner alignment, no half-pixel centres). */
export function resizeBilinear(x: Nd, oh: number, ow: number): Nd {
  const [n, h, w, c] = x.shape;
  return fromIndex([n, oh, ow, c], ([b, y, xx, ch]) => {
    const sy = (y * h) / oh, sx = (xx * w) / ow;
    const y0 = Math.floor(sy), x0 = Math.floor(sx);
    const y1 = Math.min(y0 + 1, h - 1), x1 = Math.min(x0 + 1, w - 1);
    const fy = sy - y0, fx = sx - x0;
    const v = (r: number, q: number) => at(x, [b, r, q, ch]) as number;
    const top = v(y0, x0) + (v(y0, x1) - v(y0, x0)) * fx;
    const bottom = v(y1, x0) + (v(y1, x1) - v(y1, x0)) * fx;
    return top + (bottom - top) * fy;
  });
}

/** The transpose of a linear map given as a function, built column by column from basis vectors. */
export function adjoint(linear: (x: Nd) => Nd, inShape: number[], dy: Nd): Nd {
  const out = nd(inShape);
  const e = nd(inShape);
  for (let i = 0; i < e.data.length; i++) {
    e.data[i] = 1;
    out.data[i] = dot(linear(e).data, dy.data);
    e.data[i] = 0;
  }
  return out;
}

export function leakyRelu(x: Nd, alpha: number): Nd {
  return { shape: x.shape.slice(), data: x.data.map((v) => (v > 0 ? v : alpha * v)) };
}

export function add(a: Nd, b: Nd): Nd {
  return { shape: a.shape.slice(), data: a.data.map((v, i) => v + b.data[i % b.data.length]) };
}

/** [N, K] · [K, M]. */
export function matMul(a: Nd, b: Nd): Nd {
  const [n, k] = a.shape, m = b.shape[1];
  return fromIndex([n, m], ([i, j]) => {
    let acc = 0;
    for (let t = 0; t < k; t++) acc += a.data[i * k + t] * b.data[t * m + j];
    return acc;
  });
}

/** The normalised separable blur kernel of StyleGAN's `BlurLayer`, depthwise, zero padding (K-1)//2. */
export function blur(x: Nd, kernel1d: number[] = [1, 2, 1]): Nd {
  const k = kernel1d.length;
  const total = kernel1d.reduce((s, v) => s + v, 0) ** 2;
  const p = Math.floor((k - 1) / 2);
  const [n, h, w, c] = x.shape;
  const oh = h + 2 * p - k + 1, ow = w + 2 * p - k + 1;
  return fromIndex([n, oh, ow, c], ([b, y, xx, ch]) => {
    let acc = 0;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        acc += (at(x, [b, y + i - p, xx + j - p, ch]) ?? 0) * kernel1d[i] * kernel1d[j];
      }
    }
    return acc / total;
  });
}
