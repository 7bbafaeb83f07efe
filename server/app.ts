/**
 * The Hono app: middleware (CORS, security headers, HEAD lengths), the route groups (declared in
 * api_routes.ts, their parameters checked through the one `defaultHook`), and one typed error handler.
 *
 * ```ts
 * const services = await createServices({ config: configFromEnv() });
 * Deno.serve(createApp(services).fetch);
 * ```
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { handleError, handleNotFound } from "./errors.ts";
import { headLength, methodNotAllowed } from "./methods.ts";
import { docRoutes } from "./routes/docs.ts";
import { imageRoutes } from "./routes/images.ts";
import { modelRoutes } from "./routes/models.ts";
import { projectionRoutes } from "./routes/projections.ts";
import { staticRoutes } from "./routes/static.ts";
import { trainRoutes } from "./routes/train.ts";
import { requestSizeLimits } from "./request_limits.ts";
import { corsFor } from "./security.ts";
import type { Services } from "./services.ts";
import { validationHook } from "./validation.ts";

/** The app for a set of services. */
export function createApp(services: Services): OpenAPIHono {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  app.onError(handleError);
  app.notFound(methodNotAllowed(() => app.routes, handleNotFound));

  app.use("*", corsFor(services.config.corsOrigins));
  app.use("*", requestSizeLimits());
  app.use("*", async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
  });
  app.use("*", headLength);

  app.route("/", imageRoutes(services));
  app.route("/", modelRoutes(services));
  app.route("/", docRoutes(services));
  app.route("/", trainRoutes(services));
  app.route("/", projectionRoutes(services));
  app.route("/", staticRoutes(services));
  return app;
}
