/**
 * The HTML pages rendered from the OpenAPI document: `/docs` (Swagger UI, served from the npm package by
 * docs_assets.ts, with a plain server-rendered reference for readers without scripts) and the example links of
 * the built-in index. Nothing is loaded from another host: the server and its users may be offline.
 *
 * @module
 */

type Json = Record<string, unknown>;

/**
 * `/docs`: Swagger UI reading /openapi.json (its validator badge, which calls validator.swagger.io, is off),
 * and inside `<noscript>` the plain reference.
 */
export function docsPage(doc: Json, assets: string): string {
  const info = doc.info as Json;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(String(info.title))} — API</title>
<link rel="stylesheet" href="${assets}/swagger-ui.css">
<noscript><style>${PLAIN_STYLE}</style></noscript></head><body>
<div id="swagger-ui"></div>
<noscript>${referenceBody(doc)}</noscript>
<script src="${assets}/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  validatorUrl: null, defaultModelsExpandDepth: 0 });</script>
</body></html>`;
}

const PLAIN_STYLE =
  "body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;" +
  "color:#222}table{border-collapse:collapse;width:100%}td,th{border-top:1px solid #ddd;padding:.3rem;" +
  "text-align:left;vertical-align:top}code{background:#f4f4f4;padding:0 .2rem}.m{background:#246;color:#fff;" +
  "padding:0 .4rem;border-radius:3px;font-size:.8em}.none{color:#888}";

/** The plain HTML reference page for a document (every operation, its parameters with examples, its answers). */
export function referencePage(doc: Json): string {
  const info = doc.info as Json;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${
    esc(String(info.title))
  } — API</title>
<style>${PLAIN_STYLE}</style>
</head><body>${referenceBody(doc)}</body></html>`;
}

/** The plain reference's body. */
function referenceBody(doc: Json): string {
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const sections = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const params = (op.parameters as Json[] | undefined) ?? [];
      const example = exampleUrl(path, params);
      const rows = params.map((p) =>
        `<tr><td><code>${esc(String(p.name))}</code>${p.required ? " *" : ""}</td>` +
        `<td>${prose(String(p.description ?? ""))}</td><td>${exampleCell(p)}</td></tr>`
      ).join("");
      const codes = Object.keys(op.responses as Json).join(", ");
      return `<section><h2><span class="m">${method.toUpperCase()}</span> ${esc(path)}</h2>` +
        `<p><b>${esc(String(op.summary ?? ""))}</b>. ${prose(String(op.description ?? ""))}</p>` +
        (rows ? `<table><tr><th>parameter</th><th>meaning</th><th>example</th></tr>${rows}</table>` : "") +
        `<p>Responses: ${esc(codes)}.${
          example && method === "get" && !op.security
            ? ` Try <a href="${esc(example)}">${esc(example)}</a>.`
            : ""
        }</p></section>`;
    })
  ).join("\n");
  const info = doc.info as Json;
  return `<h1>${esc(String(info.title))}</h1><p>${prose(String(info.description))}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(String(doc.openapi))}).</p>
${sections}`;
}

/**
 * A parameter's example cell: its example, else its default, else its choices; a dash when it has none of
 * them (an empty cell reads as a missing value).
 */
function exampleCell(p: Json): string {
  const schema = (p.schema as Json | undefined) ?? {};
  const example = schema.example ?? p.example ?? schema.default;
  if (example !== undefined) return `<code>${esc(String(example))}</code>`;
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => `<code>${esc(String(v))}</code>`).join(" ");
  return `<span class="none">—</span>`;
}

/** Description text: escaped, with the document's `code` spans (Markdown backticks) as <code>. */
function prose(text: string): string {
  return esc(text).replace(/`([^`]+)`/g, "<code>$1</code>");
}

/** An example URL of a route from its parameters' examples (required ones, plus the first two optional). */
export function exampleUrl(path: string, params: Json[]): string | undefined {
  const exampleOf = (p: Json | undefined) => (p?.schema as Json | undefined)?.example ?? p?.example;
  if (path.includes("{")) {
    const filled = path.replace(/\{(\w+)\}/g, (_, name) => {
      const p = params.find((x) => x.name === name);
      return encodeURIComponent(String(exampleOf(p) ?? ""));
    });
    return filled.includes("//") || filled.endsWith("/") ? undefined : filled;
  }
  const query = params.filter((p) => p.in === "query" && exampleOf(p) !== undefined)
    .filter((p, i) => p.required || i < 2)
    .map((p) => `${p.name}=${encodeURIComponent(String(exampleOf(p)))}`);
  return query.length ? `${path}?${query.join("&")}` : path;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
