/** Messages between the data-parallel training pool and its workers (see training_pool.ts). */
import type { DiscriminatorOptions, GeneratorOptions } from "../networks/options.ts";
import type { LossSettings, StepAugment } from "../train/step_grads.ts";

/** Parent → worker, once: build the networks (their keys must match the parent's, in order). */
export interface TrainingInit {
  type: "init";
  id: number;
  generator: Partial<GeneratorOptions> & { resolution: number };
  discriminator: Partial<DiscriminatorOptions> & { resolution: number };
  loss: Omit<LossSettings, "r1_gamma">;
  gKeys: string[];
  dKeys: string[];
}

/** Parent → worker: the gradients of a D step ("d") or G step ("g") on this worker's share of the batch. */
export interface StepRequest {
  type: "d" | "g";
  id: number;
  depth: number;
  alpha: number;
  /** Every parameter of G, and of D, in parameter order (float32 bytes); null: unchanged since the last request. */
  gWeights: Uint8Array | null;
  dWeights: Uint8Array | null;
  /** Images in this share. */
  count: number;
  realsShape: [number, number, number, number] | null;
  reals: Uint8Array | null;
  /** The reals' classes (a D step of conditional networks), else null. */
  realLabels: number[] | null;
  z: Uint8Array;
  z2: Uint8Array | null;
  mixingCutoff: number | null;
  /** The class of each latent's row (conditional networks), else null. */
  labels: number[] | null;
  useR1: boolean;
  /** R1's γ of a D step (0 in a G step). */
  r1Gamma: number;
  gpMix: Uint8Array | null;
  noiseSeed: number;
  /** DiffAugment parameters of this share's images; null: none. */
  augment: StepAugment | null;
}

export type TrainingRequest = TrainingInit | StepRequest;

/** Worker → parent: the share's mean loss and the gradients of the parameters in `keys`, concatenated. */
export interface GradientReply {
  type: "grads";
  id: number;
  loss: number;
  keys: string[];
  grads: Uint8Array;
}
