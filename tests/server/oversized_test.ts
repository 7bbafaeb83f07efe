/**
 * Oversized requests (issue 23, item 5), sent as raw HTTP/1.1 so that nothing on the client side shortens or
 * refuses them. Within Deno's HTTP layer's limits the app answers 414 (URL) or 431 (headers) with the JSON error
 * body naming the limit; beyond them (a 100 KB query string, path or header; about 64 KiB of request head or
 * 128 headers) Deno itself answers a bare 400 with an empty body before the app sees the request, which is what
 * docs/api.md ("Limits") tells clients to expect.
 */
import assert from "node:assert/strict";
import { MAX_HEADER_BYTES, MAX_HEADERS, MAX_URL_BYTES } from "../../server/request_limits.ts";
import { startServer } from "./helpers.ts";

interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Send `head` (a request without a body, `Connection: close`) and read the whole answer. */
async function raw(url: string, head: string): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    // Deno answers an oversized head as soon as it has seen too much, and closes: the rest of the write, and
    // reads after the answer, may then meet a reset connection.
    await writeAll(conn, new TextEncoder().encode(head)).catch(() => {});
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(65536);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch (e) {
        if (chunks.length > 0 && e instanceof Deno.errors.ConnectionReset) break;
        throw e;
      }
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    const [top, ...rest] = text.split("\r\n\r\n");
    const [statusLine, ...lines] = top.split("\r\n");
    const headers = new Map(
      lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
    );
    return { status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") };
  } finally {
    conn.close();
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) written += await conn.write(bytes.subarray(written));
}

const get = (target: string, extra: string[] = []) =>
  [`GET ${target} HTTP/1.1`, "Host: localhost", ...extra, "Connection: close", "", ""].join("\r\n");

Deno.test("oversized URL and headers: 414/431 with the JSON error body, or Deno's bare 400 beyond its limits", async () => {
  const server = await startServer();
  try {
    // Within the limits: an ordinary answer (a long but valid request).
    const fine = await raw(server.url, get(`/generate?seed=1&psi=0.7`, [`X-Pad: ${"p".repeat(8000)}`]));
    assert.equal(fine.status, 200);

    // 20 KB query string and path: 414 naming the limit.
    for (const target of [`/generate?seed=1&junk=${"q".repeat(20_000)}`, `/${"p".repeat(20_000)}`]) {
      const res = await raw(server.url, get(target));
      assert.equal(res.status, 414, target.slice(0, 40));
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      const body = JSON.parse(res.body);
      assert.deepEqual(Object.keys(body), ["error", "field", "allowed"]);
      assert.equal(body.field, "url");
      assert.match(
        body.error,
        new RegExp(`^the request URL is ${target.length} bytes long; the limit is ${MAX_URL_BYTES}$`),
      );
      assert.equal(body.allowed, `a path and query string of at most ${MAX_URL_BYTES} bytes`);
    }

    // A 40 KB header, and 110 small ones: 431.
    const big = await raw(server.url, get("/generate?seed=1", [`X-Big: ${"h".repeat(40_000)}`]));
    assert.equal(big.status, 431);
    const bigBody = JSON.parse(big.body);
    assert.equal(bigBody.field, "x-big");
    assert.match(
      bigBody.error,
      new RegExp(`the largest, x-big, 40005\\); the limit is ${MAX_HEADER_BYTES}$`),
    );
    const many = await raw(
      server.url,
      get("/generate?seed=1", Array.from({ length: 110 }, (_, i) => `X-H${i}: v`)),
    );
    assert.equal(many.status, 431);
    const manyBody = JSON.parse(many.body);
    assert.equal(manyBody.field, "headers");
    assert.equal(manyBody.error, `the request has 112 headers; the limit is ${MAX_HEADERS}`); // + Host, Connection

    // Beyond Deno's own limits the app never sees the request: a bare 400 with no body.
    for (
      const head of [
        get(`/generate?seed=1&junk=${"q".repeat(100_000)}`),
        get(`/${"p".repeat(100_000)}`),
        get("/generate?seed=1", [`X-Big: ${"h".repeat(100_000)}`]),
        get("/generate?seed=1", Array.from({ length: 200 }, (_, i) => `X-H${i}: v`)),
      ]
    ) {
      const res = await raw(server.url, head);
      assert.equal(res.status, 400);
      assert.equal(res.headers.get("content-length"), "0");
      assert.equal(res.body, "");
    }
  } finally {
    await server.close();
  }
});
