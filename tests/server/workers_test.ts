/** The server with synthesis worker processes: same tiles as without, every request answered, clean shutdown. */
import assert from "node:assert/strict";
import { createSynthesizer, InProcessSynthesizer, PoolSynthesizer } from "../../server/synthesizer.ts";
import { pooled, request, sameBytes, startServer, useBatchInvariantKernels, useWasm } from "./helpers.ts";

// Byte-for-byte comparisons across processes: XNNPACK kernels here and in the workers.
useBatchInvariantKernels();

Deno.test("createSynthesizer: no workers → this process; N workers → a started pool of N", async () => {
  await useWasm();
  const none = await createSynthesizer(0);
  assert.ok(none instanceof InProcessSynthesizer);
  assert.equal(none.parallelism, 1);
  const warnings: string[] = [];
  const pool = await createSynthesizer(2, (m) => warnings.push(m));
  try {
    assert.ok(pool instanceof PoolSynthesizer);
    assert.equal(pool.parallelism, 2);
    assert.match(pool.description, /^2 worker processes, each wasm \(XNNPACK/);
    assert.deepEqual(warnings, []);
  } finally {
    await pool.close();
  }
});

Deno.test("/generate and figures from worker processes equal the in-process server's bytes", async () => {
  const paths = [
    "/generate?seed=730&psi=0.7",
    "/generate?seed=5&psi=-0.5&depth=2",
    "/truncation?seeds=1,2&psis=-1,0,1",
    "/mixing?src=1,2&dst=3,4&ranges=0-1,2-3",
  ];
  const plain = await startServer();
  const withWorkers = await startServer({ config: { workers: 2 } });
  try {
    assert.equal(withWorkers.services.queue.synthesizer.parallelism, 2);
    for (const path of paths) {
      const [a, b] = [await request(plain.url + path), await request(withWorkers.url + path)];
      assert.equal(a.status, 200, path);
      assert.equal(b.status, 200, path);
      assert.ok(sameBytes(a.body, b.body), path);
    }
    // 40 concurrent requests: all answered, both workers used at once.
    const responses = await pooled(40, 40, (i) => request(`${withWorkers.url}/generate?seed=${100 + i}`));
    assert.deepEqual(responses.map((r) => r.status), new Array(40).fill(200));
    assert.equal(withWorkers.services.queue.stats().mostRunning, 2);
  } finally {
    await plain.close();
    await withWorkers.close();
  }
});
