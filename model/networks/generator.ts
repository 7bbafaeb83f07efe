import * as tf from "@tensorflow/tfjs-core";
import { ParameterTree } from "../layers/parameters.ts";
import { perRow, Truncation } from "../layers/truncation.ts";
import { GMapping } from "./g_mapping.ts";
import { GSynthesis, type SynthesisOptions } from "./g_synthesis.ts";
import { GENERATOR_DEFAULTS, type GeneratorOptions } from "./options.ts";
import { checkLabels, type Labels, oneHotLabels } from "./labels.ts";

/** What to generate from a batch of latents. */
export interface GenerateOptions extends SynthesisOptions {
  /**
   * Truncation ψ (1 = none; 0 = the average w, or the class's centre; negative = its opposite), or one per row.
   */
  psi?: number | number[];
  /** Style layers truncated, from the coarsest (default: the model's truncation_cutoff). */
  cutoff?: number;
  /** One class index per row, for a conditional generator (and only then). */
  labels?: Labels;
}

/**
 * Another way to compute {@link Generator.mapping} for the calls it can serve (model/webgpu/accelerator.ts):
 * undefined for a call it does not take, which then runs the tfjs layers as usual.
 */
export interface MappingAccelerator {
  /** w for z [N, latent] with row i truncated by `psis[i]` on its first `cutoffs[i]` layers (ψ = 1: none). */
  tryMap(z: tf.Tensor2D, psis: number[], cutoffs: number[]): tf.Tensor3D | undefined;
  dispose(): void;
}

/** StyleGAN's generator: `g_mapping`, `truncation`, `g_synthesis`, with PyTorch-port parameter names. */
export class Generator {
  readonly options: GeneratorOptions;
  readonly params: ParameterTree;
  readonly gMapping: GMapping;
  readonly gSynthesis: GSynthesis;
  readonly truncation: Truncation;
  /** `class_embedding.weight` [classes, latent_size] of a conditional generator (StyleGAN.pytorch's name). */
  readonly classEmbedding?: tf.Variable;
  /** Set by {@link MappingAccelerator} providers for inference; training never sets one. */
  mappingAccelerator?: MappingAccelerator;
  /** Style layers (2 per depth). */
  readonly numLayers: number;

  constructor(options: Partial<GeneratorOptions> & { resolution: number }, params = new ParameterTree()) {
    this.options = { ...GENERATOR_DEFAULTS, ...options };
    this.params = params;
    this.numLayers = (Math.log2(this.options.resolution) - 1) * 2;
    const { label_size: classes, latent_size: latent } = this.options;
    if (classes > 0) {
      // nn.Embedding's initialisation, N(0, 1); official StyleGAN's one-hot · weight is the same product.
      const seed = params.nextSeed();
      this.classEmbedding = params.child("class_embedding").create(
        "weight",
        tf.randomNormal([classes, latent], 0, 1, "float32", seed),
        "plain",
      );
    }
    this.gMapping = new GMapping(params.child("g_mapping"), this.options, this.numLayers);
    this.gSynthesis = new GSynthesis(params.child("g_synthesis"), this.options);
    this.truncation = new Truncation(
      params.child("truncation"),
      this.options.dlatent_size,
      this.options.truncation_cutoff,
      this.options.dlatent_avg_beta,
      this.options.label_size,
    );
  }

  /** Classes of a conditional generator (0 = unconditional). */
  get classCount(): number {
    return this.options.label_size;
  }

  /** Embedded labels [N, latent_size] (one-hot · class_embedding), after checking them; undefined without. */
  embedLabels(labels: Labels | undefined, rows: number): tf.Tensor2D | undefined {
    checkLabels(labels, rows, this.classCount, "this generator");
    if (!labels || !this.classEmbedding) return undefined;
    return tf.tidy(() => tf.matMul(oneHotLabels(labels, this.classCount), this.classEmbedding!));
  }

  /** Number of depths (output resolutions). */
  get depthCount(): number {
    return this.gSynthesis.depthCount;
  }

  /**
   * z [N, latent] → w [N, num_layers, L], truncated with ψ on the first `cutoff` layers; either may be one
   * value per row (ψ = 1 rows keep their w bit for bit). A conditional generator needs one class label per
   * row, and truncates toward that class's centre of W.
   */
  mapping(
    z: tf.Tensor2D,
    psi: number | number[] = 1,
    cutoff: number | number[] = this.options.truncation_cutoff,
    labels?: Labels,
  ): tf.Tensor3D {
    const rows = z.shape[0];
    const psis = perRow(psi, rows, "ψ");
    const cutoffs = perRow(cutoff, rows, "cutoff");
    checkLabels(labels, rows, this.classCount, "this generator");
    // The own WGSL mapping pipeline maps unconditional latents only.
    const fast = labels ? undefined : this.mappingAccelerator?.tryMap(z, psis, cutoffs);
    if (fast) return fast;
    return tf.tidy(() =>
      this.truncation.apply(this.gMapping.apply(z, this.embedLabels(labels, rows)), psis, cutoffs, labels)
    );
  }

  /** Inference: z → images [N, H, W, C] in about [−1, 1] (truncation applied; no style mixing). */
  generate(z: tf.Tensor2D, run: GenerateOptions = {}): tf.Tensor4D {
    return tf.tidy(() => this.gSynthesis.apply(this.mapping(z, run.psi ?? 1, run.cutoff, run.labels), run));
  }

  /**
   * Training forward pass (official StyleGAN): updates the W average (and each class's centre) from the
   * batch, mixes styles with `z2` from layer `mixingCutoff` on (when given; same labels), never truncates.
   */
  forwardTraining(
    z: tf.Tensor2D,
    run: SynthesisOptions & {
      z2?: tf.Tensor2D;
      mixingCutoff?: number;
      updateAverage?: boolean;
      labels?: Labels;
    },
  ): tf.Tensor4D {
    return tf.tidy(() => {
      const y = this.embedLabels(run.labels, z.shape[0]);
      let w = this.gMapping.apply(z, y);
      // An assign: no gradient flows through it.
      if (run.updateAverage !== false) this.truncation.update(w, run.labels);
      if (run.z2 && run.mixingCutoff !== undefined) {
        w = mixStyles(w, this.gMapping.apply(run.z2, y), run.mixingCutoff);
      }
      return this.gSynthesis.apply(w, run);
    });
  }

  /** Free every tensor of this network. */
  dispose(): void {
    this.gSynthesis.accelerator?.dispose();
    this.gSynthesis.accelerator = undefined;
    this.mappingAccelerator?.dispose();
    this.mappingAccelerator = undefined;
    this.params.dispose();
  }
}

/** Layers [0, cutoff) from `w1`, the rest from `w2` (both [N, layers, L]). */
export function mixStyles(w1: tf.Tensor3D, w2: tf.Tensor3D, cutoff: number): tf.Tensor3D {
  return tf.tidy(() => {
    const layers = w1.shape[1];
    const mask = tf.reshape(tf.less(tf.range(0, layers, 1, "int32"), cutoff), [1, layers, 1]);
    return tf.where(mask, w1, w2) as tf.Tensor3D;
  });
}
