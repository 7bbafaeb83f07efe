/**
 * Answering an image request from its plan: `If-None-Match` (304, before any work when the ETag of the
 * request is remembered), cache headers, the shared response cache, the generation queue, the encoded body.
 *
 * @module
 */
import type { Context } from "hono";
import { CACHE_IMMUTABLE, CACHE_NONE, ifNoneMatchHits, requestKey } from "./http_cache.ts";
import type { ImagePlan } from "./plans.ts";
import type { Services } from "./services.ts";

/** The response for an image plan. */
export async function respondWithImage(c: Context, services: Services, plan: ImagePlan): Promise<Response> {
  const headers: Record<string, string> = { ...plan.headers };
  if (plan.identity === null) {
    // Random noise: new bytes every time. (No abort signal: Deno.serve's request.signal also fires after
    // successful responses, so it cannot tell a departed client from a served one.)
    headers["Cache-Control"] = CACHE_NONE;
    const tiles = await services.queue.submit(plan.job);
    const encoded = await plan.encode(tiles);
    return send(c, encoded.body, encoded.contentType, `${plan.filename}.${encoded.extension}`, headers);
  }
  const key = await requestKey(plan.identity);
  headers["Cache-Control"] = CACHE_IMMUTABLE;
  const ifNoneMatch = c.req.header("If-None-Match");
  const known = services.cache.knownEtag(key);
  if (known && ifNoneMatchHits(ifNoneMatch, known)) return c.body(null, 304, { ...headers, ETag: known });
  // Identical requests in flight share this job, and its result is cached for the next one.
  const { encoded, etag } = await services.cache.getOrCreate(
    key,
    async () => await plan.encode(await services.queue.submit(plan.job)),
  );
  headers["ETag"] = etag;
  if (ifNoneMatchHits(ifNoneMatch, etag)) return c.body(null, 304, headers);
  return send(c, encoded.body, encoded.contentType, `${plan.filename}.${encoded.extension}`, headers);
}

function send(
  c: Context,
  body: Uint8Array,
  contentType: string,
  filename: string,
  headers: Record<string, string>,
): Response {
  headers["Content-Type"] = contentType;
  headers["Content-Disposition"] = `inline; filename="${filename.replace(/[^A-Za-z0-9._-]/g, "_")}"`;
  return c.body(body as Uint8Array<ArrayBuffer>, 200, headers);
}
