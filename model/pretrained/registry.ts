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
 * The default model. Until a generator trained on aerial imagery lands (see MODEL_CARD.md), it is the
 * small StyleGAN.pytorch reference network the parity tests use: correct maths, untrained weights.
 */
export const DEFAULT_MODEL: EmbeddedModel = {
  name: "reference-r32",
  file: here("reference-r32.safetensors"),
};

/** Every embedded model, default first. */
export const EMBEDDED_MODELS: EmbeddedModel[] = [DEFAULT_MODEL];
