/**
 * Editing projected tiles with what the project already has: truncation toward a centre and depth mixing.
 * A figure cell names its latents by seed (model/figures/dlatents.ts); here either end of a cell may be a
 * projected w instead, so that the server can accept `w:<id>` wherever it accepts a seed and build the
 * same figures. For cells that name only seeds, {@link editedDlatents} equals `cellDlatents`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { latentBatch } from "../generate.ts";
import type { Generator } from "../networks/generator.ts";

/** A tile's dlatents: from a seed (z → mapping), or given (a projection's w, [num_layers × dlatent_size]). */
export type LatentSource = { seed: number } | { dlatents: Float32Array };

/** One edited tile. */
export interface EditCell {
  source: LatentSource;
  /** Truncation ψ toward the centre (1 = none, 0 = the centre). */
  psi: number;
  /** Style layers truncated, from the coarsest (default: the model's truncation_cutoff). */
  cutoff?: number;
  /** Depth mixing: layers `layers[0]..layers[1]` (inclusive) from another source, truncated with its own ψ. */
  mix?: { source: LatentSource; psi: number; layers: [number, number] };
}

/**
 * w [cells, num_layers, dlatent_size] for the cells. Truncation follows official StyleGAN,
 * w[:, :cutoff] = c + ψ (w[:, :cutoff] − c), with c the model's W average unless `centre` is given (a class
 * centre, or another projected w); mixing then takes the source's truncated w on the chosen layers.
 */
export function editedDlatents(G: Generator, cells: EditCell[], centre?: Float32Array): tf.Tensor3D {
  if (cells.length === 0) throw new RangeError("editedDlatents needs at least one cell");
  const layers = G.numLayers;
  const size = G.options.dlatent_size;
  if (centre && centre.length !== size) {
    throw new RangeError(`the centre must have ${size} values (dlatent_size), got ${centre.length}`);
  }
  for (const cell of cells) {
    checkSource(cell.source, layers, size);
    if (cell.mix) {
      checkSource(cell.mix.source, layers, size);
      const [first, last] = cell.mix.layers;
      if (
        !Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last < first || last >= layers
      ) {
        throw new RangeError(
          `mix layers must be integers with 0 ≤ first ≤ last < ${layers}, got ${first}..${last}`,
        );
      }
    }
  }
  return tf.tidy(() => {
    const c = centre ? tf.tensor1d(centre) : G.truncation.avgLatent;
    const cutoffs = cells.map((cell) => cell.cutoff ?? G.options.truncation_cutoff);
    const base = truncateToward(
      resolveSources(G, cells.map((cell) => cell.source)),
      c,
      cells.map((cell) => cell.psi),
      cutoffs,
    );
    if (!cells.some((cell) => cell.mix)) return base;
    const mixed = truncateToward(
      resolveSources(G, cells.map((cell) => cell.mix?.source ?? cell.source)),
      c,
      cells.map((cell) => cell.mix?.psi ?? cell.psi),
      cutoffs,
    );
    const mask = new Uint8Array(cells.length * layers);
    cells.forEach((cell, row) => {
      for (let l = 0; l < layers; l++) {
        mask[row * layers + l] = cell.mix && l >= cell.mix.layers[0] && l <= cell.mix.layers[1] ? 1 : 0;
      }
    });
    return tf.where(tf.tensor3d(mask, [cells.length, layers, 1], "bool"), mixed, base) as tf.Tensor3D;
  });
}

/**
 * Truncation of w [N, layers, L] toward `centre` [L]: row r's first `cutoffs[r]` layers become
 * c + ψ_r (w − c); ψ = 1 rows are returned bit for bit.
 */
export function truncateToward(
  w: tf.Tensor3D,
  centre: tf.Tensor1D | tf.Variable,
  psis: number[],
  cutoffs: number[],
): tf.Tensor3D {
  return tf.tidy(() => {
    const [rows, layers] = w.shape;
    const mask = new Uint8Array(rows * layers);
    for (let r = 0; r < rows; r++) {
      for (let l = 0; l < layers; l++) mask[r * layers + l] = psis[r] !== 1 && l < cutoffs[r] ? 1 : 0;
    }
    const interp = tf.add(centre, tf.mul(tf.sub(w, centre), tf.tensor3d(psis, [rows, 1, 1])));
    return tf.where(tf.tensor3d(mask, [rows, layers, 1], "bool"), interp, w) as tf.Tensor3D;
  });
}

/** The untruncated dlatents of each source, in order (seeds mapped in one batch). */
function resolveSources(G: Generator, sources: LatentSource[]): tf.Tensor3D {
  return tf.tidy(() => {
    const seeds = sources.flatMap((s) => "seed" in s ? [s.seed] : []);
    const mapped = seeds.length ? tf.unstack(G.mapping(latentBatch(G, seeds), 1)) : [];
    let next = 0;
    const shape: [number, number] = [G.numLayers, G.options.dlatent_size];
    return tf.stack(
      sources.map((s) => "seed" in s ? mapped[next++] : tf.tensor2d(s.dlatents, shape)),
    ) as tf.Tensor3D;
  });
}

function checkSource(source: LatentSource, layers: number, size: number): void {
  if ("seed" in source) {
    if (!Number.isInteger(source.seed) || source.seed < 0 || source.seed > 0xffffffff) {
      throw new RangeError(`seed ${source.seed} is not an integer in [0, 4294967295]`);
    }
  } else if (source.dlatents.length !== layers * size) {
    throw new RangeError(
      `projected dlatents must have ${layers} × ${size} = ${
        layers * size
      } values for this model, got ${source.dlatents.length}`,
    );
  } else if (!source.dlatents.every(Number.isFinite)) {
    throw new RangeError("projected dlatents contain non-finite values");
  }
}
