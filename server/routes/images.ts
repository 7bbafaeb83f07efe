/**
 * Image routes: `/generate`, `/grid`, `/truncation`, `/mixing`. Each handler validates its query, takes the model,
 * plans (model-dependent checks) and answers through the queue.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import {
  mixingDescription,
  type PlanContext,
  planGrid,
  planMixing,
  planTile,
  planTruncation,
  styleLayersHeader,
} from "../plans.ts";
import { respondWithImage } from "../respond.ts";
import type { Services } from "../services.ts";
import { parseQuery, querySpecs } from "../validation.ts";

/** The image routes of an app. */
export function imageRoutes(services: Services): Hono {
  const app = new Hono();
  const specs = querySpecs(services.config.limits);
  const ctx: PlanContext = { limits: services.config.limits, font: services.font };
  const { models } = services;

  app.get("/generate", async (c) => {
    const q = parseQuery(params(c), specs.generate);
    return await models.use(q.model, (model) => respondWithImage(c, services, planTile(model, q)));
  });

  app.get("/grid", async (c) => {
    const q = parseQuery(params(c), specs.grid);
    return await models.use(q.model, (model) => respondWithImage(c, services, planGrid(model, q, ctx)));
  });

  app.get("/truncation", async (c) => {
    const q = parseQuery(params(c), specs.truncation);
    return await models.use(q.model, (model) => respondWithImage(c, services, planTruncation(model, q, ctx)));
  });

  app.get("/mixing", async (c) => {
    const q = parseQuery(params(c), specs.mixing);
    return await models.use(q.model, async (model) => {
      const plan = planMixing(model, q, ctx);
      if (q.format !== "json") return await respondWithImage(c, services, plan);
      return c.json(mixingDescription(model, plan), 200, {
        "X-Style-Layers": styleLayersHeader(plan.spec.ranges),
      });
    });
  });

  return app;
}

function params(c: Context): URLSearchParams {
  return new URL(c.req.url).searchParams;
}
