/**
 * WGSL compute shaders of the WebGPU synthesis path (model/webgpu/synthesis.ts). All tensors are NHWC float32,
 * like the rest of the project. Written by hand because nothing on npm offers fused StyleGAN layers for
 * WebGPU, and tfjs-webgpu's own kernels cost one dispatch (with its own uniform buffer and bind group) per op.
 */

/** Tile of the implicit-GEMM convolution: TM output pixels × TN output channels per workgroup, TK per K step. */
export interface ConvTile {
  tm: number;
  tn: number;
  tk: number;
  /** Outputs per thread along M and N: (tm / rm) · (tn / rn) must be 256 threads. */
  rm: number;
  rn: number;
  /** Issue the next K step's global loads before this step's arithmetic (register double-buffering). */
  prefetch?: boolean;
}

/**
 * The tiles a layer's convolution may use, largest first (model/webgpu/synthesis.ts picks per layer the first
 * that still gives the GPU enough workgroups). 128×128 with 8×8 outputs per thread is the classic SGEMM
 * blocking for NVIDIA GPUs; the smaller ones serve the 4–16 px layers, whose few output pixels would otherwise
 * leave most of the GPU idle. Untuned: `SGAN_WEBGPU_TILE` puts another first, for measuring on a new GPU.
 */
export const CONV_TILES: readonly ConvTile[] = [
  { tm: 128, tn: 128, tk: 8, rm: 8, rn: 8 },
  { tm: 128, tn: 64, tk: 8, rm: 8, rn: 4 },
  { tm: 64, tn: 64, tk: 16, rm: 4, rn: 4 },
  { tm: 32, tn: 32, tk: 16, rm: 2, rn: 2 },
];

/** Threads per workgroup in every shader here. */
export const WORKGROUP = 256;
/** Channels per epilogue workgroup (the other 256 / 32 = 8 lanes split the pixels). */
export const EPI_CHANNELS = 32;
export const EPI_LANES = WORKGROUP / EPI_CHANNELS;
/** Style outputs per styles workgroup. */
export const STYLE_COLUMNS = 64;

/** `tm×tn×tk/rm×rn` (and ` prefetch`): how logs and profiles name a tile. */
export function tileName(t: ConvTile): string {
  return `${t.tm}×${t.tn}×${t.tk}/${t.rm}×${t.rn}${t.prefetch ? " prefetch" : ""}`;
}

/** Throws unless the tile gives 256 threads with whole per-thread blocks. */
export function checkTile(t: ConvTile): void {
  const threads = (t.tm / t.rm) * (t.tn / t.rn);
  if (threads !== WORKGROUP || t.tm % t.rm !== 0 || t.tn % t.rn !== 0) {
    throw new Error(`conv tile ${JSON.stringify(t)} must give ${WORKGROUP} threads (tm/rm · tn/rn)`);
  }
}

/** Workgroup memory of {@link convShader}'s tile: the A (tm × tk) and B (tk × tn) blocks of a K step, f32. */
export function tileWorkgroupBytes(t: ConvTile): number {
  return (t.tm + t.tn) * t.tk * 4;
}

/** Whether the vec4 form of {@link convShader} can run this tile (it also needs cin and cout multiples of 4). */
export function vectorizable(t: ConvTile): boolean {
  return t.tk % 4 === 0 && t.rm % 4 === 0 && t.rn % 4 === 0;
}

/** Uniform layout of the convolution (12 u32 words). */
export const CONV_PARAMS = [
  "batch",
  "inSize",
  "cin",
  "cout",
  "grid",
  "outSize",
  "taps",
  "stride",
  "kTotal",
  "hasBias",
  "pad0",
  "pad1",
] as const;

/**
 * Convolution as an implicit GEMM: rows are output pixels (of one parity `phase` = workgroup z when stride 2),
 * columns output channels, K = taps² · cin read straight from the NHWC input (zero outside it). The polyphase
 * kernels of an upscaling convolution are `phase`-major, so stride 2 with taps 2 is nearest ×2 + 3×3.
 *
 * `vec4`: global loads, shared-memory reads and accumulators as vec4 (4 input channels or 4 output channels at
 * a time; needs cin and cout multiples of 4 and {@link vectorizable}); otherwise scalar, for any channel count.
 * `aligned`: cin is a multiple of tk, so each K step lies in one tap and is decoded once, not per element.
 *
 * Everything per thread is unrolled here, in the generator: the accumulators and row positions are separate
 * variables, never arrays indexed in loops, so no shader compiler can leave them in (slow) local memory.
 */
export function convShader(t: ConvTile, vec4 = false, aligned = false): string {
  checkTile(t);
  if (vec4 && !vectorizable(t)) throw new Error(`conv tile ${JSON.stringify(t)} cannot be vectorised`);
  const cols = t.tn / t.rn;
  const v = vec4 ? 4 : 1;
  const elem = vec4 ? "vec4<f32>" : "f32";
  const aTotal = (t.tm * t.tk) / v;
  const bTotal = (t.tn * t.tk) / v;
  const loadsA = range(Math.ceil(aTotal / WORKGROUP));
  const loadsB = range(Math.ceil(bTotal / WORKGROUP));
  const rowsR = range(t.rm);
  const colsJ = range(t.rn / v);
  const rnv = t.rn / v;
  const guardAt = (total: number, i: number) =>
    (i + 1) * WORKGROUP > total ? `if (t + ${i * WORKGROUP}u < ${total}u) ` : "";

  const rowDecode = loadsA.map((i) => `
  var rowBase${i} = 0u;
  var rowY${i} = -65536;
  var rowX${i} = -65536;
  {
    let m = m0 + (t + ${i * WORKGROUP}u) / ${t.tk / v}u;
    if (m < M) {
      let rem = m % gridPix;
      rowBase${i} = (m / gridPix) * P.inSize * P.inSize;
      rowY${i} = i32(rem / P.grid) + offY;
      rowX${i} = i32(rem % P.grid) + offX;
    }
  }`).join("");
  // The K step being fetched is `kf`; in the aligned form its tap is decoded once per step (see fetch()).
  const kDecode = (i: number) =>
    aligned
      ? `let ci = cf + kqA${i} * ${v}u;
        let iy = rowY${i} + tyf;
        let ix = rowX${i} + txf;`
      : `let k = min(kf + kqA${i} * ${v}u, P.kTotal);
        let ci = k % P.cin;
        let tap = k / P.cin;
        var iy = rowY${i} + i32(tap / P.taps);
        let ix = rowX${i} + i32(tap % P.taps);
        if (k == P.kTotal) { iy = -65536; }`;
  // Each thread's share of a K step: A elements at (row rA, k kqA), B elements at (k kB, channel nB), fixed
  // positions within the step, held in registers pa/pb between the global loads and the shared-memory stores.
  const slots = [
    ...loadsA.map((i) =>
      `let rA${i} = (t + ${i * WORKGROUP}u) / ${t.tk / v}u;
  let kqA${i} = (t + ${i * WORKGROUP}u) % ${t.tk / v}u;
  var pa${i} = ${elem}(0.0);`
    ),
    ...loadsB.map((i) =>
      `let kB${i} = (t + ${i * WORKGROUP}u) / ${t.tn / v}u;
  let nB${i} = (t + ${i * WORKGROUP}u) % ${t.tn / v}u;
  var pb${i} = ${elem}(0.0);`
    ),
  ].join("\n  ");
  /** Global loads of the K step starting at `k` into pa/pb. */
  const fetch = (k: string) =>
    `{
      let kf = ${k};${
      aligned
        ? `
      let tapf = kf / P.cin;
      let cf = kf % P.cin;
      let tyf = i32(tapf / P.taps);
      let txf = i32(tapf % P.taps);`
        : ""
    }${
      loadsA.map((i) => `
      {
        pa${i} = ${elem}(0.0);
        ${kDecode(i)}
        if (iy >= 0 && ix >= 0 && iy < i32(P.inSize) && ix < i32(P.inSize)) {
          pa${i} = src[((rowBase${i} + u32(iy) * P.inSize + u32(ix)) * P.cin + ci) / ${v}u];
        }
      }`).join("")
    }${
      loadsB.map((i) => `
      {
        pb${i} = ${elem}(0.0);
        let k = kf + kB${i};
        let co = n0 + nB${i} * ${v}u;
        if (k < P.kTotal && co < P.cout) { pb${i} = weight[(wBase + k * P.cout + co) / ${v}u]; }
      }`).join("")
    }
    }`;
  const aStore = (i: number) =>
    vec4
      ? [0, 1, 2, 3].map((e) =>
        `As[(kqA${i} * 4u + ${e}u) * ${t.tm / 4}u + rA${i} / 4u][rA${i} % 4u] = pa${i}.${"xyzw"[e]};`
      ).join("\n      ")
      : `As[kqA${i} * ${t.tm}u + rA${i}] = pa${i};`;
  /** Shared-memory stores of pa/pb (A k-major; in the vec4 form each vec4 of As holds 4 consecutive rows). */
  const stash = [
    ...loadsA.map((i) =>
      `${guardAt(aTotal, i)}{
      ${aStore(i)}
    }`
    ),
    ...loadsB.map((i) => `${guardAt(bTotal, i)}{ Bs[t + ${i * WORKGROUP}u] = pb${i}; }`),
  ].join("\n    ");
  // One K index: read this thread's rm rows of A and rn columns of B from shared memory, rm · rn/v FMAs.
  const aValue = (r: number) => vec4 ? `q${Math.floor(r / 4)}.${"xyzw"[r % 4]}` : `a${r}`;
  const readA = vec4
    ? range(t.rm / 4).map((q) => `let q${q} = As[kk * ${t.tm / 4}u + tRow * ${t.rm / 4}u + ${q}u];`)
    : rowsR.map((r) => `let a${r} = As[kk * ${t.tm}u + tRow * ${t.rm}u + ${r}u];`);
  const readB = colsJ.map((j) => `let b${j} = Bs[kk * ${t.tn / v}u + tCol * ${rnv}u + ${j}u];`);
  const fmas = rowsR.flatMap((r) =>
    colsJ.map((j) => `acc${r}_${j} = fma(${elem}(${aValue(r)}), b${j}, acc${r}_${j});`)
  );
  const store = rowsR.map((r) => `
  {
    let m = m0 + tRow * ${t.rm}u + ${r}u;
    if (m < M) {
      let rem = m % gridPix;
      let oy = (rem / P.grid) * P.stride + py;
      let ox = (rem % P.grid) * P.stride + px;
      let base = (((m / gridPix) * P.outSize + oy) * P.outSize + ox) * P.cout;${
    colsJ.map((j) => `
      {
        let co = n0 + tCol * ${t.rn}u + ${j * v}u;
        if (co < P.cout) {
          var o = acc${r}_${j};
          if (P.hasBias == 1u) { o = o + bias[co / ${v}u]; }
          dst[(base + co) / ${v}u] = o;
        }
      }`).join("")
  }
    }
  }`).join("");

  return /* wgsl */ `
${paramsStruct(CONV_PARAMS)}
@group(0) @binding(0) var<uniform> P : Params;
@group(0) @binding(1) var<storage, read> src : array<${elem}>;
@group(0) @binding(2) var<storage, read> weight : array<${elem}>;
@group(0) @binding(3) var<storage, read> bias : array<${elem}>;
@group(0) @binding(4) var<storage, read_write> dst : array<${elem}>;

var<workgroup> As : array<${elem}, ${aTotal}>;
var<workgroup> Bs : array<${elem}, ${bTotal}>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let phase = wg.z;
  let py = phase / 2u;
  let px = phase % 2u;
  var offY = -i32((P.taps - 1u) / 2u);
  var offX = offY;
  if (P.stride == 2u) { offY = i32(py) - 1; offX = i32(px) - 1; }
  let gridPix = P.grid * P.grid;
  let M = P.batch * gridPix;
  let m0 = wg.x * ${t.tm}u;
  let n0 = wg.y * ${t.tn}u;
  let wBase = phase * P.kTotal * P.cout;
  let tCol = t % ${cols}u;
  let tRow = t / ${cols}u;
  ${rowsR.flatMap((r) => colsJ.map((j) => `var acc${r}_${j} = ${elem}(0.0);`)).join("\n  ")}

  // The rows (output pixels) this thread loads into As are the same at every K step: decoded once. A row
  // past the end gets a position far outside the input, so its loads read zero.${rowDecode}

  ${slots}
${
    t.prefetch
      ? `
  // Prefetch: the next step's global loads are issued before this step's arithmetic, so their latency hides
  // behind it; one barrier-protected copy from registers to shared memory per step.
  ${fetch("0u")}
  for (var k0 = 0u; k0 < P.kTotal; k0 = k0 + ${t.tk}u) {
    ${stash}
    workgroupBarrier();
    if (k0 + ${t.tk}u < P.kTotal) ${fetch(`k0 + ${t.tk}u`)}`
      : `
  for (var k0 = 0u; k0 < P.kTotal; k0 = k0 + ${t.tk}u) {
    ${fetch("k0")}
    ${stash}
    workgroupBarrier();`
  }
    for (var kk = 0u; kk < ${t.tk}u; kk = kk + 1u) {
      ${[...readA, ...readB, ...fmas].join("\n      ")}
    }
    workgroupBarrier();
  }
${store}
}
`;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Uniform layout of both epilogue shaders (12 words; `slope` and `epsilon` are f32). */
export const EPI_PARAMS = [
  "batch",
  "size",
  "channels",
  "segLen",
  "segments",
  "srcBatchStride",
  "blurRadius",
  "hasNoise",
  "styleOffset",
  "slope",
  "epsilon",
  "layer",
] as const;
/** The f32 fields of the epilogue uniforms (the rest are u32). */
export const EPI_FLOATS: ReadonlySet<string> = new Set(["slope", "epsilon"]);

/** The WGSL uniform struct `Params` of `fields` in order, each u32 unless named in `floats` (f32). */
function paramsStruct(fields: readonly string[], floats: ReadonlySet<string> = new Set()): string {
  return `struct Params { ${fields.map((p) => `${p} : ${floats.has(p) ? "f32" : "u32"}`).join(", ")} }`;
}

/** Count, mean and sum of squared deviations of some values, and Chan's formula to merge two such. */
const MOMENTS = /* wgsl */ `
struct Moments { count : f32, mean : f32, m2 : f32 }

fn mergeMoments(a : Moments, b : Moments) -> Moments {
  if (b.count == 0.0) { return a; }
  let total = a.count + b.count;
  let d = b.mean - a.mean;
  return Moments(total, a.mean + d * b.count / total, a.m2 + b.m2 + d * d * a.count * b.count / total);
}
`;

/**
 * `noise=random` without a noise buffer: a standard normal value per (seed, layer, sample, pixel), the same for
 * every channel (StyleGAN's noise is one map per layer, scaled per channel). PCG hashes give two uniforms in
 * (0, 1] and Box–Muller turns them into one normal value. Exported for the tests of its statistics.
 */
export const NOISE_WGSL = /* wgsl */ `
struct Seed { seed : u32, pad0 : u32, pad1 : u32, pad2 : u32 }

fn pcgHash(x : u32) -> u32 {
  let state = x * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn gaussianNoise(seed : u32, layer : u32, n : u32, p : u32) -> f32 {
  let h = pcgHash(pcgHash(pcgHash(pcgHash(seed) ^ layer) ^ n) ^ p);
  let u1 = (f32(h >> 8u) + 1.0) / 16777216.0;
  let u2 = f32(pcgHash(h) >> 8u) / 16777216.0;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
`;

/**
 * First half of the epilogue, per (sample, 32 channels, pixel segment): blur (optional) + bias + noise + leaky
 * ReLU, written out, and the segment's instance-norm statistics as (count, mean, M2) by Welford's update
 * merged over the 8 pixel lanes with Chan's formula (no E[x²] − E[x]² cancellation on large planes).
 */
export function epilogueStatsShader(): string {
  return /* wgsl */ `
${paramsStruct(EPI_PARAMS, EPI_FLOATS)}
${MOMENTS}
${NOISE_WGSL}
@group(0) @binding(0) var<uniform> P : Params;
@group(0) @binding(1) var<storage, read> src : array<f32>;
@group(0) @binding(2) var<storage, read> bias : array<f32>;
@group(0) @binding(3) var<storage, read> noiseMap : array<f32>;
@group(0) @binding(4) var<storage, read> noiseWeight : array<f32>;
@group(0) @binding(5) var<storage, read> blurKernel : array<f32>;
@group(0) @binding(6) var<storage, read_write> dst : array<f32>;
@group(0) @binding(7) var<storage, read_write> stats : array<f32>;
@group(0) @binding(8) var<uniform> S : Seed;

var<workgroup> sCount : array<f32, ${WORKGROUP}>;
var<workgroup> sMean : array<f32, ${WORKGROUP}>;
var<workgroup> sM2 : array<f32, ${WORKGROUP}>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let C = P.channels;
  let c = wg.x * ${EPI_CHANNELS}u + t % ${EPI_CHANNELS}u;
  let lane = t / ${EPI_CHANNELS}u;
  let n = wg.z;
  let hw = P.size * P.size;
  let p0 = wg.y * P.segLen;
  let p1 = min(hw, p0 + P.segLen);
  let r = i32(P.blurRadius);
  let side = 2 * r + 1;
  var count = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  if (c < C) {
    for (var p = p0 + lane; p < p1; p = p + ${EPI_LANES}u) {
      var v = 0.0;
      if (r > 0) {
        let y = i32(p / P.size);
        let x = i32(p % P.size);
        for (var dy = -r; dy <= r; dy = dy + 1) {
          let yy = y + dy;
          if (yy < 0 || yy >= i32(P.size)) { continue; }
          for (var dx = -r; dx <= r; dx = dx + 1) {
            let xx = x + dx;
            if (xx < 0 || xx >= i32(P.size)) { continue; }
            let k = blurKernel[u32((dy + r) * side + dx + r)];
            v = fma(k, src[n * P.srcBatchStride + (u32(yy) * P.size + u32(xx)) * C + c], v);
          }
        }
      } else {
        v = src[n * P.srcBatchStride + p * C + c];
      }
      v = v + bias[c];
      if (P.hasNoise == 1u) { v = fma(noiseWeight[c], noiseMap[p], v); }
      if (P.hasNoise == 2u) { v = fma(noiseWeight[c], gaussianNoise(S.seed, P.layer, n, p), v); }
      v = select(v, v * P.slope, v < 0.0);
      dst[(n * hw + p) * C + c] = v;
      count = count + 1.0;
      let d = v - mean;
      mean = mean + d / count;
      m2 = fma(d, v - mean, m2);
    }
  }
  sCount[t] = count;
  sMean[t] = mean;
  sM2[t] = m2;
  workgroupBarrier();
  if (lane == 0u && c < C) {
    var merged = Moments(count, mean, m2);
    for (var l = 1u; l < ${EPI_LANES}u; l = l + 1u) {
      let o = t + l * ${EPI_CHANNELS}u;
      merged = mergeMoments(merged, Moments(sCount[o], sMean[o], sM2[o]));
    }
    let at = ((n * P.segments + wg.y) * C + c) * 3u;
    stats[at] = merged.count;
    stats[at + 1u] = merged.mean;
    stats[at + 2u] = merged.m2;
  }
}
`;
}

/** Second half: merge the segments' statistics, then (x − mean) / sqrt(var + ε) · (1 + scale) + shift in place. */
export function epilogueApplyShader(): string {
  return /* wgsl */ `
${paramsStruct(EPI_PARAMS, EPI_FLOATS)}
${MOMENTS}
@group(0) @binding(0) var<uniform> P : Params;
@group(0) @binding(1) var<storage, read> stats : array<f32>;
@group(0) @binding(2) var<storage, read> styles : array<f32>;
@group(0) @binding(3) var<storage, read_write> dst : array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let C = P.channels;
  let c = wg.x * ${EPI_CHANNELS}u + t % ${EPI_CHANNELS}u;
  if (c >= C) { return; }
  let lane = t / ${EPI_CHANNELS}u;
  let n = wg.z;
  let hw = P.size * P.size;
  var m = Moments(0.0, 0.0, 0.0);
  for (var s = 0u; s < P.segments; s = s + 1u) {
    let at = ((n * P.segments + s) * C + c) * 3u;
    m = mergeMoments(m, Moments(stats[at], stats[at + 1u], stats[at + 2u]));
  }
  let mean = m.mean;
  let inv = inverseSqrt(m.m2 / m.count + P.epsilon);
  let row = P.styleOffset + n * 2u * C;
  let gain = (1.0 + styles[row + c]) * inv;
  let shift = styles[row + C + c];
  let p0 = wg.y * P.segLen;
  let p1 = min(hw, p0 + P.segLen);
  for (var p = p0 + lane; p < p1; p = p + ${EPI_LANES}u) {
    let i = (n * hw + p) * C + c;
    dst[i] = fma(dst[i] - mean, gain, shift);
  }
}
`;
}

/** Uniform layout of the styles shader. */
export const STYLE_PARAMS = ["batch", "numLayers", "dlatentSize", "pad0"] as const;

/**
 * Every epilogue's style (its dense layer of the dlatent) in one dispatch: workgroup y = epilogue, z = sample.
 * `table` holds per epilogue: style layer, width (2·channels), weight offset, bias offset, output prefix (the
 * widths before it; outputs of an epilogue are [batch, width] at prefix · batch).
 */
export function stylesShader(): string {
  return /* wgsl */ `
${paramsStruct(STYLE_PARAMS)}
@group(0) @binding(0) var<uniform> P : Params;
@group(0) @binding(1) var<storage, read> dlatents : array<f32>;
@group(0) @binding(2) var<storage, read> weights : array<f32>;
@group(0) @binding(3) var<storage, read> table : array<u32>;
@group(0) @binding(4) var<storage, read_write> styles : array<f32>;

@compute @workgroup_size(${STYLE_COLUMNS})
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let e = wg.y * 5u;
  let layer = table[e];
  let width = table[e + 1u];
  let j = wg.x * ${STYLE_COLUMNS}u + t;
  if (j >= width) { return; }
  let n = wg.z;
  let wOff = table[e + 2u];
  var s = weights[table[e + 3u] + j];
  let dl = (n * P.numLayers + layer) * P.dlatentSize;
  for (var k = 0u; k < P.dlatentSize; k = k + 1u) {
    s = fma(dlatents[dl + k], weights[wOff + k * width + j], s);
  }
  styles[table[e + 4u] * P.batch + n * width + j] = s;
}
`;
}

/** Uniform layout of the mapping shader. */
export const MAPPING_PARAMS = [
  "batch",
  "inSize",
  "outSize",
  "pixelNorm",
  "broadcast",
  "slope",
  "epsilon",
] as const;
/** The f32 fields of the mapping uniforms (the rest are u32). */
export const MAPPING_FLOATS: ReadonlySet<string> = new Set(["slope", "epsilon"]);
/** Outputs per mapping workgroup. */
export const MAPPING_COLUMNS = 64;

/**
 * One dense layer of the mapping network for a whole batch (workgroup z = sample, one output per thread):
 * y = act(x · W + b), the scales already folded into W and b. With `pixelNorm` the input row is first
 * normalised to unit root mean square (the sum of squares is gathered in the same pass over x, and the
 * product scaled afterwards). With `broadcast` > 0 this is the last layer: the output is written to every
 * style layer, truncated on the first `rows[2n + 1]` of them to avg + ψ (y − avg) with ψ = `rows[2n]`.
 */
export function mappingShader(): string {
  return /* wgsl */ `
${paramsStruct(MAPPING_PARAMS, MAPPING_FLOATS)}
@group(0) @binding(0) var<uniform> P : Params;
@group(0) @binding(1) var<storage, read> x : array<f32>;
@group(0) @binding(2) var<storage, read> weight : array<f32>;
@group(0) @binding(3) var<storage, read> bias : array<f32>;
@group(0) @binding(4) var<storage, read> avg : array<f32>;
@group(0) @binding(5) var<storage, read> rows : array<f32>;
@group(0) @binding(6) var<storage, read_write> y : array<f32>;

@compute @workgroup_size(${MAPPING_COLUMNS})
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let j = wg.x * ${MAPPING_COLUMNS}u + t;
  if (j >= P.outSize) { return; }
  let n = wg.z;
  let xOff = n * P.inSize;
  var s = 0.0;
  var squares = 0.0;
  for (var k = 0u; k < P.inSize; k = k + 1u) {
    let v = x[xOff + k];
    s = fma(v, weight[k * P.outSize + j], s);
    squares = fma(v, v, squares);
  }
  if (P.pixelNorm != 0u) { s = s * inverseSqrt(squares / f32(P.inSize) + P.epsilon); }
  var v = s + bias[j];
  v = select(v * P.slope, v, v >= 0.0);
  if (P.broadcast == 0u) {
    y[n * P.outSize + j] = v;
    return;
  }
  let a = avg[j];
  let truncated = a + (v - a) * rows[2u * n];
  let cutoff = rows[2u * n + 1u];
  for (var l = 0u; l < P.broadcast; l = l + 1u) {
    y[(n * P.broadcast + l) * P.outSize + j] = select(v, truncated, f32(l) < cutoff);
  }
}
`;
}
