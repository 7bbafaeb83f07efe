/**
 * Documentation routes: `/openapi.json` and the `/docs` reference page.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { apiRoutes, serve } from "../api_routes.ts";
import { referencePage } from "../docs_page.ts";
import { openApiDocument } from "../openapi.ts";
import type { Services } from "../services.ts";

/** The documentation routes of an app. */
export function docRoutes(services: Services): OpenAPIHono {
  const app = new OpenAPIHono();
  const routes = apiRoutes(services.config.limits);
  const doc = openApiDocument(services.config.limits);
  const page = referencePage(doc);
  serve(app, routes.openapi, (c) => c.json(doc));
  serve(app, routes.docs, (c) => c.html(page));
  return app;
}
