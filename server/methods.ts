/**
 * HTTP method handling the router leaves open: which methods a path serves (for a 405 with `Allow` instead of
 * a 404 when only the method is wrong), and the length of a HEAD answer.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "./errors.ts";

/** A registered route as Hono lists it (`app.routes`). */
export interface RegisteredRoute {
  method: string;
  path: string;
}

/** The methods that serve `pathname` among `routes` (HEAD wherever GET is), sorted; empty when none. */
export function allowedMethods(routes: readonly RegisteredRoute[], pathname: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method === "ALL" || !pathPattern(route.path).test(pathname)) continue;
    methods.add(route.method);
    if (route.method === "GET") methods.add("HEAD");
  }
  return [...methods].sort();
}

/** A Hono route path as a regular expression: `:name` one segment, `*` anything (also nothing). */
function pathPattern(path: string): RegExp {
  const source = path.split(/(:\w+|\*)/).map((part) => {
    if (part === "*") return ".*";
    if (part.startsWith(":")) return "[^/]+";
    return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("");
  return new RegExp(`^${source.replace(/\/\.\*$/, "(/.*)?")}/?$`);
}

/** A 405 naming the methods the path serves. */
export class MethodNotAllowedError extends ApiError {
  override name = "MethodNotAllowedError";
  constructor(method: string, pathname: string, allowed: string[]) {
    super(405, `${method} is not allowed on ${pathname}`, null, allowed, { Allow: allowed.join(", ") });
  }
}

/**
 * The app's `notFound` for paths some route serves with another method: a 405 with `Allow`; other paths go
 * to `otherwise` (the JSON 404).
 */
export function methodNotAllowed(
  routes: () => readonly RegisteredRoute[],
  otherwise: (c: Context) => Response,
): (c: Context) => Response {
  return (c) => {
    const pathname = new URL(c.req.url).pathname;
    const allowed = allowedMethods(routes(), pathname);
    if (allowed.length === 0 || allowed.includes(c.req.method)) return otherwise(c);
    throw new MethodNotAllowedError(c.req.method, pathname, allowed);
  };
}

/**
 * HEAD answers GET's headers without the body. Hono drops the body after the GET handler ran; without a
 * Content-Length the server would announce 0, so it is set here from the body the GET would have sent. Event
 * streams never end: they get no length.
 */
export const headLength: MiddlewareHandler = async (c, next) => {
  await next();
  if (c.req.method !== "HEAD" || !c.res.body || c.res.headers.has("Content-Length")) return;
  if ((c.res.headers.get("Content-Type") ?? "").startsWith("text/event-stream")) return;
  const bytes = await c.res.arrayBuffer();
  c.res = new Response(bytes, c.res);
  c.res.headers.set("Content-Length", String(bytes.byteLength));
};
