/**
 * The synthesis pool: worker processes give exactly the tiles of in-process synthesis, in order, split or
 * not; bad requests and dead workers fail with clear messages and the pool goes on.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadGenerator } from "../../../model/checkpoint/checkpoint.ts";
import { toRgb8 } from "../../../model/images.ts";
import {
  fileFingerprint,
  GenerationRestartedError,
  PoolError,
  SynthesisPool,
} from "../../../model/pool/synthesis_pool.ts";
import { REFERENCE_MODEL } from "../../../model/pretrained/registry.ts";
import { sameBytes, testRuntime, useBatchInvariantKernels, useWasm } from "../../server/helpers.ts";

// XNNPACK kernels in this process and (through the inherited environment) in the workers: every tile has the
// same bits whatever its batch, so the pool's tiles can be compared byte for byte.
useBatchInvariantKernels();

async function withPool(workers: number, fn: (pool: SynthesisPool) => Promise<void>): Promise<void> {
  await useWasm();
  const pool = await SynthesisPool.start({ workers, backend: "wasm", log: () => {}, runtime: testRuntime() });
  try {
    await fn(pool);
  } finally {
    await pool.close();
  }
}

/** Dlatents of `n` seeds and the in-process tiles for them (the truth the pool must reproduce). */
async function reference(n: number, depth: number) {
  await useWasm();
  const { network: G } = await loadGenerator(REFERENCE_MODEL.file);
  try {
    const w = tf.tidy(() => {
      const z = tf.randomNormal([n, G.options.latent_size], 0, 1, "float32", 7) as tf.Tensor2D;
      return G.gMapping.apply(z) as tf.Tensor3D;
    });
    const images = G.gSynthesis.apply(w, { depth, noise: "const" });
    const tiles = await toRgb8(images);
    const values = await w.data() as Float32Array;
    const shape = w.shape;
    tf.dispose([w, images]);
    return { values, shape, tiles };
  } finally {
    G.dispose();
  }
}

Deno.test("pool tiles equal in-process synthesis byte for byte, in order, whole or split over the workers", async () => {
  const { values, shape, tiles } = await reference(5, 3);
  // The five tiles differ from one another, so a swapped order could not pass.
  for (let i = 1; i < tiles.length; i++) assert.ok(!sameBytes(tiles[0].data, tiles[i].data));
  await withPool(2, async (pool) => {
    assert.equal(pool.size, 2);
    assert.equal(pool.pids().length, 2);
    const model = { file: REFERENCE_MODEL.file, fingerprint: await fileFingerprint(REFERENCE_MODEL.file) };
    for (const parts of [1, 2, 5]) {
      const out = await pool.synthesize(model, values, shape, { depth: 3, noise: "const", parts });
      assert.equal(out.length, 5);
      out.forEach((tile, i) => {
        assert.deepEqual([tile.width, tile.height, tile.channels], [32, 32, 3]);
        assert.ok(sameBytes(tile.data, tiles[i].data), `parts ${parts}, tile ${i}`);
      });
    }
    // Concurrent requests on both workers come back to their own callers.
    const [a, b] = await Promise.all([
      pool.synthesize(model, values.subarray(0, 2 * shape[1] * shape[2]), [2, shape[1], shape[2]], {
        depth: 3,
        noise: "const",
      }),
      pool.synthesize(model, values.subarray(2 * shape[1] * shape[2]), [3, shape[1], shape[2]], {
        depth: 3,
        noise: "const",
      }),
    ]);
    [...a, ...b].forEach((tile, i) => assert.ok(sameBytes(tile.data, tiles[i].data), `concurrent tile ${i}`));
  });
});

Deno.test("a checkpoint whose bytes differ from the parent's fingerprint is refused, and the worker goes on", async () => {
  const { values, shape, tiles } = await reference(1, 2);
  await withPool(1, async (pool) => {
    const stale = { file: REFERENCE_MODEL.file, fingerprint: "0".repeat(64) };
    await assert.rejects(
      pool.synthesize(stale, values, shape, { depth: 2, noise: "const" }),
      /changed on disk after the server loaded it/,
    );
    const model = { file: REFERENCE_MODEL.file, fingerprint: await fileFingerprint(REFERENCE_MODEL.file) };
    const [tile] = await pool.synthesize(model, values, shape, { depth: 2, noise: "const" });
    assert.ok(sameBytes(tile.data, tiles[0].data));
    // A depth the network does not have: the worker's own error, and it still answers afterwards.
    await assert.rejects(
      pool.synthesize(model, values, shape, { depth: 9, noise: "const" }),
      /depth must be/,
    );
    const missing = { file: "/nonexistent/g.safetensors", fingerprint: "1".repeat(64) };
    await assert.rejects(
      pool.synthesize(missing, values, shape, {
        depth: 2,
        noise: "const",
      }),
      /No such file|not found/i,
    );
    assert.equal((await pool.synthesize(model, values, shape, { depth: 2, noise: "const" })).length, 1);
  });
});

/** The next live worker pid other than those in `seen` (polls: a replacement starts when a request needs it). */
async function nextPid(pool: SynthesisPool, seen: number[]): Promise<number> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const pid = pool.pids().find((p) => !seen.includes(p));
    if (pid !== undefined) return pid;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("no replacement worker started");
}

Deno.test("a batch lost to a dying worker runs once more on its replacement; lost twice, it fails saying so", async () => {
  const { values, shape, tiles } = await reference(4, 3);
  await withPool(1, async (pool) => {
    const model = { file: REFERENCE_MODEL.file, fingerprint: await fileFingerprint(REFERENCE_MODEL.file) };
    // Killed once: the retry on the replacement gives exactly the tiles.
    const [pid] = pool.pids();
    const request = pool.synthesize(model, values, shape, { depth: 3, noise: "const" });
    Deno.kill(pid, "SIGKILL");
    const out = await request;
    out.forEach((tile, i) => assert.ok(sameBytes(tile.data, tiles[i].data), `tile ${i} after the retry`));
    const replacement = pool.pids()[0];
    assert.notEqual(replacement, pid, "a new process");
    // Killed again while the retry's worker starts: the batch fails once, naming both the reason and the exit.
    const doomed = pool.synthesize(model, values, shape, { depth: 3, noise: "const" });
    Deno.kill(replacement, "SIGKILL");
    const third = await nextPid(pool, [pid, replacement]);
    Deno.kill(third, "SIGKILL");
    await assert.rejects(doomed, (e: Error) => {
      assert.ok(e instanceof GenerationRestartedError, String(e));
      assert.ok(e instanceof PoolError);
      assert.match(e.message, new RegExp(`synthesis worker ${third} exited \\(signal SIGKILL\\)`));
      assert.match(e.message, /generation restarted$/);
      return true;
    });
    // And the pool goes on.
    const again = await pool.synthesize(model, values, shape, { depth: 3, noise: "const" });
    again.forEach((tile, i) => assert.ok(sameBytes(tile.data, tiles[i].data), `tile ${i} after restart`));
  });
});

Deno.test("bad pool options and requests are refused with what was wrong", async () => {
  await useWasm();
  await assert.rejects(SynthesisPool.start({ workers: 0, backend: "wasm" }), /at least one worker, got 0/);
  await assert.rejects(
    SynthesisPool.start({ workers: 1, backend: "webgpu" }),
    /wasm or cpu backend, not 'webgpu'/,
  );
  await withPool(1, async (pool) => {
    const model = { file: REFERENCE_MODEL.file, fingerprint: await fileFingerprint(REFERENCE_MODEL.file) };
    await assert.rejects(
      pool.synthesize(model, new Float32Array(10), [1, 8, 32], { depth: 3, noise: "const" }),
      /dlatents hold 10 values, shape \[1,8,32\] needs 256/,
    );
    const [pid] = pool.pids();
    await pool.close();
    await assert.rejects(
      pool.synthesize(model, new Float32Array(256), [1, 8, 32], { depth: 3, noise: "const" }),
      /the synthesis pool is closed/,
    );
    // The process has exited: signalling it fails.
    assert.throws(() => Deno.kill(pid, "SIGCONT"));
  });
});
