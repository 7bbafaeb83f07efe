/**
 * The depth-mixing figure (StyleGAN's style-mixing figure, `draw_style_mixing_figure`): the first row holds the
 * source tiles, the first column the destination tiles, and each other cell is its row's destination with that
 * row's range of style layers taken from its column's source. Coarse layers carry layout, fine layers texture;
 * here every layer range is also a range of ground resolution.
 *
 * @module
 */
import type { Image } from "imagescript";
import type { Raster8 } from "../images.ts";
import { formatMetres } from "../scale.ts";
import { drawFigure } from "./canvas.ts";
import type { StyleCell } from "./dlatents.ts";
import { checkTileCount, type FigureStyle, withClass } from "./grid.ts";
import { formatLayers, type StyleRange } from "./style_ranges.ts";

/** What a depth-mixing figure shows. */
export interface MixingFigureSpec {
  /** Columns: the seeds whose styles are copied. */
  srcSeeds: number[];
  /** Rows: the seeds that receive them. */
  dstSeeds: number[];
  /** Truncation ψ of the sources. */
  srcPsi: number;
  /** Truncation ψ of the destinations. */
  dstPsi: number;
  /** The layer range of each row (one per destination). */
  ranges: StyleRange[];
  /** Style layers truncated (default: the model's truncation_cutoff). */
  cutoff?: number;
  /** Column and row labels instead of the seeds (e.g. `w:<id>` for a projected tile). */
  srcNames?: string[];
  dstNames?: string[];
  /** A conditional model's land use of each source and destination, written under its label. */
  srcClasses?: string[];
  dstClasses?: string[];
}

/** Where each tile of a mixing figure comes from, in {@link mixingCells} order. */
export interface MixingCellInfo {
  /** `source` (first row), `destination` (first column) or `mixed`. */
  kind: "source" | "destination" | "mixed";
  /** Figure row and column (row 0 = sources, column 0 = destinations). */
  row: number;
  col: number;
  cell: StyleCell;
}

/** Every tile of the figure: the sources, then the destinations, then the mixed cells row by row. */
export function mixingCellInfo(spec: MixingFigureSpec): MixingCellInfo[] {
  if (spec.ranges.length !== spec.dstSeeds.length) {
    throw new RangeError(
      `a mixing figure needs one range per destination (${spec.dstSeeds.length}), got ${spec.ranges.length}`,
    );
  }
  const cutoff = spec.cutoff;
  const sources = spec.srcSeeds.map((seed, i): MixingCellInfo => ({
    kind: "source",
    row: 0,
    col: i + 1,
    cell: { seed, psi: spec.srcPsi, cutoff },
  }));
  const destinations = spec.dstSeeds.map((seed, i): MixingCellInfo => ({
    kind: "destination",
    row: i + 1,
    col: 0,
    cell: { seed, psi: spec.dstPsi, cutoff },
  }));
  const mixed = spec.dstSeeds.flatMap((dst, r) =>
    spec.srcSeeds.map((src, c): MixingCellInfo => ({
      kind: "mixed",
      row: r + 1,
      col: c + 1,
      cell: {
        seed: dst,
        psi: spec.dstPsi,
        cutoff,
        mix: { seed: src, psi: spec.srcPsi, layers: spec.ranges[r].layers },
      },
    }))
  );
  return [...sources, ...destinations, ...mixed];
}

/** The cells of a mixing figure (see {@link mixingCellInfo} for the order). */
export function mixingCells(spec: MixingFigureSpec): StyleCell[] {
  return mixingCellInfo(spec).map((info) => info.cell);
}

/** Draw a depth-mixing figure from its tiles (in {@link mixingCells} order). */
export function drawMixingFigure(tiles: Raster8[], spec: MixingFigureSpec, style: FigureStyle = {}): Image {
  const info = mixingCellInfo(spec);
  checkTileCount(tiles, info.length, "mixing figure");
  const byCell = new Map(info.map((cell, i) => [`${cell.row},${cell.col}`, tiles[i]]));
  const tileSize = style.tileSize ?? tiles[0].width;
  return drawFigure({
    rows: spec.dstSeeds.length + 1,
    cols: spec.srcSeeds.length + 1,
    tileSize,
    tile: (row, col) => byCell.get(`${row},${col}`),
    corner: "dst \\ src",
    columnLabels: [
      "",
      ...spec.srcSeeds.map((seed, c) => withClass(spec.srcNames?.[c] ?? `${seed}`, spec.srcClasses?.[c])),
    ],
    rowLabels: [
      "",
      ...spec.dstSeeds.map((seed, r) =>
        rangeLabel(withClass(spec.dstNames?.[r] ?? `${seed}`, spec.dstClasses?.[r]), spec.ranges[r])
      ),
    ],
    metresPerPixel: style.tileExtentM ? style.tileExtentM / tileSize : undefined,
    font: style.font,
    footer: style.footer,
  });
}

/** A row label: the destination seed, its layer range, and that range's ground resolution. */
export function rangeLabel(seed: number | string, range: StyleRange): string {
  const lines = [`${seed}`, `layers ${formatLayers(range.layers)}`];
  if (range.metresPerPixel) {
    const [coarse, fine] = range.metresPerPixel;
    lines.push(
      coarse === fine ? `${formatMetres(coarse)}/px` : `${formatMetres(coarse)}–${formatMetres(fine)}/px`,
    );
  }
  return lines.join("\n");
}
