/**
 * GPU buffer chores shared by the own pipelines (model/webgpu/synthesis.ts, model/webgpu/mapping.ts): uploads,
 * a tfjs tensor's data as a GPU buffer, and freeing buffers only once the work that uses them is done.
 */
import type * as tf from "@tensorflow/tfjs-core";

export const align4 = (bytes: number) => Math.ceil(bytes / 4) * 4;
export const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** Upload a whole typed array (the DOM typings want an ArrayBuffer-backed view; ours never are shared). */
export function writeAll(device: GPUDevice, buffer: GPUBuffer, data: ArrayBufferView): void {
  device.queue.writeBuffer(buffer, 0, data as ArrayBufferView<ArrayBuffer>);
}

/** A storage buffer holding `data` (at least 16 bytes, so that even an empty table binds). */
export function uploadStorage(device: GPUDevice, data: Float32Array | Uint32Array, label: string): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: Math.max(16, align4(data.byteLength)),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
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
  const values = t.dataSync() as Float32Array;
  const buffer = device.createBuffer({
    label,
    size: Math.max(16, align4(values.byteLength)),
    usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  writeAll(device, buffer, values);
  return { buffer, release: () => destroyWhenIdle(device, [buffer]) };
}
