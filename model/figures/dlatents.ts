/**
 * The dlatents (w) behind every figure cell. A cell is one tile: a seed with its truncation ψ, optionally with
 * a range of style layers taken from a second (source) seed. Sample grids, truncation figures, depth-mixing
 * figures and single tiles are all lists of cells, so cells of different requests can share one synthesis
 * batch and still give each tile exactly the w it would get alone.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Generator } from "../networks/generator.ts";
import { latentBatch } from "../generate.ts";

/** Layers `layers[0]..layers[1]` (inclusive) taken from another seed. */
export interface StyleSource {
  seed: number;
  /** Truncation ψ of the source's w. */
  psi: number;
  /** First and last style layer copied from the source (inclusive). */
  layers: [number, number];
  /** The source's class, for a conditional generator. */
  label?: number;
  /** A given w instead of the seed's (a projected tile, [num_layers × dlatent_size] row-major). */
  dlatents?: Float32Array;
}

/** One tile of a figure. */
export interface StyleCell {
  /** numpy RandomState seed of z. */
  seed: number;
  /** Truncation ψ (1 = none; 0 = the average w). */
  psi: number;
  /** Style layers truncated, from the coarsest (default: the model's truncation_cutoff). */
  cutoff?: number;
  /** Style layers replaced by another seed's (depth mixing). */
  mix?: StyleSource;
  /** The tile's class (label index), for a conditional generator: it is mapped with it and truncated toward its centre. */
  label?: number;
  /**
   * A given w instead of the seed's: a projected tile ([num_layers × dlatent_size] row-major, W or W+). It is
   * truncated like a mapped one, toward the W average (its class's centre with a label).
   */
  dlatents?: Float32Array;
}

/**
 * w [cells, num_layers, dlatent_size] for the cells, row i = cell i. Truncation follows official StyleGAN:
 * w[:, :cutoff] = avg + ψ (w[:, :cutoff] − avg), and a cell with ψ = 1 keeps its w bit for bit; mixing
 * then takes the source cell's (separately truncated) w on the chosen layers.
 */
export function cellDlatents(G: Generator, cells: StyleCell[]): tf.Tensor3D {
  if (cells.length === 0) throw new RangeError("cellDlatents needs at least one cell");
  return tf.tidy(() => {
    const cutoffs = cells.map((c) => c.cutoff ?? G.options.truncation_cutoff);
    const labels = G.classCount ? cells.map((c) => c.label ?? -1) : undefined;
    const base = truncatedDlatents(G, cells, cells.map((c) => c.psi), cutoffs, labels);
    if (!cells.some((c) => c.mix)) return base;
    const source = truncatedDlatents(
      G,
      cells.map((c) => c.mix ?? c),
      cells.map((c) => c.mix?.psi ?? c.psi),
      cutoffs,
      G.classCount ? cells.map((c) => c.mix?.label ?? c.label ?? -1) : undefined,
    );
    const mask = layerMask(
      G.numLayers,
      cells.map((c) => (l: number) => c.mix !== undefined && l >= c.mix.layers[0] && l <= c.mix.layers[1]),
    );
    return tf.where(mask, source, base) as tf.Tensor3D;
  });
}

/**
 * w of each source (the mapping output of its seed, or its given dlatents), each row truncated with its own ψ
 * on its first `cutoffs[i]` layers. Seed-only batches are mapped and truncated in one call, as before given
 * dlatents existed (bit for bit); given rows are truncated by the same layer, so toward the same centres.
 */
function truncatedDlatents(
  G: Generator,
  sources: { seed: number; dlatents?: Float32Array }[],
  psis: number[],
  cutoffs: number[],
  labels?: number[],
): tf.Tensor3D {
  return tf.tidy(() => {
    if (!sources.some((s) => s.dlatents)) {
      return G.mapping(latentBatch(G, sources.map((s) => s.seed)), psis, cutoffs, labels);
    }
    const layers = G.numLayers;
    const size = G.options.dlatent_size;
    const seeded = sources.flatMap((s, i) => s.dlatents ? [] : [i]);
    const mapped = seeded.length
      ? tf.unstack(
        G.mapping(
          latentBatch(G, seeded.map((i) => sources[i].seed)),
          1,
          undefined,
          labels && seeded.map((i) => labels[i]),
        ),
      )
      : [];
    let next = 0;
    const rows = sources.map((s) => {
      if (!s.dlatents) return mapped[next++];
      if (s.dlatents.length !== layers * size) {
        throw new RangeError(
          `given dlatents must have ${layers} × ${size} values for this model, got ${s.dlatents.length}`,
        );
      }
      // A diverged projection's w would render as a blank tile without saying why.
      if (!s.dlatents.every(Number.isFinite)) {
        throw new RangeError("given dlatents contain non-finite values (NaN or ±Infinity)");
      }
      return tf.tensor2d(s.dlatents, [layers, size]);
    });
    return G.truncation.apply(tf.stack(rows) as tf.Tensor3D, psis, cutoffs, labels);
  });
}

/** A boolean [rows, layers, 1] mask, true where `pick[row](layer)`. */
function layerMask(layers: number, pick: Array<(layer: number) => boolean>): tf.Tensor3D {
  const values = new Uint8Array(pick.length * layers);
  pick.forEach((p, row) => {
    for (let l = 0; l < layers; l++) values[row * layers + l] = p(l) ? 1 : 0;
  });
  return tf.tensor3d(values, [pick.length, layers, 1], "bool");
}
