/** The models shipped inside the repository. */
import { fileURLToPath } from "node:url";

/** A model file embedded in the project. */
export interface EmbeddedModel {
  /** Name used by the API and the CLI (`model=`). */
  name: string;
  /** Absolute path of the safetensors file. */
  file: string;
}

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/**
 * The default model: StyleGAN trained here with `deno task train --config configs/ucmerced-64.yaml` on
 * UC Merced's training split, 64 px at 1.22 m/px (see MODEL_CARD.md).
 */
export const DEFAULT_MODEL: EmbeddedModel = { name: "ucmerced-64", file: here("ucmerced-64.safetensors") };

/**
 * The small StyleGAN.pytorch reference network of the parity tests (perturbed random weights, not trained on
 * imagery): exact maths, tiny and fast, so the server and widget tests use it.
 */
export const REFERENCE_MODEL: EmbeddedModel = {
  name: "reference-r32",
  file: here("reference-r32.safetensors"),
};

/** Every embedded model, default first. */
export const EMBEDDED_MODELS: EmbeddedModel[] = [DEFAULT_MODEL, REFERENCE_MODEL];
