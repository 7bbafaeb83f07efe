/**
 * Training routes, mounted at `/api/train`: start a job, follow it (status, Server-Sent Events, sample grids),
 * stop it. Off (403) unless the server has SGAN_TOKEN, then every route needs `Authorization: Bearer <token>`;
 * dataset paths are confined to SGAN_DATA_ROOT (see `training/request.ts`). The jobs themselves run in their own
 * process (see `training/jobs.ts`).
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import { join } from "node:path";
import { apiRoutes, serve, validParams } from "../api_routes.ts";
import { ApiError, ConflictError, NotFoundError, ValidationError } from "../errors.ts";
import { requireToken } from "../security.ts";
import { followEvents } from "../sse.ts";
import type { Services } from "../services.ts";
import type { TrainingJob } from "../training/jobs.ts";
import { JOB_ID_PATTERN, MAX_BODY_BYTES } from "../training/names.ts";
import { parseTrainRequest } from "../training/request.ts";

/** The training routes (their declarations carry the full paths, under `/api/train`). */
export function trainRoutes(services: Services): OpenAPIHono {
  const app = new OpenAPIHono();
  const routes = apiRoutes(services.config.limits);
  const { training } = services;
  // Before anything else on these paths (a wrong method or an unknown job included): the token.
  app.use("/api/train", requireToken(services.config.token));
  app.use("/api/train/*", requireToken(services.config.token));

  // Only POST reads a body (limiting the others would copy their empty bodies for nothing).
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    },
  });

  app.post("/api/train", limit, requireJson);
  serve(app, routes.startTraining, async (c) => {
    const request = await parseTrainRequest(
      await jsonBody(c),
      services.config.dataRoot,
      services.config.memoryBytes,
    );
    if (request.name !== undefined && (await services.models.names()).includes(request.name)) {
      throw new ConflictError(`a model named '${request.name}' exists already`, "name", "a new model name");
    }
    const status = await training.start(request);
    c.header("Location", `/api/train/${status.id}`);
    return c.json(status, 202);
  });

  serve(app, routes.listTraining, (c) => c.json({ jobs: training.list() }));

  serve(app, routes.trainingJob, (c) => c.json(jobOf(c).status()));

  serve(app, routes.stopTraining, async (c) => c.json(await training.cancel(jobOf(c).id)));

  serve(app, routes.resumeTraining, async (c) => {
    const status = await training.resume(jobOf(c).id);
    c.header("Location", `/api/train/${status.id}`);
    return c.json(status, 202);
  });

  serve(app, routes.trainingEvents, (c) => {
    const job = jobOf(c);
    const after = lastEventId(c.req.header("Last-Event-ID"));
    return streamSSE(c, (stream) => followEvents(job, after, stream));
  });

  serve(app, routes.trainingSample, async (c) => {
    const job = jobOf(c);
    const file = validParams(c).file;
    let bytes: Uint8Array;
    try {
      const path = join(job.samplesDir, file);
      if (!(await Deno.lstat(path)).isFile) throw new Deno.errors.NotFound();
      bytes = await Deno.readFile(path);
    } catch {
      throw new NotFoundError(`job ${job.id} has no sample '${file}'`, "file");
    }
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "image/png",
      "Cache-Control": "private, no-cache",
    });
  });

  return app;

  function jobOf(c: Context): TrainingJob {
    const id = c.req.param("id") ?? "";
    if (!JOB_ID_PATTERN.test(id)) throw new NotFoundError(`no training job '${id.slice(0, 64)}'`, "id");
    return training.get(id);
  }
}

/** A body must say it is JSON (a form or text/plain is not parsed as one: 415). */
const requireJson: MiddlewareHandler = async (c, next) => {
  const type = c.req.header("Content-Type") ?? "";
  if (!/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type.trim())) {
    throw new ApiError(
      415,
      type ? `the body is ${type.split(";")[0].trim()}, not JSON` : "the body has no Content-Type; send JSON",
      "Content-Type",
      ["application/json"],
    );
  }
  await next();
};

async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch (e) {
    if (e instanceof ApiError) throw e; // the body limit
    throw new ValidationError(
      null,
      "the body must be a JSON object",
      "a training configuration (see /openapi.json)",
    );
  }
}

/** The `Last-Event-ID` header as an event id (−1 when absent). */
export function lastEventId(header: string | undefined): number {
  if (header === undefined || header.trim() === "") return -1;
  if (!/^\d{1,12}$/.test(header.trim())) {
    throw new ValidationError("Last-Event-ID", "must be an event id", "the id of an event of this stream");
  }
  return Number(header.trim());
}
