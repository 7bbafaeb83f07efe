/**
 * The OpenAPI 3.1 description of the API, built from the same parameter declarations the routes validate with
 * (so limits and allowed values in the document are the configured ones), and an HTML reference page
 * rendered from it (no external scripts: the server may run offline).
 *
 * @module
 */
import { TRAIN_DEFAULTS } from "../model/config.ts";
import { MAX_SEED } from "../model/seeds.ts";
import type { Limits } from "./config.ts";
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
          description:
            "The embedded default model and every generator checkpoint in SGAN_MODELS_DIR, where " +
            "finished training jobs publish theirs (without SGAN_MODELS_DIR: in SGAN_RUNS_DIR/models).",
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
          summary: "Start a training job",
          description: "The body is a training configuration with the keys of the YAML files in configs/ " +
            "(as `deno task train --config` takes it; defaults fill the rest), plus an optional `name` for the " +
            "model the job publishes. `dataset.img_dir` must lie under SGAN_DATA_ROOT (relative to it, or " +
            "absolute inside it; no `..`; symbolic links and a list file's entries must not lead out of it). " +
            "`output_dir` is ignored: each job gets its own run directory. The job runs in its own process; " +
            "one job at a time (409 while another is unfinished). Once done, its EMA generator appears in " +
            "/api/models under `name`.",
          security: [{ bearerAuth: [] }],
          requestBody: { required: true, content: { "application/json": { schema: ref("TrainRequest") } } },
          responses: {
            "202": {
              description: "Started; `Location` is the job's URL.",
              headers: { Location: { description: "/api/train/{id}", schema: { type: "string" } } },
              content: { "application/json": { schema: ref("TrainingJob") } },
            },
            "400": response("BadRequest"),
            ...trainErrors,
            "409": response("Conflict"),
            "413": response("TooLarge"),
          },
        },
        get: {
          summary: "Training jobs",
          description: "The jobs this server has run since it started, newest first.",
          security: [{ bearerAuth: [] }],
          responses: {
            "200": {
              description: "The jobs.",
              content: { "application/json": { schema: ref("TrainingJobList") } },
            },
            ...trainErrors,
          },
        },
      },
      "/api/train/{id}": {
        get: {
          summary: "One training job",
          description: "State, depth, epoch, alpha, kimg, losses and the latest sample's URL.",
          security: [{ bearerAuth: [] }],
          parameters: [jobId],
          responses: {
            "200": {
              description: "The job.",
              content: { "application/json": { schema: ref("TrainingJob") } },
            },
            ...trainErrors,
            "404": response("NotFound"),
          },
        },
        delete: {
          summary: "Stop a training job",
          description:
            "Stops the job at its next safe point with a checkpoint written (the process gets SIGINT, " +
            "as from Ctrl-C, and is killed if it does not stop in time), waits for it, and answers the job, " +
            "now `cancelled` with `checkpoint` naming the last one. A cancelled job answers as it is; one that " +
            "is done or failed is a 409.",
          security: [{ bearerAuth: [] }],
          parameters: [jobId],
          responses: {
            "200": {
              description: "The stopped job.",
              content: { "application/json": { schema: ref("TrainingJob") } },
            },
            ...trainErrors,
            "404": response("NotFound"),
            "409": response("Conflict"),
          },
        },
      },
      "/api/train/{id}/events": {
        get: {
          summary: "A training job's events (Server-Sent Events)",
          description:
            "First `status` (the job as GET /api/train/{id} returns it), then the kept recent events " +
            "and new ones as they come, each with an `id` (send `Last-Event-ID` to continue after one): " +
            "`state` {state, error?}, `progress` {depth, resolution, epoch, epochs, batch, batches, alpha, kimg, " +
            "d_loss, g_loss, img_per_s, elapsed_s}, `sample` {url, depth, epoch, batch}, `checkpoint` {file}, " +
            "`depth` {depth, resolution, metres_per_pixel}, `metrics` {kimg, report}, `log` {line}, `warning` " +
            "{message}, `stopped` {kimg, checkpoint}, `done` {kimg, model, model_url}. The stream ends after the " +
            "final `state` (done, failed or cancelled); an EventSource should close itself then. Browsers' " +
            "EventSource cannot send the Authorization header: read the stream with fetch.",
          security: [{ bearerAuth: [] }],
          parameters: [jobId, {
            name: "Last-Event-ID",
            in: "header",
            required: false,
            description: "Continue after this event id.",
            schema: { type: "integer", minimum: 0 },
          }],
          responses: {
            "200": { description: "The event stream.", content: { "text/event-stream": {} } },
            "400": response("BadRequest"),
            ...trainErrors,
            "404": response("NotFound"),
          },
        },
      },
      "/api/train/{id}/samples/{file}": {
        get: {
          summary: "A training job's sample grid",
          description: "A PNG grid of the EMA generator's samples, by the URL a `sample` event or " +
            "`latest_sample` gives.",
          security: [{ bearerAuth: [] }],
          parameters: [jobId, {
            name: "file",
            in: "path",
            required: true,
            schema: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*\\.png$" },
          }],
          responses: {
            "200": { description: "The grid.", content: { "image/png": {} } },
            "400": response("BadRequest"),
            ...trainErrors,
            "404": response("NotFound"),
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
        Unauthorized: {
          description: "Missing or wrong bearer token.",
          headers: { "WWW-Authenticate": { schema: { type: "string" } } },
          content: { "application/json": { schema: ref("Error") } },
        },
        Forbidden: {
          description: "Training routes are off on this server (no SGAN_TOKEN), or it has no SGAN_DATA_ROOT.",
          content: { "application/json": { schema: ref("Error") } },
        },
        Conflict: {
          description: "Another training job is unfinished, the model name is taken, or the job has ended.",
          content: { "application/json": { schema: ref("Error") } },
        },
        TooLarge: {
          description: "The body is larger than 64 KiB.",
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
        TrainRequest: trainRequestSchema(),
        TrainingJob: {
          type: "object",
          properties: {
            id: { type: "string", example: "20250101-120000-3fa9" },
            name: { type: "string", description: "Model name the finished generator is published as." },
            state: {
              type: "string",
              enum: ["starting", "running", "stopping", "done", "failed", "cancelled"],
            },
            created_at: { type: "string", format: "date-time" },
            finished_at: { type: ["string", "null"], format: "date-time" },
            depth: { type: ["integer", "null"], description: "Depth being trained (0 = 4 px)." },
            resolution: { type: ["integer", "null"] },
            epoch: { type: ["integer", "null"] },
            epochs: { type: ["integer", "null"] },
            batch: { type: ["integer", "null"] },
            batches: { type: ["integer", "null"] },
            alpha: { type: ["number", "null"], description: "Fade-in of the newest block (0 → 1)." },
            kimg: { type: "number" },
            losses: {
              type: ["object", "null"],
              properties: { d: { type: ["number", "null"] }, g: { type: ["number", "null"] } },
            },
            img_per_s: { type: ["number", "null"] },
            elapsed_s: { type: ["number", "null"] },
            latest_sample: { type: ["string", "null"], description: "URL of the newest sample grid." },
            checkpoint: { type: ["string", "null"], description: "Newest checkpoint, in the run directory." },
            model: { type: ["string", "null"], description: "The published model, once done." },
            error: { type: ["string", "null"], description: "Why it failed." },
            events_url: { type: "string" },
          },
        },
        TrainingJobList: {
          type: "object",
          properties: { jobs: { type: "array", items: ref("TrainingJob") } },
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
          example && method === "get" && !op.security
            ? ` Try <a href="${esc(example)}">${esc(example)}</a>.`
            : ""
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

/** Errors of every training route. */
const trainErrors = {
  "401": response("Unauthorized"),
  "403": response("Forbidden"),
};

const jobId = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string" },
};

/** The body of POST /api/train: the training configuration's keys with their defaults, and `name`. */
function trainRequestSchema(): Json {
  const schema = schemaOfDefaults(TRAIN_DEFAULTS, "");
  const properties = schema.properties as Record<string, Json>;
  const dataset = properties.dataset as Json & { properties: Record<string, Json> };
  dataset.required = ["img_dir"];
  dataset.properties.img_dir = {
    type: "string",
    description: "Image folder (folder: true) or list file (folder: false) under SGAN_DATA_ROOT.",
    example: "ucmerced/train.txt",
  };
  properties.output_dir = { ...properties.output_dir, description: "Ignored: each job has its own." };
  return {
    ...schema,
    required: ["dataset"],
    properties: {
      name: {
        type: "string",
        pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
        description: "Model name to publish the generator as (default job-{id}); must not exist yet.",
      },
      ...properties,
    },
    example: {
      name: "ucmerced-32",
      dataset: { img_dir: "ucmerced/train.txt", folder: false, resolution: 32 },
      sched: { epochs: [1, 1, 1, 1] },
      model: { gen: { fmap_max: 64 } },
    },
  };
}

/** A JSON schema of a defaults tree: every key with its type and default, no others. */
function schemaOfDefaults(value: unknown, key: string): Json {
  if (Array.isArray(value)) {
    return { type: "array", items: value.length ? { type: typeof value[0] } : {}, default: value };
  }
  if (typeof value === "object" && value !== null) {
    if (key === "model.lrate_per_res") {
      return { type: "object", additionalProperties: { type: "number" }, default: value };
    }
    return {
      type: "object",
      additionalProperties: false,
      properties: Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, schemaOfDefaults(v, key ? `${key}.${k}` : k)]),
      ),
    };
  }
  if (key === "model.r1_gamma") {
    // A number, or "auto" (StyleGAN2-ADA's heuristic γ per resolution; see model/train/schedule.ts).
    return { oneOf: [{ type: "number", minimum: 0 }, { type: "string", enum: ["auto"] }], default: value };
  }
  return { type: typeof value === "number" ? "number" : typeof value, default: value };
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
