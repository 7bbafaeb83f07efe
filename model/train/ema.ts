/** G's exponential moving average ("shadow", official Gs): trainables lerp, buffers copy. */
import * as tf from "@tensorflow/tfjs-core";
import type { ParameterTree } from "../layers/parameters.ts";

/** shadow ← lerp(source, shadow, β) for trainable parameters; buffers (W average, noise, kernels) are copied. */
export function updateShadow(shadow: ParameterTree, source: ParameterTree, beta: number): void {
  tf.tidy(() => {
    for (const p of source.entries()) {
      const s = shadow.get(p.key);
      if (!s) throw new Error(`shadow network lacks '${p.key}'`);
      if (p.trainable) s.variable.assign(tf.add(p.variable, tf.mul(tf.sub(s.variable, p.variable), beta)));
      else s.variable.assign(p.variable);
    }
  });
}

/** Make `target` an exact copy of `source` (same keys). */
export function copyParameters(target: ParameterTree, source: ParameterTree): void {
  updateShadow(target, source, 0);
}
