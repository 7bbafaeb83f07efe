/**
 * Projection routes, under `/api/projections`: upload a real tile (multipart or a raw image body), follow its
 * projection (status, Server-Sent Events, reconstruction previews), and read the result. The upload is
 * checked here, before anything is stored: byte limit (413), image type (415), pixel limit by the header
 * (413), and that it can be resampled to the model (422); the resampled target is what the worker projects.
 * The projection itself runs in a worker process (`projection/jobs.ts`); its w is then usable as `w:<id>`
 * wherever a seed names a tile (`plans.ts`). GET lists the projections, DELETE cancels or deletes one.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import { join } from "node:path";
import { detectFormat } from "../../model/data/decode.ts";
import {
  defaultProjectionLoss,
  DISCRIMINATOR_LOSSES,
  PROJECTION_LOSS_NAMES,
} from "../../model/projection/losses.ts";
import { type ProjectionTarget, TargetError, targetFromBytes } from "../../model/projection/target.ts";
import { apiRoutes, serve, validParams, validQuery } from "../api_routes.ts";
import { ApiError, ForbiddenError, NotFoundError, ValidationError } from "../errors.ts";
import type { ProjectionJob, ProjectionJobs } from "../projection/jobs.ts";
import { PROJECTION_ID_PATTERN } from "../projection/jobs.ts";
import type { Services } from "../services.ts";
import { followEvents } from "../sse.ts";
import { parseQuery, querySpecs } from "../validation.ts";
import { lastEventId } from "./train.ts";

/** Content types a raw upload may have. */
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/tiff"] as const;
const ACCEPTED_TYPES = ["multipart/form-data (field image)", ...IMAGE_TYPES];

/** HTTP status of each reason a target is refused for. */
const TARGET_STATUS = { "not-an-image": 415, "too-large": 413 } as const;

/** The projection routes (their declarations carry the full paths). */
export function projectionRoutes(services: Services): OpenAPIHono {
  const app = new OpenAPIHono();
  const routes = apiRoutes(services.config.limits);
  const specs = querySpecs(services.config.limits);
  const { maxBytes, maxPixels } = services.config.projection;

  const off: MiddlewareHandler = async (_c, next) => {
    if (!services.projections) {
      throw new ForbiddenError("projections are switched off on this server (SGAN_PROJECTIONS=0)");
    }
    await next();
  };
  app.use("/api/projections", off);
  app.use("/api/projections/*", off);
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(
        413,
        `the upload is larger than ${maxBytes} bytes`,
        "image",
        `at most ${maxBytes} bytes`,
      );
    },
  });
  app.post("/api/projections", requireImageType, limit);

  serve(app, routes.startProjection, async (c) => {
    const jobs = services.projections!;
    const { bytes, name, fields } = await readUpload(c);
    // Form fields and query parameters are one set of options, checked by the route's own declaration.
    const query = new URL(c.req.url).searchParams;
    for (const [key, value] of fields) query.append(key, value);
    const q = parseQuery(query, specs.project);
    const format = detectFormat(bytes);
    if (!format) {
      throw new ApiError(415, `${name} is not a PNG, JPEG or TIFF image`, "image", [...IMAGE_TYPES]);
    }
    const accepted = await services.models.use(q.model, async (model) => {
      const { classes, resolution, channels, gsd_m } = model.info;
      let label: number | undefined;
      if (classes.length > 0 && (q.class === undefined || q.class === "random")) {
        throw new ValidationError(
          "class",
          `model '${model.info.name}' is conditional: name the tile's land use, toward whose centre of W ` +
            "its edits truncate",
          classes,
        );
      }
      if (q.class !== undefined && q.class !== "random") {
        if (classes.length === 0) {
          throw new ValidationError(
            "class",
            `model '${model.info.name}' is unconditional: it has no classes`,
            [
              "no class parameter for this model",
            ],
          );
        }
        label = classes.indexOf(q.class);
        if (label < 0) {
          throw new ValidationError("class", `model '${model.info.name}' has no class '${q.class}'`, [
            ...classes,
            "random",
          ]);
        }
      }
      // The D-feature loss needs the model's discriminator: checked before the upload is decoded. Without a
      // loss named, the model's discriminator decides (defaultProjectionLoss).
      // Looked up only when it matters: no loss named, or one that needs D.
      const found = q.loss === undefined || DISCRIMINATOR_LOSSES.includes(q.loss)
        ? await services.models.discriminatorOf(model.info.name)
        : undefined;
      const loss = q.loss ?? defaultProjectionLoss(found !== undefined && "file" in found);
      let discriminator: string | undefined;
      if (found && DISCRIMINATOR_LOSSES.includes(loss)) {
        if ("why" in found) {
          throw new ValidationError(
            "loss",
            `loss=${loss} uses the trained discriminator's features, and ${found.why}`,
            PROJECTION_LOSS_NAMES.filter((name) => !DISCRIMINATOR_LOSSES.includes(name)),
          );
        }
        discriminator = found.file;
      }
      // Decoded and resampled here, once: a refusal is answered at once with nothing stored, and the worker
      // projects this target (projection/target_file.ts) instead of decoding the upload again.
      let target: ProjectionTarget;
      try {
        target = await targetFromBytes(bytes, name, {
          resolution,
          channels,
          modelGsdM: gsd_m ?? undefined,
          sourceGsdM: q.gsd,
          maxPixels,
        });
      } catch (error) {
        if (!(error instanceof TargetError)) throw error;
        const status = TARGET_STATUS[error.reason as keyof typeof TARGET_STATUS] ?? 422;
        throw new ApiError(
          status,
          error.message,
          "image",
          targetAllowed(error.reason, maxPixels, resolution),
        );
      }
      return await jobs.start({
        model: model.info.name,
        checkpoint: model.file,
        target,
        name,
        format,
        steps: q.steps,
        seed: q.seed,
        wPlus: q.wplus,
        loss,
        discriminator,
        className: label === undefined ? null : q.class!,
        label,
        gsdM: q.gsd,
      });
    });
    c.header("Location", accepted.status_url);
    return c.json(accepted, 202);
  });

  serve(app, routes.listProjections, (c) => {
    const { limit, offset } = validQuery(c, specs.projections);
    const page = services.projections!.list(limit, offset);
    const next = offset + page.projections.length < page.total
      ? `/api/projections?limit=${limit}&offset=${offset + limit}`
      : null;
    return c.json({ ...page, limit, offset, next });
  });

  serve(app, routes.deleteProjection, async (c) => {
    const cancelled = await services.projections!.remove(jobOf(c, services.projections!).id);
    return cancelled ? c.json(cancelled) : c.body(null, 204);
  });

  serve(app, routes.projection, async (c) => {
    const job = jobOf(c, services.projections!);
    return c.json({ ...job.status(), w: await job.w() });
  });

  serve(app, routes.projectionEvents, (c) => {
    const job = jobOf(c, services.projections!);
    const after = lastEventId(c.req.header("Last-Event-ID"));
    return streamSSE(c, (stream) => followEvents(job, after, stream));
  });

  serve(app, routes.projectionReconstruction, async (c) => {
    const job = jobOf(c, services.projections!);
    const { step } = validQuery(c, specs.reconstruction);
    const path = step === undefined
      ? join(job.resultDir, "reconstruction.png")
      : join(job.previewsDir, `step-${step}.png`);
    const missing = step === undefined
      ? `projection ${job.id} has no reconstruction yet (it is ${job.state})`
      : `projection ${job.id} has no preview after step ${step} (previews every ${services.config.projection.previewEvery} steps and at the last)`;
    return await sendFile(c, path, "image/png", missing, step === undefined ? null : "step", {
      allowed: step === undefined
        ? "a projection that is done (GET /api/projections/{id}: reconstruction_url)"
        : "a step of a reconstruction event of this projection",
    });
  });

  serve(app, routes.projectionGeoTiff, async (c) => {
    const job = jobOf(c, services.projections!);
    const status = job.status();
    const missing = status.target.georeferenced
      ? `projection ${job.id} has no reconstruction yet (it is ${job.state})`
      : `projection ${job.id} was of a ${status.target.format.toUpperCase()} with no place on the ground: ` +
        "only GeoTIFF targets give GeoTIFF reconstructions";
    return await sendFile(c, join(job.resultDir, "reconstruction.tif"), "image/tiff", missing, null, {
      allowed: "a finished projection of a GeoTIFF (GET /api/projections/{id}: geotiff_url)",
    });
  });

  return app;
}

function jobOf(c: Context, jobs: ProjectionJobs): ProjectionJob {
  const id = validParams(c).id;
  if (!PROJECTION_ID_PATTERN.test(id)) {
    throw new NotFoundError(`no projection '${id.slice(0, 64)}'`, "id", "an id from POST /api/projections");
  }
  return jobs.get(id);
}

/** A raw body must be an image type; a multipart body is read for its `image` file (415 otherwise). */
const requireImageType: MiddlewareHandler = async (c, next) => {
  const type = (c.req.header("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "multipart/form-data" && !(IMAGE_TYPES as readonly string[]).includes(type)) {
    throw new ApiError(
      415,
      type ? `the body is ${type}, not an image upload` : "the body has no Content-Type; send an image",
      "Content-Type",
      ACCEPTED_TYPES,
    );
  }
  await next();
};

/** The uploaded bytes, their name for messages, and a multipart body's other fields. */
async function readUpload(
  c: Context,
): Promise<{ bytes: Uint8Array; name: string; fields: [string, string][] }> {
  const type = (c.req.header("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "multipart/form-data") {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.length === 0) throw new ValidationError("image", "the body is empty", "the image's bytes");
    return { bytes, name: "the upload", fields: [] };
  }
  let form: FormData;
  try {
    form = await c.req.formData();
  } catch (error) {
    if (error instanceof ApiError) throw error; // the body limit
    throw new ValidationError(
      null,
      "the multipart body cannot be read",
      "multipart/form-data with an image file",
    );
  }
  let file: File | undefined;
  const fields: [string, string][] = [];
  for (const [key, value] of form.entries()) {
    if (key === "image") {
      if (file || typeof value === "string") {
        throw new ValidationError(
          "image",
          file ? "more than one image in the form" : "the image field must be a file",
          "one file in the form field image",
        );
      }
      file = value;
    } else if (typeof value === "string") {
      fields.push([key, value]);
    } else {
      throw new ValidationError(
        key,
        `unexpected file in form field "${key.slice(0, 40)}"`,
        "one file, in image",
      );
    }
  }
  if (!file) {
    throw new ValidationError(
      "image",
      "the form has no image file",
      "a PNG, JPEG or GeoTIFF in the field image",
    );
  }
  const name = (file.name || "upload").replace(/[^\w.-]/g, "_").slice(0, 100);
  return { bytes: new Uint8Array(await file.arrayBuffer()), name, fields };
}

function targetAllowed(reason: string, maxPixels: number, resolution: number): string {
  switch (reason) {
    case "not-an-image":
      return "a PNG, JPEG or TIFF image";
    case "too-large":
      return `an image of at most ${maxPixels} pixels: cut the site out first`;
    case "no-ground-resolution":
      return "a GeoTIFF in metres, or gsd= with the image's ground resolution in m/px";
    case "upsampling":
      return `an image covering the model's tile with at least ${resolution / 2} px`;
    default:
      return "a complete PNG, JPEG or GeoTIFF of the model's bands";
  }
}

async function sendFile(
  c: Context,
  path: string,
  type: string,
  missing: string,
  field: string | null,
  { allowed }: { allowed: string },
): Promise<Response> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    throw new NotFoundError(missing, field, allowed);
  }
  return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
    "Content-Type": type,
    // Previews and results never change once written.
    "Cache-Control": "private, max-age=31536000, immutable",
  });
}
