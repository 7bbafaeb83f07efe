/**
 * POST /api/train refuses, up front, settings whose training memory cannot fit the machine (issue 23, item 4):
 * a 400 naming the limit, nothing started and nothing written. The server's memory is given (8 GiB) so that the
 * limit in the message is known here; a small configuration on the same server is accepted.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ErrorJson, request, startServer } from "./helpers.ts";
import { AUTH, copyRealImages, postJob, tinyConfig, TOKEN } from "./train_support.ts";

Deno.test("POST /api/train: settings that cannot fit in memory are a 400 with the limit; nothing starts", async () => {
  const base = await Deno.makeTempDir({ prefix: "sgan-train-memory-" });
  const root = join(base, "data");
  await copyRealImages(root, 8);
  const runsDir = join(base, "runs");
  const server = await startServer({
    config: { token: TOKEN, dataRoot: root, runsDir, memoryBytes: 8 * 2 ** 30 },
  });
  try {
    const settings = tinyConfig("list.txt") as { model: { gen: Record<string, unknown> } };
    settings.model.gen.latent_size = 1e9; // the example
    const res = await postJob(server, settings);
    assert.equal(res.status, 400, JSON.stringify(res.json));
    const body = res.json as ErrorJson;
    assert.equal(body.field, "model");
    assert.match(body.error, /^these settings need about \d+(\.\d+)? GiB of memory/);
    assert.match(body.error, /the limit is 6\.40 GiB \(80% of this machine's 8\.00 GiB\)/);
    assert.equal(
      body.allowed,
      `settings whose estimated training memory is at most ${
        Math.floor(0.8 * 8 * 2 ** 30)
      } bytes (80% of the server's memory)`,
    );
    // Batch sizes count too: 16 px tiles at a minibatch of 10^6.
    const batches = tinyConfig("list.txt") as { sched: Record<string, unknown> };
    batches.sched.batch_sizes = [8, 8, 1_000_000];
    const big = await postJob(server, batches);
    assert.equal(big.status, 400, JSON.stringify(big.json));
    assert.match((big.json as ErrorJson).error, /activations [\d.]+ GiB at 16 px, minibatch 1000000/);
    // Nothing was started or written.
    const list = await request(`${server.url}/api/train`, { headers: AUTH });
    assert.deepEqual(list.json, { jobs: [] });
    await assert.rejects(Deno.stat(runsDir), Deno.errors.NotFound);
    // The tiny configuration fits.
    const ok = await postJob(server, tinyConfig("list.txt"));
    assert.equal(ok.status, 202, JSON.stringify(ok.json));
  } finally {
    await server.close();
    await Deno.remove(base, { recursive: true });
  }
});
