/**
 * Documentation routes: `/openapi.json` and the `/docs` reference page.
 *
 * @module
 */
import { Hono } from "hono";
import { openApiDocument, referencePage } from "../openapi.ts";
import type { Services } from "../services.ts";

/** The documentation routes of an app. */
export function docRoutes(services: Services): Hono {
  const app = new Hono();
  const doc = openApiDocument(services.config.limits);
  const page = referencePage(doc);
  app.get("/openapi.json", (c) => c.json(doc));
  app.get("/docs", (c) => c.html(page));
  return app;
}
