/**
 * How a network's parameters lie in flat float32 memory (the pool's shared weights and gradients), how their
 * values are read out and written back by key, and a digest of a network's trainable weights (to check that a
 * worker's copy is the training process's). The training pool and its workers both use these, on the same
 * parameter order (checked when a worker starts), so the two sides agree on every offset.
 *
 * @module
 */
import { createHash } from "node:crypto";
import * as tf from "@tensorflow/tfjs-core";
import type { Parameter } from "../layers/parameters.ts";

/** Parameters one after another, in the given order, from `base` (in floats). */
export class ParameterLayout {
  readonly #slots = new Map<string, { param: Parameter; offset: number }>();
  /** Floats the parameters take together. */
  readonly size: number;

  constructor(readonly params: readonly Parameter[], readonly base = 0) {
    let offset = base;
    for (const param of params) {
      this.#slots.set(param.key, { param, offset });
      offset += param.variable.size;
    }
    this.size = offset - base;
  }

  /** Where `key` lies (an error naming it when the layout has no such parameter). */
  slot(key: string): { param: Parameter; offset: number } {
    const slot = this.#slots.get(key);
    if (!slot) throw new Error(`no parameter '${key}' in this network`);
    return slot;
  }

  /** The keys in layout order. */
  keys(): string[] {
    return this.params.map((p) => p.key);
  }
}

/** The values of `keys` (from their variables), one after another. */
export async function readValues(layout: ParameterLayout, keys: readonly string[]): Promise<Float32Array> {
  const arrays = await Promise.all(
    keys.map((k) => layout.slot(k).param.variable.data() as Promise<Float32Array>),
  );
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

/** Write the values of `keys` (from their variables) at their places in `memory`. */
export async function writeToLayout(
  layout: ParameterLayout,
  keys: readonly string[],
  memory: Float32Array,
): Promise<void> {
  await Promise.all(keys.map(async (key) => {
    const { param, offset } = layout.slot(key);
    memory.set(await param.variable.data() as Float32Array, offset);
  }));
}

/**
 * Assign the variables of `keys` from `values`: one after another when `packed`, else each at its place in the
 * layout (shared memory). An error when the values do not fill the keys exactly.
 */
export function assignFromValues(
  layout: ParameterLayout,
  keys: readonly string[],
  values: Float32Array,
  packed: boolean,
): void {
  let offset = 0;
  tf.tidy(() => {
    for (const key of keys) {
      const { param, offset: place } = layout.slot(key);
      const size = param.variable.size;
      const start = packed ? offset : place;
      if (start + size > values.length) {
        throw new Error(`the values end before parameter '${key}' (${values.length} floats)`);
      }
      param.variable.assign(tf.tensor(values.subarray(start, start + size), param.variable.shape));
      offset += size;
    }
  });
  if (packed && offset !== values.length) {
    throw new Error(`${values.length} values for parameters of ${offset}`);
  }
}

/**
 * Hex SHA-256 of each trainable parameter's float32 bytes, keyed by parameter key: equal weights, equal
 * digests (one per parameter, so that a difference can be named).
 */
export async function trainableDigests(layout: ParameterLayout): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of layout.params) {
    if (!p.trainable) continue;
    const values = await p.variable.data() as Float32Array;
    out[p.key] = createHash("sha256").update(
      new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    )
      .digest("hex");
  }
  return out;
}
