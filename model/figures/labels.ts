/**
 * Small text labels for figures (ψ values, seeds, layer ranges, scale bars).
 *
 * imagescript rasterises TrueType fonts, but one `Image.renderText` call costs tens of milliseconds (it parses
 * the whole font each time), too slow to call per label on a request path. So a {@link LabelFont} renders its
 * character set once, one glyph per line of a monospaced font, and labels are then composed from those glyph
 * cells. A monospaced font keeps every cell the same width, so no per-glyph metrics are needed.
 *
 * Fonts are optional: {@link loadLabelFont} returns undefined when no font file is found, and figures are then
 * drawn without labels.
 *
 * @module
 */
import { Image } from "imagescript";

/** Where {@link loadLabelFont} looks for a monospaced TrueType font (Debian/Ubuntu, Fedora, Alpine, macOS). */
export const DEFAULT_FONT_PATHS: readonly string[] = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
  "/usr/share/fonts/dejavu-sans-mono-fonts/DejaVuSansMono.ttf",
  "/usr/share/fonts/dejavu/DejaVuSansMono.ttf",
  "/usr/share/fonts/TTF/DejaVuSansMono.ttf",
  "/Library/Fonts/DejaVuSansMono.ttf",
];

/** Default label size in pixels (the font's em size). */
export const DEFAULT_LABEL_SIZE = 12;

/** Characters a label may use: printable ASCII plus the symbols the figures print. */
const CHARSET = [
  ...Array.from({ length: 126 - 33 + 1 }, (_, i) => String.fromCharCode(33 + i)),
  "ψ",
  "–",
  "·",
  "×",
  "µ",
  "²",
];

/** RGBA colour of label text (opaque black). */
const INK = [0, 0, 0] as const;

/** A monospaced font rasterised once at one size, ready to draw labels onto figure canvases. */
export class LabelFont {
  private constructor(
    /** Identifies the font file and size (for cache keys of labelled figures). */
    readonly id: string,
    /** Em size in pixels. */
    readonly size: number,
    /** Height of one line of text in pixels. */
    readonly lineHeight: number,
    /** Horizontal advance of one character in (fractional) pixels. */
    readonly advance: number,
    private readonly cellWidth: number,
    /** Coverage (alpha 0-255) of each glyph, `cellWidth × lineHeight`, row-major. */
    private readonly glyphs: Map<string, Uint8Array>,
  ) {}

  /** Rasterise `fontBytes` (a monospaced TrueType/OpenType font) at `size` px. Throws if the font is unusable. */
  static async fromBytes(fontBytes: Uint8Array, size = DEFAULT_LABEL_SIZE): Promise<LabelFont> {
    const [atlas, ruler] = await withDenoCoreShim(async () => [
      await Image.renderText(fontBytes, size, CHARSET.join("\n"), 0x000000ff),
      await Image.renderText(fontBytes, size, "0".repeat(40), 0x000000ff),
    ]);
    const lineHeight = atlas.height / CHARSET.length;
    if (!Number.isInteger(lineHeight) || lineHeight <= 0) {
      throw new Error(`the label font did not lay out one glyph per line (atlas height ${atlas.height})`);
    }
    const advance = ruler.width / 40;
    const cellWidth = atlas.width;
    const glyphs = new Map<string, Uint8Array>();
    CHARSET.forEach((char, line) => {
      const coverage = new Uint8Array(cellWidth * lineHeight);
      for (let y = 0; y < lineHeight; y++) {
        for (let x = 0; x < cellWidth; x++) {
          coverage[y * cellWidth + x] = atlas.bitmap[((line * lineHeight + y) * cellWidth + x) * 4 + 3];
        }
      }
      glyphs.set(char, coverage);
    });
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", fontBytes as Uint8Array<ArrayBuffer>),
    );
    const id = `${
      Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("")
    }@${size}`;
    return new LabelFont(id, size, lineHeight, advance, cellWidth, glyphs);
  }

  /** Width and height in pixels of `text` (lines split at `\n`). */
  measure(text: string): { width: number; height: number } {
    const lines = text.split("\n");
    const longest = Math.max(...lines.map((line) => [...line].length));
    return { width: Math.ceil(longest * this.advance), height: lines.length * this.lineHeight };
  }

  /**
   * Draw `text` with its top-left corner at (x, y), lines split at `\n`. Glyphs that would cross `maxWidth`
   * (from x) or the canvas edge are left out; characters outside the font's set are drawn as `?`.
   */
  draw(canvas: Image, text: string, x: number, y: number, maxWidth = Infinity): void {
    text.split("\n").forEach((line, row) => {
      [...line].forEach((char, i) => {
        const left = Math.round(x + i * this.advance);
        if (left + this.advance - x > maxWidth + 0.5) return;
        if (char === " ") return;
        const glyph = this.glyphs.get(char) ?? this.glyphs.get("?")!;
        blendGlyph(canvas, glyph, this.cellWidth, this.lineHeight, left, y + row * this.lineHeight);
      });
    });
  }
}

/** Alpha-blend one glyph's coverage in {@link INK} onto the canvas, clipped to its bounds. */
function blendGlyph(
  canvas: Image,
  coverage: Uint8Array,
  width: number,
  height: number,
  x0: number,
  y0: number,
): void {
  const bitmap = canvas.bitmap;
  for (let y = 0; y < height; y++) {
    const cy = y0 + y;
    if (cy < 0 || cy >= canvas.height) continue;
    for (let x = 0; x < width; x++) {
      const cx = x0 + x;
      const alpha = coverage[y * width + x];
      if (alpha === 0 || cx < 0 || cx >= canvas.width) continue;
      const p = (cy * canvas.width + cx) * 4;
      const a = alpha / 255;
      for (let k = 0; k < 3; k++) bitmap[p + k] = Math.round(bitmap[p + k] * (1 - a) + INK[k] * a);
      bitmap[p + 3] = 255;
    }
  }
}

/**
 * Load the first readable font of `paths` (default: `preferred`, the runtime's `SGAN_FONT`, when given, then
 * {@link DEFAULT_FONT_PATHS}) and rasterise it. Returns undefined, never throws, when no font can be used:
 * figures then carry no labels.
 */
export async function loadLabelFont(
  options: { paths?: readonly string[]; preferred?: string; size?: number } = {},
): Promise<LabelFont | undefined> {
  const paths = options.paths ?? [...(options.preferred ? [options.preferred] : []), ...DEFAULT_FONT_PATHS];
  for (const path of paths) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch {
      continue; // not installed here: try the next candidate
    }
    try {
      return await LabelFont.fromBytes(bytes, options.size ?? DEFAULT_LABEL_SIZE);
    } catch {
      continue; // unreadable font: try the next one
    }
  }
  return undefined;
}

let shimQueue: Promise<unknown> = Promise.resolve();

/**
 * imagescript 1.3's font module reads `Deno.core.encode`/`decode` when it finds a `Deno` global; Deno 2 no longer
 * exposes `Deno.core`. Provide the two UTF-8 helpers for the duration of `fn` (serialised, so one call cannot
 * remove them while another still needs them) and leave the global as it was.
 */
function withDenoCoreShim<T>(fn: () => Promise<T>): Promise<T> {
  const run = async () => {
    const deno = (globalThis as { Deno?: { core?: unknown } }).Deno;
    if (!deno || deno.core !== undefined) return await fn();
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    deno.core = { encode: (s: string) => encoder.encode(s), decode: (b: Uint8Array) => decoder.decode(b) };
    try {
      return await fn();
    } finally {
      delete deno.core;
    }
  };
  const result = shimQueue.then(run, run);
  shimQueue = result.catch(() => undefined);
  return result;
}
