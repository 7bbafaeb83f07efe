/**
 * The API's errors. Every failure answers JSON `{error, field, allowed}`: what went wrong in words, which
 * parameter caused it (or null), and what would have been accepted (or null). Handlers throw an
 * {@link ApiError}; {@link handleError} (the app's one `onError`) turns it into the response.
 *
 * @module
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Body of every error response. */
export interface ErrorBody {
  /** What went wrong, in words. */
  error: string;
  /** The query parameter or body field at fault, or null. */
  field: string | null;
  /** What would have been accepted (a description or a list), or null. */
  allowed: string | readonly (string | number)[] | null;
}

/** An error with an HTTP status and the JSON body to send. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly field: string | null = null,
    readonly allowed: ErrorBody["allowed"] = null,
    /** Extra response headers (Retry-After, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get body(): ErrorBody {
    return { error: this.message, field: this.field, allowed: this.allowed };
  }
}

/** 400: a parameter is missing, malformed, out of range or over a limit. */
export class ValidationError extends ApiError {
  override name = "ValidationError";
  constructor(field: string | null, message: string, allowed: ErrorBody["allowed"] = null) {
    super(400, message, field, allowed);
  }
}

/** 404: an unknown model, file or route. */
export class NotFoundError extends ApiError {
  override name = "NotFoundError";
  constructor(message: string, field: string | null = null, allowed: ErrorBody["allowed"] = null) {
    super(404, message, field, allowed);
  }
}

/** 503: the generation queue is full; the client should retry after `retryAfterS` seconds. */
export class QueueFullError extends ApiError {
  override name = "QueueFullError";
  constructor(
    readonly retryAfterS: number,
    message = `the generation queue is full; retry in ${retryAfterS} s`,
  ) {
    super(503, message, null, null, { "Retry-After": String(retryAfterS) });
  }
}

/** Seconds a client should wait after a synthesis worker crash (a replacement starts in about a second). */
export const RESTART_RETRY_AFTER_S = 2;

/** 503: synthesis workers died under this request twice (it was retried once); replacements are starting. */
export class GenerationRestartedApiError extends ApiError {
  override name = "GenerationRestartedError";
  constructor() {
    super(
      503,
      "generation restarted: a synthesis worker stopped while making this image and the retry failed too; " +
        `try again in ${RESTART_RETRY_AFTER_S} s`,
      null,
      null,
      { "Retry-After": String(RESTART_RETRY_AFTER_S) },
    );
  }
}

/** 401: a training route was called without the right bearer token. */
export class UnauthorizedError extends ApiError {
  override name = "UnauthorizedError";
  constructor(message: string) {
    super(401, message, "Authorization", "Authorization: Bearer <SGAN_TOKEN>", {
      "WWW-Authenticate": 'Bearer realm="sgan"',
    });
  }
}

/** 403: the route is switched off on this server. */
export class ForbiddenError extends ApiError {
  override name = "ForbiddenError";
  constructor(message: string, field: string | null = null) {
    super(403, message, field);
  }
}

/** 409: the request conflicts with the server's state (a training job already running, a model name taken). */
export class ConflictError extends ApiError {
  override name = "ConflictError";
  constructor(message: string, field: string | null = null, allowed: ErrorBody["allowed"] = null) {
    super(409, message, field, allowed);
  }
}

/** 501: the route is designed but not implemented yet. */
export class NotImplementedError extends ApiError {
  override name = "NotImplementedError";
  constructor(message: string) {
    super(501, message);
  }
}

/** 500: a model file exists but cannot be used. */
export class ModelLoadError extends ApiError {
  override name = "ModelLoadError";
  constructor(model: string, reason: string) {
    super(500, `model '${model}' could not be loaded: ${reason}`, "model");
  }
}

/** The response for an error: ApiErrors as they say; anything else a logged 500 that reveals no internals. */
export function errorResponse(c: Context, error: unknown): Response {
  if (error instanceof ApiError) {
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
    if (error.status >= 500 && error.status !== 503 && error.status !== 501) {
      console.error(`${error.name}: ${error.message}`);
    }
    return c.json(error.body, error.status);
  }
  // Hono's own errors (malformed JSON bodies, body limits) carry a status and a response.
  const status = (error as { status?: number }).status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return c.json(
      { error: (error as Error).message || "bad request", field: null, allowed: null },
      status as ContentfulStatusCode,
    );
  }
  console.error(error);
  return c.json({ error: "internal server error", field: null, allowed: null } satisfies ErrorBody, 500);
}

/** The app's `onError`. */
export function handleError(error: Error, c: Context): Response {
  return errorResponse(c, error);
}

/** The app's `notFound`: a JSON 404 naming the path, with the API reference as the hint. */
export function handleNotFound(c: Context): Response {
  const body: ErrorBody = {
    error: `no route ${c.req.method} ${new URL(c.req.url).pathname}`,
    field: null,
    allowed: "the routes listed in /openapi.json (see /docs)",
  };
  return c.json(body, 404);
}
