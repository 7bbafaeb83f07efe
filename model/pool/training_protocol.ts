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
  /** Floats of every parameter of G, then of D (a check that both sides built the same shapes). */
  gFloats: number;
  dFloats: number;
  /** The shared memory this worker uses; null: weights and gradients travel on the pipes. */
  shared: SharedLayout | null;
}

/**
 * Shared memory of the pool (model/pool/shared_memory.ts): every parameter of G then of D at floats
 * [0, gFloats + dFloats) (the parent writes what changed before a request), and this worker's gradients of
 * G's or D's trainable parameters (in parameter order, trainables only) from `gradientOffset`.
 */
export interface SharedLayout {
  path: string;
  /** Floats of the whole file. */
  length: number;
  gradientOffset: number;
}

/**
 * Parameters of one network that changed since this worker last heard of it, in parameter order. The first
 * update of a network names all of its parameters (buffers too); later ones name those an optimizer step moved.
 */
export interface WeightUpdate {
  keys: string[];
  /** Their values one after another (float32 bytes); null: in the shared memory, each at its place. */
  values: Uint8Array | null;
}

/** Parent → worker: the gradients of a D step ("d") or G step ("g") on this worker's share of the batch. */
export interface StepRequest {
  type: "d" | "g";
  id: number;
  depth: number;
  alpha: number;
  /** What changed in G, and in D, since this worker's last request; null: nothing. */
  gWeights: WeightUpdate | null;
  dWeights: WeightUpdate | null;
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

/** Parent → worker: the digests of the trainable weights the worker holds (is its copy the parent's?). */
export interface VerifyRequest {
  type: "verify";
  id: number;
  /** What changed since the worker's last request, taken before the digests (as in a step). */
  gWeights: WeightUpdate | null;
  dWeights: WeightUpdate | null;
}

export type TrainingRequest = TrainingInit | StepRequest | VerifyRequest;

/**
 * Worker → parent: the share's mean loss and the gradients of the parameters in `keys` (in parameter order),
 * concatenated in `grads`, or (null) in the worker's gradient region of the shared memory, each at its place.
 */
export interface GradientReply {
  type: "grads";
  id: number;
  loss: number;
  keys: string[];
  grads: Uint8Array | null;
}

/** Worker → parent: hex SHA-256 of each trainable weight of G and of D, by key (model/pool/parameter_layout.ts). */
export interface DigestReply {
  type: "digests";
  id: number;
  g: Record<string, string>;
  d: Record<string, string>;
}
