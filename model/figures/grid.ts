/**
 * The sample grid (StyleGAN's uncurated-samples figure): one tile per seed, row by row.
 *
 * @module
 */
import type { Image } from "imagescript";
import type { Raster8 } from "../images.ts";
import { drawFigure } from "./canvas.ts";
import type { StyleCell } from "./dlatents.ts";
import type { LabelFont } from "./labels.ts";

/** How to draw a figure's tiles and labels (shared by every figure). */
export interface FigureStyle {
  /** Side of each tile on the canvas in pixels (default: the tiles' own size). */
  tileSize?: number;
  /** Label font; without one the figure is tiles only, exactly as the papers' scripts draw it. */
  font?: LabelFont;
  /** Side of a tile on the ground in metres (from the model's scale table); with a font, draws a scale bar. */
  tileExtentM?: number;
  /** With a font, a line under the figure (the server says there that the imagery is generated). */
  footer?: string;
}

/** What a sample grid shows. */
export interface SampleGridSpec {
  seeds: number[];
  /** Truncation ψ of every tile. */
  psi: number;
  /** Style layers truncated (default: the model's truncation_cutoff). */
  cutoff?: number;
  /** Tiles per row. */
  cols: number;
  /** A conditional model's land use of each tile, written under its seed. */
  classes?: string[];
}

/** The cells of a sample grid, in seed order. */
export function sampleGridCells(spec: SampleGridSpec): StyleCell[] {
  return spec.seeds.map((seed) => ({ seed, psi: spec.psi, cutoff: spec.cutoff }));
}

/** Draw a sample grid from its tiles (in {@link sampleGridCells} order); labels, if any, are the seeds (and classes). */
export function drawSampleGrid(tiles: Raster8[], spec: SampleGridSpec, style: FigureStyle = {}): Image {
  checkTileCount(tiles, spec.seeds.length, "sample grid");
  const cols = Math.min(spec.cols, tiles.length);
  const tileSize = style.tileSize ?? tiles[0].width;
  return drawFigure({
    rows: Math.ceil(tiles.length / cols),
    cols,
    tileSize,
    tile: (row, col) => tiles[row * cols + col],
    tileLabel: (row, col) => {
      const i = row * cols + col;
      const seed = spec.seeds[i];
      return seed === undefined ? undefined : withClass(`${seed}`, spec.classes?.[i]);
    },
    metresPerPixel: style.tileExtentM ? style.tileExtentM / tileSize : undefined,
    font: style.font,
    footer: style.footer,
  });
}

/** A tile's label with its land use on the next line (a conditional model's); the name alone without one. */
export function withClass(name: string, className: string | undefined): string {
  return className ? `${name}\n${className}` : name;
}

/** Throws when a figure is given the wrong number of tiles (a programming error, not user input). */
export function checkTileCount(tiles: Raster8[], expected: number, figure: string): void {
  if (tiles.length !== expected || expected === 0) {
    throw new RangeError(`${figure} needs ${expected} tiles, got ${tiles.length}`);
  }
}
