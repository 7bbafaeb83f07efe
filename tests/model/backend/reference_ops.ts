/** Float64 plain-JS references of the standard tfjs ops whose gradients model/backend/gradients.ts provides. */
import { at, fromIndex, type Nd, nd, size } from "./reference.ts";

export function map(x: Nd, f: (v: number) => number): Nd {
  return { shape: x.shape.slice(), data: x.data.map(f) };
}

/** Elementwise binary op with NumPy broadcasting. */
export function broadcast(a: Nd, b: Nd, f: (x: number, y: number) => number): Nd {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pa = [...new Array(rank - a.shape.length).fill(1), ...a.shape];
  const pb = [...new Array(rank - b.shape.length).fill(1), ...b.shape];
  const out = pa.map((d, i) => Math.max(d, pb[i]));
  const A = { shape: pa, data: a.data }, B = { shape: pb, data: b.data };
  return fromIndex(out, (idx) =>
    f(
      at(A, idx.map((v, i) => (pa[i] === 1 ? 0 : v))) as number,
      at(B, idx.map((v, i) => (pb[i] === 1 ? 0 : v))) as number,
    ));
}

export function reduce(x: Nd, axes: number[], f: (acc: number, v: number) => number, init: number): Nd {
  const outShape = x.shape.filter((_, i) => !axes.includes(i));
  const out = nd(outShape);
  out.data.fill(init);
  const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  fromIndex(x.shape, (idx) => {
    const o = keep.map((i) => idx[i]);
    let flat = 0;
    for (let d = 0; d < o.length; d++) flat = flat * outShape[d] + o[d];
    out.data[flat] = f(out.data[flat], at(x, idx) as number);
    return 0;
  });
  return out;
}

export function sum(x: Nd, axes: number[]): Nd {
  return reduce(x, axes, (a, v) => a + v, 0);
}

export function mean(x: Nd, axes: number[]): Nd {
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  return map(sum(x, axes), (v) => v / n);
}

export function cumsum(x: Nd, axis: number, exclusive = false, reverse = false): Nd {
  return fromIndex(x.shape, (idx) => {
    let acc = 0;
    const n = x.shape[axis];
    for (let k = 0; k < n; k++) {
      const take = reverse
        ? (exclusive ? k > idx[axis] : k >= idx[axis])
        : (exclusive ? k < idx[axis] : k <= idx[axis]);
      if (!take) continue;
      const j = idx.slice();
      j[axis] = k;
      acc += at(x, j) as number;
    }
    return acc;
  });
}

export function transpose(x: Nd, perm: number[]): Nd {
  return fromIndex(perm.map((p) => x.shape[p]), (idx) => {
    const src = new Array(perm.length);
    perm.forEach((p, k) => (src[p] = idx[k]));
    return at(x, src) as number;
  });
}

export function tile(x: Nd, reps: number[]): Nd {
  return fromIndex(
    x.shape.map((d, i) => d * reps[i]),
    (idx) => at(x, idx.map((v, i) => v % x.shape[i])) as number,
  );
}

export function slice(x: Nd, begin: number[], sizes: number[]): Nd {
  return fromIndex(sizes, (idx) => at(x, idx.map((v, i) => v + begin[i])) as number);
}

export function pad(x: Nd, paddings: Array<[number, number]>, value = 0): Nd {
  return fromIndex(
    x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]),
    (idx) => at(x, idx.map((v, i) => v - paddings[i][0])) ?? value,
  );
}

export function mirrorPad(x: Nd, paddings: Array<[number, number]>, mode: "reflect" | "symmetric"): Nd {
  const s = mode === "symmetric" ? 1 : 0;
  return fromIndex(x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]), (idx) =>
    at(
      x,
      idx.map((v, i) => {
        const n = x.shape[i], j = v - paddings[i][0];
        return j < 0 ? -j - s : j >= n ? 2 * n - 2 - j + s : j;
      }),
    ) as number);
}

export function concat(xs: Nd[], axis: number): Nd {
  const shape = xs[0].shape.slice();
  shape[axis] = xs.reduce((p, x) => p + x.shape[axis], 0);
  return fromIndex(shape, (idx) => {
    let k = idx[axis];
    for (const x of xs) {
      if (k < x.shape[axis]) {
        const j = idx.slice();
        j[axis] = k;
        return at(x, j) as number;
      }
      k -= x.shape[axis];
    }
    throw new Error("concat: index out of range");
  });
}

export function reverse(x: Nd, axes: number[]): Nd {
  return fromIndex(
    x.shape,
    (idx) => at(x, idx.map((v, i) => (axes.includes(i) ? x.shape[i] - 1 - v : v))) as number,
  );
}

export function gather(x: Nd, indices: number[], axis: number): Nd {
  const shape = x.shape.slice();
  shape[axis] = indices.length;
  return fromIndex(shape, (idx) => at(x, idx.map((v, i) => (i === axis ? indices[v] : v))) as number);
}

export function reshape(x: Nd, shape: number[]): Nd {
  if (size(shape) !== x.data.length) throw new Error("reshape: size mismatch");
  return { shape, data: x.data.slice() };
}

/** Batched matMul with transposes and broadcast batch dimensions. */
export function matMul(a: Nd, b: Nd, ta = false, tb = false): Nd {
  const ar = a.shape.length, br = b.shape.length;
  const [m, k] = ta ? [a.shape[ar - 1], a.shape[ar - 2]] : [a.shape[ar - 2], a.shape[ar - 1]];
  const n = tb ? b.shape[br - 2] : b.shape[br - 1];
  const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
  const rank = Math.max(batchA.length, batchB.length);
  const pa = [...new Array(rank - batchA.length).fill(1), ...batchA];
  const pb = [...new Array(rank - batchB.length).fill(1), ...batchB];
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  return fromIndex([...batch, m, n], (idx) => {
    const bi = idx.slice(0, rank), i = idx[rank], j = idx[rank + 1];
    const ia = bi.map((v, d) => (pa[d] === 1 ? 0 : v)).slice(rank - batchA.length);
    const ib = bi.map((v, d) => (pb[d] === 1 ? 0 : v)).slice(rank - batchB.length);
    let acc = 0;
    for (let t = 0; t < k; t++) {
      const av = at(a, ta ? [...ia, t, i] : [...ia, i, t]) as number;
      const bv = at(b, tb ? [...ib, j, t] : [...ib, t, j]) as number;
      acc += av * bv;
    }
    return acc;
  });
}

export function softmax(x: Nd): Nd {
  const last = x.shape[x.shape.length - 1];
  const out = nd(x.shape);
  for (let r = 0; r < x.data.length / last; r++) {
    const row = x.data.subarray(r * last, (r + 1) * last);
    const mx = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - mx));
    const s = e.reduce((p, v) => p + v, 0);
    e.forEach((v, i) => (out.data[r * last + i] = v / s));
  }
  return out;
}

export function maxPoolValid(x: Nd, k: number, s: number): Nd {
  const [n, h, w, c] = x.shape;
  return fromIndex([n, Math.floor((h - k) / s) + 1, Math.floor((w - k) / s) + 1, c], ([b, y, xx, ch]) => {
    let m = -Infinity;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) m = Math.max(m, at(x, [b, y * s + i, xx * s + j, ch]) as number);
    }
    return m;
  });
}

/** erf by its Maclaurin series (float64-accurate for |x| ≤ 2). */
export function erf(x: number): number {
  let term = x, acc = x;
  for (let n = 1; n < 60; n++) {
    term *= (-x * x) / n;
    acc += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * acc;
}

export const SELU_ALPHA = 1.6732632423543772848170429916717;
export const SELU_SCALE = 1.0507009873554804934193349852946;
