/**
 * The truncation-trick figure (StyleGAN's figure 8, `draw_truncation_trick_figure`): rows are seeds, columns
 * are ψ values, each tile w = avg + ψ (w − avg). As in the papers' scripts, truncation acts on every style
 * layer unless a cutoff is given.
 *
 * @module
 */
import type { Image } from "imagescript";
import type { Raster8 } from "../images.ts";
import { drawFigure } from "./canvas.ts";
import type { StyleCell } from "./dlatents.ts";
import { checkTileCount, type FigureStyle } from "./grid.ts";

/** What a truncation figure shows. */
export interface TruncationFigureSpec {
  /** One row per seed. */
  seeds: number[];
  /** One column per ψ. */
  psis: number[];
  /** Style layers truncated, from the coarsest; the figure's default is all of them. */
  cutoff: number;
  /** Row labels instead of the seeds (e.g. `w:<id>` for a projected tile). */
  seedNames?: string[];
}

/** The cells of a truncation figure, row-major (seed by seed, ψ by ψ). */
export function truncationCells(spec: TruncationFigureSpec): StyleCell[] {
  return spec.seeds.flatMap((seed) => spec.psis.map((psi) => ({ seed, psi, cutoff: spec.cutoff })));
}

/** Draw a truncation figure from its tiles (in {@link truncationCells} order). */
export function drawTruncationFigure(
  tiles: Raster8[],
  spec: TruncationFigureSpec,
  style: FigureStyle = {},
): Image {
  checkTileCount(tiles, spec.seeds.length * spec.psis.length, "truncation figure");
  const cols = spec.psis.length;
  const tileSize = style.tileSize ?? tiles[0].width;
  return drawFigure({
    rows: spec.seeds.length,
    cols,
    tileSize,
    tile: (row, col) => tiles[row * cols + col],
    corner: "seed",
    columnLabels: spec.psis.map((psi) => `ψ=${psi}`),
    rowLabels: spec.seeds.map((seed, r) => spec.seedNames?.[r] ?? `${seed}`),
    metresPerPixel: style.tileExtentM ? style.tileExtentM / tileSize : undefined,
    font: style.font,
    footer: style.footer,
  });
}
