import assert from "node:assert/strict";
import { Image } from "imagescript";
import { drawFigure } from "../../../model/figures/canvas.ts";
import { DEFAULT_FONT_PATHS, loadLabelFont } from "../../../model/figures/labels.ts";
import { drawTruncationFigure } from "../../../model/figures/truncation.ts";
import { drawSampleGrid } from "../../../model/figures/grid.ts";
import { drawMixingFigure } from "../../../model/figures/mixing.ts";
import { solid } from "./support.ts";

const fontInstalled = DEFAULT_FONT_PATHS.some((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

Deno.test("no font: loadLabelFont answers undefined and figures carry no labels", async () => {
  assert.equal(await loadLabelFont({ paths: ["/nonexistent/font.ttf"] }), undefined);
  const notAFont = await Deno.makeTempFile({ suffix: ".ttf" });
  await Deno.writeTextFile(notAFont, "not a font");
  try {
    assert.equal(await loadLabelFont({ paths: [notAFont] }), undefined);
  } finally {
    await Deno.remove(notAFont);
  }
});

Deno.test({
  name: "with a font: labels are drawn in margins, and Deno's global is left as it was",
  ignore: !fontInstalled,
  fn: async () => {
    const font = await loadLabelFont();
    assert.ok(font);
    assert.equal((Deno as unknown as { core?: unknown }).core, undefined);
    const { width, height } = font.measure("ψ=-0.5\nseed");
    assert.equal(height, 2 * font.lineHeight);
    assert.ok(width > 5 * font.advance && width < 7 * font.advance);

    const canvas = new Image(60, 20).fill(0xffffffff);
    font.draw(canvas, "730", 2, 2);
    const dark = canvas.bitmap.filter((v, i) => i % 4 === 0 && v < 128).length;
    assert.ok(dark > 10, "text was drawn");

    const spec = { seeds: [91, 388], psis: [-1, 1], cutoff: 8 };
    const tiles = [
      solid(64, [10, 10, 10]),
      solid(64, [20, 20, 20]),
      solid(64, [30, 30, 30]),
      solid(64, [40, 40, 40]),
    ];
    const plain = drawTruncationFigure(tiles, spec);
    const labelled = drawTruncationFigure(tiles, spec, { font, tileExtentM: 78 });
    assert.deepEqual([plain.width, plain.height], [128, 128]);
    assert.ok(
      labelled.width > 128 && labelled.height > 128 + font.lineHeight,
      "margins for labels and a scale bar",
    );

    // A footer (the server's "generated" line) adds one line under the figure and is drawn there.
    const footed = drawTruncationFigure(tiles, spec, { font, tileExtentM: 78, footer: "Generated" });
    assert.equal(footed.width, labelled.width);
    assert.ok(footed.height >= labelled.height + font.lineHeight, `${footed.height} vs ${labelled.height}`);
    const strip = footed.bitmap.subarray(labelled.height * footed.width * 4);
    assert.ok(strip.some((v, i) => i % 4 === 0 && v < 128), "the footer's text is drawn below the figure");

    // Labels never spill past a narrow column.
    const narrow = drawFigure({
      rows: 1,
      cols: 1,
      tileSize: 8,
      tile: () => solid(8, [0, 0, 0]),
      columnLabels: ["a very long label"],
      footer: "a very long footer line",
      font,
    });
    assert.equal(narrow.width, 8);
  },
});

Deno.test({
  name: "with a font: a conditional model's classes are written under the seeds of grids and mixing figures",
  ignore: !fontInstalled,
  fn: async () => {
    const font = (await loadLabelFont())!;
    const grey = solid(64, [128, 128, 128]);
    // The grid's tile label is a white box as wide as its longest line: "freeway" (7 letters) > "river" (5).
    const whiteInFirstTile = (image: Image) => {
      let n = 0;
      for (let y = 1; y <= 64; y++) {
        for (let x = 1; x <= 64; x++) if (image.getPixelAt(x, y) === 0xffffffff) n++;
      }
      return n;
    };
    const grid = (classes?: string[]) =>
      drawSampleGrid([grey, grey], { seeds: [3, 4], psi: 1, cols: 2, classes }, { font });
    const freeway = whiteInFirstTile(grid(["freeway", "river"]));
    const river = whiteInFirstTile(grid(["river", "river"]));
    const none = whiteInFirstTile(grid());
    assert.ok(freeway > river && river > none, `white pixels: ${freeway}, ${river}, ${none}`);

    // Mixing: a class under each source adds a line to the column labels; under each destination, to the rows.
    const range = { text: "0-1", layers: [0, 1] as [number, number], depths: [0, 0] as [number, number] };
    const mixing = (srcClasses?: string[], dstClasses?: string[]) =>
      drawMixingFigure(Array(3).fill(grey), {
        srcSeeds: [1],
        dstSeeds: [2],
        srcPsi: 1,
        dstPsi: 1,
        ranges: [range],
        srcClasses,
        dstClasses,
      }, { font });
    const plain = mixing();
    assert.equal(mixing(["forest"]).height, plain.height + font.lineHeight);
    assert.ok(mixing(undefined, ["denseresidential"]).width > plain.width, "the row labels widen");
  },
});
