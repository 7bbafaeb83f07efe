/**
 * The Hono app: middleware (CORS, security headers), the route groups, and one typed error handler.
 *
 * ```ts
 * const services = await createServices({ config: configFromEnv() });
 * Deno.serve(createApp(services).fetch);
 * ```
 *
 * @module
 */
import { Hono } from "hono";
import { handleError, handleNotFound } from "./errors.ts";
import { docRoutes } from "./routes/docs.ts";
import { imageRoutes } from "./routes/images.ts";
import { modelRoutes } from "./routes/models.ts";
import { staticRoutes } from "./routes/static.ts";
import { trainRoutes } from "./routes/train.ts";
import { requestSizeLimits } from "./request_limits.ts";
import { corsFor } from "./security.ts";
import type { Services } from "./services.ts";

/** The app for a set of services. */
export function createApp(services: Services): Hono {
  const app = new Hono();
  app.onError(handleError);
  app.notFound(handleNotFound);

  app.use("*", corsFor(services.config.corsOrigins));
  app.use("*", requestSizeLimits());
  app.use("*", async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
  });

  app.route("/", imageRoutes(services));
  app.route("/", modelRoutes(services));
  app.route("/", docRoutes(services));
  app.route("/api/train", trainRoutes(services));
  app.route("/", staticRoutes(services));
  return app;
}
