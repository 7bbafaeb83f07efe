/**
 * The OpenAPI 3.1 description of the API, built from the same parameter declarations the routes validate with
 * (so limits and allowed values in the document are the configured ones), and an HTML reference page
 * rendered from it (no external scripts: the server may run offline).
 *
 * @module
 */
import { z } from "zod";
import { MAX_SEED } from "../model/seeds.ts";
import type { Limits } from "./config.ts";
import { trainRequestSchema } from "./training/jobs.ts";
import { type QuerySpec, querySpecs } from "./validation.ts";

/** API version (the document's `info.version`). */
export const API_VERSION = "1.0.0";

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const response = (name: string) => ({ $ref: `#/components/responses/${name}` });

function parameters(spec: QuerySpec): Json[] {
  return Object.entries(spec).map(([name, def]) => ({
    name,
    in: "query",
    required: def.required ?? false,
    description: `${def.description} Allowed: ${
      Array.isArray(def.allowed) ? def.allowed.join(", ") : def.allowed
    }.`,
    schema: def.openapi,
  }));
}

const imageHeaders = {
  ETag: {
    description:
      "Strong validator: a hash of the bytes (absent for noise=random). Send it back in If-None-Match for a 304.",
    schema: { type: "string" },
  },
  "Cache-Control": {
    description:
      "`public, max-age=31536000, immutable` for deterministic images, `no-store` for noise=random.",
    schema: { type: "string" },
  },
  "X-Sgan-Model": { description: "Model used.", schema: { type: "string" } },
  "X-Sgan-Depth": { description: "Depth generated.", schema: { type: "integer" } },
  "X-Sgan-Tile-Pixels": { description: "Generated tile side in pixels.", schema: { type: "integer" } },
  "X-Metres-Per-Pixel": {
    description:
      "Ground metres per pixel of the tiles as delivered (absent when the model records no gsd_m).",
    schema: { type: "number" },
  },
};

const errorResponses = {
  "400": response("BadRequest"),
  "404": response("NotFound"),
  "500": response("ServerError"),
  "503": response("QueueFull"),
};

function imageOperation(
  summary: string,
  description: string,
  spec: QuerySpec,
  types: string[],
  extra: Json = {},
): Json {
  return {
    get: {
      summary,
      description,
      parameters: parameters(spec),
      responses: {
        "200": {
          description: "The image.",
          headers: { ...imageHeaders, ...(extra.headers as Json ?? {}) },
          content: Object.fromEntries(
            types.map((t) => [
              t,
              t === "application/json"
                ? { schema: ref("MixingDescription") }
                : { schema: { type: "string", format: "binary" } },
            ]),
          ),
        },
        "304": { description: "Not modified: the If-None-Match ETag matches." },
        ...errorResponses,
      },
    },
  };
}

/** The OpenAPI document for the configured limits. */
export function openApiDocument(limits: Limits): Json {
  const q = querySpecs(limits);
  const styleLayers = {
    "X-Style-Layers": {
      description: "Style layers each destination row took from the sources, in row order (e.g. `0-3,4-7`).",
      schema: { type: "string" },
    },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "sgan-ts: scale-aware StyleGAN for aerial imagery",
      version: API_VERSION,
      description:
        "Tiles by seed, the truncation trick and depth mixing from StyleGAN (v1) generators, with every " +
        "depth expressed as a ground resolution. Errors are JSON `{error, field, allowed}`. Seeds are numpy " +
        `RandomState seeds (0-${MAX_SEED}): the same seed names the same tile as in the papers and notebooks.`,
    },
    paths: {
      "/generate": imageOperation(
        "One tile",
        "A tile by seed. With noise const or none the same query always gives the same bytes (strong ETag, " +
          "long Cache-Control); noise=random is never cached. format=tiff is a GeoTIFF whose pixel size is the " +
          "model's ground resolution at that depth (tile extent / size when resampled).",
        q.generate,
        ["image/png", "image/jpeg", "image/tiff"],
      ),
      "/grid": imageOperation(
        "Sample grid",
        `Uncurated samples, one tile per seed, \`cols\` per row (at most ${limits.maxCells} tiles).`,
        q.grid,
        ["image/png", "image/jpeg"],
      ),
      "/truncation": imageOperation(
        "Truncation-trick figure",
        "Rows are seeds, columns are ψ values; each tile is w = avg + ψ (w − avg), on every style layer unless " +
          `cutoff is given (as StyleGAN's figure). At most ${limits.maxSeeds} seeds, ${limits.maxPsis} ψ values, ` +
          `${limits.maxCells} tiles.`,
        q.truncation,
        ["image/png", "image/jpeg"],
      ),
      "/mixing": imageOperation(
        "Depth-mixing figure",
        "The first row holds the sources, the first column the destinations; each other cell is its row's " +
          "destination with that row's style layers taken from its column's source. Ranges are style layers " +
          "(`0-3`) or ground resolutions in metres per pixel (`256m-32m`), which select the depths whose ground " +
          "resolution falls inside (within 5 %) and their two style layers each. format=json lists every cell " +
          "without generating.",
        q.mixing,
        ["image/png", "image/jpeg", "application/json"],
        { headers: styleLayers },
      ),
      "/api/models": {
        get: {
          summary: "Models",
          description: "The embedded default model and every generator checkpoint in SGAN_MODELS_DIR.",
          responses: {
            "200": {
              description: "The models.",
              content: { "application/json": { schema: ref("ModelList") } },
            },
          },
        },
      },
      "/api/models/{name}": {
        get: {
          summary: "One model",
          description: "Resolution, channels, kimg, config, metrics and the scale table of one model.",
          parameters: [{
            name: "name",
            in: "path",
            required: true,
            schema: { type: "string" },
            example: "reference-r32",
          }],
          responses: {
            "200": {
              description: "The model.",
              content: { "application/json": { schema: ref("ModelInfo") } },
            },
            "400": response("BadRequest"),
            "404": response("NotFound"),
          },
        },
      },
      "/api/train": {
        post: {
          summary: "Start a training run (not yet available)",
          description:
            "Not yet available: the training loop does not exist yet, so after authentication this " +
            "answers 501. Off (403) unless the server has SGAN_TOKEN; then needs `Authorization: Bearer <token>`. " +
            "Dataset paths must lie under SGAN_DATA_ROOT.",
          "x-available": false,
          security: [{ bearerAuth: [] }],
          requestBody: { required: true, content: { "application/json": { schema: ref("TrainRequest") } } },
          responses: {
            "202": {
              description: "Run started (once available).",
              content: { "application/json": { schema: ref("TrainingJob") } },
            },
            "400": response("BadRequest"),
            "401": {
              description: "Missing or wrong bearer token.",
              content: { "application/json": { schema: ref("Error") } },
            },
            "403": {
              description: "Training routes are off on this server.",
              content: { "application/json": { schema: ref("Error") } },
            },
            "413": {
              description: "Body too large.",
              content: { "application/json": { schema: ref("Error") } },
            },
            "501": {
              description: "Not yet available.",
              content: { "application/json": { schema: ref("Error") } },
            },
          },
        },
      },
      "/openapi.json": {
        get: {
          summary: "This document",
          responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": {} } } },
        },
      },
      "/docs": {
        get: {
          summary: "API reference page",
          responses: { "200": { description: "HTML", content: { "text/html": {} } } },
        },
      },
      "/": {
        get: {
          summary: "Demo page",
          description: "static/index.html, or a built-in page listing the routes until it exists.",
          responses: { "200": { description: "HTML", content: { "text/html": {} } } },
        },
      },
      "/widgets/{file}": {
        get: {
          summary: "Widget bundle",
          description: "Files of static/widgets/, e.g. /widgets/sgan-widgets.js (the web components).",
          parameters: [{
            name: "file",
            in: "path",
            required: true,
            schema: { type: "string" },
            example: "sgan-widgets.js",
          }],
          responses: {
            "200": { description: "The file.", content: { "text/javascript": {} } },
            "304": { description: "Not modified." },
            "404": response("NotFound"),
          },
        },
      },
    },
    components: {
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } },
      responses: {
        BadRequest: {
          description: "A parameter is missing, malformed, out of range or over a limit; `field` names it.",
          content: { "application/json": { schema: ref("Error") } },
        },
        NotFound: {
          description: "Unknown model, file or route.",
          content: { "application/json": { schema: ref("Error") } },
        },
        QueueFull: {
          description: "The generation queue is full.",
          headers: { "Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } } },
          content: { "application/json": { schema: ref("Error") } },
        },
        ServerError: {
          description: "Unexpected failure.",
          content: { "application/json": { schema: ref("Error") } },
        },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error", "field", "allowed"],
          properties: {
            error: { type: "string", description: "What went wrong." },
            field: { type: ["string", "null"], description: "The parameter at fault." },
            allowed: {
              description: "What would have been accepted.",
              oneOf: [{ type: "string" }, { type: "array", items: { type: ["string", "number"] } }, {
                type: "null",
              }],
            },
          },
        },
        ScaleRow: {
          type: "object",
          properties: {
            depth: { type: "integer" },
            pixels: { type: "integer" },
            metres_per_pixel: { type: ["number", "null"] },
            tile_extent_m: { type: ["number", "null"] },
            style_layers: { type: "array", items: { type: "integer" }, minItems: 2, maxItems: 2 },
            smallest_feature_m: { type: ["number", "null"] },
            holds: { type: ["string", "null"] },
          },
        },
        ModelInfo: {
          type: "object",
          properties: {
            name: { type: "string" },
            source: { type: "string", enum: ["embedded", "models_dir"] },
            description: { type: ["string", "null"] },
            resolution: { type: "integer" },
            channels: { type: "integer" },
            style_layers: { type: "integer" },
            depths: { type: "integer" },
            kimg: { type: ["number", "null"] },
            gsd_m: { type: ["number", "null"] },
            tile_extent_m: { type: ["number", "null"] },
            truncation: {
              type: "object",
              properties: { psi: { type: "number" }, cutoff: { type: "integer" } },
            },
            config: { type: "object" },
            metrics: { type: ["object", "null"] },
            scale: { type: "array", items: ref("ScaleRow") },
          },
        },
        ModelList: {
          type: "object",
          properties: { default: { type: "string" }, models: { type: "array", items: ref("ModelInfo") } },
        },
        MixingDescription: {
          type: "object",
          properties: {
            model: { type: "string" },
            depth: { type: "integer" },
            rows: { type: "array", items: { type: "object" } },
            cells: {
              type: "array",
              items: {
                type: "object",
                properties: {
                  kind: { type: "string", enum: ["source", "destination", "mixed"] },
                  row: { type: "integer" },
                  col: { type: "integer" },
                  seed: { type: "integer" },
                  psi: { type: "number" },
                  src_seed: { type: ["integer", "null"] },
                  src_psi: { type: ["number", "null"] },
                  src_layers: { type: ["array", "null"], items: { type: "integer" } },
                },
              },
            },
          },
        },
        TrainRequest: withoutDialect(z.toJSONSchema(trainRequestSchema) as Json),
        TrainingJob: {
          type: "object",
          properties: {
            id: { type: "string" },
            state: { type: "string", enum: ["queued", "running", "done", "failed", "cancelled"] },
            kimg: { type: "number" },
            model: { type: "string" },
            error: { type: "string" },
          },
        },
      },
    },
  };
}

/** The HTML API reference page for a document. */
export function referencePage(doc: Json): string {
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const sections = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const params = (op.parameters as Json[] | undefined) ?? [];
      const example = exampleUrl(path, params);
      const rows = params.map((p) =>
        `<tr><td><code>${esc(String(p.name))}</code>${p.required ? " *" : ""}</td><td>${
          esc(String(p.description ?? ""))
        }</td>` +
        `<td><code>${esc(String((p.schema as Json)?.example ?? (p as Json).example ?? ""))}</code></td></tr>`
      ).join("");
      const codes = Object.keys(op.responses as Json).join(", ");
      return `<section><h2><span class="m">${method.toUpperCase()}</span> ${esc(path)}</h2>` +
        `<p><b>${esc(String(op.summary ?? ""))}</b>. ${esc(String(op.description ?? ""))}</p>` +
        (rows ? `<table><tr><th>parameter</th><th>meaning</th><th>example</th></tr>${rows}</table>` : "") +
        `<p>Responses: ${esc(codes)}.${
          example && method === "get" ? ` Try <a href="${esc(example)}">${esc(example)}</a>.` : ""
        }</p></section>`;
    })
  ).join("\n");
  const info = doc.info as Json;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${
    esc(String(info.title))
  } — API</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-top:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}
code{background:#f4f4f4;padding:0 .2rem}.m{background:#246;color:#fff;padding:0 .4rem;border-radius:3px;font-size:.8em}</style>
</head><body><h1>${esc(String(info.title))}</h1><p>${esc(String(info.description))}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(String(doc.openapi))}).</p>
${sections}</body></html>`;
}

/** An example URL of a route from its parameters' examples (required ones, plus the first two optional). */
export function exampleUrl(path: string, params: Json[]): string | undefined {
  if (path.includes("{")) {
    const filled = path.replace(/\{(\w+)\}/g, (_, name) => {
      const p = params.find((x) => x.name === name);
      return encodeURIComponent(String(p?.example ?? ""));
    });
    return filled.includes("//") ? undefined : filled;
  }
  const query = params.filter((p) => p.in === "query" && (p.schema as Json)?.example !== undefined)
    .filter((p, i) => p.required || i < 2)
    .map((p) => `${p.name}=${encodeURIComponent(String((p.schema as Json).example))}`);
  return query.length ? `${path}?${query.join("&")}` : path;
}

/** A zod JSON schema without its `$schema` line (the OpenAPI document sets the dialect). */
function withoutDialect(schema: Json): Json {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
