/**
 * Training routes, mounted at `/api/train`. Guarded by the bearer token (off without SGAN_TOKEN). Until a
 * training runner exists (see `training/jobs.ts`) `POST /api/train` answers 501; with one, it validates the
 * body, confines the dataset path to SGAN_DATA_ROOT and starts the run. `GET /api/train/{id}` and friends slot
 * in beside it.
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError, NotImplementedError, ValidationError } from "../errors.ts";
import { requireToken, resolveDataPath } from "../security.ts";
import type { Services } from "../services.ts";
import { trainRequestSchema } from "../training/jobs.ts";

/** Largest accepted request body. */
const MAX_BODY_BYTES = 64 * 1024;

/** The training routes (to mount at `/api/train`). */
export function trainRoutes(services: Services): Hono {
  const app = new Hono();
  app.use("*", requireToken(services.config.token));
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, `the request body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  app.post("/", async (c) => {
    const training = services.training;
    if (!training) {
      throw new NotImplementedError(
        "training jobs are not available yet: the training loop has not landed; train with `deno task train` meanwhile",
      );
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new ValidationError(
        null,
        "the body must be a JSON object",
        "a JSON TrainRequest (see /openapi.json)",
      );
    }
    const parsed = trainRequestSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue.path.length
        ? String(issue.path[0])
        : (issue as { keys?: string[] }).keys?.[0] ?? null;
      throw new ValidationError(field, issue.message, "a JSON TrainRequest (see /openapi.json)");
    }
    const datasetPath = await resolveDataPath(services.config.dataRoot, parsed.data.dataset);
    return c.json(await training.start({ ...parsed.data, datasetPath }), 202);
  });

  return app;
}
