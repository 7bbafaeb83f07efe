/**
 * Tiles by seed: seeds → z (numpy RandomState) → w (mapping, truncation) → images, in batches.
 * Pure model code: no files, no HTTP.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Generator } from "./networks/generator.ts";
import type { NoiseMode } from "./layers/noise_layer.ts";
import { latentsFromSeeds } from "./seeds.ts";
import { type Raster8, toRgb8 } from "./images.ts";
import { checkLabels } from "./networks/labels.ts";

/** What to generate. */
export interface TileRequest {
  /** One tile per seed; seed N means numpy.random.RandomState(N).randn(latent_size). */
  seeds: number[];
  /** Truncation ψ (default 1: none), or one per seed (e.g. a row of the truncation figure). */
  psi?: number | number[];
  /** Style layers truncated, from the coarsest (default: the model's truncation_cutoff). */
  cutoff?: number;
  /** Noise inputs (default `const`: deterministic). */
  noise?: NoiseMode;
  /** Output depth (default: full resolution). */
  depth?: number;
  /** One class index per seed, for a conditional generator (and only then). */
  labels?: number[];
}

/** Check a request against a generator; throws RangeError with a message naming the field. */
export function validateTileRequest(G: Generator, req: TileRequest): void {
  checkLabels(req.labels, req.seeds.length, G.classCount, "this generator");
  for (const s of req.seeds) {
    if (!Number.isInteger(s) || s < 0 || s > 0xffffffff) {
      throw new RangeError(`seed ${s} is not an integer in [0, 4294967295]`);
    }
  }
  if (Array.isArray(req.psi) && req.psi.length !== req.seeds.length) {
    throw new RangeError(`${req.psi.length} psi values for ${req.seeds.length} seeds`);
  }
  for (const psi of req.psi === undefined ? [] : [req.psi].flat()) {
    if (!Number.isFinite(psi)) throw new RangeError(`psi must be a finite number, got ${psi}`);
  }
  if (
    req.cutoff !== undefined && (!Number.isInteger(req.cutoff) || req.cutoff < 0 || req.cutoff > G.numLayers)
  ) {
    throw new RangeError(`cutoff must be an integer in [0, ${G.numLayers}], got ${req.cutoff}`);
  }
  if (
    req.depth !== undefined && (!Number.isInteger(req.depth) || req.depth < 0 || req.depth >= G.depthCount)
  ) {
    throw new RangeError(
      `depth must be an integer in [0, ${
        G.depthCount - 1
      }] for this ${G.options.resolution} px model, got ${req.depth}`,
    );
  }
}

/** The z batch [seeds, latent_size] for a list of seeds. */
export function latentBatch(G: Generator, seeds: number[]): tf.Tensor2D {
  return tf.tensor2d(latentsFromSeeds(seeds, G.options.latent_size), [seeds.length, G.options.latent_size]);
}

/** Images [N, H, W, C] in about [−1, 1] for the request (one batch; the caller disposes). */
export function generateImages(G: Generator, req: TileRequest): tf.Tensor4D {
  validateTileRequest(G, req);
  return tf.tidy(() =>
    G.generate(latentBatch(G, req.seeds), {
      psi: req.psi ?? 1,
      cutoff: req.cutoff,
      noise: req.noise ?? "const",
      depth: req.depth,
      labels: req.labels,
    })
  );
}

/** 8-bit rasters for the request, computed `batchSize` seeds at a time. */
export async function generateRasters(G: Generator, req: TileRequest, batchSize = 8): Promise<Raster8[]> {
  validateTileRequest(G, req);
  const out: Raster8[] = [];
  for (let i = 0; i < req.seeds.length; i += batchSize) {
    const images = generateImages(G, {
      ...req,
      seeds: req.seeds.slice(i, i + batchSize),
      psi: Array.isArray(req.psi) ? req.psi.slice(i, i + batchSize) : req.psi,
      labels: req.labels?.slice(i, i + batchSize),
    });
    try {
      out.push(...await toRgb8(images));
    } finally {
      images.dispose();
    }
  }
  return out;
}
