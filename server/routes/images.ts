/**
 * Image routes: `/generate`, `/grid`, `/truncation`, `/mixing`. Each route's query is checked by its declaration
 * (api_routes.ts); the handler takes the model, plans (model-dependent checks) and answers through the queue.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { apiRoutes, serve, validQuery } from "../api_routes.ts";
import {
  mixingDescription,
  type PlanContext,
  planGrid,
  planMixing,
  planTile,
  planTruncation,
  styleLayersHeader,
} from "../plans.ts";
import { resolveTiles } from "../projection/sources.ts";
import { respondWithImage } from "../respond.ts";
import type { Services } from "../services.ts";
import { querySpecs } from "../validation.ts";

/** The image routes of an app. */
export function imageRoutes(services: Services): OpenAPIHono {
  const app = new OpenAPIHono();
  const routes = apiRoutes(services.config.limits);
  const specs = querySpecs(services.config.limits);
  const ctx: PlanContext = { limits: services.config.limits, font: services.font };
  const { models } = services;

  serve(app, routes.generate, async (c) => {
    const q = validQuery(c, specs.generate);
    const { tiles, model: name } = await resolveTiles(services, [["seed", q.seed]], q.model);
    return await models.use(name, (model) => respondWithImage(c, services, planTile(model, q, tiles)));
  });

  serve(app, routes.grid, async (c) => {
    const q = validQuery(c, specs.grid);
    return await models.use(q.model, (model) => respondWithImage(c, services, planGrid(model, q, ctx)));
  });

  serve(app, routes.truncation, async (c) => {
    const q = validQuery(c, specs.truncation);
    const refs = q.seeds.map((ref): [string, typeof ref] => ["seeds", ref]);
    const { tiles, model: name } = await resolveTiles(services, refs, q.model);
    return await models.use(
      name,
      (model) => respondWithImage(c, services, planTruncation(model, q, ctx, tiles)),
    );
  });

  serve(app, routes.mixing, async (c) => {
    const q = validQuery(c, specs.mixing);
    const refs = [
      ...q.src.map((ref): [string, typeof ref] => ["src", ref]),
      ...q.dst.map((ref): [string, typeof ref] => ["dst", ref]),
    ];
    const { tiles, model: name } = await resolveTiles(services, refs, q.model);
    return await models.use(name, async (model) => {
      const plan = planMixing(model, q, ctx, tiles);
      if (q.format !== "json") return await respondWithImage(c, services, plan);
      return c.json(mixingDescription(model, plan), 200, {
        "X-Style-Layers": styleLayersHeader(plan.spec.ranges),
      });
    });
  });

  return app;
}
