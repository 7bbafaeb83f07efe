/**
 * Under load: a bounded loopback load test (500 concurrent /generate requests get 200 or 503, nothing else) and
 * the tensor count after 1,000 requests equal to the count after 10.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { pooled, request, startServer } from "./helpers.ts";

Deno.test("500 concurrent /generate requests: each 200 or 503 with Retry-After, and the server stays up", async () => {
  // A small queue, so that the burst overflows it.
  const server = await startServer({
    config: { limits: { maxCells: 32 }, queue: { maxQueuedImages: 32 }, responseCacheBytes: 0 },
  });
  try {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => request(`${server.url}/generate?seed=${10_000 + i}&psi=0.7`)),
    );
    const seconds = (performance.now() - started) / 1000;
    const counts = new Map<number, number>();
    for (const res of results) counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
    console.log(
      `500 concurrent requests in ${seconds.toFixed(1)} s:`,
      Object.fromEntries(counts),
      server.services.queue.stats(),
    );
    assert.deepEqual([...counts.keys()].filter((s) => s !== 200 && s !== 503), [], "only 200 and 503");
    assert.ok((counts.get(200) ?? 0) > 0, "some were served");
    assert.ok((counts.get(503) ?? 0) > 0, "the queue overflowed and said so");
    for (const res of results) {
      if (res.status === 503) {
        assert.ok(Number(res.headers.get("retry-after")) >= 1, "503 carries Retry-After");
        assert.equal((res.json as { error: string }).error.includes("queue"), true);
      } else {
        assert.equal(res.headers.get("content-type"), "image/png");
      }
    }
    assert.equal(server.services.queue.stats().queuedImages, 0);
    assert.equal((await request(`${server.url}/generate?seed=1`)).status, 200, "still serving afterwards");
  } finally {
    await server.close();
  }
});

Deno.test("tf.memory().numTensors is the same after 1,000 requests as after 10", async () => {
  const server = await startServer({ config: { responseCacheBytes: 0 } });
  const { url } = server;
  // A mix of everything that touches tensors: tiles, figures, random noise, and requests that fail.
  const pathFor = (i: number) => {
    switch (i % 10) {
      case 0:
        return `/grid?seeds=${i}-${i + 3}&psi=0.7`;
      case 1:
        return `/truncation?seeds=${i}&psis=-1,0,1&depth=2`;
      case 2:
        return `/mixing?src=${i}&dst=${i + 1}&ranges=0-3`;
      case 3:
        return `/generate?seed=${i}&noise=random`;
      case 4:
        return `/generate?seed=${i}&depth=9`; // 400 after the model is loaded
      case 5:
        return `/generate?seed=${i}&format=tiff&noise=none`;
      default:
        return `/generate?seed=${i}&psi=0.${i % 10}`;
    }
  };
  try {
    const run = async (from: number, to: number) =>
      await pooled(to - from, 16, async (k) => {
        const res = await request(url + pathFor(from + k));
        assert.ok(res.status === 200 || res.status === 400, `${pathFor(from + k)}: ${res.status}`);
      });
    await run(0, 10);
    const after10 = tf.memory().numTensors;
    await run(10, 1000);
    const after1000 = tf.memory().numTensors;
    console.log(`numTensors after 10 requests: ${after10}, after 1,000: ${after1000}`);
    assert.equal(after1000, after10);
  } finally {
    await server.close();
  }
});
