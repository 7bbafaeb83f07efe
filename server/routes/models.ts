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

  serve(
    app,
    routes.models,
    async (c) => c.json({ default: models.defaultName, models: await models.list() }),
  );

  serve(app, routes.model, async (c) => c.json(await models.describe(validParams(c).name)));

  return app;
}
