/**
 * Model routes: `/api/models` and `/api/models/{name}` (query and name checked by their declarations).
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { apiRoutes, serve, validParams } from "../api_routes.ts";
import type { Services } from "../services.ts";

/** The model routes of an app. */
export function modelRoutes(services: Services): OpenAPIHono {
  const app = new OpenAPIHono();
  const routes = apiRoutes(services.config.limits);
  const { models } = services;

  serve(app, routes.models, async (c) => {
    // The figure limits let a widget refuse a too-large figure before it draws a control per row.
    const { maxSeeds, maxPsis, maxCells } = services.config.limits;
    return c.json({
      default: models.defaultName,
      models: await models.list(),
      limits: { max_seeds: maxSeeds, max_psis: maxPsis, max_cells: maxCells },
    });
  });

  serve(app, routes.model, async (c) => c.json(await models.describe(validParams(c).name)));

  return app;
}
