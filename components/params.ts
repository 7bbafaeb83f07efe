/**
 * The widgets' settings, from attribute text (or property values) to checked values. Pure: no DOM, no fetch.
 *
 * Seed lists and style ranges are parsed by the server's own rules (`model/shared/rules.ts`, bundled with the
 * widgets), so a typo is refused at once, without a round trip, in the server's words, prefixed by the label the
 * user sees ("Destination seeds: …"). Style ranges are checked against the model from `/api/models` once it has
 * arrived; the server's figure limits once `/api/models` has told them.
 *
 * @module
 */
import {
  isStyleRangeSyntax,
  MAX_SEED,
  parseLayerSpan,
  parseSeeds,
  parseStyleRange,
  SEED_SYNTAX,
  STYLE_RANGE_SYNTAX,
  StyleRangeError,
} from "../model/shared/rules.ts";
import type { ScaleEntry } from "./model_info.ts";

export { MAX_SEED, SEED_SYNTAX };

/** ψ the server accepts (1 = no truncation, 0 = the average tile, < 0 its opposite). */
export const PSI_RANGE = [-2, 2] as const;

/**
 * Most items a list attribute may expand to before the server is asked. The server's own limit is lower (and
 * configurable); this one only stops `0-4294967295` from freezing the page.
 */
export const MAX_LIST_ITEMS = 1024;

/** Noise modes of `/generate`. */
export const NOISE_MODES = ["const", "random", "none"] as const;

/** A noise mode. */
export type NoiseMode = (typeof NOISE_MODES)[number];

/**
 * What a depth below the last shows (`view` of the image routes): `ground`, the tile as seen at that depth's
 * ground resolution (the server's default), or `raw`, the depth's own to_rgb head (research).
 */
export const VIEWS = ["ground", "raw"] as const;

/** A {@link VIEWS} value. */
export type View = (typeof VIEWS)[number];

/** How a style range may be written, for messages (the server's wording). */
export const RANGE_SYNTAX: string = STYLE_RANGE_SYNTAX;

/**
 * What each setting is called where users see it (the widgets' labels), by attribute name and by the
 * server's query name: messages use these words, never `src-psi` or `dst`.
 */
export const SETTING_LABELS: Readonly<Record<string, string>> = {
  seed: "Seed",
  seeds: "Seeds",
  src: "Source seeds",
  dst: "Destination seeds",
  psi: "ψ",
  psis: "ψ columns",
  "src-psi": "Source ψ",
  src_psi: "Source ψ",
  "dst-psi": "Destination ψ",
  dst_psi: "Destination ψ",
  ranges: "Style layers",
  depth: "Depth",
  view: "View",
  model: "Model",
  noise: "Noise",
  cutoff: "Truncation cutoff",
  tile: "Tile size",
  // The server's `class` is the widgets' `tile-class` attribute: `class` is HTML's CSS class attribute.
  class: "Class",
  "tile-class": "Class",
  src_class: "Source class",
  "src-class": "Source class",
  dst_class: "Destination class",
  "dst-class": "Destination class",
};

/** The label users see for a setting (its attribute or query name when there is none). */
export function settingLabel(field: string | null | undefined): string {
  if (!field) return "";
  return SETTING_LABELS[field] ?? field;
}

/** A property value as an attribute gives it, or as script sets it. */
export type NumberLike = number | string | null | undefined;

/** A list as an attribute gives it (`"730,904"`), or as script sets it (`[730, 904]`). */
export type ListLike = string | readonly (number | string)[] | null | undefined;

/** A setting that cannot be used; `field` names the attribute, `allowed` says what would do. */
export class SettingError extends Error {
  override name = "SettingError";
  constructor(readonly field: string, message: string, readonly allowed: string) {
    super(message);
  }
}

/** A style range resolved against a model. */
export interface ResolvedRange {
  /** As written. */
  text: string;
  /** First and last style layer taken from the source (inclusive). */
  layers: [number, number];
  /** First and last generator depth those layers act at (inclusive). */
  depths: [number, number];
  /** Metres per pixel at the first and last depth, coarse first; null when the model has no ground scale. */
  metresPerPixel: [number, number] | null;
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Lit converter for numeric attributes: a clean number becomes a number, anything else stays text so that the
 * widget can quote it in its message; a number reflects back as its text.
 */
export const numericConverter = {
  fromAttribute(value: string | null): number | string | undefined {
    if (value === null) return undefined;
    return DECIMAL.test(value.trim()) ? Number(value) : value;
  },
  toAttribute(value: unknown): string | null {
    return value === undefined || value === null ? null : String(value);
  },
};

/** Lit converter for list attributes: text stays text; an array set from script reflects as `a,b,c`. */
export const listConverter = {
  fromAttribute(value: string | null): string | undefined {
    return value ?? undefined;
  },
  toAttribute(value: unknown): string | null {
    if (value === undefined || value === null) return null;
    return Array.isArray(value) ? value.join(",") : String(value);
  },
};

/** One seed: an integer from 0 to {@link MAX_SEED}. */
export function parseSeed(value: NumberLike, field = "seed"): number {
  const allowed = `an integer from 0 to ${MAX_SEED}`;
  if (isAbsent(value)) throw new SettingError(field, `${settingLabel(field)} is required`, allowed);
  const text = String(value).trim();
  if (!/^\d{1,10}$/.test(text)) {
    throw new SettingError(
      field,
      `${settingLabel(field)} "${clip(text)}" is not a whole number from 0 to ${MAX_SEED}`,
      allowed,
    );
  }
  const seed = Number(text);
  if (seed > MAX_SEED) {
    throw new SettingError(
      field,
      `${settingLabel(field)} ${text} is larger than ${MAX_SEED} (2^32 - 1)`,
      allowed,
    );
  }
  return seed;
}

/**
 * A seed list such as `730,904` or `0-7` (what `seeds`, `src` and `dst` take), expanded by the server's own
 * rule, at most `maxCount` seeds (the server's limit once known).
 */
export function parseSeedList(value: ListLike, field = "seeds", maxCount = MAX_LIST_ITEMS): number[] {
  try {
    return parseSeeds(listText(value), maxCount);
  } catch (e) {
    const allowed = /expands to more than/.test((e as Error).message)
      ? `at most ${maxCount} seeds`
      : SEED_SYNTAX;
    throw new SettingError(field, `${settingLabel(field)}: ${(e as Error).message}`, allowed);
  }
}

/** ψ: a number in {@link PSI_RANGE}; absent gives `fallback`. */
export function parsePsi(value: NumberLike, field = "psi", fallback = 1): number {
  if (isAbsent(value)) return fallback;
  const text = String(value).trim();
  const allowed = `a number from ${PSI_RANGE[0]} to ${
    PSI_RANGE[1]
  } (1 = no truncation, 0 = the average tile)`;
  if (!DECIMAL.test(text)) {
    throw new SettingError(field, `${settingLabel(field)} "${clip(text)}" is not a number`, allowed);
  }
  const psi = Number(text);
  if (psi < PSI_RANGE[0] || psi > PSI_RANGE[1]) {
    throw new SettingError(
      field,
      `${settingLabel(field)} ${text} is outside ${PSI_RANGE[0]} to ${PSI_RANGE[1]}`,
      allowed,
    );
  }
  return psi;
}

/** A ψ list such as `-1,-0.5,0,0.5,1` (the truncation figure's columns). */
export function parsePsiList(value: ListLike, field = "psis"): number[] {
  const text = listText(value);
  const allowed = `comma-separated numbers from ${PSI_RANGE[0]} to ${PSI_RANGE[1]}`;
  if (text === "") throw new SettingError(field, `${settingLabel(field)}: no ψ values given`, allowed);
  const items = text.split(",");
  if (items.length > MAX_LIST_ITEMS) {
    throw new SettingError(field, `${settingLabel(field)}: more than ${MAX_LIST_ITEMS} values`, allowed);
  }
  return items.map((item) => parsePsi(item.trim() === "" ? "(empty)" : item, field));
}

/** An optional depth (0 = 4 px); the model's last depth is checked by the server. */
export function parseDepth(value: NumberLike, field = "depth"): number | undefined {
  if (isAbsent(value)) return undefined;
  const text = String(value).trim();
  if (!/^\d{1,2}$/.test(text)) {
    throw new SettingError(
      field,
      `${settingLabel(field)} "${clip(text)}" is not a whole number`,
      "an integer from 0 (4 px) to the model's last depth",
    );
  }
  return Number(text);
}

/** An optional noise mode. */
export function parseNoise(value: string | null | undefined): NoiseMode | undefined {
  if (isAbsent(value)) return undefined;
  const text = String(value).trim();
  if (!(NOISE_MODES as readonly string[]).includes(text)) {
    throw new SettingError(
      "noise",
      `${settingLabel("noise")} "${clip(text)}" is not a noise mode`,
      NOISE_MODES.join(", "),
    );
  }
  return text as NoiseMode;
}

/** An optional view (`ground` or `raw`). */
export function parseView(value: string | null | undefined, field = "view"): View | undefined {
  if (isAbsent(value)) return undefined;
  const text = String(value).trim();
  if (!(VIEWS as readonly string[]).includes(text)) {
    throw new SettingError(field, `${settingLabel(field)} "${clip(text)}" is not a view`, VIEWS.join(", "));
  }
  return text as View;
}

/**
 * An optional class name (a conditional model's land use, or `random`), trimmed. Which names exist is the
 * model's to say: the server answers a class it lacks with a 400 listing its classes, and the widget shows
 * that answer, so no list is kept here.
 */
export function parseClassName(value: string | null | undefined): string | undefined {
  return isAbsent(value) ? undefined : String(value).trim();
}

/** An optional model name (a file stem on the server). */
export function parseModelName(value: string | null | undefined): string | undefined {
  if (isAbsent(value)) return undefined;
  const text = String(value).trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(text)) {
    throw new SettingError(
      "model",
      `${settingLabel("model")} "${clip(text)}" is not a model name`,
      "a model name listed by /api/models",
    );
  }
  return text;
}

/** The items of a `ranges` list, each checked for syntax only (no model needed). */
export function splitRanges(value: ListLike, field = "ranges"): string[] {
  const text = listText(value);
  if (text === "") {
    throw new SettingError(field, `${settingLabel(field)}: no style ranges given`, RANGE_SYNTAX);
  }
  const items = text.split(",").map((item) => item.trim());
  if (items.length > MAX_LIST_ITEMS) {
    throw new SettingError(field, `${settingLabel(field)}: more than ${MAX_LIST_ITEMS} ranges`, RANGE_SYNTAX);
  }
  for (const item of items) {
    if (!isStyleRangeSyntax(item)) {
      throw new SettingError(
        field,
        `${settingLabel(field)}: "${clip(item)}" is not a style range`,
        RANGE_SYNTAX,
      );
    }
  }
  return items;
}

/**
 * Resolve one range (`0-5`, `8`, `256m-32m`, `2m`) against a model's scale table by the server's own rule
 * (the table's last row is the model's resolution and ground resolution): layers must exist; metres select the
 * depths whose metres per pixel fall inside the range.
 */
export function resolveRange(text: string, scale: readonly ScaleEntry[], field = "ranges"): ResolvedRange {
  const full = scale[scale.length - 1];
  try {
    const range = parseStyleRange(text, { resolution: full.pixels, gsdM: full.metres_per_pixel });
    return {
      text: range.text,
      layers: range.layers,
      depths: range.depths,
      metresPerPixel: range.metresPerPixel ?? null,
    };
  } catch (e) {
    if (!(e instanceof StyleRangeError)) throw e;
    throw new SettingError(field, `${settingLabel(field)}: ${e.message}`, e.allowed);
  }
}

/** Resolve a `ranges` list for `rows` destination rows: one range per row, or one for all. */
export function resolveRanges(
  value: ListLike,
  rows: number,
  scale: readonly ScaleEntry[],
  field = "ranges",
): ResolvedRange[] {
  const ranges = splitRanges(value, field).map((item) => resolveRange(item, scale, field));
  if (ranges.length === 1) return Array.from({ length: rows }, () => ranges[0]);
  if (ranges.length !== rows) {
    throw new SettingError(
      field,
      `${
        settingLabel(field)
      }: ${ranges.length} ranges for ${rows} destinations: give one range per destination row, or one for all`,
      `1 or ${rows} comma-separated ranges`,
    );
  }
  return ranges;
}

/**
 * Fit a range list to a new number of destination rows: kept when it is one for all or already fits,
 * otherwise cut or extended with its last item. For the mixer's seed input, so that adding a destination
 * does not leave the ranges one short.
 */
export function fitRanges(items: readonly string[], rows: number): string[] {
  if (items.length <= 1 || items.length === rows || rows < 1) return [...items];
  if (items.length > rows) return items.slice(0, rows);
  return [...items, ...Array(rows - items.length).fill(items[items.length - 1])];
}

/**
 * The truncation figure's columns for a new largest |ψ|: every column scaled by the same factor, so the
 * pattern the author chose (symmetric, one-sided, the paper's 1 … -1) is kept. All-zero columns become an
 * even spread from -extent to extent.
 */
export function scalePsis(psis: readonly number[], extent: number): number[] {
  const largest = Math.max(...psis.map(Math.abs));
  if (!(largest > 0)) {
    if (psis.length === 1) return [round(extent, 3)];
    return psis.map((_, i) => round(-extent + (2 * extent * i) / (psis.length - 1), 3));
  }
  return psis.map((psi) => round((psi * extent) / largest, 3));
}

/** The largest |ψ| of a list (the truncation slider's value). */
export function psiExtent(psis: readonly number[]): number {
  return psis.length === 0 ? 0 : Math.max(...psis.map(Math.abs));
}

/** A list as the server is sent it: the author's own items (so its messages quote them), without spaces. */
export function compactList(value: ListLike): string {
  return listText(value).replace(/\s+/g, "");
}

/** Numbers as a list attribute writes them. */
export function formatList(values: readonly number[]): string {
  return values.join(",");
}

/** Layer range as "a-b" (or "a"), as the server's X-Style-Layers header writes it. */
export function formatLayers([first, last]: readonly [number, number]): string {
  return first === last ? `${first}` : `${first}-${last}`;
}

/** The layer ranges of the server's `X-Style-Layers` header (`0-3,4-7`), or null when it is absent or odd. */
export function parseStyleLayersHeader(header: string | null): [number, number][] | null {
  if (!header) return null;
  const out: [number, number][] = [];
  for (const item of header.split(",")) {
    const span = parseLayerSpan(item);
    if (!span) return null;
    out.push(span);
  }
  return out;
}

function listText(value: ListLike): string {
  if (value === null || value === undefined) return "";
  return (Array.isArray(value) ? value.join(",") : String(value)).trim();
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === "string" && value.trim() === "");
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  const r = Math.round(value * f) / f;
  return Object.is(r, -0) ? 0 : r;
}

function clip(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
