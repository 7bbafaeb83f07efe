/**
 * The synthesis network on WebGPU with the project's own compute pipelines (model/webgpu/shaders.ts): weights
 * uploaded once, scratch buffers grown to the largest batch seen, uniforms and bind groups made once per batch
 * size, and a whole batch recorded into one command buffer of about three dispatches per layer (43 at 256 px,
 * against 140 tfjs kernels with the fused epilogue, each of which also makes its own uniform buffer and bind
 * group: bench/webgpu_record.ts). On the H100/H200 that per-dispatch overhead, not the arithmetic, was most
 * of tfjs-webgpu's generation time (docs/performance.md).
 *
 * It shares tfjs-webgpu's GPUDevice, so dlatents come from the mapping network without a trip to the CPU and
 * the images go back as an ordinary tfjs tensor. Inference only: it reads the weights once when created.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ConvPlan, SynthesisPlan } from "./plan.ts";
import {
  CONV_PARAMS,
  CONV_TILES,
  convShader,
  type ConvTile,
  EPI_CHANNELS,
  EPI_FLOATS,
  EPI_PARAMS,
  epilogueApplyShader,
  epilogueStatsShader,
  STYLE_COLUMNS,
  STYLE_PARAMS,
  stylesShader,
  tileName,
  tileWorkgroupBytes,
  vectorizable,
} from "./shaders.ts";
import {
  computePipeline,
  destroyWhenIdle,
  packUniform,
  sizedBuffer,
  tensorBuffer,
  tensorFromBuffer,
  uploadStorage,
  writeAll,
} from "./gpu.ts";

/**
 * Noise inputs: the stored constant maps, none, or random (new for every call, drawn on the GPU from a seed
 * per slice of the batch: the values differ from the tfjs layers' random draws, their distribution does not).
 */
export type SynthesisNoise = "const" | "none" | "random";

export interface WebGpuSynthesisOptions {
  /** A convolution tile to try first (before {@link CONV_TILES}), e.g. from SGAN_WEBGPU_TILE. */
  tile?: ConvTile;
  /** Convolution workgroups a layer should have before a larger tile is taken (default 256). */
  minConvWorkgroups?: number;
  /** Largest batch recorded at once (default: what the device's buffer limits allow); tests lower it. */
  maxBatch?: number;
  /** Epilogue workgroups to aim for per layer (pixel segments are added until reached). */
  targetWorkgroups?: number;
}

interface Dispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  groups: [number, number, number];
  /** What it computes, first word its kind (`styles`, `conv`, `stats`, `apply`), for profiles. */
  label: string;
  /** Floating-point operations it does (convolutions only; 0 for the others). */
  flops: number;
}

/** GPU time of one dispatch of a batch ({@link WebGpuSynthesis.profile}). */
export interface DispatchTime {
  label: string;
  flops: number;
  ms: number;
}

/** Uniforms and recorded dispatches for one batch size and noise mode (over the shared scratch buffers). */
interface Frame {
  batch: number;
  dispatches: Dispatch[];
  /** Its uniform buffers. */
  owned: GPUBuffer[];
}

/**
 * Activations, statistics, styles, dlatents and images for up to `capacity` images. Shared by every frame:
 * the queue runs command buffers one after another, so batches of different sizes never overlap.
 */
interface Scratch {
  capacity: number;
  a: GPUBuffer;
  b: GPUBuffer;
  stats: GPUBuffer;
  styles: GPUBuffer;
  dlatents: GPUBuffer;
  rgb: GPUBuffer;
}

/** Frames kept (a server sees many batch sizes; each frame is only uniforms and bind groups). */
const MAX_FRAMES = 32;

const STORAGE = GPUBufferUsage.STORAGE;
const UNIFORM = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;

export class WebGpuSynthesis {
  /** Convolution tiles, largest first; each layer takes the first that keeps the GPU busy. */
  readonly tiles: readonly ConvTile[];
  /** Largest batch recorded at once; bigger batches are run in slices of this size in one command buffer. */
  readonly maxBatch: number;
  private readonly targetWorkgroups: number;
  private readonly minConvWorkgroups: number;
  private readonly convPipelines = new Map<string, GPUComputePipeline>();
  private readonly pipelines: {
    stats: GPUComputePipeline;
    apply: GPUComputePipeline;
    styles: GPUComputePipeline;
  };
  private readonly weights: {
    conv: GPUBuffer[];
    epi: EpiBuffers[];
    styles: GPUBuffer;
    table: GPUBuffer;
    toRgb: GPUBuffer[];
    toRgbBias: GPUBuffer[];
    constInput: GPUBuffer;
    dummy: GPUBuffer;
  };
  /** Per epilogue: where its style row starts, in widths before it (× batch = element offset). */
  private readonly stylePrefix: number[];
  private readonly styleWidthTotal: number;
  /** Floats of the largest feature map of one image (what each activation buffer holds per image). */
  private readonly activationFloats: number;
  private readonly frames = new Map<string, Frame>();
  private scratch?: Scratch;
  /** The random-noise seed the epilogues read (copied in before each slice of a `random` batch). */
  private readonly seed: GPUBuffer;
  private disposed = false;

  constructor(
    readonly device: GPUDevice,
    readonly plan: SynthesisPlan,
    options: WebGpuSynthesisOptions = {},
  ) {
    // Checked here, not left to the driver: Vulkan drivers need not refuse a shader over the limit (Mesa's
    // lavapipe ran one needing 34.8 kB of its 32 kB), and what a GPU does then is undefined.
    const sharedLimit = device.limits.maxComputeWorkgroupStorageSize;
    if (options.tile && tileWorkgroupBytes(options.tile) > sharedLimit) {
      throw new Error(
        `conv tile ${tileName(options.tile)} needs ${tileWorkgroupBytes(options.tile)} bytes of workgroup ` +
          `memory; this device allows ${sharedLimit}`,
      );
    }
    const builtIn = CONV_TILES.filter((t) => tileWorkgroupBytes(t) <= sharedLimit);
    this.tiles = options.tile ? [options.tile, ...builtIn] : builtIn;
    this.targetWorkgroups = options.targetWorkgroups ?? 512;
    this.minConvWorkgroups = options.minConvWorkgroups ?? 256;
    const pipeline = (code: string, label: string) => computePipeline(device, code, label);
    this.pipelines = {
      stats: pipeline(epilogueStatsShader(), "sgan-epilogue-stats"),
      apply: pipeline(epilogueApplyShader(), "sgan-epilogue-apply"),
      styles: pipeline(stylesShader(), "sgan-styles"),
    };

    const upload = (data: Float32Array | Uint32Array, label: string) => uploadStorage(device, data, label);
    // Every style layer's weights and biases in one buffer, with a table of offsets (one styles dispatch).
    const styleParts: Float32Array[] = [];
    const table: number[] = [];
    let offset = 0;
    let prefix = 0;
    this.stylePrefix = [];
    for (const { epilogue: e } of plan.layers) {
      const width = 2 * e.channels;
      table.push(e.styleLayer, width, offset, offset + e.styleWeight.length, prefix);
      styleParts.push(e.styleWeight, e.styleBias);
      offset += e.styleWeight.length + e.styleBias.length;
      this.stylePrefix.push(prefix);
      prefix += width;
    }
    this.styleWidthTotal = prefix;
    this.activationFloats = Math.max(...plan.layers.map((l) => l.epilogue.size ** 2 * l.epilogue.channels));
    this.weights = {
      conv: plan.layers.map((l, i) =>
        l.conv ? upload(l.conv.weights, `conv${i}`) : upload(new Float32Array(4), "none")
      ),
      epi: plan.layers.map((l, i) => ({
        bias: upload(l.epilogue.bias, `bias${i}`),
        noiseMap: upload(l.epilogue.noise?.map ?? new Float32Array(4), `noise${i}`),
        noiseWeight: upload(l.epilogue.noise?.weight ?? new Float32Array(4), `noiseWeight${i}`),
        blur: upload(l.epilogue.blur ?? new Float32Array(4), `blur${i}`),
      })),
      styles: upload(concat(styleParts), "style-weights"),
      table: upload(new Uint32Array(table), "style-table"),
      toRgb: plan.toRgb.map((c, d) => upload(c.weights, `to-rgb${d}`)),
      toRgbBias: plan.toRgb.map((c, d) => upload(c.bias ?? new Float32Array(c.cout), `to-rgb-bias${d}`)),
      constInput: upload(plan.constInput, "const-input"),
      dummy: upload(new Float32Array(4), "dummy"),
    };
    this.seed = device.createBuffer({ label: "sgan-noise-seed", size: 16, usage: UNIFORM });
    this.maxBatch = Math.max(1, Math.min(options.maxBatch ?? Infinity, this.deviceBatchLimit()));
  }

  /** The batch the device's buffer and dispatch limits allow. */
  private deviceBatchLimit(): number {
    const limits = this.device.limits;
    const bytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    const r = this.plan.resolution;
    const byMemory = Math.floor(bytes / (this.activationFloats * 4));
    const largestTm = Math.max(...this.tiles.map((t) => t.tm));
    const byDispatch = Math.floor((limits.maxComputeWorkgroupsPerDimension * largestTm) / (r * r));
    return Math.max(1, Math.min(byMemory, byDispatch, limits.maxComputeWorkgroupsPerDimension));
  }

  /**
   * The tile and shader form for a convolution with `rows` output rows per phase (pixels × batch) and
   * `phases` phases (4 for an upscaling one): the first tile not wider than the channels need that gives at
   * least `minConvWorkgroups` workgroups (else the smallest that fits the dispatch limit), vec4 where the
   * channel counts allow.
   */
  convKernel(
    rows: number,
    cout: number,
    cin: number,
    phases = 1,
  ): { tile: ConvTile; vec4: boolean; pipeline: GPUComputePipeline } {
    const limit = this.device.limits.maxComputeWorkgroupsPerDimension;
    const fits = this.tiles.filter((t) => Math.ceil(rows / t.tm) <= limit);
    const narrow = fits.filter((t) => t.tn <= Math.ceil(cout / 32) * 32);
    const candidates = narrow.length > 0 ? narrow : fits;
    const busy = candidates.find((t) =>
      Math.ceil(rows / t.tm) * Math.ceil(cout / t.tn) * phases >= this.minConvWorkgroups
    );
    const tile = busy ?? candidates[candidates.length - 1] ?? this.tiles[0];
    const vec4 = vectorizable(tile) && cin % 4 === 0 && cout % 4 === 0;
    const aligned = cin % tile.tk === 0;
    const key = `${JSON.stringify(tile)}/${vec4 ? "vec4" : "scalar"}/${aligned ? "aligned" : "any"}`;
    let pipeline = this.convPipelines.get(key);
    if (!pipeline) {
      pipeline = computePipeline(this.device, convShader(tile, vec4, aligned), `sgan-conv ${key}`);
      this.convPipelines.set(key, pipeline);
    }
    return { tile, vec4, pipeline };
  }

  /** The convolution kernels made so far, as `tile/vec4|scalar/aligned|any` keys (for logs and tests). */
  kernelsUsed(): string[] {
    return [...this.convPipelines.keys()];
  }

  /** Number of depths (output resolutions 4, 8, …, the full one). */
  get depthCount(): number {
    return this.plan.toRgb.length;
  }

  /**
   * dlatents [N, numLayers, L] → images [N, H, W, C] (a new tfjs tensor) at `depth` (default: full resolution,
   * H = 4·2^depth, the grown network without fade-in), noise from the stored maps or none.
   */
  run(dlatents: tf.Tensor3D, noise: SynthesisNoise = "const", depth = this.depthCount - 1): tf.Tensor4D {
    const { n, side, imageBytes } = this.checkInput(dlatents, depth);
    if (n === 0) return tf.zeros([0, side, side, this.plan.outChannels]);
    const output = this.imagesBuffer(n * imageBytes);
    const input = tensorBuffer(this.device, dlatents, "sgan-dlatents-upload");
    let seeds: GPUBuffer | undefined;
    try {
      const encoder = this.device.createCommandEncoder({ label: "sgan-synthesis" });
      seeds = this.encode(encoder, input.buffer, n, noise, depth, output);
      this.device.queue.submit([encoder.finish()]);
      return tensorFromBuffer(output, [n, side, side, this.plan.outChannels]) as tf.Tensor4D;
    } finally {
      input.release();
      destroyWhenIdle(this.device, seeds ? [output, seeds] : [output]);
    }
  }

  /**
   * The GPU time of every dispatch of one batch (at most {@link maxBatch} images), each in its own compute
   * pass between two timestamp queries: for finding which layers and tiles are slow on a given GPU
   * (bench/webgpu_profile.ts). Needs the device's `timestamp-query` feature.
   */
  async profile(
    dlatents: tf.Tensor3D,
    noise: SynthesisNoise = "const",
    depth = this.depthCount - 1,
  ): Promise<DispatchTime[]> {
    const { n, imageBytes } = this.checkInput(dlatents, depth);
    if (!this.device.features.has("timestamp-query")) {
      throw new Error("WebGPU synthesis: this device has no timestamp queries, so no GPU times");
    }
    if (n < 1 || n > this.maxBatch) {
      throw new RangeError(`WebGPU synthesis: profile takes 1 to ${this.maxBatch} images`);
    }
    const dispatches = this.frame(n, noise, depth).dispatches;
    const queries = 2 * dispatches.length;
    const device = this.device;
    const querySet = device.createQuerySet({ label: "sgan-profile", type: "timestamp", count: queries });
    const resolved = device.createBuffer({
      label: "sgan-profile",
      size: queries * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const readback = device.createBuffer({
      label: "sgan-profile-read",
      size: queries * 8,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const output = this.imagesBuffer(n * imageBytes);
    const input = tensorBuffer(device, dlatents, "sgan-dlatents-upload");
    let seeds: GPUBuffer | undefined;
    try {
      const encoder = device.createCommandEncoder({ label: "sgan-synthesis-profile" });
      seeds = this.encode(encoder, input.buffer, n, noise, depth, output, querySet);
      encoder.resolveQuerySet(querySet, 0, queries, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, readback, 0, queries * 8);
      device.queue.submit([encoder.finish()]);
      await readback.mapAsync(GPUMapMode.READ);
      const ticks = new BigUint64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      return dispatches.map((d, i) => ({
        label: d.label,
        flops: d.flops,
        ms: Number(ticks[2 * i + 1] - ticks[2 * i]) / 1e6,
      }));
    } finally {
      input.release();
      destroyWhenIdle(device, [output, resolved, readback, ...(seeds ? [seeds] : [])]);
      device.queue.onSubmittedWorkDone().then(() => querySet.destroy(), () => querySet.destroy());
    }
  }

  /** The batch size, image side and bytes per image of a valid call (clear errors otherwise). */
  private checkInput(dlatents: tf.Tensor3D, depth: number): { n: number; side: number; imageBytes: number } {
    if (this.disposed) throw new Error("WebGPU synthesis: used after dispose()");
    const p = this.plan;
    const [n, layers, size] = dlatents.shape;
    if (layers !== p.numLayers || size !== p.dlatentSize) {
      throw new Error(
        `WebGPU synthesis: dlatents must be [N, ${p.numLayers}, ${p.dlatentSize}], got [${dlatents.shape}]`,
      );
    }
    if (!Number.isInteger(depth) || depth < 0 || depth >= this.depthCount) {
      throw new RangeError(
        `WebGPU synthesis: depth must be an integer in [0, ${this.depthCount - 1}], got ${depth}`,
      );
    }
    const side = 4 * 2 ** depth;
    return { n, side, imageBytes: side * side * p.outChannels * 4 };
  }

  private imagesBuffer(bytes: number): GPUBuffer {
    return this.device.createBuffer({
      label: "sgan-images",
      size: bytes,
      usage: STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  /**
   * Records `n` images (slices of at most maxBatch) into `encoder`, dlatents from `input`, images into
   * `output`; with `timestamps`, every dispatch in its own pass between two queries (2i, 2i + 1), for one
   * slice. Returns the random seeds' buffer, to free once the work is done.
   */
  private encode(
    encoder: GPUCommandEncoder,
    input: GPUBuffer,
    n: number,
    noise: SynthesisNoise,
    depth: number,
    output: GPUBuffer,
    timestamps?: GPUQuerySet,
  ): GPUBuffer | undefined {
    const p = this.plan;
    const side = 4 * 2 ** depth;
    const rowBytes = p.numLayers * p.dlatentSize * 4;
    const imageBytes = side * side * p.outChannels * 4;
    const seeds = noise === "random" ? this.randomSeeds(Math.ceil(n / this.maxBatch)) : undefined;
    for (let start = 0; start < n; start += this.maxBatch) {
      const frame = this.frame(Math.min(this.maxBatch, n - start), noise, depth);
      const scratch = this.scratch!;
      encoder.copyBufferToBuffer(input, start * rowBytes, scratch.dlatents, 0, frame.batch * rowBytes);
      if (seeds) encoder.copyBufferToBuffer(seeds, (start / this.maxBatch) * 16, this.seed, 0, 16);
      if (timestamps) {
        frame.dispatches.forEach((d, i) => {
          const pass = encoder.beginComputePass({
            label: d.label,
            timestampWrites: {
              querySet: timestamps,
              beginningOfPassWriteIndex: 2 * i,
              endOfPassWriteIndex: 2 * i + 1,
            },
          });
          pass.setPipeline(d.pipeline);
          pass.setBindGroup(0, d.bindGroup);
          pass.dispatchWorkgroups(...d.groups);
          pass.end();
        });
      } else {
        const pass = encoder.beginComputePass({ label: "sgan-synthesis" });
        for (const d of frame.dispatches) {
          pass.setPipeline(d.pipeline);
          pass.setBindGroup(0, d.bindGroup);
          pass.dispatchWorkgroups(...d.groups);
        }
        pass.end();
      }
      encoder.copyBufferToBuffer(scratch.rgb, 0, output, start * imageBytes, frame.batch * imageBytes);
    }
    return seeds;
  }

  /** One fresh random seed per slice, 16 bytes apart (a uniform's size), in a buffer to copy them from. */
  private randomSeeds(slices: number): GPUBuffer {
    const words = new Uint32Array(slices * 4);
    crypto.getRandomValues(words);
    const buffer = this.device.createBuffer({
      label: "sgan-noise-seeds",
      size: words.byteLength,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    writeAll(this.device, buffer, words);
    return buffer;
  }

  /** Pixel segments per epilogue workgroup column, so that a layer has about `targetWorkgroups` workgroups. */
  private segmentsOf(batch: number, size: number, channels: number): number {
    const blocks = Math.ceil(channels / EPI_CHANNELS) * batch;
    return Math.max(1, Math.min(Math.ceil(this.targetWorkgroups / blocks), Math.ceil((size * size) / 64)));
  }

  /** Scratch buffers for at least `batch` images, grown (and every frame dropped) when too small. */
  private scratchFor(batch: number): Scratch {
    if (this.scratch && this.scratch.capacity >= batch) return this.scratch;
    this.dropScratch();
    const p = this.plan;
    const activation = this.activationFloats * batch * 4;
    let statsFloats = 0;
    for (let n = 1; n <= batch; n++) {
      for (const { epilogue: e } of p.layers) {
        statsFloats = Math.max(statsFloats, n * this.segmentsOf(n, e.size, e.channels) * e.channels * 3);
      }
    }
    this.scratch = {
      capacity: batch,
      a: sizedBuffer(this.device, "sgan-activations-a", activation, STORAGE),
      b: sizedBuffer(this.device, "sgan-activations-b", activation, STORAGE),
      stats: sizedBuffer(this.device, "sgan-stats", statsFloats * 4, STORAGE),
      styles: sizedBuffer(this.device, "sgan-styles", this.styleWidthTotal * batch * 4, STORAGE),
      dlatents: sizedBuffer(
        this.device,
        "sgan-dlatents",
        batch * p.numLayers * p.dlatentSize * 4,
        STORAGE | GPUBufferUsage.COPY_DST,
      ),
      rgb: sizedBuffer(
        this.device,
        "sgan-rgb",
        batch * p.resolution ** 2 * p.outChannels * 4,
        STORAGE | GPUBufferUsage.COPY_SRC,
      ),
    };
    return this.scratch;
  }

  private dropScratch(): void {
    for (const f of this.frames.values()) destroyWhenIdle(this.device, f.owned);
    this.frames.clear();
    if (!this.scratch) return;
    const { a, b, stats, styles, dlatents, rgb } = this.scratch;
    destroyWhenIdle(this.device, [a, b, stats, styles, dlatents, rgb]);
    this.scratch = undefined;
  }

  /** Uniforms and bind groups of one batch size and noise mode, made on first use and kept (the last 32). */
  private frame(batch: number, noise: SynthesisNoise, depth: number): Frame {
    const scratch = this.scratchFor(batch);
    const key = `${batch}/${noise}/${depth}`;
    const cached = this.frames.get(key);
    if (cached) {
      this.frames.delete(key); // re-insert: the Map's order is the least recently used first
      this.frames.set(key, cached);
      return cached;
    }
    const p = this.plan;
    const device = this.device;
    const owned: GPUBuffer[] = [];
    const buffer = (label: string, bytes: number, usage: number) => {
      const b = sizedBuffer(device, label, bytes, usage);
      owned.push(b);
      return b;
    };
    /** A uniform buffer of `fields` in order, each u32 unless named in `floats`. */
    const uniform = <K extends string>(
      fields: readonly K[],
      values: Record<K, number>,
      floats: ReadonlySet<string> = new Set(),
    ) => {
      const data = packUniform(fields, values, floats);
      const b = buffer("sgan-params", data.byteLength, UNIFORM);
      device.queue.writeBuffer(b, 0, data);
      return b;
    };
    const bind = (pipeline: GPUComputePipeline, buffers: GPUBuffer[]) =>
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: buffers.map((b, i) => ({ binding: i, resource: { buffer: b } })),
      });

    // A layer's convolution reads `cur` and writes `other`; its epilogue reads that and writes `cur` again.
    const { a: cur, b: other, stats, styles, dlatents, rgb } = scratch;

    const dispatches: Dispatch[] = [];
    dispatches.push({
      pipeline: this.pipelines.styles,
      bindGroup: bind(this.pipelines.styles, [
        uniform(STYLE_PARAMS, { batch, numLayers: p.numLayers, dlatentSize: p.dlatentSize, pad0: 0 }),
        dlatents,
        this.weights.styles,
        this.weights.table,
        styles,
      ]),
      groups: [
        Math.ceil(Math.max(...p.layers.map((l) => 2 * l.epilogue.channels)) / STYLE_COLUMNS),
        p.layers.length,
        batch,
      ],
      label: "styles",
      flops: 0,
    });

    const conv = (
      c: ConvPlan,
      weights: GPUBuffer,
      bias: GPUBuffer | undefined,
      src: GPUBuffer,
      dst: GPUBuffer,
    ) => {
      const stride = c.up ? 2 : 1;
      const grid = c.outSize / stride;
      const params = uniform(CONV_PARAMS, {
        batch,
        inSize: c.inSize,
        cin: c.cin,
        cout: c.cout,
        grid,
        outSize: c.outSize,
        taps: c.taps,
        stride,
        kTotal: c.taps * c.taps * c.cin,
        hasBias: bias ? 1 : 0,
        pad0: 0,
        pad1: 0,
      });
      const rows = batch * grid * grid;
      const kernel = this.convKernel(rows, c.cout, c.cin, stride * stride);
      dispatches.push({
        pipeline: kernel.pipeline,
        bindGroup: bind(kernel.pipeline, [
          params,
          src,
          weights,
          bias ?? this.weights.dummy,
          dst,
        ]),
        groups: [
          Math.ceil(rows / kernel.tile.tm),
          Math.ceil(c.cout / kernel.tile.tn),
          stride * stride,
        ],
        label: `conv ${c.inSize}→${c.outSize} px ${c.cin}→${c.cout}${c.up ? " up" : ""} ${
          tileName(kernel.tile)
        }${kernel.vec4 ? " vec4" : ""}`,
        // Per phase: rows × cout outputs of a K = taps²·cin dot product.
        flops: 2 * rows * c.cout * c.taps * c.taps * c.cin * stride * stride,
      });
    };

    // Depth d is the first 2(d + 1) layers and that depth's to-RGB.
    p.layers.slice(0, 2 * (depth + 1)).forEach((layer, i) => {
      const e = layer.epilogue;
      const w = this.weights.epi[i];
      let src: GPUBuffer;
      if (layer.conv) {
        conv(layer.conv, this.weights.conv[i], undefined, cur, other);
        src = other;
      } else {
        src = this.weights.constInput;
      }
      const segments = this.segmentsOf(batch, e.size, e.channels);
      const hw = e.size * e.size;
      const params = uniform(EPI_PARAMS, {
        batch,
        size: e.size,
        channels: e.channels,
        segLen: Math.ceil(hw / segments),
        segments,
        srcBatchStride: layer.conv ? hw * e.channels : 0,
        blurRadius: e.blur ? (Math.sqrt(e.blur.length) - 1) / 2 : 0,
        hasNoise: !e.noise || noise === "none" ? 0 : noise === "const" ? 1 : 2,
        layer: i,
        styleOffset: this.stylePrefix[i] * batch,
        slope: e.slope,
        epsilon: e.epsilon,
      }, EPI_FLOATS);
      const groups: [number, number, number] = [Math.ceil(e.channels / EPI_CHANNELS), segments, batch];
      dispatches.push({
        pipeline: this.pipelines.stats,
        bindGroup: bind(this.pipelines.stats, [
          params,
          src,
          w.bias,
          w.noiseMap,
          w.noiseWeight,
          w.blur,
          cur,
          stats,
          this.seed,
        ]),
        groups,
        label: `stats layer ${i} ${e.size} px ${e.channels} ch`,
        flops: 0,
      });
      dispatches.push({
        pipeline: this.pipelines.apply,
        bindGroup: bind(this.pipelines.apply, [params, stats, styles, cur]),
        groups,
        label: `apply layer ${i} ${e.size} px ${e.channels} ch`,
        flops: 0,
      });
    });
    conv(p.toRgb[depth], this.weights.toRgb[depth], this.weights.toRgbBias[depth], cur, rgb);

    const frame: Frame = { batch, dispatches, owned };
    this.frames.set(key, frame);
    if (this.frames.size > MAX_FRAMES) {
      const [oldestKey, oldest] = this.frames.entries().next().value!;
      destroyWhenIdle(this.device, oldest.owned);
      this.frames.delete(oldestKey);
    }
    return frame;
  }

  /** Free every GPU buffer of this path (the tfjs tensors it returned stay valid). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dropScratch();
    const w = this.weights;
    destroyWhenIdle(this.device, [
      ...w.conv,
      ...w.epi.flatMap((e) => Object.values(e)),
      w.styles,
      w.table,
      ...w.toRgb,
      ...w.toRgbBias,
      w.constInput,
      w.dummy,
      this.seed,
    ]);
  }
}

interface EpiBuffers {
  bias: GPUBuffer;
  noiseMap: GPUBuffer;
  noiseWeight: GPUBuffer;
  blur: GPUBuffer;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
