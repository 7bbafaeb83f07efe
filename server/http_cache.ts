/**
 * HTTP caching of deterministic images (noise `const` or `none`).
 *
 * The ETag is a hash of the bytes, so it is a truthful strong validator whatever the tensor backend does. (The
 * wasm backend's XNNPACK kernels give the same bytes for the same query however requests are batched; the
 * optional OpenBLAS kernels can differ in the last bit with batch size and thread count.) The
 * {@link ResponseCache} keeps recent encodings by request key (what determines the image: model file, backend,
 * drawing code, resolved parameters), so a repeated query returns the very same bytes, identical requests in
 * flight share one job, and it remembers the ETag of each key for longer than the bytes, so `If-None-Match`
 * is answered with 304 before anything is generated.
 *
 * @module
 */
import type { Encoded } from "./encode.ts";

/** Cache-Control of deterministic images: they never change under their URL (the key covers the model file). */
export const CACHE_IMMUTABLE = "public, max-age=31536000, immutable";
/** Cache-Control of `noise=random` images. */
export const CACHE_NONE = "no-store";

/** A short hex SHA-256 of bytes. */
async function digestHex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest).subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The cache key of the values that determine a response. */
export async function requestKey(identity: unknown[]): Promise<string> {
  return await digestHex(new TextEncoder().encode(JSON.stringify(identity)));
}

/** The strong ETag of a body. */
export async function contentEtag(body: Uint8Array): Promise<string> {
  return `"${await digestHex(body)}"`;
}

/** Whether an `If-None-Match` header matches an ETag (`*`, or any of a list; weak comparison, as RFC 9110 says). */
export function ifNoneMatchHits(header: string | undefined | null, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => opaque(tag) === opaque(etag));
}

/** An encoded body with its ETag. */
export interface CachedResponse {
  encoded: Encoded;
  etag: string;
}

/** Default number of ETags remembered (about 100 bytes each). */
const DEFAULT_MAX_ETAGS = 100_000;

/**
 * Recent responses by request key, bounded in bytes (least recently used out), with in-flight sharing, and
 * the ETag of each key remembered up to `maxEtags` keys.
 */
export class ResponseCache {
  readonly #entries = new Map<string, CachedResponse>();
  readonly #etags = new Map<string, string>();
  readonly #inflight = new Map<string, Promise<CachedResponse>>();
  #bytes = 0;

  constructor(readonly maxBytes: number, readonly maxEtags = DEFAULT_MAX_ETAGS) {}

  /** The ETag last served for `key`, if remembered. */
  knownEtag(key: string): string | undefined {
    return this.#etags.get(key);
  }

  /** The cached or in-flight response for `key`, else `produce`'s (stored when it fits). */
  async getOrCreate(key: string, produce: () => Promise<Encoded>): Promise<CachedResponse> {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const running = this.#inflight.get(key);
    if (running) return await running;
    const promise = (async () => {
      const encoded = await produce();
      return { encoded, etag: await contentEtag(encoded.body) };
    })();
    this.#inflight.set(key, promise);
    try {
      const response = await promise;
      this.#remember(key, response);
      return response;
    } finally {
      this.#inflight.delete(key);
    }
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  #remember(key: string, response: CachedResponse): void {
    this.#etags.delete(key);
    this.#etags.set(key, response.etag);
    if (this.#etags.size > this.maxEtags) this.#etags.delete(this.#etags.keys().next().value!);
    const size = response.encoded.body.byteLength;
    if (size > this.maxBytes / 4) return; // one huge figure must not flush everything else
    this.#entries.set(key, response);
    this.#bytes += size;
    for (const [old, value] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(old);
      this.#bytes -= value.encoded.body.byteLength;
    }
  }
}
