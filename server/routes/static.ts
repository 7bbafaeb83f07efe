/**
 * Static files: `/` (static/index.html, or a built-in page listing the routes until that exists) and
 * `/widgets/*`, `/static/*` (files under static/widgets/ and static/). Paths are confined to the folder
 * (no `..`, no symbolic link out); a missing file is a JSON 404.
 *
 * `/widgets/*` is public, static code and is served to any origin (`Access-Control-Allow-Origin: *`), whatever
 * `SGAN_CORS_ORIGINS` says: a report on another origin or opened from a file must at least load the bundle,
 * so that the widgets can say in words why the data does not arrive. The API's data keeps its CORS rule.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { extname, join } from "node:path";
import { NotFoundError } from "../errors.ts";
import { ifNoneMatchHits, requestKey } from "../http_cache.ts";
import { exampleUrl } from "../docs_page.ts";
import { openApiDocument } from "../openapi.ts";
import { isInside } from "../security.ts";
import type { Services } from "../services.ts";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
};

/** The static routes of an app. */
export function staticRoutes(services: Services): Hono {
  const app = new Hono();
  const root = services.config.staticDir;
  const fallback = builtInIndex(openApiDocument(services.config.limits));

  app.get("/", async (c) => (await serveFile(c, root, "index.html", false)) ?? c.html(fallback));
  app.get("/index.html", async (c) => (await serveFile(c, root, "index.html", false)) ?? c.html(fallback));
  app.use("/widgets/*", async (c, next) => {
    await next();
    // Set after the app-wide CORS middleware ran, so that this wins over its per-origin answer.
    c.res.headers.set("Access-Control-Allow-Origin", "*");
    c.res.headers.set("Cross-Origin-Resource-Policy", "cross-origin");
  });
  app.get(
    "/widgets/*",
    async (c) => await serveFile(c, join(root, "widgets"), c.req.path.slice("/widgets/".length), true),
  );
  app.get("/static/*", async (c) => await serveFile(c, root, c.req.path.slice("/static/".length), true));
  return app;
}

/**
 * Serve `relPath` from `folder` with a weak validator (path, size, mtime) and `no-cache` (revalidate: a rebuilt
 * bundle is picked up at once). Missing: a JSON 404 when `required`, else undefined.
 */
async function serveFile(
  c: Context,
  folder: string,
  relPath: string,
  required: boolean,
): Promise<Response | undefined> {
  const missing = () => {
    if (!required) return undefined;
    throw new NotFoundError(
      `no file ${c.req.path}`,
      null,
      "files built into static/ (e.g. /widgets/sgan-widgets.js)",
    );
  };
  let decoded: string;
  try {
    decoded = decodeURIComponent(relPath);
  } catch {
    return missing();
  }
  if (decoded === "" || decoded.includes("\0") || decoded.split(/[\\/]+/).includes("..")) return missing();
  let real: string, root: string;
  try {
    root = await Deno.realPath(folder);
    real = await Deno.realPath(join(root, decoded));
  } catch {
    return missing();
  }
  if (!isInside(root, real)) return missing();
  const stat = await Deno.stat(real);
  if (!stat.isFile) return missing();
  const etag = `W/"${await requestKey(["static", real, stat.size, stat.mtime?.getTime() ?? 0])}"`;
  const headers: Record<string, string> = {
    ETag: etag,
    "Cache-Control": "no-cache",
    "Content-Type": CONTENT_TYPES[extname(real).toLowerCase()] ?? "application/octet-stream",
  };
  if (ifNoneMatchHits(c.req.header("If-None-Match"), etag)) return c.body(null, 304, headers);
  return c.body(await Deno.readFile(real) as Uint8Array<ArrayBuffer>, 200, headers);
}

/** The page served at `/` until static/index.html exists: every route with an example link. */
export function builtInIndex(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
  const items = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const example = method === "get"
        ? exampleUrl(path, (op.parameters as Record<string, unknown>[]) ?? [])
        : undefined;
      const link = example
        ? `<a href="${esc(example)}"><code>${esc(example)}</code></a>`
        : `<code>${esc(path)}</code>`;
      return `<li><b>${method.toUpperCase()}</b> ${link} — ${esc(String(op.summary ?? ""))}</li>`;
    })
  ).join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sgan-ts</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}
img{image-rendering:pixelated;margin-right:.5rem}</style></head><body>
<h1>sgan-ts: scale-aware StyleGAN for aerial imagery</h1>
<p><img src="/generate?seed=730&amp;psi=0.7&amp;size=128" width="128" height="128" alt="seed 730">
<img src="/generate?seed=904&amp;psi=0.7&amp;size=128" width="128" height="128" alt="seed 904"></p>
<p>The demo page (static/index.html) is not built yet; these are the routes. Full reference: <a href="/docs">/docs</a>,
machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
<ul>${items}</ul></body></html>`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
