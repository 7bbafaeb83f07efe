/**
 * Adam as official StyleGAN uses it (TensorFlow's AdamOptimizer): m ← β1 m + (1−β1) g,
 * v ← β2 v + (1−β2) g², w ← w − lr·√(1−β2^t)/(1−β1^t) · m / (√v + ε).
 *
 * Written here rather than using tf.train.adam because its state is keyed by tfjs's global variable
 * names, which differ between processes; ours is keyed by StyleGAN.pytorch parameter names, so it
 * checkpoints to safetensors and resumes exactly.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Parameter } from "../layers/parameters.ts";

/** Adam hyper-parameters. */
export interface AdamOptions {
  learning_rate: number;
  beta_1: number;
  beta_2: number;
  eps: number;
}

/** Adam over a fixed set of named parameters. */
export class Adam {
  /** Steps taken (t). */
  step = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(readonly params: Parameter[], public options: AdamOptions) {
    for (const p of params) {
      for (const store of [this.m, this.v]) {
        const zeros = tf.zerosLike(p.variable);
        store.set(p.key, tf.variable(zeros, false));
        zeros.dispose();
      }
    }
  }

  /** Apply one update from gradients keyed by parameter key (missing keys are left alone). */
  apply(grads: Map<string, tf.Tensor>): void {
    this.step++;
    const { learning_rate: lr, beta_1: b1, beta_2: b2, eps } = this.options;
    const lrT = lr * Math.sqrt(1 - b2 ** this.step) / (1 - b1 ** this.step);
    tf.tidy(() => {
      for (const p of this.params) {
        const g = grads.get(p.key);
        if (!g) continue;
        const m = this.m.get(p.key)!;
        const v = this.v.get(p.key)!;
        const mNew = b1 === 0 ? g : tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const vNew = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        m.assign(mNew);
        v.assign(vNew);
        p.variable.assign(tf.sub(p.variable, tf.mul(tf.div(mNew, tf.add(tf.sqrt(vNew), eps)), lrT)));
      }
    });
  }

  /** Forget the moments (official StyleGAN resets optimizer state when the resolution changes). */
  reset(): void {
    this.step = 0;
    tf.tidy(() => {
      for (const t of [...this.m.values(), ...this.v.values()]) t.assign(tf.zerosLike(t));
    });
  }

  /** The state as named tensors (`{key}.exp_avg`, `{key}.exp_avg_sq`) plus the step count. */
  async stateDict(): Promise<
    { tensors: Map<string, { shape: number[]; data: Float32Array }>; step: number }
  > {
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const p of this.params) {
      tensors.set(`${p.key}.exp_avg`, {
        shape: p.variable.shape,
        data: (await this.m.get(p.key)!.data()) as Float32Array,
      });
      tensors.set(`${p.key}.exp_avg_sq`, {
        shape: p.variable.shape,
        data: (await this.v.get(p.key)!.data()) as Float32Array,
      });
    }
    return { tensors, step: this.step };
  }

  /** Restore from {@link stateDict}'s output; shapes must match. */
  loadStateDict(
    tensors: Map<string, { shape: number[]; data: Float32Array }>,
    step: number,
    file: string,
  ): void {
    for (const p of this.params) {
      for (const [suffix, store] of [["exp_avg", this.m], ["exp_avg_sq", this.v]] as const) {
        const t = tensors.get(`${p.key}.${suffix}`);
        if (!t || t.data.length !== p.variable.size) {
          throw new Error(`${file}: optimizer state for '${p.key}' is missing or has the wrong size`);
        }
        tf.tidy(() => store.get(p.key)!.assign(tf.tensor(t.data, p.variable.shape)));
      }
    }
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
