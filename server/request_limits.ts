/**
 * Size limits of a request's URL and headers, checked first so that an oversized request gets a JSON error
 * naming the limit: 414 for the URL, 431 for the headers. They sit below the limits of Deno's HTTP layer
 * (about 64 KiB for the request line and headers together, 128 headers), which answers anything beyond those
 * with a bare 400 and no body before the app sees the request; Deno.serve has no setting for them. See
 * docs/api.md, "Limits".
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors.ts";

/** Longest accepted URL (path and query string), in bytes as sent. */
export const MAX_URL_BYTES = 16 * 1024;
/** Most header bytes (names and values) of one request. */
export const MAX_HEADER_BYTES = 32 * 1024;
/** Most headers in one request. */
export const MAX_HEADERS = 100;

const HEADERS_ALLOWED = `at most ${MAX_HEADERS} headers of at most ${MAX_HEADER_BYTES} bytes together`;

/** Middleware: 414 or 431 (JSON) for a request over the limits above. */
export function requestSizeLimits(): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const urlBytes = byteLength(url.pathname) + byteLength(url.search);
    if (urlBytes > MAX_URL_BYTES) {
      throw new ApiError(
        414,
        `the request URL is ${urlBytes} bytes long; the limit is ${MAX_URL_BYTES}`,
        "url",
        `a path and query string of at most ${MAX_URL_BYTES} bytes`,
      );
    }
    let count = 0;
    let bytes = 0;
    let largest = { name: "", bytes: 0 };
    for (const [name, value] of c.req.raw.headers) {
      const size = byteLength(name) + byteLength(value);
      count++;
      bytes += size;
      if (size > largest.bytes) largest = { name, bytes: size };
    }
    if (count > MAX_HEADERS) {
      throw new ApiError(
        431,
        `the request has ${count} headers; the limit is ${MAX_HEADERS}`,
        "headers",
        HEADERS_ALLOWED,
      );
    }
    if (bytes > MAX_HEADER_BYTES) {
      throw new ApiError(
        431,
        `the request headers are ${bytes} bytes (the largest, ${largest.name}, ${largest.bytes}); the limit is ${MAX_HEADER_BYTES}`,
        largest.name,
        HEADERS_ALLOWED,
      );
    }
    await next();
  };
}

/** UTF-8 bytes of a string (URLs and headers arrive as bytes; a string's length counts code units). */
function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}
