/**
 * Grow-only scratch buffers in JS memory for the BLAS kernels (padded images, output grids, im2col).
 *
 * They live outside the wasm heap on purpose: allocating there could grow `WebAssembly.Memory` and
 * detach the views a kernel already holds. Each buffer owns an explicit `ArrayBuffer`, so its bytes
 * never move (small typed arrays may live on V8's heap and be moved by the GC; these cannot).
 */

/** Names of the independent scratch slots a kernel may hold at the same time. */
export type ScratchSlot = "source" | "grid" | "columns";

const MIN_FLOATS = 1024;
const slots = new Map<ScratchSlot, Float32Array<ArrayBuffer>>();

/** A scratch view of at least `floats` elements; contents are whatever the last user left. */
export function scratch(slot: ScratchSlot, floats: number): Float32Array<ArrayBuffer> {
  const current = slots.get(slot);
  if (current && current.length >= floats) return current;
  // Grow by at least 1/8 so a slowly rising batch size does not reallocate every call.
  const size = Math.max(MIN_FLOATS, floats, current ? Math.ceil(current.length * 1.125) : 0);
  const fresh = new Float32Array(new ArrayBuffer(size * 4));
  slots.set(slot, fresh);
  return fresh;
}

/** Bytes currently held by the scratch buffers. */
export function scratchBytes(): number {
  let bytes = 0;
  for (const buffer of slots.values()) bytes += buffer.byteLength;
  return bytes;
}

/** Drop every scratch buffer (they are re-created on demand). */
export function releaseScratch(): void {
  slots.clear();
}
