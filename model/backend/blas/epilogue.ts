/** The bias and activation that fused kernels apply after the product, in place on the output. */

/** Activations the BLAS kernels fuse themselves; `prelu` (which has weights) goes to the original kernel. */
export const FUSABLE_ACTIVATIONS = ["linear", "relu", "relu6", "leakyrelu", "sigmoid", "elu"] as const;
export type FusableActivation = typeof FUSABLE_ACTIVATIONS[number];

/** Whether {@link applyEpilogue} implements `activation` (undefined means linear). */
export function isFusable(activation: string | undefined): activation is FusableActivation | undefined {
  return activation === undefined || (FUSABLE_ACTIVATIONS as readonly string[]).includes(activation);
}

/**
 * `out[i] = act(out[i] + bias[i % channels])` over a row-major `[rows, channels]` block.
 * One loop per activation keeps each loop monomorphic for the JIT.
 */
export function applyEpilogue(
  out: Float32Array,
  channels: number,
  bias: Float32Array | undefined,
  activation: FusableActivation | undefined,
  leakyAlpha: number,
): void {
  const act = activation ?? "linear";
  if (!bias && act === "linear") return;
  const length = out.length;
  if (bias) {
    for (let i = 0, c = 0; i < length; i++) {
      out[i] += bias[c];
      if (++c === channels) c = 0;
    }
  }
  switch (act) {
    case "linear":
      return;
    case "relu":
      for (let i = 0; i < length; i++) if (out[i] < 0) out[i] = 0;
      return;
    case "relu6":
      for (let i = 0; i < length; i++) {
        const v = out[i];
        out[i] = v < 0 ? 0 : v > 6 ? 6 : v;
      }
      return;
    case "leakyrelu":
      for (let i = 0; i < length; i++) {
        const v = out[i];
        if (v < 0) out[i] = v * leakyAlpha;
      }
      return;
    case "sigmoid":
      for (let i = 0; i < length; i++) out[i] = 1 / (1 + Math.exp(-out[i]));
      return;
    case "elu":
      for (let i = 0; i < length; i++) {
        const v = out[i];
        if (v < 0) out[i] = Math.expm1(v);
      }
      return;
  }
}
