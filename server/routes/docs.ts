/**
 * Documentation routes: `/openapi.json`, the `/docs` reference page and its Swagger UI files.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { apiRoutes, serve, validParams } from "../api_routes.ts";
import { type DocsAsset, docsAsset } from "../docs_assets.ts";
import { docsPage } from "../docs_page.ts";
import { ifNoneMatchHits } from "../http_cache.ts";
import { openApiDocument } from "../openapi.ts";
import type { Services } from "../services.ts";

/** The documentation routes of an app. */
export function docRoutes(services: Services): OpenAPIHono {
  const app = new OpenAPIHono();
  const routes = apiRoutes(services.config.limits);
  const doc = openApiDocument(services.config.limits);
  const page = docsPage(doc, "/docs/assets");
  serve(app, routes.openapi, (c) => c.json(doc));
  serve(app, routes.docs, (c) => c.html(page));
  serve(app, routes.docsAsset, async (c) => {
    const file = await docsAsset(validParams(c).file as DocsAsset);
    // The validator names the package version: a new pin is a new ETag.
    const headers = { ETag: file.etag, "Cache-Control": "no-cache", "Content-Type": file.contentType };
    if (ifNoneMatchHits(c.req.header("If-None-Match"), file.etag)) return c.body(null, 304, headers);
    return c.body(file.bytes, 200, headers);
  });
  return app;
}
