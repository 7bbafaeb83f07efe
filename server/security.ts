/**
 * Access rules: the bearer token that guards training routes, the data-root check for dataset paths, and the
 * CORS origins that may embed the widgets.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { ForbiddenError, UnauthorizedError, ValidationError } from "./errors.ts";

/**
 * Middleware for training routes: off (403) unless a token is configured, then `Authorization: Bearer <token>`
 * is required (401 otherwise). The comparison does not stop at the first differing byte.
 */
export function requireToken(token: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    checkBearer(token, c.req.header("Authorization"));
    await next();
  };
}

/** The token rule as a function: throws {@link ForbiddenError} or {@link UnauthorizedError}. */
export function checkBearer(token: string | undefined, authorization: string | undefined): void {
  if (!token) {
    throw new ForbiddenError(
      "training routes are off on this server; start it with SGAN_TOKEN set to switch them on",
    );
  }
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
  if (!match) throw new UnauthorizedError("training routes need an Authorization: Bearer <token> header");
  if (!constantTimeEqual(match[1], token)) throw new UnauthorizedError("the bearer token is not valid");
}

/** Equality of two strings in time that depends on their lengths only. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * Resolve a user-supplied dataset path (relative to `dataRoot`, or absolute) to a real path that lies under
 * `dataRoot`. Refused: empty paths, NUL bytes, any `..` segment, and anything whose real path (symbolic links
 * followed) leaves the root. The path must exist. Throws {@link ValidationError} naming `field`.
 */
export async function resolveDataPath(
  dataRoot: string | undefined,
  path: string,
  field = "dataset",
): Promise<string> {
  const allowed = "an existing path under the server's SGAN_DATA_ROOT, without '..'";
  if (!dataRoot) {
    throw new ForbiddenError("this server has no SGAN_DATA_ROOT, so it accepts no dataset paths", field);
  }
  if (typeof path !== "string" || path.trim() === "") {
    throw new ValidationError(field, "the path is empty", allowed);
  }
  if (path.includes("\0")) throw new ValidationError(field, "the path contains a NUL byte", allowed);
  if (path.split(/[\\/]+/).includes("..")) {
    throw new ValidationError(field, "the path must not contain '..'", allowed);
  }
  let root: string;
  try {
    root = await Deno.realPath(dataRoot);
  } catch {
    throw new ForbiddenError("the server's SGAN_DATA_ROOT does not exist", field);
  }
  const candidate = isAbsolute(path) ? resolve(path) : resolve(root, path);
  let real: string;
  try {
    real = await Deno.realPath(candidate);
  } catch {
    throw new ValidationError(field, `no such file or folder under the data root: ${path}`, allowed);
  }
  if (!isInside(root, real)) {
    throw new ValidationError(field, "the path leads outside the data root", allowed);
  }
  return real;
}

/** Whether `path` is `root` or lies below it (both absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** Headers a browser may read from cross-origin responses. */
const EXPOSED_HEADERS = [
  "ETag",
  "Retry-After",
  "X-Style-Layers",
  "X-Sgan-Model",
  "X-Sgan-Depth",
  "X-Sgan-View",
  "X-Sgan-Tile-Pixels",
  "X-Metres-Per-Pixel",
  "Location",
];

/** CORS for the configured origins (`*` for any); no CORS headers at all when the list is empty. */
export function corsFor(origins: string[]): MiddlewareHandler {
  if (origins.length === 0) return async (_c, next) => await next();
  const any = origins.includes("*");
  return cors({
    origin: any ? "*" : (origin) => (origins.includes(origin) ? origin : null),
    allowMethods: ["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "If-None-Match", "Last-Event-ID"],
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
}
