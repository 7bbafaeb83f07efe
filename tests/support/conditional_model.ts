/**
 * A tiny conditional generator checkpoint (16 px, 3 classes) for the tests of class-aware inference: the server's
 * `class=` (tests/server/classes_test.ts) and the widgets' class menus (tests/browser/classes_test.ts). Its class
 * centres of W are set far apart, so that ψ = 0 shows which class a tile was pulled to. Needs a tfjs backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { Generator } from "../../model/networks/generator.ts";
import { ParameterTree } from "../../model/layers/parameters.ts";
import { CLASS_NAMES_KEY, saveNetwork } from "../../model/checkpoint/checkpoint.ts";

/** The classes of the tiny model, by label index. */
export const CONDITIONAL_CLASSES = ["forest", "freeway", "river"];

/** The tiny model's architecture but for its classes (16 px, latent 8, 8 channels). */
export const CONDITIONAL_OPTIONS = {
  resolution: 16,
  latent_size: 8,
  dlatent_size: 8,
  mapping_layers: 2,
  mapping_fmaps: 8,
  fmap_base: 32,
  fmap_max: 8,
};

/** A written conditional checkpoint. */
export interface ConditionalModel {
  /** The generator it holds (dispose it when done). */
  generator: Generator;
  /** Each class's centre of W, by label index ([classes][dlatent_size]). */
  centres: number[][];
}

/**
 * Write a 16 px conditional generator with {@link CONDITIONAL_CLASSES} and a 1 m ground resolution to `path`
 * (a `.safetensors` file; the server names the model after its stem).
 */
export async function writeConditionalModel(path: string): Promise<ConditionalModel> {
  const generator = new Generator(
    { ...CONDITIONAL_OPTIONS, label_size: CONDITIONAL_CLASSES.length },
    ParameterTree.seeded(4),
  );
  // Distinct class centres, so that ψ = 0 shows which one a tile was pulled to.
  const centres = CONDITIONAL_CLASSES.map((_, c) =>
    Array.from({ length: 8 }, (_, j) => Math.sin(3 * c + j) * 1.5)
  );
  generator.truncation.classAvgLatent!.assign(tf.tensor2d(centres));
  await saveNetwork(path, generator, {
    [CLASS_NAMES_KEY]: JSON.stringify(CONDITIONAL_CLASSES),
    gsd_m: "1",
  });
  return { generator, centres };
}
