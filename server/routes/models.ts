/**
 * Model routes: `/api/models` and `/api/models/{name}`.
 *
 * @module
 */
import { Hono } from "hono";
import { MODEL_NAME_PATTERN } from "../models.ts";
import type { Services } from "../services.ts";
import { ValidationError } from "../errors.ts";
import { parseQuery } from "../validation.ts";

/** The model routes of an app. */
export function modelRoutes(services: Services): Hono {
  const app = new Hono();
  const { models } = services;

  app.get("/api/models", async (c) => {
    parseQuery(new URL(c.req.url).searchParams, {});
    // The figure limits let a widget refuse a too-large figure before it draws a control per row.
    const { maxSeeds, maxPsis, maxCells } = services.config.limits;
    return c.json({
      default: models.defaultName,
      models: await models.list(),
      limits: { max_seeds: maxSeeds, max_psis: maxPsis, max_cells: maxCells },
    });
  });

  app.get("/api/models/:name", async (c) => {
    parseQuery(new URL(c.req.url).searchParams, {});
    const name = c.req.param("name");
    if (!MODEL_NAME_PATTERN.test(name)) {
      throw new ValidationError(
        "name",
        `"${name.slice(0, 40)}" is not a model name`,
        "a model name listed by /api/models",
      );
    }
    return c.json(await models.describe(name));
  });

  return app;
}
