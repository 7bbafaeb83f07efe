/**
 * Every route of the API, declared once with `@hono/zod-openapi`'s `createRoute`: method, path, parameters
 * (the zod objects of `validation.ts`), body and responses. The route modules serve these declarations
 * (`app.openapi(route, handler)`: the parameters are checked before the handler runs) and `openapi.ts` builds
 * /openapi.json from the same list, so a parameter cannot be checked one way and documented another.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { Limits } from "./config.ts";
import { DOCS_ASSETS } from "./docs_assets.ts";
import { MODEL_NAME_PATTERN } from "./models.ts";
import { PROJECTION_ID_PATTERN } from "./projection/jobs.ts";
import { JOB_ID_PATTERN, SAMPLE_FILE_PATTERN } from "./training/names.ts";
import {
  type ParamDef,
  type QueryOf,
  querySchema,
  type QuerySpec,
  querySpecs,
  rememberSpecs,
  withAbsentKeys,
} from "./validation.ts";

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** The header an event stream's reader sends to continue after the last event it saw (training, projections). */
const LAST_EVENT_ID = {
  name: "Last-Event-ID",
  in: "header" as const,
  required: false,
  description: "Continue after this event id.",
  schema: { type: "integer" as const, minimum: 0, maximum: 999_999_999_999 },
};

/** The 200 of an event-stream route. */
const EVENT_STREAM = {
  "200": {
    description: "The event stream.",
    content: { "text/event-stream": { schema: { type: "string" as const } } },
  },
};

/** Errors every route with a query can answer: a parameter the schema refuses, or an unknown one. */
const BAD_REQUEST = { "400": responseRef("BadRequest") };

/** Errors of every training route (checked before anything else on them). */
const TRAIN_ERRORS = { "401": responseRef("Unauthorized"), "403": responseRef("Forbidden") };

const imageHeaders = {
  ETag: {
    description:
      "Strong validator: a hash of the bytes (absent for noise=random). Send it back in If-None-Match for a 304.",
    schema: { type: "string" as const },
  },
  "Cache-Control": {
    description:
      "`public, max-age=31536000, immutable` for deterministic images, `no-store` for noise=random.",
    schema: { type: "string" as const },
  },
  "X-Sgan-Model": { description: "Model used.", schema: { type: "string" as const } },
  "X-Sgan-Depth": { description: "Depth generated.", schema: { type: "integer" as const } },
  "X-Sgan-Tile-Pixels": {
    description: "Generated tile side in pixels.",
    schema: { type: "integer" as const },
  },
  "X-Metres-Per-Pixel": {
    description:
      "Ground metres per pixel of the tiles as delivered (absent when the model records no gsd_m).",
    schema: { type: "number" as const },
  },
};

const emptyQuery: QuerySpec = {};

/** A route whose query (and path parameters) are checked by the specs' zod objects. */
function checkedRoute<R extends Omit<RouteConfig, "request" | "middleware">>(
  config: R,
  query: QuerySpec,
  params?: QuerySpec,
) {
  return createRoute({
    ...config,
    middleware: [rememberSpecs({ query, param: params })] as MiddlewareHandler[],
    request: {
      query: querySchema(query) as unknown as z.ZodObject,
      ...(params ? { params: querySchema(params) as unknown as z.ZodObject } : {}),
    },
  });
}

function imageRoute(
  path: string,
  summary: string,
  description: string,
  spec: QuerySpec,
  types: string[],
  extraHeaders: Record<string, { description: string; schema: { type: "string" } }> = {},
) {
  return checkedRoute({
    method: "get",
    path,
    summary,
    description,
    responses: {
      "200": {
        description: "The image.",
        headers: { ...imageHeaders, ...extraHeaders },
        content: Object.fromEntries(
          types.map((t) => [
            t,
            t === "application/json"
              ? { schema: schemaRef("MixingDescription") }
              : { schema: { type: "string" as const, contentMediaType: t } },
          ]),
        ),
      },
      "304": { description: "Not modified: the If-None-Match ETag matches." },
      ...BAD_REQUEST,
      "404": responseRef("NotFound"),
      "500": responseRef("ServerError"),
      "503": responseRef("QueueFull"),
    },
  }, spec);
}

/** A path parameter checked by a pattern; `allowed` is what the 400 names. */
function pathParam(schema: z.ZodType<string>, allowed: string, description: string, example?: string) {
  return {
    schema,
    allowed,
    description,
    openapi: example === undefined ? {} : { example },
    required: true,
  } satisfies ParamDef<string>;
}

const jobIdParam = {
  // A malformed id names no job: a 404 like any unknown one (training/names.ts), so the pattern is documented
  // but the handler, not zod, answers it.
  schema: z.string(),
  allowed: "the id of a job of this server (see GET /api/train)",
  description: "Job id, as POST /api/train answered it.",
  openapi: { pattern: JOB_ID_PATTERN.source, example: "20250101-120000-3fa9" },
  required: true,
} satisfies ParamDef<string>;

const projectionIdParam = {
  // As for job ids: a malformed id names no projection, a 404 from the handler.
  schema: z.string(),
  allowed: "the id of a projection of this server (POST /api/projections answered it)",
  description: "Projection id, as POST /api/projections answered it.",
  openapi: { pattern: PROJECTION_ID_PATTERN.source, example: "p20250101-120000-3fa9" },
  required: true,
} satisfies ParamDef<string>;

/** Errors of every projection route: switched off (SGAN_PROJECTIONS=0). */
const PROJECTION_ERRORS = { "403": responseRef("ProjectionsOff") };

/** Every route of the API for the configured limits, by name. */
export function apiRoutes(limits: Limits) {
  const q = querySpecs(limits);
  return {
    generate: imageRoute(
      "/generate",
      "One tile",
      "A tile by seed. With noise const or none the same query always gives the same bytes (strong ETag, " +
        "long Cache-Control); noise=random is never cached. format=tiff is a GeoTIFF whose pixel size is the " +
        "model's ground resolution at that depth (tile extent / size when resampled).",
      q.generate,
      ["image/png", "image/jpeg", "image/tiff"],
    ),
    grid: imageRoute(
      "/grid",
      "Sample grid",
      `Uncurated samples, one tile per seed, \`cols\` per row (at most ${limits.maxCells} tiles).`,
      q.grid,
      ["image/png", "image/jpeg"],
    ),
    truncation: imageRoute(
      "/truncation",
      "Truncation-trick figure",
      "Rows are seeds, columns are ψ values; each tile is w = avg + ψ (w − avg), on every style layer unless " +
        `cutoff is given (as StyleGAN's figure). At most ${limits.maxSeeds} seeds, ${limits.maxPsis} ψ values, ` +
        `${limits.maxCells} tiles.`,
      q.truncation,
      ["image/png", "image/jpeg", "image/tiff"],
    ),
    mixing: imageRoute(
      "/mixing",
      "Depth-mixing figure",
      "The first row holds the sources, the first column the destinations; each other cell is its row's " +
        "destination with that row's style layers taken from its column's source. Ranges are style layers " +
        "(`0-3`) or ground resolutions in metres per pixel (`256m-32m`), which select the depths whose ground " +
        "resolution falls inside (within 5 %) and their two style layers each. format=json lists every cell " +
        "without generating.",
      q.mixing,
      ["image/png", "image/jpeg", "application/json", "image/tiff"],
      {
        "X-Style-Layers": {
          description:
            "Style layers each destination row took from the sources, in row order (e.g. `0-3,4-7`).",
          schema: { type: "string" },
        },
      },
    ),
    models: checkedRoute({
      method: "get",
      path: "/api/models",
      summary: "Models",
      description: "The embedded default model and every generator checkpoint in SGAN_MODELS_DIR, where " +
        "finished training jobs publish theirs (without SGAN_MODELS_DIR: in SGAN_RUNS_DIR/models).",
      responses: {
        "200": {
          description: "The models.",
          content: { "application/json": { schema: schemaRef("ModelList") } },
        },
        ...BAD_REQUEST,
      },
    }, emptyQuery),
    model: checkedRoute(
      {
        method: "get",
        path: "/api/models/{name}",
        summary: "One model",
        description: "Resolution, channels, kimg, config, metrics and the scale table of one model.",
        responses: {
          "200": {
            description: "The model.",
            content: { "application/json": { schema: schemaRef("ModelInfo") } },
          },
          ...BAD_REQUEST,
          "404": responseRef("NotFound"),
          "500": responseRef("ServerError"),
        },
      },
      emptyQuery,
      {
        name: pathParam(
          z.string().regex(MODEL_NAME_PATTERN, { error: "is not a model name" }),
          "a model name listed by /api/models",
          "Model name.",
          "reference-r32",
        ),
      },
    ),
    startTraining: checkedRoute({
      method: "post",
      path: "/api/train",
      summary: "Start a training job",
      description: "The body is a training configuration with the keys of the YAML files in configs/ " +
        "(as `deno task train --config` takes it; defaults fill the rest), plus an optional `name` for the " +
        "model the job publishes. `dataset.img_dir` (and `dataset.label_csv`, and a warm start's `init.generator` and `init.discriminator`) must lie under SGAN_DATA_ROOT (relative to it, or " +
        "absolute inside it; no `..`; symbolic links and a list file's entries must not lead out of it). " +
        "`output_dir` is ignored: each job gets its own run directory. The job runs in its own process; " +
        "one job at a time (409 while another is unfinished). Once done, its EMA generator appears in " +
        "/api/models under `name`. Settings whose estimated training memory (parameters with their EMA " +
        "copy, Adam moments and gradients, plus activations) exceeds 80% of the server's memory are a 400 " +
        'with `field: "model"` giving the estimate and the limit.',
      security: [{ bearerAuth: [] }],
      // The body is checked by parseTrainRequest (model/config.ts), whose messages name the key; the schema
      // here documents it (the configuration's own JSON schema, see openapi.ts).
      requestBody: {
        required: true,
        content: { "application/json": { schema: schemaRef("TrainRequest") } },
      },
      responses: {
        "202": {
          description: "Started; `Location` is the job's URL.",
          headers: { Location: { description: "/api/train/{id}", schema: { type: "string" } } },
          content: { "application/json": { schema: schemaRef("TrainingJob") } },
        },
        "400": responseRef("BadTrainingRequest"),
        ...TRAIN_ERRORS,
        "409": responseRef("Conflict"),
        "413": responseRef("TooLarge"),
        "415": responseRef("UnsupportedMediaType"),
      },
    }, emptyQuery),
    listTraining: checkedRoute({
      method: "get",
      path: "/api/train",
      summary: "Training jobs",
      description: "The jobs this server keeps records of, newest first: they live in its database " +
        "(SGAN_DATABASE), so a restart forgets none; jobs that were running when the server went away are " +
        "`interrupted`.",
      security: [{ bearerAuth: [] }],
      responses: {
        "200": {
          description: "The jobs.",
          content: { "application/json": { schema: schemaRef("TrainingJobList") } },
        },
        ...BAD_REQUEST,
        ...TRAIN_ERRORS,
      },
    }, emptyQuery),
    trainingJob: checkedRoute(
      {
        method: "get",
        path: "/api/train/{id}",
        summary: "One training job",
        description: "State, depth, epoch, alpha, kimg, losses and the latest sample's URL.",
        security: [{ bearerAuth: [] }],
        responses: {
          "200": {
            description: "The job.",
            content: { "application/json": { schema: schemaRef("TrainingJob") } },
          },
          ...BAD_REQUEST,
          ...TRAIN_ERRORS,
          "404": responseRef("NotFound"),
        },
      },
      emptyQuery,
      { id: jobIdParam },
    ),
    stopTraining: checkedRoute(
      {
        method: "delete",
        path: "/api/train/{id}",
        summary: "Stop a training job",
        description:
          "Stops the job at its next safe point with a checkpoint written (the process gets SIGINT, " +
          "as from Ctrl-C, and is killed if it does not stop in time), waits for it, and answers the job, " +
          "now `cancelled` with `checkpoint` naming the last one. A cancelled job answers as it is; one that " +
          "is done or failed is a 409.",
        security: [{ bearerAuth: [] }],
        responses: {
          "200": {
            description: "The stopped job.",
            content: { "application/json": { schema: schemaRef("TrainingJob") } },
          },
          ...BAD_REQUEST,
          ...TRAIN_ERRORS,
          "404": responseRef("NotFound"),
          "409": responseRef("Conflict"),
        },
      },
      emptyQuery,
      { id: jobIdParam },
    ),
    resumeTraining: checkedRoute(
      {
        method: "post",
        path: "/api/train/{id}/resume",
        summary: "Resume a training job",
        description:
          "Continues a `cancelled` or `interrupted` job from its last checkpoint in a new training " +
          "process (`deno task train --resume` on its run directory: same configuration, networks, optimiser " +
          "state, kimg and random streams). Answers the job, now `starting`; follow it as before. 409 while " +
          "another job is unfinished, for a job in any other state, or one that has no checkpoint yet.",
        security: [{ bearerAuth: [] }],
        responses: {
          "202": {
            description: "Resumed; `Location` is the job's URL.",
            headers: { Location: { description: "/api/train/{id}", schema: { type: "string" } } },
            content: { "application/json": { schema: schemaRef("TrainingJob") } },
          },
          ...BAD_REQUEST,
          ...TRAIN_ERRORS,
          "404": responseRef("NotFound"),
          "409": responseRef("Conflict"),
        },
      },
      emptyQuery,
      { id: jobIdParam },
    ),
    trainingEvents: checkedRoute(
      {
        method: "get",
        path: "/api/train/{id}/events",
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
        parameters: [LAST_EVENT_ID],
        responses: {
          ...EVENT_STREAM,
          ...BAD_REQUEST,
          ...TRAIN_ERRORS,
          "404": responseRef("NotFound"),
        },
      },
      emptyQuery,
      { id: jobIdParam },
    ),
    trainingSample: checkedRoute(
      {
        method: "get",
        path: "/api/train/{id}/samples/{file}",
        summary: "A training job's sample grid",
        description: "A PNG grid of the EMA generator's samples, by the URL a `sample` event or " +
          "`latest_sample` gives.",
        security: [{ bearerAuth: [] }],
        responses: {
          "200": {
            description: "The grid.",
            content: { "image/png": { schema: { type: "string", contentMediaType: "image/png" } } },
          },
          ...BAD_REQUEST,
          ...TRAIN_ERRORS,
          "404": responseRef("NotFound"),
        },
      },
      emptyQuery,
      {
        id: jobIdParam,
        file: pathParam(
          z.string().regex(SAMPLE_FILE_PATTERN, { error: "not a sample file name" }),
          "a file name from the job's sample URLs",
          "Sample file name, as a `sample` event's URL gives it.",
          "gen_0_1_2.png",
        ),
      },
    ),
    startProjection: checkedRoute({
      method: "post",
      path: "/api/projections",
      summary: "Project a real tile into W",
      description:
        "Upload a PNG, JPEG or GeoTIFF (multipart/form-data with the file in `image`, or the raw " +
        "bytes with Content-Type image/png, image/jpeg or image/tiff); the options come as query parameters " +
        "or, in a multipart body, as form fields (validated alike; one place each). The tile is resampled to " +
        "the model's resolution and ground resolution (`gsd` gives a PNG's or JPEG's), then w is optimised " +
        "so that G(w) matches it (model/projection, as `deno task project`) in a worker process of its own, " +
        "one at a time: generation never waits for it. Answers 202 with the projection (`id`, `status_url`, " +
        "`events_url`). A GeoTIFF target keeps its place: the reconstruction and every edit " +
        "(`w:<id>` with format=tiff) are GeoTIFFs on the same ground. Refused before anything is stored: " +
        "a body over the byte limit or an image over the pixel limit (413, by its header), not an image " +
        "(415), an image that cannot be used (422: truncated, in degrees without a ground resolution, " +
        "all NoData, too few bands, too small), a full queue (503 with Retry-After).",
      requestBody: {
        required: true,
        content: {
          "multipart/form-data": { schema: schemaRef("ProjectionUpload") },
          "image/png": { schema: { type: "string", contentMediaType: "image/png" } },
          "image/jpeg": { schema: { type: "string", contentMediaType: "image/jpeg" } },
          "image/tiff": { schema: { type: "string", contentMediaType: "image/tiff" } },
        },
      },
      responses: {
        "202": {
          description: "Accepted; `Location` is the projection's URL.",
          headers: { Location: { description: "/api/projections/{id}", schema: { type: "string" } } },
          content: { "application/json": { schema: schemaRef("Projection") } },
        },
        ...BAD_REQUEST,
        ...PROJECTION_ERRORS,
        "404": responseRef("NotFound"),
        "413": responseRef("ImageTooLarge"),
        "415": responseRef("NotAnImage"),
        "422": responseRef("UnusableImage"),
        "503": responseRef("ProjectionQueueFull"),
      },
    }, q.project),
    listProjections: checkedRoute({
      method: "get",
      path: "/api/projections",
      summary: "Projections",
      description: "The projections this server keeps, newest first, a page at a time (`limit`, `offset`; " +
        "`next` is the next page's URL, null on the last). Each is as GET /api/projections/{id} answers it, " +
        "without `w`. They live in the server's database (SGAN_DATABASE), so a restart forgets none; " +
        "offsets count from the newest, so a projection accepted meanwhile shifts later pages by one.",
      responses: {
        "200": {
          description: "One page of projections.",
          content: { "application/json": { schema: schemaRef("ProjectionList") } },
        },
        ...BAD_REQUEST,
        ...PROJECTION_ERRORS,
      },
    }, q.projections),
    deleteProjection: checkedRoute(
      {
        method: "delete",
        path: "/api/projections/{id}",
        summary: "Cancel or delete a projection",
        description: "A queued or running projection is cancelled: its worker process is stopped, and it " +
          "answers 200 with the projection, now `cancelled` (it stays listed, with the previews it made; " +
          "DELETE it again to remove it). A finished one (done, failed, cancelled, interrupted) is deleted " +
          "with its files: 204, and from then on its id and `w:<id>` are a 404 like an id this server never " +
          "had.",
        responses: {
          "200": {
            description: "Cancelled: the projection as it is now.",
            content: { "application/json": { schema: schemaRef("Projection") } },
          },
          "204": { description: "Deleted with its files." },
          ...BAD_REQUEST,
          ...PROJECTION_ERRORS,
          "404": responseRef("NotFound"),
        },
      },
      emptyQuery,
      { id: projectionIdParam },
    ),
    projection: checkedRoute(
      {
        method: "get",
        path: "/api/projections/{id}",
        summary: "One projection",
        description: "State, steps, the latest losses, the loss curve, and once done the PSNR, the " +
          "reconstruction's URLs and the projected `w` (as `deno task project` writes w.json). Finished " +
          "projections are kept in the server's database (SGAN_DATABASE) and outlive a restart; one that " +
          "was running when the server went away is `interrupted`.",
        responses: {
          "200": {
            description: "The projection.",
            content: { "application/json": { schema: schemaRef("ProjectionWithW") } },
          },
          ...BAD_REQUEST,
          ...PROJECTION_ERRORS,
          "404": responseRef("NotFound"),
        },
      },
      emptyQuery,
      { id: projectionIdParam },
    ),
    projectionEvents: checkedRoute(
      {
        method: "get",
        path: "/api/projections/{id}/events",
        summary: "A projection's progress (Server-Sent Events)",
        description: "First `status` (the projection as GET /api/projections/{id} returns it, without w), " +
          "then the kept events and new ones as they come, each with an `id` (send `Last-Event-ID` to " +
          "continue after one): `state` {state, psnr_db?, reconstruction_url?, error?}, `target` " +
          "{resampling}, `progress` {step, steps, learning_rate, losses} after every step, `reconstruction` " +
          "{step, url} every few steps (the current G(w) as a PNG). The stream ends after the final " +
          "`state` (done, failed or interrupted).",
        parameters: [LAST_EVENT_ID],
        responses: {
          ...EVENT_STREAM,
          ...BAD_REQUEST,
          ...PROJECTION_ERRORS,
          "404": responseRef("NotFound"),
        },
      },
      emptyQuery,
      { id: projectionIdParam },
    ),
    projectionReconstruction: checkedRoute(
      {
        method: "get",
        path: "/api/projections/{id}/reconstruction.png",
        summary: "A projection's reconstruction (PNG)",
        description: "The final G(w) once done, or with `step` the preview after that step (the URLs of " +
          "`reconstruction` events).",
        responses: {
          "200": {
            description: "The reconstruction.",
            content: { "image/png": { schema: { type: "string", contentMediaType: "image/png" } } },
          },
          ...BAD_REQUEST,
          ...PROJECTION_ERRORS,
          "404": responseRef("NotFound"),
        },
      },
      q.reconstruction,
      { id: projectionIdParam },
    ),
    projectionGeoTiff: checkedRoute(
      {
        method: "get",
        path: "/api/projections/{id}/reconstruction.tif",
        summary: "A projection's reconstruction as a GeoTIFF at the target's place",
        description: "For a GeoTIFF target: the final reconstruction on the same ground (the target's " +
          "corner and CRS, the model's pixel size). 404 for PNG and JPEG targets and until done.",
        responses: {
          "200": {
            description: "The GeoTIFF.",
            content: { "image/tiff": { schema: { type: "string", contentMediaType: "image/tiff" } } },
          },
          ...BAD_REQUEST,
          ...PROJECTION_ERRORS,
          "404": responseRef("NotFound"),
        },
      },
      emptyQuery,
      { id: projectionIdParam },
    ),
    openapi: createRoute({
      method: "get",
      path: "/openapi.json",
      summary: "This document",
      responses: {
        "200": {
          description: "OpenAPI 3.1",
          content: { "application/json": { schema: { type: "object" } } },
        },
      },
    }),
    docs: createRoute({
      method: "get",
      path: "/docs",
      summary: "API reference page",
      description:
        "Swagger UI on this document, its files served by this server (no CDN); a plain reference " +
        "for browsers without scripts.",
      responses: { "200": { description: "HTML", content: { "text/html": { schema: { type: "string" } } } } },
    }),
    docsAsset: checkedRoute(
      {
        method: "get",
        path: "/docs/assets/{file}",
        summary: "Files of the reference page",
        description: "Swagger UI's script and stylesheet, from the npm package swagger-ui-dist.",
        responses: {
          "200": {
            description: "The file.",
            content: {
              "text/javascript": { schema: { type: "string" } },
              "text/css": { schema: { type: "string" } },
            },
          },
          "304": { description: "Not modified." },
          ...BAD_REQUEST,
        },
      },
      emptyQuery,
      {
        file: pathParam(
          z.enum(DOCS_ASSETS, { error: `must be one of ${DOCS_ASSETS.join(", ")}` }),
          DOCS_ASSETS.join(", "),
          "File name.",
          "swagger-ui.css",
        ),
      },
    ),
    index: createRoute({
      method: "get",
      path: "/",
      summary: "Demo page",
      description: "static/index.html, or a built-in page listing the routes until it exists.",
      responses: { "200": { description: "HTML", content: { "text/html": { schema: { type: "string" } } } } },
    }),
    widgets: createRoute({
      method: "get",
      path: "/widgets/{file}",
      summary: "Widget bundle",
      description: "Files of static/widgets/, e.g. /widgets/sgan-widgets.js (the web components).",
      request: {
        params: z.object({
          file: z.string().openapi({
            example: "sgan-widgets.js",
            description: "File under static/widgets/.",
          }),
        }),
      },
      responses: {
        "200": {
          description: "The file.",
          content: { "text/javascript": { schema: { type: "string" } } },
        },
        "304": { description: "Not modified." },
        "404": responseRef("NotFound"),
      },
    }),
  };
}

/** The route declarations' type. */
export type ApiRoutes = ReturnType<typeof apiRoutes>;

/**
 * Serve a declared route: `app.openapi` with a plain handler. The cast is where the typed-response inference
 * of `@hono/zod-openapi` is set aside: it expects zod response schemas, and this API's response bodies are
 * JSON-schema components (checked against the server's real answers by tests/server/openapi_test.ts).
 */
export function serve(
  app: OpenAPIHono,
  route: ReturnType<typeof createRoute>,
  handler: (c: Context) => Response | Promise<Response>,
): void {
  app.openapi(route, handler as never);
}

/** A checked route's parsed query: every parameter as a key, absent ones undefined (as the plans read them). */
export function validQuery<S extends QuerySpec>(c: Context, spec: S): QueryOf<S> {
  return withAbsentKeys(c.req.valid("query" as never) as QueryOf<S>, spec);
}

/** A checked route's path parameters. */
export function validParams(c: Context): Record<string, string> {
  return c.req.valid("param" as never) as Record<string, string>;
}
