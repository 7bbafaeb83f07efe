/**
 * The figure canvas: tiles pasted edge to edge on a white background in rows and columns, as StyleGAN's
 * `generate_figures.py` and StyleGAN.pytorch's `draw_*_figure` lay them out, with optional margins for
 * column and row labels and a ground scale bar.
 *
 * Pure: rasters in, an imagescript Image out.
 *
 * @module
 */
import { Image } from "imagescript";
import type { Raster8 } from "../images.ts";
import { formatMetres } from "../scale.ts";
import type { LabelFont } from "./labels.ts";

/** A rows × cols arrangement of tiles and its labels. */
export interface FigureGrid {
  rows: number;
  cols: number;
  /** The tile of each cell, or undefined for a blank (white) cell. */
  tile: (row: number, col: number) => Raster8 | undefined;
  /** Side of every tile on the canvas in pixels; tiles of another size are resampled. */
  tileSize: number;
  /** Labels above the columns (drawn only with a font). */
  columnLabels?: string[];
  /** Labels left of the rows, `\n` for several lines (drawn only with a font). */
  rowLabels?: string[];
  /** Text in the top-left corner, above the row labels (drawn only with a font). */
  corner?: string;
  /** A label inside a tile's top-left corner on a white box (drawn only with a font). */
  tileLabel?: (row: number, col: number) => string | undefined;
  /** Ground metres per canvas pixel of a tile; with a font, a scale bar is drawn under the first column. */
  metresPerPixel?: number;
  /** A line under the figure, e.g. that the imagery is generated (drawn only with a font; clipped to the width). */
  footer?: string;
  /** The label font; without one the canvas is exactly rows × cols tiles. */
  font?: LabelFont;
}

/** Padding around labels, in pixels. */
const PAD = 4;
/** Thickness of the scale bar, in pixels. */
const BAR_HEIGHT = 4;
const WHITE = 0xffffffff;

/** Draw the figure described by `grid`. */
export function drawFigure(grid: FigureGrid): Image {
  const { rows, cols, tileSize, font } = grid;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new RangeError(`a figure needs at least one row and one column, got ${rows} × ${cols}`);
  }
  if (!Number.isInteger(tileSize) || tileSize < 1) {
    throw new RangeError(`tileSize must be a positive integer, got ${tileSize}`);
  }
  const bar = font && grid.metresPerPixel ? scaleBar(grid.metresPerPixel, tileSize) : undefined;
  const rowLabelWidth = font && grid.rowLabels
    ? Math.max(...[...grid.rowLabels, grid.corner ?? ""].map((text) => font.measure(text).width))
    : 0;
  const left = font && grid.rowLabels ? rowLabelWidth + 2 * PAD : 0;
  // As tall as the tallest column label (a class under a seed makes two lines).
  const top = font && (grid.columnLabels || grid.corner)
    ? Math.max(font.lineHeight, ...(grid.columnLabels ?? []).map((text) => font.measure(text).height)) +
      2 * PAD
    : 0;
  const barSpace = font && bar ? BAR_HEIGHT + font.lineHeight + 3 * PAD : 0;
  const footerSpace = font && grid.footer ? font.lineHeight + (bar ? PAD : 2 * PAD) : 0;
  const bottom = barSpace + footerSpace;
  const canvas = new Image(left + cols * tileSize, top + rows * tileSize + bottom).fill(WHITE);

  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      const tile = grid.tile(row, col);
      if (tile) pasteRaster(canvas, tile, left + col * tileSize, top + row * tileSize, tileSize);
    }
  }
  if (!font) return canvas;

  // Labels.
  if (grid.corner) font.draw(canvas, grid.corner, PAD, PAD, Math.max(left, tileSize) - PAD);
  grid.columnLabels?.forEach((text, col) => {
    const width = Math.min(font.measure(text).width, tileSize);
    font.draw(canvas, text, left + col * tileSize + Math.floor((tileSize - width) / 2), PAD, tileSize);
  });
  grid.rowLabels?.forEach((text, row) => {
    const height = font.measure(text).height;
    font.draw(
      canvas,
      text,
      PAD,
      top + row * tileSize + Math.max(0, Math.floor((tileSize - height) / 2)),
      rowLabelWidth,
    );
  });
  if (grid.tileLabel) {
    for (let row = 0; row < rows; row++) {
      for (let col = 0; col < cols; col++) {
        const text = grid.tileLabel(row, col);
        if (!text) continue;
        const { width, height } = font.measure(text);
        const x = left + col * tileSize;
        const y = top + row * tileSize;
        fillRect(canvas, x, y, Math.min(width + 2, tileSize), Math.min(height, tileSize), WHITE);
        font.draw(canvas, text, x + 1, y, tileSize - 2);
      }
    }
  }

  // Scale bar under the first tile column.
  if (bar) {
    const y = top + rows * tileSize + PAD;
    fillRect(canvas, left, y, bar.pixels, BAR_HEIGHT, 0x000000ff);
    font.draw(
      canvas,
      formatMetres(bar.metres),
      left,
      y + BAR_HEIGHT + PAD,
      Math.max(tileSize, canvas.width - left),
    );
  }
  if (grid.footer) {
    font.draw(
      canvas,
      grid.footer,
      PAD,
      canvas.height - font.lineHeight - PAD,
      Math.max(1, canvas.width - 2 * PAD),
    );
  }
  return canvas;
}

/**
 * The longest round ground length (1, 2 or 5 × 10^k metres) whose bar fits in `maxPixels` at `metresPerPixel`,
 * and its length in pixels.
 */
export function scaleBar(
  metresPerPixel: number,
  maxPixels: number,
): { metres: number; pixels: number } | undefined {
  if (!(metresPerPixel > 0) || !Number.isFinite(metresPerPixel) || maxPixels < 2) return undefined;
  const limit = metresPerPixel * maxPixels * 0.8;
  let best: number | undefined;
  for (
    let exponent = Math.floor(Math.log10(limit)) - 1;
    exponent <= Math.ceil(Math.log10(limit));
    exponent++
  ) {
    for (const mantissa of [1, 2, 5]) {
      const metres = mantissa * 10 ** exponent;
      if (metres <= limit * (1 + 1e-9) && (best === undefined || metres > best)) best = metres;
    }
  }
  if (best === undefined) return undefined;
  const metres = +best.toPrecision(3);
  return { metres, pixels: Math.max(1, Math.round(metres / metresPerPixel)) };
}

/**
 * Paste an 8-bit raster at (x, y), resampled to `size` × `size`: nearest neighbour when enlarging (keeps pixels
 * honest), box average when reducing. Grey rasters are drawn grey; rasters of more than 3 bands show the first 3.
 */
export function pasteRaster(canvas: Image, raster: Raster8, x: number, y: number, size = raster.width): void {
  const { width, height, channels, data } = resizeRaster(raster, size);
  const bitmap = canvas.bitmap;
  for (let ty = 0; ty < height; ty++) {
    const cy = y + ty;
    if (cy < 0 || cy >= canvas.height) continue;
    for (let tx = 0; tx < width; tx++) {
      const cx = x + tx;
      if (cx < 0 || cx >= canvas.width) continue;
      const src = (ty * width + tx) * channels;
      const p = (cy * canvas.width + cx) * 4;
      bitmap[p] = data[src];
      bitmap[p + 1] = data[src + (channels >= 3 ? 1 : 0)];
      bitmap[p + 2] = data[src + (channels >= 3 ? 2 : 0)];
      bitmap[p + 3] = 255;
    }
  }
}

/** An 8-bit raster resampled to `size` × `size` (as {@link pasteRaster} does), keeping its bands. */
export function resizeRaster(raster: Raster8, size: number): Raster8 {
  if (raster.width === size && raster.height === size) return raster;
  const { width, height, channels, data } = raster;
  const out = new Uint8Array(size * size * channels);
  for (let ty = 0; ty < size; ty++) {
    const y0 = Math.floor((ty * height) / size);
    const y1 = Math.max(y0 + 1, Math.floor(((ty + 1) * height) / size));
    for (let tx = 0; tx < size; tx++) {
      const x0 = Math.floor((tx * width) / size);
      const x1 = Math.max(x0 + 1, Math.floor(((tx + 1) * width) / size));
      const count = (y1 - y0) * (x1 - x0);
      for (let k = 0; k < channels; k++) {
        let sum = 0;
        for (let sy = y0; sy < y1; sy++) {
          for (let sx = x0; sx < x1; sx++) sum += data[(sy * width + sx) * channels + k];
        }
        out[(ty * size + tx) * channels + k] = Math.round(sum / count);
      }
    }
  }
  return { width: size, height: size, channels, data: out };
}

function fillRect(canvas: Image, x: number, y: number, width: number, height: number, rgba: number): void {
  const bitmap = canvas.bitmap;
  const r = (rgba >>> 24) & 255, g = (rgba >>> 16) & 255, b = (rgba >>> 8) & 255, a = rgba & 255;
  for (let cy = Math.max(0, y); cy < Math.min(canvas.height, y + height); cy++) {
    for (let cx = Math.max(0, x); cx < Math.min(canvas.width, x + width); cx++) {
      const p = (cy * canvas.width + cx) * 4;
      bitmap[p] = r;
      bitmap[p + 1] = g;
      bitmap[p + 2] = b;
      bitmap[p + 3] = a;
    }
  }
}
