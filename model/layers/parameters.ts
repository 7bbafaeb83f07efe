/**
 * Named parameters and buffers, keyed exactly as StyleGAN.pytorch's `state_dict`.
 *
 * Tensors are held in TensorFlow.js layout (NHWC convolutions, `[in, out]` dense weights); each entry
 * remembers how it maps to PyTorch's layout so checkpoints can be written and read in PyTorch layout.
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * How a tensor's tfjs layout relates to PyTorch's:
 * - `linear`: PyTorch `[out, in]` ↔ tfjs `[in, out]`
 * - `conv`: PyTorch `[out, in, kh, kw]` ↔ tfjs `[kh, kw, in, out]`
 * - `nchw`: PyTorch `[n, c, h, w]` ↔ tfjs `[n, h, w, c]` (constant inputs, noise maps)
 * - `plain`: identical (vectors, blur kernels, the W average)
 */
export type TorchLayout = "linear" | "conv" | "nchw" | "plain";

/** One named tensor of a network. */
export interface Parameter {
  /** Full `state_dict` key, e.g. `g_mapping.map.dense0.weight`. */
  key: string;
  variable: tf.Variable;
  layout: TorchLayout;
  /** False for buffers (blur kernels, `truncation.avg_latent`, constant noise maps). */
  trainable: boolean;
}

/** A view of a shared parameter store under a key prefix (`g_synthesis.blocks.0`). */
export class ParameterTree {
  constructor(
    private readonly store: Map<string, Parameter> = new Map(),
    readonly prefix = "",
    private readonly seeds: { base?: number; count: number } = { count: 0 },
  ) {}

  /** An empty tree whose random initialisers are seeded from `seed`, so that a run's weights are reproducible. */
  static seeded(seed: number): ParameterTree {
    return new ParameterTree(new Map(), "", { base: seed, count: 0 });
  }

  /** The seed for the next random initialiser (undefined: unseeded). */
  nextSeed(): number | undefined {
    if (this.seeds.base === undefined) return undefined;
    // tfjs treats a seed of 0 as "no seed", so seeds start at 1.
    return this.seeds.base * 1000 + ++this.seeds.count;
  }

  /** The subtree under `name` (joined with a dot). */
  child(name: string | number): ParameterTree {
    return new ParameterTree(this.store, this.keyOf(String(name)), this.seeds);
  }

  /** Full key of a local name. */
  keyOf(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** Create a parameter (or buffer) owning `initial`; a duplicate key is a programming error. */
  create(name: string, initial: tf.Tensor, layout: TorchLayout, trainable = true): tf.Variable {
    const key = this.keyOf(name);
    if (this.store.has(key)) throw new Error(`parameter '${key}' defined twice`);
    // Unnamed variables: tfjs names must be globally unique, and G and its EMA copy share keys.
    const variable = tf.variable(initial, trainable);
    initial.dispose();
    this.store.set(key, { key, variable, layout, trainable });
    return variable;
  }

  /** The parameter stored under a full key, if any. */
  get(key: string): Parameter | undefined {
    return this.store.get(key);
  }

  /** Every parameter in creation order (the order of StyleGAN.pytorch's `state_dict`). */
  entries(): Parameter[] {
    const all = [...this.store.values()];
    return this.prefix ? all.filter((p) => p.key.startsWith(this.prefix + ".")) : all;
  }

  /** The trainable variables under this prefix. */
  trainableVariables(): tf.Variable[] {
    return this.entries().filter((p) => p.trainable).map((p) => p.variable);
  }

  /** Number of scalar values in the trainable parameters. */
  countTrainable(): number {
    return this.entries().filter((p) => p.trainable).reduce((n, p) => n + p.variable.size, 0);
  }

  /** Free every tensor under this prefix. */
  dispose(): void {
    for (const p of this.entries()) {
      p.variable.dispose();
      this.store.delete(p.key);
    }
  }
}

/** Map a PyTorch-layout shape to the tfjs layout. */
export function tfShapeFromTorch(shape: readonly number[], layout: TorchLayout): number[] {
  switch (layout) {
    case "linear":
      return [shape[1], shape[0]];
    case "conv":
      return [shape[2], shape[3], shape[1], shape[0]];
    case "nchw":
      return [shape[0], shape[2], shape[3], shape[1]];
    default:
      return [...shape];
  }
}

/** Map a tfjs-layout shape to PyTorch's. */
export function torchShapeFromTf(shape: readonly number[], layout: TorchLayout): number[] {
  switch (layout) {
    case "linear":
      return [shape[1], shape[0]];
    case "conv":
      return [shape[3], shape[2], shape[0], shape[1]];
    case "nchw":
      return [shape[0], shape[3], shape[1], shape[2]];
    default:
      return [...shape];
  }
}

const TO_TORCH_PERM: Record<TorchLayout, number[] | undefined> = {
  linear: [1, 0],
  conv: [3, 2, 0, 1],
  nchw: [0, 3, 1, 2],
  plain: undefined,
};
const FROM_TORCH_PERM: Record<TorchLayout, number[] | undefined> = {
  linear: [1, 0],
  conv: [2, 3, 1, 0],
  nchw: [0, 2, 3, 1],
  plain: undefined,
};

/** A tfjs tensor built from PyTorch-layout data. */
export function tensorFromTorch(data: Float32Array, torchShape: number[], layout: TorchLayout): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(data, torchShape, "float32");
    const perm = FROM_TORCH_PERM[layout];
    return perm ? tf.transpose(t, perm) : t;
  });
}

/** PyTorch-layout data of a tfjs tensor. */
export async function torchDataOf(t: tf.Tensor, layout: TorchLayout): Promise<Float32Array> {
  const perm = TO_TORCH_PERM[layout];
  if (!perm) return (await t.data()) as Float32Array;
  const moved = tf.transpose(t, perm);
  try {
    return (await moved.data()) as Float32Array;
  } finally {
    moved.dispose();
  }
}
