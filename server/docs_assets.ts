/**
 * The files of Swagger UI that /docs uses, read from the npm package `swagger-ui-dist` (pinned in deno.json)
 * so the reference works offline: no CDN at run time. Read once, on first use.
 *
 * @module
 */
import { join } from "node:path";
import { getAbsoluteFSPath } from "swagger-ui-dist";

/** The files served under /docs/assets/. */
export const DOCS_ASSETS = ["swagger-ui.css", "swagger-ui-bundle.js"] as const;

/** One of {@link DOCS_ASSETS}. */
export type DocsAsset = typeof DOCS_ASSETS[number];

const CONTENT_TYPES: Record<DocsAsset, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
};

/** A file's bytes, its content type and a validator naming the package version. */
export interface DocsAssetFile {
  bytes: Uint8Array<ArrayBuffer>;
  contentType: string;
  etag: string;
}

const cache = new Map<DocsAsset, Promise<DocsAssetFile>>();

/** A file of Swagger UI. */
export function docsAsset(name: DocsAsset): Promise<DocsAssetFile> {
  let file = cache.get(name);
  if (!file) {
    file = readAsset(name);
    cache.set(name, file);
  }
  return file;
}

async function readAsset(name: DocsAsset): Promise<DocsAssetFile> {
  const dir = getAbsoluteFSPath();
  const { version } = JSON.parse(await Deno.readTextFile(join(dir, "package.json"))) as { version: string };
  return {
    bytes: await Deno.readFile(join(dir, name)) as Uint8Array<ArrayBuffer>,
    contentType: CONTENT_TYPES[name],
    etag: `"swagger-ui-dist-${version}-${name}"`,
  };
}
