/** The generation queue: batching across jobs, exact per-job results, limits, aborts, errors. */
import { REFERENCE_MODEL } from "../../model/pretrained/registry.ts";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type { StyleCell } from "../../model/figures/dlatents.ts";
import { generateRasters } from "../../model/generate.ts";
import { DEFAULT_QUEUE, type QueueOptions } from "../../server/config.ts";
import { QueueFullError } from "../../server/errors.ts";
import { type LoadedModel, ModelStore } from "../../server/models.ts";
import { GenerationQueue } from "../../server/queue.ts";
import { SynthesisPool } from "../../model/pool/synthesis_pool.ts";
import { PoolSynthesizer } from "../../server/synthesizer.ts";
import { sameBytes, testRuntime, useBatchInvariantKernels, useWasm } from "./helpers.ts";

// These tests compare tiles byte for byte across batchings (see useBatchInvariantKernels).
useBatchInvariantKernels();

async function withModel(fn: (model: LoadedModel) => Promise<void>): Promise<void> {
  await useWasm();
  const store = new ModelStore({ embedded: [REFERENCE_MODEL] });
  try {
    await store.use(undefined, fn);
  } finally {
    await store.dispose();
  }
}

const queueWith = (options: Partial<QueueOptions>) => new GenerationQueue({ ...DEFAULT_QUEUE, ...options });
const cells = (seeds: number[], psi = 0.7): StyleCell[] => seeds.map((seed) => ({ seed, psi }));

Deno.test("concurrent jobs for the same model, depth and noise share batches and get exactly their tiles", async () => {
  await withModel(async (model) => {
    const queue = queueWith({ maxBatchImages: 8 });
    const jobs = [[1], [2, 3], [4], [5, 6, 7], [8]].map((seeds) =>
      queue.submit({ model, depth: 3, noise: "const", cells: cells(seeds) })
    );
    const results = await Promise.all(jobs);
    assert.equal(queue.stats().batches, 1, "8 images, one batch");
    assert.equal(queue.stats().largestBatch, 8);
    const expected = await generateRasters(model.generator, { seeds: [1, 2, 3, 4, 5, 6, 7, 8], psi: 0.7 }, 1);
    assert.deepEqual(results.map((r) => r.length), [1, 2, 1, 3, 1]);
    results.flat().forEach((raster, i) => assert.ok(sameBytes(raster.data, expected[i].data), `tile ${i}`));
  });
});

Deno.test("batches are cut by image count and pixels; other depths and noise modes wait for their own batch", async () => {
  await withModel(async (model) => {
    const queue = queueWith({ maxBatchImages: 4, maxBatchPixels: 3 * 32 * 32 });
    await Promise.all([
      queue.submit({ model, depth: 3, noise: "const", cells: cells([1, 2, 3, 4, 5, 6, 7]) }), // 3 + 3 + 1
      queue.submit({ model, depth: 2, noise: "const", cells: cells([1, 2, 3, 4, 5]) }), // 16 px: 4 + 1
      queue.submit({ model, depth: 3, noise: "none", cells: cells([1]) }),
    ]);
    assert.equal(queue.stats().batches, 3 + 2 + 1);
    assert.equal(queue.stats().images, 13);
  });
});

Deno.test("without batching, each job runs alone", async () => {
  await withModel(async (model) => {
    const queue = queueWith({ batching: false });
    await Promise.all(
      [1, 2, 3, 4].map((seed) => queue.submit({ model, depth: 3, noise: "const", cells: cells([seed]) })),
    );
    assert.equal(queue.stats().batches, 4);
  });
});

Deno.test("a full queue refuses with QueueFullError and a Retry-After estimate", async () => {
  await withModel(async (model) => {
    const queue = queueWith({ maxQueuedImages: 6 });
    const first = queue.submit({ model, depth: 3, noise: "const", cells: cells([1, 2, 3, 4]) });
    const refused = queue.submit({ model, depth: 3, noise: "const", cells: cells([5, 6, 7]) });
    await assert.rejects(
      refused,
      (e: unknown) => e instanceof QueueFullError && e.status === 503 && e.retryAfterS >= 1,
    );
    const fits = queue.submit({ model, depth: 3, noise: "const", cells: cells([5, 6]) });
    await Promise.all([first, fits]);
    assert.equal(queue.stats().refused, 1);
    assert.equal(queue.stats().queuedImages, 0);
  });
});

Deno.test("a job aborted before it starts leaves the queue; a failing batch rejects only its jobs", async () => {
  await withModel(async (model) => {
    const queue = queueWith({ batching: false });
    const controller = new AbortController();
    const running = queue.submit({ model, depth: 3, noise: "const", cells: cells([1]) });
    const aborted = queue.submit({
      model,
      depth: 3,
      noise: "const",
      cells: cells([2]),
      signal: controller.signal,
    });
    controller.abort(new DOMException("client left", "AbortError"));
    await assert.rejects(aborted, /client left/);
    await running;
    assert.equal(queue.stats().images, 1);

    const bad = queue.submit({ model, depth: 7, noise: "const", cells: cells([1]) }); // no such depth
    const good = queue.submit({ model, depth: 3, noise: "const", cells: cells([1]) });
    await assert.rejects(bad, RangeError);
    assert.equal((await good).length, 1);
    assert.equal(queue.stats().jobs, 0);
  });
});

Deno.test("the queue leaks no tensors", async () => {
  await withModel(async (model) => {
    const queue = queueWith({});
    await queue.submit({ model, depth: 3, noise: "const", cells: cells([1]) });
    const before = tf.memory().numTensors;
    await Promise.all(
      [1, 2, 3].map((s) => queue.submit({ model, depth: 2, noise: "random", cells: cells([s, s + 1]) })),
    );
    await queue.submit({ model, depth: 9, noise: "const", cells: cells([1]) }).catch(() => {});
    assert.equal(tf.memory().numTensors, before);
  });
});

Deno.test("with two worker processes, batches run side by side and every job still gets exactly its tiles", async () => {
  await withModel(async (model) => {
    const pool = await SynthesisPool.start({
      workers: 2,
      backend: "wasm",
      log: () => {},
      runtime: testRuntime(),
    });
    try {
      const queue = new GenerationQueue({ ...DEFAULT_QUEUE, maxBatchImages: 8 }, new PoolSynthesizer(pool));
      // One 12-tile figure and three small jobs: the free workers split the queued tiles between them, and
      // batches of one job can finish out of order.
      const seeds = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [13], [14, 15], [16]];
      const results = await Promise.all(
        seeds.map((s) => queue.submit({ model, depth: 3, noise: "const", cells: cells(s) })),
      );
      const stats = queue.stats();
      assert.equal(stats.parallelism, 2);
      assert.equal(stats.mostRunning, 2, "two batches at once");
      assert.ok(stats.batches >= 2);
      assert.equal(stats.images, 16);
      const expected = await generateRasters(model.generator, { seeds: seeds.flat(), psi: 0.7 }, 1);
      assert.deepEqual(results.map((r) => r.length), [12, 1, 2, 1]);
      results.flat().forEach((raster, i) => assert.ok(sameBytes(raster.data, expected[i].data), `tile ${i}`));
    } finally {
      await pool.close();
    }
  });
});
