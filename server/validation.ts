/**
 * Query validation, declared per route. Each parameter is a {@link ParamDef}: a zod schema for its raw text, what
 * is allowed (for the 400 body), a description and the document-only details zod cannot infer from a schema that
 * reads text (that `seed` is an integer with its bounds). {@link querySchema} turns a route's parameters into the
 * strict zod object the route declares through `@hono/zod-openapi`, so one declaration gives both the checks and
 * the route's parameters in /openapi.json. {@link queryError} is the one place a failed parse becomes a
 * {@link ValidationError} `{error, field, allowed}`; {@link parseQuery} runs the same object outside a route.
 *
 * Checks that need the model (depth, cutoff, style ranges) live in `plans.ts`.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { MAX_SEED, parseSeeds } from "../model/seeds.ts";
import { NOISE_MODES, type NoiseMode } from "../model/layers/noise_layer.ts";
import {
  isStyleRangeSyntax,
  STYLE_RANGE_ITEM_PATTERN,
  STYLE_RANGE_SYNTAX,
} from "../model/figures/style_ranges.ts";
import {
  PROJECTION_LOSS_NAMES,
  type ProjectionLossName,
  projectionLossSchema,
} from "../model/projection/losses.ts";
import type { Limits } from "./config.ts";
import { type ErrorBody, ValidationError } from "./errors.ts";
import { MODEL_NAME_PATTERN } from "./models.ts";

/** One query parameter: how to parse it and how to document it. */
export interface ParamDef<T> {
  /** Parses the raw text (trimmed) into the value. */
  schema: z.ZodType<T>;
  /** What is accepted, for error bodies and the docs. */
  allowed: NonNullable<ErrorBody["allowed"]>;
  /** One sentence for the docs. */
  description: string;
  /**
   * OpenAPI details of the raw parameter that zod cannot derive (the type of text that holds a number, its
   * bounds, an example); merged over what it derives (patterns, enums, lengths).
   */
  openapi: Record<string, unknown>;
  /** A missing required parameter is a 400. */
  required?: boolean;
  /** Value when the parameter is absent (undefined: absent stays undefined). */
  fallback?: T;
}

/** A route's query: parameter name → definition. */
export type QuerySpec = Record<string, ParamDef<unknown>>;

/** The parsed query of a spec. */
export type QueryOf<S extends QuerySpec> = { [K in keyof S]: S[K] extends ParamDef<infer T> ? T : never };

/** The strict zod object of a route's query (cached: routes and {@link parseQuery} share one per spec). */
export function querySchema<S extends QuerySpec>(spec: S): z.ZodType<QueryOf<S>> {
  let schema = schemas.get(spec);
  if (!schema) {
    const shape = Object.fromEntries(Object.entries(spec).map(([name, def]) => [name, fieldSchema(def)]));
    schema = z.strictObject(shape);
    schemas.set(spec, schema);
  }
  return schema as unknown as z.ZodType<QueryOf<S>>;
}

const schemas = new WeakMap<QuerySpec, z.ZodType>();

/** A blank value counts as absent; values are trimmed (as the widgets and shells often pad them). */
function blankToAbsent(value: unknown): unknown {
  if (typeof value !== "string") return value; // absent, or repeated (an array: refused below)
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

function fieldSchema(def: ParamDef<unknown>): z.ZodType {
  const inner = def.required
    ? def.schema
    : def.fallback !== undefined
    ? def.schema.default(def.fallback as never)
    : def.schema.optional();
  const allowed = Array.isArray(def.allowed) ? def.allowed.join(", ") : def.allowed;
  return z.preprocess(blankToAbsent, inner).openapi({
    description: `${def.description} Allowed: ${allowed}.`,
    ...def.openapi,
  });
}

/**
 * The first problem of a failed query parse as a {@link ValidationError}, in the order a reader fixes them:
 * unknown parameters, repeated ones, then each parameter in the route's order (missing or invalid). `raw` is
 * the query as parsed (a repeated parameter is an array), which tells a missing value from a repeated one.
 */
export function queryError(
  issues: readonly z.core.$ZodIssue[],
  spec: QuerySpec,
  raw: Record<string, unknown>,
): ValidationError {
  const names = Object.keys(spec);
  const unknown = issues.find((i) => i.code === "unrecognized_keys");
  if (unknown && unknown.code === "unrecognized_keys") {
    const key = unknown.keys[0];
    return new ValidationError(key, `unknown parameter "${truncate(key)}"`, names);
  }
  const given = (name: string) => Object.hasOwn(raw, name) ? raw[name] : undefined;
  const repeated = names.find((name) => Array.isArray(given(name)));
  if (repeated !== undefined) {
    return new ValidationError(
      repeated,
      `parameter "${repeated}" is given more than once`,
      spec[repeated].allowed,
    );
  }
  const failed = new Map<string, z.core.$ZodIssue>();
  for (const issue of issues) {
    const name = String(issue.path[0]);
    if (!failed.has(name)) failed.set(name, issue);
  }
  const name = names.find((n) => failed.has(n));
  if (name === undefined) return new ValidationError(null, "invalid query", names);
  const value = given(name);
  if (value === undefined || (typeof value === "string" && value.trim() === "")) {
    return new ValidationError(name, `parameter "${name}" is required`, spec[name].allowed);
  }
  return new ValidationError(name, `${name}: ${failed.get(name)!.message}`, spec[name].allowed);
}

/** Parse `params` against `spec`; throws {@link ValidationError} on the first problem. */
export function parseQuery<S extends QuerySpec>(params: URLSearchParams, spec: S): QueryOf<S> {
  const raw = queryValue(params);
  const result = querySchema(spec).safeParse(raw);
  if (!result.success) throw queryError(result.error.issues, spec, raw);
  return withAbsentKeys(result.data, spec);
}

/** Every parameter of the route as a key, absent ones as undefined (as the plans read them). */
export function withAbsentKeys<S extends QuerySpec>(data: QueryOf<S>, spec: S): QueryOf<S> {
  return { ...Object.fromEntries(Object.keys(spec).map((k) => [k, undefined])), ...data } as QueryOf<S>;
}

/** The parameter specs of the route being served, for {@link validationHook}'s error bodies. */
interface RouteSpecs {
  query: QuerySpec;
  param?: QuerySpec;
}

const ROUTE_SPECS = "sganRouteSpecs";

/**
 * Middleware a checked route runs before its validators: it tells {@link validationHook} which parameters the
 * route has (the hook is the app's one `defaultHook` and receives only the failed result).
 */
export function rememberSpecs(specs: RouteSpecs): MiddlewareHandler {
  return async (c, next) => {
    c.set(ROUTE_SPECS as never, specs as never);
    await next();
  };
}

/** What a failed validation hands the hook (the part of `@hono/zod-openapi`'s result read here). */
interface FailedValidation {
  success: boolean;
  target: string;
  data?: unknown;
  error?: { issues: readonly z.core.$ZodIssue[] };
}

/**
 * The app's `defaultHook`: a query or path parameter the route's schema refuses becomes the same
 * `{error, field, allowed}` 400 as {@link parseQuery} throws.
 */
export function validationHook(result: FailedValidation, c: Context): void {
  if (result.success || !result.error) return;
  const specs = c.get(ROUTE_SPECS as never) as RouteSpecs | undefined;
  const spec = (result.target === "param" ? specs?.param : specs?.query) ?? {};
  throw queryError(result.error.issues, spec, (result.data ?? {}) as Record<string, unknown>);
}

/** A query as Hono's validator hands it over: one value as a string, a repeated one as an array. */
export function queryValue(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    // defineProperty, not assignment: a key "__proto__" must stay a key (an unknown one), not a prototype.
    Object.defineProperty(out, key, {
      value: values.length === 1 ? values[0] : values,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function truncate(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
// ---------------------------------------------------------------------------------------------------------------
// Building blocks. Each returns the schema with the document's view of it, from the same bounds.

/**
 * What `depth=d` shows: `ground`, the full output area-averaged to 4·2^d px (what a user means by "the tile at
 * that ground resolution"), or `raw`, the to_rgb head of depth d itself (kept for research, under its own name).
 */
export const DEPTH_VIEWS = ["ground", "raw"] as const;

/** A {@link DEPTH_VIEWS} value. */
export type DepthView = (typeof DEPTH_VIEWS)[number];

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** ψ is meaningful in [-1, 1]; a little beyond extrapolates, further only makes noise. */
export const PSI_RANGE = [-2, 2] as const;

type Parsed<T> = Pick<ParamDef<T>, "schema" | "openapi">;

function integerParam(min: number, max: number, what: string): Parsed<number> {
  const schema = z.string()
    .regex(/^\d{1,10}$/, { error: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(
      z.number().min(min, { error: `${what} must be at least ${min}` }).max(max, {
        error: `${what} must be at most ${max}`,
      }),
    );
  return { schema, openapi: { type: "integer", minimum: min, maximum: max } };
}

function numberSchema(min: number, max: number, what: string): z.ZodType<number> {
  return z.string()
    .max(32, { error: "is too long for a number" })
    .regex(DECIMAL, { error: `must be a number from ${min} to ${max}` })
    .transform(Number)
    .pipe(
      z.number().finite({ error: `${what} must be finite` })
        .min(min, { error: `${what} must be at least ${min}` })
        .max(max, { error: `${what} must be at most ${max}` }),
    );
}

function numberParam(min: number, max: number, what: string): Parsed<number> {
  return { schema: numberSchema(min, max, what), openapi: { type: "number", minimum: min, maximum: max } };
}

/** Longest seed list text. */
const SEED_LIST_CHARS = 2000;

/**
 * A regular expression (source) for the decimal integers 0..max, leading zeros allowed up to max's digit count:
 * JSON Schema has no bound on the numbers inside a list, so the pattern carries it. Built digit by digit: for
 * each position, a smaller digit there followed by anything, or max's digit and on to the next position.
 */
export function atMostPattern(max: number): string {
  const digits = String(max);
  const alternatives = digits.length > 1 ? [`\\d{1,${digits.length - 1}}`] : [];
  for (let i = 0; i < digits.length; i++) {
    const d = Number(digits[i]);
    const rest = digits.length - i - 1;
    if (d > 0) alternatives.push(`${digits.slice(0, i)}[0-${d - 1}]${rest ? `\\d{${rest}}` : ""}`);
  }
  alternatives.push(digits);
  return `(${alternatives.join("|")})`;
}

/**
 * What a seed list looks like: seeds 0..2^32 − 1, ranges low-high. A range running backwards and the count after
 * expanding ranges are checked by parseSeeds; the 400's description names them.
 */
const SEED_ITEM = atMostPattern(MAX_SEED);
const SEED_RANGE = String.raw`${SEED_ITEM}(\s*-\s*${SEED_ITEM})?`;
const SEED_LIST_PATTERN = String.raw`^\s*${SEED_RANGE}(\s*,\s*${SEED_RANGE})*\s*$`;

/** A tile named by its seed, or by a finished projection (`w:<id>` in the query). */
export type TileRef = number | { projection: string };

/** `w:<id>`: a projection id (see projection/jobs.ts, PROJECTION_ID_PATTERN). */
const PROJECTION_REF = String.raw`w:p\d{8}-\d{6}-[0-9a-f]{4}`;
const PROJECTION_REF_PATTERN = new RegExp(`^${PROJECTION_REF}$`);

/** What a tile reference may be, for messages. */
export const TILE_REF_SYNTAX = "or w:<id> for a projected tile (the id POST /api/projections answered)";

function tileRefOf(item: string): TileRef | undefined {
  return PROJECTION_REF_PATTERN.test(item) ? { projection: item.slice(2) } : undefined;
}

/** One tile: a seed, or `w:<id>`. */
function tileParam(): Parsed<TileRef> {
  const schema = z.string().max(64, { error: "is too long for a seed or w:<id>" }).transform((text, ctx) => {
    const ref = tileRefOf(text);
    if (ref) return ref;
    if (!/^\d{1,10}$/.test(text) || Number(text) > MAX_SEED) {
      ctx.addIssue({
        code: "custom",
        message: text.startsWith("w:")
          ? `"${truncate(text, 40)}" is not a projection id (w:p<date>-<time>-<4 hex digits>)`
          : `must be a whole number from 0 to ${MAX_SEED}, ${TILE_REF_SYNTAX}`,
      });
      return z.NEVER;
    }
    return Number(text);
  });
  return {
    schema,
    openapi: { type: "string", pattern: `^(${atMostPattern(MAX_SEED)}|${PROJECTION_REF})$`, maxLength: 64 },
  };
}

/** A figure's tile list: seeds and ranges as {@link seedListParam}, and `w:<id>` items. */
function tileListParam(maxCount: number): Parsed<TileRef[]> {
  const schema = z.string().max(SEED_LIST_CHARS, { error: "the seed list is too long" }).transform(
    (text, ctx) => {
      const refs: TileRef[] = [];
      try {
        // Runs of seed items are parsed as one seed list, so that its messages and limits stay the same.
        let run: string[] = [];
        const flush = () => {
          if (run.length) refs.push(...parseSeeds(run.join(","), maxCount - refs.length));
          run = [];
        };
        for (const raw of text.split(",")) {
          const ref = tileRefOf(raw.trim());
          if (!ref) {
            run.push(raw);
            continue;
          }
          flush();
          if (refs.length + 1 > maxCount) {
            throw new Error(
              `seed list "${text}" expands to more than ${maxCount} seeds; ask for at most ${maxCount}`,
            );
          }
          refs.push(ref);
        }
        flush();
      } catch (e) {
        ctx.addIssue({ code: "custom", message: (e as Error).message });
        return z.NEVER;
      }
      return refs;
    },
  );
  const item = `(${SEED_RANGE}|${PROJECTION_REF})`;
  return {
    schema,
    openapi: {
      type: "string",
      pattern: String.raw`^\s*${item}(\s*,\s*${item})*\s*$`,
      maxLength: SEED_LIST_CHARS,
    },
  };
}

function seedListParam(maxCount: number): Parsed<number[]> {
  const schema = z.string().max(SEED_LIST_CHARS, { error: "the seed list is too long" }).transform(
    (text, ctx) => {
      try {
        return parseSeeds(text, maxCount);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: (e as Error).message });
        return z.NEVER;
      }
    },
  );
  return { schema, openapi: { type: "string", pattern: SEED_LIST_PATTERN, maxLength: SEED_LIST_CHARS } };
}

/**
 * One number of a ψ list as the document writes it: plain decimals within [-2, 2]. The server also reads
 * exponents ("5e-1"); the pattern names the plain form every client writes.
 */
const PSI_ITEM_PATTERN = String.raw`[+-]?(([01](\.\d{0,8})?)|(2(\.0{0,8})?)|(\.\d{1,8}))`;

function numberListParam(min: number, max: number, maxCount: number, what: string): Parsed<number[]> {
  const item = numberSchema(min, max, what);
  const schema = z.string().max(1000, { error: "the list is too long" }).transform((text, ctx) => {
    const items = text.split(",").map((s) => s.trim());
    if (items.length > maxCount) {
      ctx.addIssue({
        code: "custom",
        message: `at most ${maxCount} values are allowed, got ${items.length}`,
      });
      return z.NEVER;
    }
    const values: number[] = [];
    for (const raw of items) {
      const parsed = item.safeParse(raw);
      if (!parsed.success) {
        ctx.addIssue({ code: "custom", message: `"${truncate(raw, 20)}" ${parsed.error.issues[0].message}` });
        return z.NEVER;
      }
      values.push(parsed.data);
    }
    return values;
  });
  if (min !== PSI_RANGE[0] || max !== PSI_RANGE[1]) {
    throw new Error("the ψ list pattern is written for [-2, 2]");
  }
  const pattern = String.raw`^\s*${PSI_ITEM_PATTERN}(\s*,\s*${PSI_ITEM_PATTERN}){0,${maxCount - 1}}\s*$`;
  return { schema, openapi: { type: "string", pattern, maxLength: 1000 } };
}

function stylerangesParam(): Parsed<string> {
  const schema = z.string().max(500, { error: "the range list is too long" }).refine(
    (text) => text.split(",").every(isStyleRangeSyntax),
    { error: `each item must be ${STYLE_RANGE_SYNTAX}` },
  );
  const item = STYLE_RANGE_ITEM_PATTERN;
  const pattern = String.raw`^\s*${item}(\s*,\s*${item})*\s*$`;
  return { schema, openapi: { type: "string", pattern, maxLength: 500 } };
}

function enumSchema<const T extends readonly [string, ...string[]]>(values: T): z.ZodType<T[number]> {
  return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

const BOOLEAN_WORDS = ["1", "0", "true", "false", "yes", "no"] as const;

const booleanSchema: z.ZodType<boolean> = z.enum(BOOLEAN_WORDS, {
  error: "must be 1 or 0 (true or false)",
}).transform((v) => ["1", "true", "yes"].includes(v));

// ---------------------------------------------------------------------------------------------------------------
// Parameters shared by the routes.

/** A parsed building block with an example (and anything else) added to its document view. */
function documented<T>(parsed: Parsed<T>, extra: Record<string, unknown>): Parsed<T> {
  return { schema: parsed.schema, openapi: { ...parsed.openapi, ...extra } };
}

/** An example list that fits the configured limit (the document's examples must be accepted as they are). */
function examples(values: number[], limit: number): string {
  return values.slice(0, limit).join(",");
}

/** What a class name (or `random`) may look like; the chosen model decides which exist. */
export const CLASS_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The parameters of every route, built for the configured limits. */
export function paramDefs(limits: Limits) {
  const seedAllowed = `integers 0-${MAX_SEED}, comma-separated, ranges as low-high (e.g. "730,904" or "0-7")`;
  return {
    model: {
      schema: z.string().regex(MODEL_NAME_PATTERN, { error: "is not a model name" }),
      allowed: "a model name listed by /api/models",
      description: "Model to use (default: the embedded default model).",
      openapi: { example: "reference-r32" },
    } satisfies ParamDef<string>,
    class: {
      schema: z.string().regex(CLASS_NAME_PATTERN, { error: "is not a class name" }),
      allowed: "a class the chosen model lists (GET /api/models/{name}: classes), or random",
      description:
        "Land use of a conditional model's tiles (default random: drawn from each tile's seed, so " +
        "a seed always gives the same class); truncation then pulls toward that class's own centre of W. A " +
        "class the chosen model lacks, or a class other than random on an unconditional model, is a 400.",
      openapi: { example: "random" },
    } satisfies ParamDef<string>,
    seed: {
      ...documented(tileParam(), { example: "730" }),
      allowed: `an integer from 0 to ${MAX_SEED}, or w:<id> of a finished projection`,
      description:
        "numpy RandomState seed of the latent z (the same seed names the same tile as in the papers), or " +
        "w:<id>: the w of a finished projection (POST /api/projections), truncated toward the W centre (its " +
        "class's for a conditional model); format=tiff then lies at the projected GeoTIFF's place.",
      required: true,
    } satisfies ParamDef<TileRef>,
    psi: {
      ...documented(numberParam(PSI_RANGE[0], PSI_RANGE[1], "psi"), { default: 1, example: 0.7 }),
      allowed: `a number from ${PSI_RANGE[0]} to ${PSI_RANGE[1]} (1 = no truncation, 0 = the average tile)`,
      description: "Truncation ψ: w = avg + ψ (w − avg) on the first `cutoff` style layers.",
      fallback: 1,
    } satisfies ParamDef<number>,
    depth: {
      ...documented(integerParam(0, MAX_DEPTH, "depth"), { example: 3 }),
      allowed: "an integer from 0 (4 px) to the model's last depth (see /api/models)",
      description: "Output depth: 0 = 4 px, each depth doubles the size (default: full resolution). " +
        "A depth the chosen model lacks is a 400.",
    } satisfies ParamDef<number>,
    view: {
      schema: enumSchema(DEPTH_VIEWS),
      allowed: [...DEPTH_VIEWS],
      description: "What a depth below the last shows: ground (default), the full output area-averaged to " +
        "4·2^depth px, i.e. the tile as seen at that depth's ground resolution; raw, that depth's own to_rgb " +
        "head (for research: a progressive generator's lower heads stop training once the next depth has " +
        "faded in, so they are often false-colour noise).",
      openapi: { type: "string", enum: [...DEPTH_VIEWS], default: "ground" },
      fallback: "ground",
    } satisfies ParamDef<DepthView>,
    cutoff: {
      ...documented(integerParam(0, MAX_CUTOFF, "cutoff"), { example: 8 }),
      allowed: "an integer from 0 to the model's style layer count (see /api/models)",
      description: "Style layers truncated, from the coarsest (default: the model's truncation_cutoff). " +
        "More than the chosen model's style layers is a 400.",
    } satisfies ParamDef<number>,
    noise: {
      schema: enumSchema(NOISE_MODES as unknown as readonly [NoiseMode, ...NoiseMode[]]),
      allowed: [...NOISE_MODES],
      description:
        "Noise inputs: const (the model's fixed maps, cacheable), none, or random (new each time, not cached).",
      openapi: {},
      fallback: "const",
    } satisfies ParamDef<NoiseMode>,
    size: {
      ...documented(integerParam(1, limits.maxSize, "size"), { example: Math.min(256, limits.maxSize) }),
      allowed: `an integer from 1 to ${limits.maxSize}`,
      description: "Resample the tile to size × size pixels (nearest neighbour up, box average down).",
    } satisfies ParamDef<number>,
    tile: {
      ...documented(integerParam(4, limits.maxSize, "tile"), { example: Math.min(128, limits.maxSize) }),
      allowed: `an integer from 4 to ${limits.maxSize}`,
      description:
        "Side of each tile in the figure, in pixels (default: the generated size; 64 px at least when labelled).",
    } satisfies ParamDef<number>,
    labels: {
      schema: booleanSchema,
      allowed: ["1", "0", "true", "false"],
      description:
        "Draw labels (seeds, ψ, layer ranges with metres, a scale bar) when the server has a font.",
      openapi: { type: "string", enum: [...BOOLEAN_WORDS], default: "0" },
      fallback: false,
    } satisfies ParamDef<boolean>,
    gridSeeds: {
      ...documented(seedListParam(limits.maxCells), { example: `0-${Math.min(63, limits.maxCells - 1)}` }),
      allowed: `${seedAllowed}; at most ${limits.maxCells} seeds`,
      description: "Seeds of the tiles, in reading order.",
      required: true,
    } satisfies ParamDef<number[]>,
    figureSeeds: {
      ...documented(tileListParam(limits.maxSeeds), { example: examples([91, 388], limits.maxSeeds) }),
      allowed: `${seedAllowed}, or w:<id> of finished projections; at most ${limits.maxSeeds} tiles`,
      description: "Seeds (or w:<id> of projected tiles), one per row.",
      required: true,
    } satisfies ParamDef<TileRef[]>,
    cols: {
      ...documented(integerParam(1, limits.maxCells, "cols"), { example: Math.min(8, limits.maxCells) }),
      allowed: `an integer from 1 to ${limits.maxCells}`,
      description: "Tiles per row (default: a square-ish grid).",
    } satisfies ParamDef<number>,
    psis: {
      ...documented(numberListParam(PSI_RANGE[0], PSI_RANGE[1], limits.maxPsis, "psi"), {
        example: examples([-1, -0.5, 0, 0.5, 1], limits.maxPsis),
      }),
      allowed: `1 to ${limits.maxPsis} comma-separated numbers from ${PSI_RANGE[0]} to ${PSI_RANGE[1]}`,
      description: "ψ of each column.",
      required: true,
    } satisfies ParamDef<number[]>,
    ranges: {
      ...documented(stylerangesParam(), { example: "0-3,4-7" }),
      allowed: `comma-separated, one per destination (or one for all): ${STYLE_RANGE_SYNTAX}`,
      description:
        "Style layers each destination row takes from the sources, as layers or as ground resolution. " +
        "Ranges are resolved against the chosen model: layers or resolutions it lacks, or a range running " +
        "backwards, are a 400.",
      required: true,
    } satisfies ParamDef<string>,
  };
}

/** Most projections one page of GET /api/projections lists (the server keeps 200 by default). */
export const MAX_PROJECTION_PAGE = 200;

/** Largest depth any model may have (4 · 2^16 px); the chosen model's own last depth is checked in plans.ts. */
export const MAX_DEPTH = 16;

/** Largest cutoff read (above two style layers per depth); the chosen model's count is checked in plans.ts. */
export const MAX_CUTOFF = 64;
/** Query spec of each route. */
export function querySpecs(limits: Limits) {
  const p = paramDefs(limits);
  const figure = {
    model: p.model,
    depth: p.depth,
    view: p.view,
    cutoff: p.cutoff,
    noise: p.noise,
    tile: p.tile,
    labels: p.labels,
  };
  const imageFormat = (formats: readonly [string, ...string[]], description: string) => ({
    schema: enumSchema(formats),
    allowed: [...formats],
    description,
    openapi: {},
    fallback: formats[0],
  });
  return {
    generate: {
      seed: p.seed,
      psi: p.psi,
      class: p.class,
      model: p.model,
      depth: p.depth,
      view: p.view,
      cutoff: p.cutoff,
      noise: p.noise,
      format: imageFormat(
        ["png", "jpeg", "tiff"] as const,
        "png, jpeg, or tiff: a GeoTIFF whose pixel size is the model's ground resolution at that depth.",
      ) as ParamDef<"png" | "jpeg" | "tiff">,
      size: p.size,
    },
    grid: {
      seeds: p.gridSeeds,
      psi: p.psi,
      cols: p.cols,
      class: p.class,
      ...figure,
      format: imageFormat(["png", "jpeg"] as const, "Image format.") as ParamDef<"png" | "jpeg">,
    },
    truncation: {
      seeds: p.figureSeeds,
      psis: p.psis,
      class: p.class,
      ...figure,
      cutoff: {
        ...p.cutoff,
        description: "Style layers truncated, from the coarsest (default: all, as in the paper's figure).",
      },
      format: imageFormat(
        ["png", "jpeg", "tiff"] as const,
        "png or jpeg: the figure; tiff: its one tile (one seed, one ψ) as a GeoTIFF, at the projected " +
          "GeoTIFF's place for w:<id>.",
      ) as ParamDef<"png" | "jpeg" | "tiff">,
    },
    mixing: {
      src: {
        ...p.figureSeeds,
        description: "Source seeds (the first row): whose styles are copied.",
        openapi: { ...p.figureSeeds.openapi, example: examples([730, 904], limits.maxSeeds) },
      },
      dst: {
        ...p.figureSeeds,
        description: "Destination seeds (the first column): which receive them.",
        openapi: { ...p.figureSeeds.openapi, example: examples([387, 190], limits.maxSeeds) },
      },
      ranges: p.ranges,
      src_psi: { ...p.psi, description: "Truncation ψ of the sources." },
      dst_psi: { ...p.psi, description: "Truncation ψ of the destinations." },
      src_class: { ...p.class, description: "Land use of the sources (conditional models; default random)." },
      dst_class: {
        ...p.class,
        description: "Land use of the destinations (conditional models; default random): e.g. the coarse " +
          "layout of a forest source with the fine texture of a dense-residential destination.",
      },
      ...figure,
      format: imageFormat(
        ["png", "jpeg", "json", "tiff"] as const,
        "png or jpeg: the figure; json: every cell's seeds, ψ and style layers, without generating; tiff: " +
          "the one mixed tile (one source, one destination) as a GeoTIFF, at the destination's place when it " +
          "is a projected GeoTIFF (w:<id>), else the source's.",
      ) as ParamDef<"png" | "jpeg" | "json" | "tiff">,
    },
    project: {
      model: { ...p.model, description: "Model to project into (default: the embedded default model)." },
      steps: {
        ...documented(integerParam(1, limits.maxProjectionSteps, "steps"), { default: 500, example: 100 }),
        allowed: `an integer from 1 to ${limits.maxProjectionSteps}`,
        description: "Optimisation steps (projector.py: 1000; about 0.2 s each at 64 px on one core).",
        fallback: 500,
      } satisfies ParamDef<number>,
      seed: {
        ...documented(integerParam(0, MAX_SEED, "seed"), { default: 0, example: 0 }),
        allowed: `an integer from 0 to ${MAX_SEED}`,
        description:
          "Seed of the w noise and of the W-spread samples (a projection is deterministic for it).",
        fallback: 0,
      } satisfies ParamDef<number>,
      wplus: {
        schema: booleanSchema,
        allowed: ["1", "0", "true", "false"],
        description: "Optimise one w per style layer (W+): closer reconstructions, less editable.",
        openapi: { type: "string", enum: [...BOOLEAN_WORDS], default: "0" },
        fallback: false,
      } satisfies ParamDef<boolean>,
      loss: {
        // The CLI's own schema (deno task project --loss): the same names, the same message.
        schema: projectionLossSchema,
        allowed: [...PROJECTION_LOSS_NAMES],
        description: "Distance to the target: pixel l2, l1, a Laplacian-pyramid l1, mix (l2 + laplacian), " +
          "or mix+d (mix + 0.1 · the distance of the trained discriminator's features; `loss=mix%2Bd` in a " +
          "URL), which needs the model's discriminator beside it (NAME.discriminator.safetensors; a 400 " +
          "naming `loss` otherwise). Absent: mix+d for a model that ships its discriminator (the embedded " +
          "default model does), else mix. See docs/projection.md.",
        openapi: {},
      } satisfies ParamDef<ProjectionLossName | undefined>,
      class: {
        ...p.class,
        description:
          "Land use of the tile, for a conditional model: its edits truncate toward that class's " +
          "centre of W (random or absent: the global centre). A class other than random on an unconditional " +
          "model is a 400.",
      },
      gsd: {
        ...numberParam(0.001, 10_000, "gsd"),
        allowed: "a ground resolution in metres per pixel, from 0.001 to 10000",
        description:
          "The image's ground resolution in m/px (PNG and JPEG carry none; overrides a GeoTIFF's), " +
          "so that it is resampled to the model's.",
      } satisfies ParamDef<number>,
    },
    projections: {
      limit: {
        ...documented(integerParam(1, MAX_PROJECTION_PAGE, "limit"), { default: 50, example: 20 }),
        allowed: `an integer from 1 to ${MAX_PROJECTION_PAGE}`,
        description: "Projections on this page, newest first.",
        fallback: 50,
      } satisfies ParamDef<number>,
      offset: {
        ...documented(integerParam(0, 1_000_000, "offset"), { default: 0, example: 0 }),
        allowed: "an integer from 0 to 1000000",
        description: "Projections skipped before the page (newest first: a page's `next` gives the next).",
        fallback: 0,
      } satisfies ParamDef<number>,
    },
    reconstruction: {
      step: {
        ...documented(integerParam(1, limits.maxProjectionSteps, "step"), { example: 10 }),
        allowed: "a step of a reconstruction event (a multiple of the preview interval, or the last)",
        description: "A preview taken after this step (the URLs of `reconstruction` events); absent: the " +
          "final reconstruction.",
      } satisfies ParamDef<number>,
    },
  } satisfies Record<string, QuerySpec>;
}

/** The specs' type, for the routes. */
export type QuerySpecs = ReturnType<typeof querySpecs>;
