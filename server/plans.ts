/**
 * From a validated query and a loaded model to an {@link ImagePlan}: the checks that need the model (depth,
 * cutoff, style ranges, figure size), the cells to generate, the values that identify the bytes (for the
 * ETag), the descriptive headers, and how the tiles become the response body.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { resizeRaster } from "../model/figures/canvas.ts";
import type { StyleCell } from "../model/figures/dlatents.ts";
import { drawSampleGrid, type FigureStyle, sampleGridCells } from "../model/figures/grid.ts";
import type { LabelFont } from "../model/figures/labels.ts";
import { drawMixingFigure, mixingCellInfo, type MixingFigureSpec } from "../model/figures/mixing.ts";
import {
  formatLayers,
  parseStyleRanges,
  type StyleRange,
  StyleRangeError,
} from "../model/figures/style_ranges.ts";
import { drawTruncationFigure, truncationCells } from "../model/figures/truncation.ts";
import type { Raster8 } from "../model/images.ts";
import type { NoiseMode } from "../model/layers/noise_layer.ts";
import { groundResolutionAt, pixelsAt } from "../model/scale.ts";
import type { Limits } from "./config.ts";
import { type Encoded, encodeFigure, encodeTile } from "./encode.ts";
import { ValidationError } from "./errors.ts";
import type { LoadedModel } from "./models.ts";
import type { SynthesisJob } from "./queue.ts";
import type { DepthView, QueryOf, QuerySpecs } from "./validation.ts";

/** Bump when drawing or encoding changes, so cached responses elsewhere are not reused. */
export const RENDER_VERSION = 1;

/** Smallest tile side when labels are drawn, so that a label fits above a column. */
export const MIN_LABELLED_TILE = 64;

/** Everything needed to answer an image request. */
export interface ImagePlan {
  /** The queue's work (without the abort signal). */
  job: Omit<SynthesisJob, "signal">;
  /** Values that determine the image (its cache key); null when it is not deterministic (random noise). */
  identity: unknown[] | null;
  /** Headers describing the image. */
  headers: Record<string, string>;
  /** File name (without extension) for Content-Disposition. */
  filename: string;
  /** Tiles in cell order → response body. */
  encode(tiles: Raster8[]): Promise<Encoded>;
}

/** What plans need besides the query and the model. */
export interface PlanContext {
  limits: Limits;
  /** Label font, when the server has one. */
  font?: LabelFont;
}

type GenerateQuery = QueryOf<QuerySpecs["generate"]>;
type GridQuery = QueryOf<QuerySpecs["grid"]>;
type TruncationQuery = QueryOf<QuerySpecs["truncation"]>;
type MixingQuery = QueryOf<QuerySpecs["mixing"]>;

/** GET /generate: one tile. */
export function planTile(model: LoadedModel, q: GenerateQuery): ImagePlan {
  const depth = checkDepth(model, q.depth);
  const cutoff = checkCutoff(model, q.cutoff);
  const gsd = model.info.gsd_m;
  if (q.format === "tiff" && gsd === null) {
    throw new ValidationError(
      "format",
      `model '${model.info.name}' records no ground resolution (gsd_m), so it cannot be written as a GeoTIFF`,
      ["png", "jpeg"],
    );
  }
  const side = q.size ?? pixelsAt(depth);
  const metresPerPixel = gsd === null ? null : (model.info.resolution * gsd) / side;
  const cell: StyleCell = { seed: q.seed, psi: q.psi, cutoff };
  const view = depthView(model, depth, q.view);
  return {
    job: { model, depth: view.renderDepth, noise: q.noise, cells: [cell] },
    identity: identityOf(model, q.noise, [
      "generate",
      q.seed,
      q.psi,
      cutoff,
      depth,
      view.name,
      q.format,
      side,
    ]),
    headers: describe(model, depth, metresPerPixel, view.name),
    filename: `${model.info.name}-seed${q.seed}-psi${q.psi}-depth${depth}${
      view.name === "raw" ? "-raw" : ""
    }`,
    encode: async (tiles) => {
      const [tile] = view.apply(tiles);
      return await encodeTile(resizeRaster(tile, side), q.format, metresPerPixel);
    },
  };
}

/** GET /grid: a sample grid. */
export function planGrid(model: LoadedModel, q: GridQuery, ctx: PlanContext): ImagePlan {
  const depth = checkDepth(model, q.depth);
  const cutoff = checkCutoff(model, q.cutoff);
  const cols = Math.min(q.cols ?? Math.ceil(Math.sqrt(q.seeds.length)), q.seeds.length);
  const spec = { seeds: q.seeds, psi: q.psi, cutoff, cols };
  const rows = Math.ceil(q.seeds.length / cols);
  const style = figureStyle(model, depth, q, ctx, rows, cols);
  const view = depthView(model, depth, q.view);
  return {
    job: { model, depth: view.renderDepth, noise: q.noise, cells: sampleGridCells(spec) },
    identity: identityOf(model, q.noise, [
      "grid",
      q.seeds,
      q.psi,
      cutoff,
      cols,
      depth,
      view.name,
      q.format,
      style.tileSize,
      style.font?.id ?? null,
    ]),
    headers: describe(model, depth, tileMetres(model, style), view.name),
    filename: `${model.info.name}-grid-psi${q.psi}`,
    encode: async (tiles) => await encodeFigure(drawSampleGrid(view.apply(tiles), spec, style), q.format),
  };
}

/** GET /truncation: rows = seeds, columns = ψ. */
export function planTruncation(model: LoadedModel, q: TruncationQuery, ctx: PlanContext): ImagePlan {
  const depth = checkDepth(model, q.depth);
  // The paper's figure truncates every style layer.
  const cutoff = checkCutoff(model, q.cutoff ?? model.info.style_layers);
  const cells = q.seeds.length * q.psis.length;
  if (cells > ctx.limits.maxCells) {
    throw new ValidationError(
      "psis",
      `the figure would have ${q.seeds.length} × ${q.psis.length} = ${cells} tiles, more than the limit of ${ctx.limits.maxCells}`,
      `seeds × psis ≤ ${ctx.limits.maxCells}`,
    );
  }
  const spec = { seeds: q.seeds, psis: q.psis, cutoff };
  const style = figureStyle(model, depth, q, ctx, q.seeds.length, q.psis.length);
  const view = depthView(model, depth, q.view);
  return {
    job: { model, depth: view.renderDepth, noise: q.noise, cells: truncationCells(spec) },
    identity: identityOf(model, q.noise, [
      "truncation",
      q.seeds,
      q.psis,
      cutoff,
      depth,
      view.name,
      q.format,
      style.tileSize,
      style.font?.id ?? null,
    ]),
    headers: describe(model, depth, tileMetres(model, style), view.name),
    filename: `${model.info.name}-truncation`,
    encode: async (tiles) =>
      await encodeFigure(drawTruncationFigure(view.apply(tiles), spec, style), q.format),
  };
}

/** The resolved depth-mixing figure: its spec and the rows' style ranges. */
export interface MixingPlan extends ImagePlan {
  spec: MixingFigureSpec;
  depth: number;
  view: DepthView;
}

/** GET /mixing: the first row the sources, the first column the destinations. */
export function planMixing(model: LoadedModel, q: MixingQuery, ctx: PlanContext): MixingPlan {
  const depth = checkDepth(model, q.depth);
  const cutoff = checkCutoff(model, q.cutoff);
  const cells = (q.src.length + 1) * (q.dst.length + 1);
  if (cells > ctx.limits.maxCells) {
    throw new ValidationError(
      "dst",
      `the figure would have (${q.src.length} + 1) × (${q.dst.length} + 1) = ${cells} tiles, more than the limit of ${ctx.limits.maxCells}`,
      `(sources + 1) × (destinations + 1) ≤ ${ctx.limits.maxCells}`,
    );
  }
  const ranges = resolveRanges(model, q.ranges, q.dst.length);
  const spec: MixingFigureSpec = {
    srcSeeds: q.src,
    dstSeeds: q.dst,
    srcPsi: q.src_psi,
    dstPsi: q.dst_psi,
    ranges,
    cutoff,
  };
  // The JSON variant draws nothing, so the canvas limit does not apply to it.
  const style = figureStyle(model, depth, q, ctx, q.dst.length + 1, q.src.length + 1, q.format !== "json");
  const format = q.format === "json" ? "png" : q.format;
  const view = depthView(model, depth, q.view);
  return {
    spec,
    depth,
    view: view.name,
    job: { model, depth: view.renderDepth, noise: q.noise, cells: mixingCellInfo(spec).map((c) => c.cell) },
    identity: identityOf(model, q.noise, [
      "mixing",
      q.src,
      q.dst,
      ranges.map((r) => r.layers),
      q.src_psi,
      q.dst_psi,
      cutoff,
      depth,
      view.name,
      format,
      style.tileSize,
      style.font?.id ?? null,
    ]),
    headers: {
      ...describe(model, depth, tileMetres(model, style), view.name),
      "X-Style-Layers": styleLayersHeader(ranges),
    },
    filename: `${model.info.name}-mixing`,
    encode: async (tiles) => await encodeFigure(drawMixingFigure(view.apply(tiles), spec, style), format),
  };
}

/** The `?format=json` body of /mixing: every cell's seeds, ψ and style layers. */
export function mixingDescription(model: LoadedModel, plan: MixingPlan) {
  const { spec, depth } = plan;
  const gsd = model.info.gsd_m;
  return {
    model: model.info.name,
    depth,
    view: plan.view,
    pixels: pixelsAt(depth),
    metres_per_pixel: gsd === null ? null : groundResolutionAt(depth, model.info.resolution, gsd),
    cutoff: spec.cutoff,
    noise: plan.job.noise,
    src_seeds: spec.srcSeeds,
    dst_seeds: spec.dstSeeds,
    src_psi: spec.srcPsi,
    dst_psi: spec.dstPsi,
    rows: spec.ranges.map((range, r) => ({
      row: r + 1,
      dst_seed: spec.dstSeeds[r],
      range: range.text,
      layers: range.layers,
      depths: range.depths,
      metres_per_pixel: range.metresPerPixel ?? null,
    })),
    cells: mixingCellInfo(spec).map(({ kind, row, col, cell }) => ({
      kind,
      row,
      col,
      seed: cell.seed,
      psi: cell.psi,
      src_seed: cell.mix?.seed ?? null,
      src_psi: cell.mix?.psi ?? null,
      src_layers: cell.mix?.layers ?? null,
    })),
  };
}

/** `X-Style-Layers`: the layer range of each destination row, in row order (e.g. `0-3,4-7`). */
export function styleLayersHeader(ranges: StyleRange[]): string {
  return ranges.map((r) => formatLayers(r.layers)).join(",");
}

function resolveRanges(model: LoadedModel, text: string, rows: number): StyleRange[] {
  let ranges: StyleRange[];
  try {
    ranges = parseStyleRanges(text, { resolution: model.info.resolution, gsdM: model.info.gsd_m });
  } catch (e) {
    if (e instanceof StyleRangeError) throw new ValidationError("ranges", e.message, e.allowed);
    throw e;
  }
  if (ranges.length === 1) return Array(rows).fill(ranges[0]);
  if (ranges.length !== rows) {
    throw new ValidationError(
      "ranges",
      `${ranges.length} ranges for ${rows} destinations: give one range per destination row, or one for all`,
      `1 or ${rows} comma-separated ranges`,
    );
  }
  return ranges;
}

function checkDepth(model: LoadedModel, depth: number | undefined): number {
  const last = model.info.depths - 1;
  if (depth === undefined) return last;
  if (depth > last) {
    throw new ValidationError(
      "depth",
      `depth ${depth} does not exist in the ${model.info.resolution} px model '${model.info.name}'`,
      `an integer from 0 to ${last}`,
    );
  }
  return depth;
}

function checkCutoff(model: LoadedModel, cutoff: number | undefined): number {
  const layers = model.info.style_layers;
  if (cutoff === undefined) return model.generator.options.truncation_cutoff;
  if (cutoff > layers) {
    throw new ValidationError(
      "cutoff",
      `cutoff ${cutoff} is more than the ${layers} style layers of model '${model.info.name}'`,
      `an integer from 0 to ${layers}`,
    );
  }
  return cutoff;
}

/** Tile size, label font and ground extent of a figure; refuses canvases over the pixel limit. */
function figureStyle(
  model: LoadedModel,
  depth: number,
  q: { tile?: number; labels: boolean },
  ctx: PlanContext,
  rows: number,
  cols: number,
  checkSize = true,
): FigureStyle & { tileSize: number } {
  const font = q.labels ? ctx.font : undefined;
  const tileSize = q.tile ?? Math.max(pixelsAt(depth), font ? MIN_LABELLED_TILE : 0);
  // Margins for labels are small; allow for them generously.
  const [extraX, extraY] = font ? [240, 80] : [0, 0];
  const canvas = (cols * tileSize + extraX) * (rows * tileSize + extraY);
  if (checkSize && canvas > ctx.limits.maxFigurePixels) {
    throw new ValidationError(
      "tile",
      `a ${rows} × ${cols} figure of ${tileSize} px tiles has ${canvas} pixels, more than the limit of ${ctx.limits.maxFigurePixels}`,
      `smaller tiles (tile=), a lower depth, or fewer tiles: at most ${ctx.limits.maxFigurePixels} pixels`,
    );
  }
  const gsd = model.info.gsd_m;
  return { tileSize, font, tileExtentM: gsd === null ? undefined : model.info.resolution * gsd };
}

function tileMetres(model: LoadedModel, style: { tileSize: number; tileExtentM?: number }): number | null {
  return style.tileExtentM === undefined || model.info.gsd_m === null
    ? null
    : style.tileExtentM / style.tileSize;
}

/**
 * What determines an image: model file, backend and synthesis path, drawing code, label font, and the
 * request's resolved values.
 */
function identityOf(model: LoadedModel, noise: NoiseMode, values: unknown[]): unknown[] | null {
  if (noise === "random") return null;
  // The own WebGPU pipelines and the tfjs layers may differ in the last bit: which one drew is part of it.
  const path = model.generator.gSynthesis.accelerator ? "own-webgpu" : "layers";
  return [RENDER_VERSION, model.info.name, model.fingerprint, tf.getBackend(), path, noise, ...values];
}

/** How a depth is rendered for a view, and what is done to the tiles afterwards. */
interface DepthViewPlan {
  name: DepthView;
  /** The depth the generator runs to. */
  renderDepth: number;
  /** Tiles as generated → tiles as shown. */
  apply(tiles: Raster8[]): Raster8[];
}

/**
 * `ground`: the generator runs to its last depth and each tile is area-averaged to 4·2^depth px (every output
 * pixel the mean of the 2^(last−depth) square block it covers); `raw`: the depth's own to_rgb head. At the last
 * depth both are the same image.
 */
function depthView(model: LoadedModel, depth: number, view: DepthView): DepthViewPlan {
  const last = model.info.depths - 1;
  if (view === "raw" || depth === last) return { name: view, renderDepth: depth, apply: (tiles) => tiles };
  const side = pixelsAt(depth);
  return { name: view, renderDepth: last, apply: (tiles) => tiles.map((tile) => resizeRaster(tile, side)) };
}

function describe(
  model: LoadedModel,
  depth: number,
  metresPerPixel: number | null,
  view: DepthView,
): Record<string, string> {
  const headers: Record<string, string> = {
    "X-Sgan-Model": model.info.name,
    "X-Sgan-Depth": String(depth),
    "X-Sgan-View": view,
    "X-Sgan-Tile-Pixels": String(pixelsAt(depth)),
  };
  if (metresPerPixel !== null) headers["X-Metres-Per-Pixel"] = String(+metresPerPixel.toPrecision(6));
  return headers;
}
