/** Deterministic images: strong ETags, If-None-Match → 304, the same bytes for the same query, batched or not. */
import assert from "node:assert/strict";
import {
  CACHE_IMMUTABLE,
  contentEtag,
  ifNoneMatchHits,
  requestKey,
  ResponseCache,
} from "../../server/http_cache.ts";
import { request, sameBytes, startServer, useBatchInvariantKernels } from "./helpers.ts";

// These tests compare tiles byte for byte across batchings (see useBatchInvariantKernels).
useBatchInvariantKernels();

Deno.test("ETag, If-None-Match and Cache-Control", async (t) => {
  const server = await startServer({ config: { responseCacheBytes: 0 } });
  const { url } = server;
  try {
    for (
      const path of [
        "/generate?seed=730&psi=0.7",
        "/generate?seed=730&psi=0.7&noise=none&format=tiff",
        "/grid?seeds=0-3&psi=0.7",
        "/truncation?seeds=91&psis=0,1",
        "/mixing?src=730&dst=387&ranges=0-3",
      ]
    ) {
      await t.step(path, async () => {
        const first = await request(url + path);
        assert.equal(first.status, 200);
        const etag = first.headers.get("etag")!;
        assert.match(etag, /^"[0-9a-f]{32}"$/, "a strong ETag");
        assert.equal(etag, await contentEtag(first.body), "the ETag is the hash of the bytes");
        assert.equal(first.headers.get("cache-control"), CACHE_IMMUTABLE);
        const again = await request(url + path);
        assert.equal(again.headers.get("etag"), etag);
        assert.ok(sameBytes(first.body, again.body), "the same query gives the same bytes");
        const batchesBefore = server.services.queue.stats().batches;
        const notModified = await request(url + path, { headers: { "If-None-Match": etag } });
        assert.equal(notModified.status, 304);
        assert.equal(notModified.body.length, 0);
        assert.equal(notModified.headers.get("etag"), etag);
        assert.equal(server.services.queue.stats().batches, batchesBefore, "a 304 generates nothing");
        const listed = await request(url + path, { headers: { "If-None-Match": `"other", W/${etag}` } });
        assert.equal(listed.status, 304);
        const stale = await request(url + path, { headers: { "If-None-Match": '"other"' } });
        assert.equal(stale.status, 200);
      });
    }

    await t.step("different queries have different ETags; equivalent spellings share one", async () => {
      const a = await request(`${url}/generate?seed=1&psi=0.7`);
      const b = await request(`${url}/generate?seed=1&psi=0.70&noise=const&format=png`);
      const c = await request(`${url}/generate?seed=1&psi=0.5`);
      assert.equal(a.headers.get("etag"), b.headers.get("etag"));
      assert.notEqual(a.headers.get("etag"), c.headers.get("etag"));
    });

    await t.step("noise=random is not cached", async () => {
      const a = await request(`${url}/generate?seed=1&noise=random`);
      const b = await request(`${url}/generate?seed=1&noise=random`);
      assert.equal(a.status, 200);
      assert.equal(a.headers.get("etag"), null);
      assert.equal(a.headers.get("cache-control"), "no-store");
      assert.ok(!sameBytes(a.body, b.body), "new noise each time");
    });
  } finally {
    await server.close();
  }
});

Deno.test("a tile is the same bytes alone and inside a batch of concurrent requests", async () => {
  const server = await startServer({ config: { responseCacheBytes: 0 } });
  try {
    const alone = await request(`${server.url}/generate?seed=42&psi=0.7`);
    const before = server.services.queue.stats();
    const together = await Promise.all(
      [40, 41, 42, 43, 44, 45].map((seed) =>
        request(`${server.url}/generate?seed=${seed}&psi=${seed === 42 ? 0.7 : 0.5}`)
      ),
    );
    const after = server.services.queue.stats();
    assert.ok(after.batches - before.batches < 6, "the concurrent requests were batched");
    assert.ok(sameBytes(alone.body, together[2].body));
    assert.equal(alone.headers.get("etag"), together[2].headers.get("etag"));
  } finally {
    await server.close();
  }
});

Deno.test("the response cache answers repeats with the same bytes and remembers ETags longer than bytes", async () => {
  const server = await startServer({ config: { responseCacheBytes: 64 * 1024 } });
  try {
    const path = `${server.url}/truncation?seeds=91,388&psis=-1,0,1`;
    const first = await request(path);
    const batches = server.services.queue.stats().batches;
    const second = await request(path);
    assert.ok(sameBytes(first.body, second.body));
    assert.equal(server.services.queue.stats().batches, batches, "served from the cache");
    // Push it out of the byte budget: the ETag is still known, so a revalidation costs nothing.
    for (let seed = 0; seed < 40; seed++) await request(`${server.url}/generate?seed=${seed}&size=64`);
    const before = server.services.queue.stats().batches;
    const revalidated = await request(path, { headers: { "If-None-Match": first.headers.get("etag")! } });
    assert.equal(revalidated.status, 304);
    assert.equal(server.services.queue.stats().batches, before);
  } finally {
    await server.close();
  }
});

Deno.test("ResponseCache: LRU within its byte budget, identical requests in flight share one job", async () => {
  const cache = new ResponseCache(1000, 5);
  let made = 0;
  const make = (size: number, fill = 0) => async () => {
    made++;
    await new Promise((r) => setTimeout(r, 5));
    return { body: new Uint8Array(size).fill(fill), contentType: "image/png", extension: "png" };
  };
  const [a, b] = await Promise.all([cache.getOrCreate("a", make(100)), cache.getOrCreate("a", make(100))]);
  assert.equal(made, 1);
  assert.equal(a, b);
  assert.equal(a.etag, await contentEtag(new Uint8Array(100)));
  assert.equal(cache.knownEtag("a"), a.etag);
  for (const key of ["b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]) {
    await cache.getOrCreate(key, make(200, key.charCodeAt(0)));
  }
  assert.ok(cache.bytes <= 1000);
  assert.equal(cache.knownEtag("a"), undefined, "at most 5 ETags are remembered");
  assert.ok(cache.knownEtag("k"));
  await cache.getOrCreate("a", make(100));
  assert.equal(made, 12, "'a' was evicted and made again");
  await cache.getOrCreate("big", make(900));
  await cache.getOrCreate("big", make(900));
  assert.equal(made, 14, "a body over a quarter of the budget is never stored");
  assert.ok(cache.knownEtag("big"), "but its ETag is remembered");
});

Deno.test("requestKey, contentEtag and ifNoneMatchHits", async () => {
  assert.equal(await requestKey([1, "x", [2, 3]]), await requestKey([1, "x", [2, 3]]));
  assert.notEqual(await requestKey([1, "x", [2, 3]]), await requestKey([1, "x", [2, 4]]));
  const tag = await contentEtag(new Uint8Array([1, 2, 3]));
  assert.match(tag, /^"[0-9a-f]{32}"$/);
  assert.ok(ifNoneMatchHits("*", tag));
  assert.ok(ifNoneMatchHits(` "a" ,${tag}`, tag));
  assert.ok(ifNoneMatchHits(`W/${tag}`, tag));
  assert.ok(ifNoneMatchHits(tag, `W/${tag}`));
  assert.ok(!ifNoneMatchHits(undefined, tag));
  assert.ok(!ifNoneMatchHits('"a"', tag));
});
