/**
 * Query validation, declared per route. Each parameter is a {@link ParamDef}: a zod schema for its raw text, what
 * is allowed (for the 400 body), a description and an OpenAPI schema (for /openapi.json), so the checks and the
 * documentation come from one declaration. {@link parseQuery} rejects unknown, repeated, missing and invalid
 * parameters with a {@link ValidationError} `{error, field, allowed}`.
 *
 * Checks that need the model (depth, cutoff, style ranges) live in `plans.ts`.
 *
 * @module
 */
import { z } from "zod";
import { MAX_SEED, parseSeeds } from "../model/seeds.ts";
import { NOISE_MODES, type NoiseMode } from "../model/layers/noise_layer.ts";
import { isStyleRangeSyntax, STYLE_RANGE_SYNTAX } from "../model/figures/style_ranges.ts";
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
  /** JSON schema of the raw parameter for OpenAPI (type string, pattern, enum, example...). */
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

/** Parse `params` against `spec`; throws {@link ValidationError} on the first problem. */
export function parseQuery<S extends QuerySpec>(params: URLSearchParams, spec: S): QueryOf<S> {
  const names = Object.keys(spec);
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (!Object.hasOwn(spec, key)) {
      throw new ValidationError(key, `unknown parameter "${truncate(key)}"`, names);
    }
    if (seen.has(key)) {
      throw new ValidationError(key, `parameter "${key}" is given more than once`, spec[key].allowed);
    }
    seen.add(key);
  }
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const def = spec[name];
    const raw = params.get(name);
    if (raw === null || raw.trim() === "") {
      if (def.required) throw new ValidationError(name, `parameter "${name}" is required`, def.allowed);
      out[name] = def.fallback;
      continue;
    }
    const result = def.schema.safeParse(raw.trim());
    if (!result.success) {
      const message = result.error.issues[0]?.message ?? "invalid value";
      throw new ValidationError(name, `${name}: ${message}`, def.allowed);
    }
    out[name] = result.data;
  }
  return out as QueryOf<S>;
}

function truncate(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks.

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

function integerSchema(min: number, max: number, what: string): z.ZodType<number> {
  return z.string()
    .regex(/^\d{1,10}$/, { error: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(
      z.number().min(min, { error: `${what} must be at least ${min}` }).max(max, {
        error: `${what} must be at most ${max}`,
      }),
    );
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

function seedListSchema(maxCount: number): z.ZodType<number[]> {
  return z.string().max(2000, { error: "the seed list is too long" }).transform((text, ctx) => {
    try {
      return parseSeeds(text, maxCount);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
  });
}

function numberListSchema(min: number, max: number, maxCount: number, what: string): z.ZodType<number[]> {
  const item = numberSchema(min, max, what);
  return z.string().max(1000, { error: "the list is too long" }).transform((text, ctx) => {
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
}

function enumSchema<const T extends readonly [string, ...string[]]>(values: T): z.ZodType<T[number]> {
  return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

const booleanSchema: z.ZodType<boolean> = z.enum(["1", "0", "true", "false", "yes", "no"], {
  error: "must be 1 or 0 (true or false)",
}).transform((v) => ["1", "true", "yes"].includes(v));

// ---------------------------------------------------------------------------------------------------------------
// Parameters shared by the routes.

/** The parameters of every route, built for the configured limits. */
export function paramDefs(limits: Limits) {
  const seedAllowed = `integers 0-${MAX_SEED}, comma-separated, ranges as low-high (e.g. "730,904" or "0-7")`;
  return {
    model: {
      schema: z.string().regex(MODEL_NAME_PATTERN, { error: "is not a model name" }),
      allowed: "a model name listed by /api/models",
      description: "Model to use (default: the embedded default model).",
      openapi: { type: "string", example: "reference-r32" },
    } satisfies ParamDef<string>,
    seed: {
      schema: integerSchema(0, MAX_SEED, "seed"),
      allowed: `an integer from 0 to ${MAX_SEED}`,
      description:
        "numpy RandomState seed of the latent z (the same seed names the same tile as in the papers).",
      openapi: { type: "integer", minimum: 0, maximum: MAX_SEED, example: 730 },
      required: true,
    } satisfies ParamDef<number>,
    psi: {
      schema: numberSchema(PSI_RANGE[0], PSI_RANGE[1], "psi"),
      allowed: `a number from ${PSI_RANGE[0]} to ${PSI_RANGE[1]} (1 = no truncation, 0 = the average tile)`,
      description: "Truncation ψ: w = avg + ψ (w − avg) on the first `cutoff` style layers.",
      openapi: { type: "number", minimum: PSI_RANGE[0], maximum: PSI_RANGE[1], default: 1, example: 0.7 },
      fallback: 1,
    } satisfies ParamDef<number>,
    depth: {
      schema: integerSchema(0, 16, "depth"),
      allowed: "an integer from 0 (4 px) to the model's last depth (see /api/models)",
      description: "Output depth: 0 = 4 px, each depth doubles the size (default: full resolution).",
      openapi: { type: "integer", minimum: 0, example: 3 },
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
      schema: integerSchema(0, 64, "cutoff"),
      allowed: "an integer from 0 to the model's style layer count (see /api/models)",
      description: "Style layers truncated, from the coarsest (default: the model's truncation_cutoff).",
      openapi: { type: "integer", minimum: 0, example: 8 },
    } satisfies ParamDef<number>,
    noise: {
      schema: enumSchema(NOISE_MODES as unknown as readonly [NoiseMode, ...NoiseMode[]]),
      allowed: [...NOISE_MODES],
      description:
        "Noise inputs: const (the model's fixed maps, cacheable), none, or random (new each time, not cached).",
      openapi: { type: "string", enum: [...NOISE_MODES], default: "const" },
      fallback: "const",
    } satisfies ParamDef<NoiseMode>,
    size: {
      schema: integerSchema(1, limits.maxSize, "size"),
      allowed: `an integer from 1 to ${limits.maxSize}`,
      description: "Resample the tile to size × size pixels (nearest neighbour up, box average down).",
      openapi: { type: "integer", minimum: 1, maximum: limits.maxSize, example: 256 },
    } satisfies ParamDef<number>,
    tile: {
      schema: integerSchema(4, limits.maxSize, "tile"),
      allowed: `an integer from 4 to ${limits.maxSize}`,
      description:
        "Side of each tile in the figure, in pixels (default: the generated size; 64 px at least when labelled).",
      openapi: { type: "integer", minimum: 4, maximum: limits.maxSize, example: 128 },
    } satisfies ParamDef<number>,
    labels: {
      schema: booleanSchema,
      allowed: ["1", "0", "true", "false"],
      description:
        "Draw labels (seeds, ψ, layer ranges with metres, a scale bar) when the server has a font.",
      openapi: { type: "string", enum: ["1", "0", "true", "false"], default: "0" },
      fallback: false,
    } satisfies ParamDef<boolean>,
    gridSeeds: {
      schema: seedListSchema(limits.maxCells),
      allowed: `${seedAllowed}; at most ${limits.maxCells} seeds`,
      description: "Seeds of the tiles, in reading order.",
      openapi: { type: "string", example: "0-63" },
      required: true,
    } satisfies ParamDef<number[]>,
    figureSeeds: {
      schema: seedListSchema(limits.maxSeeds),
      allowed: `${seedAllowed}; at most ${limits.maxSeeds} seeds`,
      description: "Seeds, one per row.",
      openapi: { type: "string", example: "91,388" },
      required: true,
    } satisfies ParamDef<number[]>,
    cols: {
      schema: integerSchema(1, limits.maxCells, "cols"),
      allowed: `an integer from 1 to ${limits.maxCells}`,
      description: "Tiles per row (default: a square-ish grid).",
      openapi: { type: "integer", minimum: 1, maximum: limits.maxCells, example: 8 },
    } satisfies ParamDef<number>,
    psis: {
      schema: numberListSchema(PSI_RANGE[0], PSI_RANGE[1], limits.maxPsis, "psi"),
      allowed: `1 to ${limits.maxPsis} comma-separated numbers from ${PSI_RANGE[0]} to ${PSI_RANGE[1]}`,
      description: "ψ of each column.",
      openapi: { type: "string", example: "-1,-0.5,0,0.5,1" },
      required: true,
    } satisfies ParamDef<number[]>,
    ranges: {
      schema: z.string().max(500, { error: "the range list is too long" }).refine(
        (text) => text.split(",").every(isStyleRangeSyntax),
        { error: `each item must be ${STYLE_RANGE_SYNTAX}` },
      ),
      allowed: `comma-separated, one per destination (or one for all): ${STYLE_RANGE_SYNTAX}`,
      description:
        "Style layers each destination row takes from the sources, as layers or as ground resolution.",
      openapi: { type: "string", example: "0-3,4-7" },
      required: true,
    } satisfies ParamDef<string>,
  };
}

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
    openapi: { type: "string", enum: [...formats], default: formats[0] },
    fallback: formats[0],
  });
  return {
    generate: {
      seed: p.seed,
      psi: p.psi,
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
      ...figure,
      format: imageFormat(["png", "jpeg"] as const, "Image format.") as ParamDef<"png" | "jpeg">,
    },
    truncation: {
      seeds: p.figureSeeds,
      psis: p.psis,
      ...figure,
      cutoff: {
        ...p.cutoff,
        description: "Style layers truncated, from the coarsest (default: all, as in the paper's figure).",
      },
      format: imageFormat(["png", "jpeg"] as const, "Image format.") as ParamDef<"png" | "jpeg">,
    },
    mixing: {
      src: {
        ...p.figureSeeds,
        description: "Source seeds (the first row): whose styles are copied.",
        openapi: { type: "string", example: "730,904" },
      },
      dst: {
        ...p.figureSeeds,
        description: "Destination seeds (the first column): which receive them.",
        openapi: { type: "string", example: "387,190" },
      },
      ranges: p.ranges,
      src_psi: { ...p.psi, description: "Truncation ψ of the sources." },
      dst_psi: { ...p.psi, description: "Truncation ψ of the destinations." },
      ...figure,
      format: imageFormat(
        ["png", "jpeg", "json"] as const,
        "png or jpeg: the figure; json: every cell's seeds, ψ and style layers, without generating.",
      ) as ParamDef<"png" | "jpeg" | "json">,
    },
  } satisfies Record<string, QuerySpec>;
}

/** The specs' type, for the routes. */
export type QuerySpecs = ReturnType<typeof querySpecs>;
