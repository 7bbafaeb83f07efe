/**
 * GPU chores shared by the own pipelines (model/webgpu/synthesis.ts, model/webgpu/mapping.ts): pipelines from
 * WGSL, uniforms packed by field name, uploads, tfjs tensors to and from GPU buffers, and freeing buffers only
 * once the work that uses them is done.
 */
import * as tf from "@tensorflow/tfjs-core";

export const align4 = (bytes: number) => Math.ceil(bytes / 4) * 4;
export const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** A compute pipeline from WGSL whose entry point is `main` (bind group layout from the shader). */
export function computePipeline(device: GPUDevice, code: string, label: string): GPUComputePipeline {
  return device.createComputePipeline({
    label,
    layout: "auto",
    compute: { module: device.createShaderModule({ label, code }), entryPoint: "main" },
  });
}

/**
 * The bytes of a uniform struct whose members are `fields` in order, each u32 unless named in `floats` (f32),
 * as shaders.ts `paramsStruct` declares it; padded to 16 bytes.
 */
export function packUniform<K extends string>(
  fields: readonly K[],
  values: Record<K, number>,
  floats: ReadonlySet<string> = new Set(),
): ArrayBuffer {
  const data = new ArrayBuffer(align16(fields.length * 4));
  const view = new DataView(data);
  fields.forEach((k, i) =>
    floats.has(k) ? view.setFloat32(i * 4, values[k], true) : view.setUint32(i * 4, values[k], true)
  );
  return data;
}

/**
 * A new tfjs tensor with the contents of `buffer`. tfjs copies it into one of its own buffers (queued after
 * the work submitted so far), so the caller may free `buffer` once that work is done.
 */
export function tensorFromBuffer(buffer: GPUBuffer, shape: number[]): tf.Tensor {
  return tf.tensor({ buffer } as unknown as tf.TensorLike, shape, "float32");
}

/** Upload a whole typed array (the DOM typings want an ArrayBuffer-backed view; ours never are shared). */
export function writeAll(device: GPUDevice, buffer: GPUBuffer, data: ArrayBufferView): void {
  device.queue.writeBuffer(buffer, 0, data as ArrayBufferView<ArrayBuffer>);
}

/** A buffer of at least `bytes` (rounded up to 4, and at least 16 so that even an empty table binds). */
export function sizedBuffer(device: GPUDevice, label: string, bytes: number, usage: number): GPUBuffer {
  return device.createBuffer({ label, size: Math.max(16, align4(bytes)), usage });
}

/** A storage buffer holding `data`. */
export function uploadStorage(device: GPUDevice, data: Float32Array | Uint32Array, label: string): GPUBuffer {
  return uploadBuffer(device, data, label, GPUBufferUsage.STORAGE);
}

/** A new buffer for `usage` (and COPY_DST) holding `data`. */
function uploadBuffer(
  device: GPUDevice,
  data: Float32Array | Uint32Array,
  label: string,
  usage: number,
): GPUBuffer {
  const buffer = sizedBuffer(device, label, data.byteLength, usage | GPUBufferUsage.COPY_DST);
  writeAll(device, buffer, data);
  return buffer;
}

/** Destroy buffers once the work submitted so far is done (command buffers in flight may still use them). */
export function destroyWhenIdle(device: GPUDevice, buffers: GPUBuffer[]): void {
  if (buffers.length === 0) return;
  device.queue.onSubmittedWorkDone().then(() => {
    for (const b of buffers) b.destroy();
  }, () => {
    for (const b of buffers) b.destroy(); // device lost: nothing runs any more
  });
}

/** A tensor's data as a GPU buffer to copy from: tfjs's own when the data is on the GPU, else uploaded. */
export function tensorBuffer(
  device: GPUDevice,
  t: tf.Tensor,
  label: string,
): { buffer: GPUBuffer; release: () => void } {
  try {
    const gpu = t.dataToGPU();
    if (gpu.buffer) return { buffer: gpu.buffer, release: () => gpu.tensorRef.dispose() };
    gpu.tensorRef.dispose();
  } catch {
    // Small tensors that tfjs-webgpu computed on the CPU have no GPU buffer yet: upload them below.
  }
  const buffer = uploadBuffer(device, t.dataSync() as Float32Array, label, GPUBufferUsage.COPY_SRC);
  return { buffer, release: () => destroyWhenIdle(device, [buffer]) };
}
