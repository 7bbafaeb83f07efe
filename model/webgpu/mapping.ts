/**
 * The mapping network and the truncation trick on WebGPU with the project's own compute pipeline
 * (model/webgpu/shaders.ts `mappingShader`): one dispatch per dense layer, the pixel norm folded into the
 * first and the broadcast to every style layer plus each row's truncation into the last, all recorded into
 * one command buffer. tfjs runs the same work as 42 kernels (a scale, a matmul, a bias and an activation per
 * layer, the pixel norm's reductions, the truncation's arithmetic and select), each with its own uniform
 * buffer and bind group: on the H100 about as many dispatches as the whole 256 px synthesis path
 * (bench/webgpu_record.ts counts both).
 *
 * Shares tfjs-webgpu's GPUDevice: the dlatents go back as a tfjs tensor that the synthesis path reads on the
 * GPU. Inference only: it reads the weights (and the W average) once when created.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Generator } from "../networks/generator.ts";
import { LRELU_SLOPE } from "../layers/activation.ts";
import { readScaled } from "./plan.ts";
import { MAPPING_COLUMNS, MAPPING_FLOATS, MAPPING_PARAMS, mappingShader } from "./shaders.ts";
import {
  align16,
  computePipeline,
  destroyWhenIdle,
  packUniform,
  sizedBuffer,
  tensorBuffer,
  tensorFromBuffer,
  uploadStorage,
  writeAll,
} from "./gpu.ts";

/** One dense layer, its equalized-lr and learning-rate scales folded in: weight [inSize, outSize]. */
export interface DensePlan {
  inSize: number;
  outSize: number;
  weight: Float32Array;
  bias: Float32Array;
}

export interface MappingPlan {
  latentSize: number;
  dlatentSize: number;
  /** Style layers every w is broadcast to. */
  numLayers: number;
  /** Epsilon of the latent pixel norm, absent when the network does not normalise z. */
  pixelNormEpsilon?: number;
  /** Negative-side slope of the activation after every dense layer (0 for ReLU). */
  slope: number;
  dense: DensePlan[];
  /** The W average the truncation pulls towards. */
  avg: Float32Array;
}

/** The mapping network of `G` with its weights read once (call after loading them). */
export async function buildMappingPlan(G: Generator): Promise<MappingPlan> {
  const m = G.gMapping;
  if (m.dense.length === 0) throw new Error("WebGPU mapping: the network has no mapping layers");
  const dense: DensePlan[] = [];
  for (const layer of m.dense) {
    dense.push({
      inSize: layer.inputSize,
      outSize: layer.outputSize,
      weight: await readScaled(layer.weight, layer.wMul),
      bias: layer.bias ? await readScaled(layer.bias, layer.bMul) : new Float32Array(layer.outputSize),
    });
  }
  return {
    latentSize: G.options.latent_size,
    dlatentSize: G.options.dlatent_size,
    numLayers: G.numLayers,
    pixelNormEpsilon: m.pixelNorm?.epsilon,
    slope: G.options.mapping_nonlinearity === "lrelu" ? LRELU_SLOPE : 0,
    dense,
    avg: await readScaled(G.truncation.avgLatent),
  };
}

interface Scratch {
  capacity: number;
  input: GPUBuffer;
  hidden: [GPUBuffer, GPUBuffer];
  /** Per row: ψ, and the number of leading style layers it truncates (0 for ψ = 1). */
  rows: GPUBuffer;
  out: GPUBuffer;
  bindGroups: GPUBindGroup[];
}

const STORAGE = GPUBufferUsage.STORAGE;

export class WebGpuMapping {
  /** Largest batch one call takes (the device's dispatch and buffer limits); the caller falls back above. */
  readonly maxBatch: number;
  private readonly pipeline: GPUComputePipeline;
  private readonly weights: GPUBuffer[];
  private readonly biases: GPUBuffer[];
  private readonly avg: GPUBuffer;
  /** Every layer's uniforms, `uniformStride` bytes apart (bound at offsets). */
  private readonly uniforms: GPUBuffer;
  private readonly uniformStride: number;
  private scratch?: Scratch;
  private disposed = false;

  constructor(readonly device: GPUDevice, readonly plan: MappingPlan) {
    this.pipeline = computePipeline(device, mappingShader(), "sgan-mapping");
    this.weights = plan.dense.map((d, i) => uploadStorage(device, d.weight, `mapping-weight${i}`));
    this.biases = plan.dense.map((d, i) => uploadStorage(device, d.bias, `mapping-bias${i}`));
    this.avg = uploadStorage(device, plan.avg, "mapping-avg");
    this.uniformStride = Math.max(
      align16(MAPPING_PARAMS.length * 4),
      device.limits.minUniformBufferOffsetAlignment,
    );
    this.uniforms = device.createBuffer({
      label: "sgan-mapping-params",
      size: this.uniformStride * plan.dense.length,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const limits = device.limits;
    const bytesPerRow = plan.numLayers * plan.dlatentSize * 4;
    this.maxBatch = Math.max(
      1,
      Math.min(
        limits.maxComputeWorkgroupsPerDimension,
        Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / bytesPerRow),
      ),
    );
  }

  /**
   * z [N, latent] → w [N, numLayers, dlatent] (a new tfjs tensor), row i truncated with `psis[i]` on its
   * first `cutoffs[i]` style layers; a row with ψ = 1 is not truncated at all (as the tfjs layers do).
   */
  run(z: tf.Tensor2D, psis: number[], cutoffs: number[]): tf.Tensor3D {
    if (this.disposed) throw new Error("WebGPU mapping: used after dispose()");
    const p = this.plan;
    const [n, size] = z.shape;
    if (z.rank !== 2 || size !== p.latentSize) {
      throw new Error(`WebGPU mapping: latents must be [N, ${p.latentSize}], got [${z.shape}]`);
    }
    if (psis.length !== n || cutoffs.length !== n) {
      throw new RangeError(`WebGPU mapping: ${psis.length} ψ and ${cutoffs.length} cutoffs for ${n} latents`);
    }
    if (n > this.maxBatch) throw new RangeError(`WebGPU mapping: at most ${this.maxBatch} latents per call`);
    if (n === 0) return tf.zeros([0, p.numLayers, p.dlatentSize]);
    const scratch = this.scratchFor(n);
    this.writeUniforms(n);
    const rows = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      rows[2 * i] = psis[i];
      rows[2 * i + 1] = psis[i] === 1 ? 0 : cutoffs[i];
    }
    writeAll(this.device, scratch.rows, rows);
    const outBytes = n * p.numLayers * p.dlatentSize * 4;
    const output = this.device.createBuffer({
      label: "sgan-dlatents",
      size: outBytes,
      usage: STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const input = tensorBuffer(this.device, z, "sgan-latents-upload");
    try {
      const encoder = this.device.createCommandEncoder({ label: "sgan-mapping" });
      encoder.copyBufferToBuffer(input.buffer, 0, scratch.input, 0, n * p.latentSize * 4);
      const pass = encoder.beginComputePass({ label: "sgan-mapping" });
      pass.setPipeline(this.pipeline);
      for (const [i, d] of p.dense.entries()) {
        pass.setBindGroup(0, scratch.bindGroups[i]);
        pass.dispatchWorkgroups(Math.ceil(d.outSize / MAPPING_COLUMNS), 1, n);
      }
      pass.end();
      encoder.copyBufferToBuffer(scratch.out, 0, output, 0, outBytes);
      this.device.queue.submit([encoder.finish()]);
      return tensorFromBuffer(output, [n, p.numLayers, p.dlatentSize]) as tf.Tensor3D;
    } finally {
      input.release();
      destroyWhenIdle(this.device, [output]);
    }
  }

  /** The uniforms of every layer for a batch of `n` (queued: work submitted before still sees the old ones). */
  private writeUniforms(n: number): void {
    const data = new Uint8Array(this.uniformStride * this.plan.dense.length);
    this.plan.dense.forEach((_, i) => {
      const packed = packUniform(MAPPING_PARAMS, this.uniformValues(i, n), MAPPING_FLOATS);
      data.set(new Uint8Array(packed), i * this.uniformStride);
    });
    writeAll(this.device, this.uniforms, data);
  }

  /** Dense layer `i`'s uniform values for a batch of `n`. */
  private uniformValues(i: number, n: number): Record<(typeof MAPPING_PARAMS)[number], number> {
    const p = this.plan;
    const d = p.dense[i];
    return {
      batch: n,
      inSize: d.inSize,
      outSize: d.outSize,
      pixelNorm: i === 0 && p.pixelNormEpsilon !== undefined ? 1 : 0,
      broadcast: i === p.dense.length - 1 ? p.numLayers : 0,
      slope: p.slope,
      epsilon: p.pixelNormEpsilon ?? 0,
    };
  }

  /** Scratch buffers and bind groups for at least `n` rows (grown, never shrunk). */
  private scratchFor(n: number): Scratch {
    if (this.scratch && this.scratch.capacity >= n) return this.scratch;
    this.dropScratch();
    const p = this.plan;
    const buffer = (label: string, floats: number, usage: number = STORAGE) =>
      sizedBuffer(this.device, label, floats * 4, usage);
    const width = Math.max(...p.dense.map((d) => d.outSize));
    const scratch: Omit<Scratch, "bindGroups"> = {
      capacity: n,
      input: buffer("sgan-mapping-input", n * p.latentSize, STORAGE | GPUBufferUsage.COPY_DST),
      hidden: [buffer("sgan-mapping-a", n * width), buffer("sgan-mapping-b", n * width)],
      rows: buffer("sgan-mapping-rows", 2 * n, STORAGE | GPUBufferUsage.COPY_DST),
      out: buffer("sgan-mapping-out", n * p.numLayers * p.dlatentSize, STORAGE | GPUBufferUsage.COPY_SRC),
    };
    const layout = this.pipeline.getBindGroupLayout(0);
    const bindGroups = p.dense.map((_, i) => {
      const from = i === 0 ? scratch.input : scratch.hidden[(i - 1) % 2];
      const to = i === p.dense.length - 1 ? scratch.out : scratch.hidden[i % 2];
      const resources = [
        { buffer: this.uniforms, offset: i * this.uniformStride, size: this.uniformStride },
        { buffer: from },
        { buffer: this.weights[i] },
        { buffer: this.biases[i] },
        { buffer: this.avg },
        { buffer: scratch.rows },
        { buffer: to },
      ];
      return this.device.createBindGroup({
        label: `sgan-mapping${i}`,
        layout,
        entries: resources.map((resource, binding) => ({ binding, resource })),
      });
    });
    this.scratch = { ...scratch, bindGroups };
    return this.scratch;
  }

  private dropScratch(): void {
    if (!this.scratch) return;
    const { input, hidden, rows, out } = this.scratch;
    destroyWhenIdle(this.device, [input, ...hidden, rows, out]);
    this.scratch = undefined;
  }

  /** Frees every GPU buffer once submitted work is done; the object cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dropScratch();
    destroyWhenIdle(this.device, [...this.weights, ...this.biases, this.avg, this.uniforms]);
  }
}
