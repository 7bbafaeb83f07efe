/**
 * A synthesis worker killed under load (issue 23, item 3): with 50 grid requests in flight and one of the two
 * workers SIGKILLed, no request gets a 500 — the lost batch runs once more on the other worker, so every answer
 * is a 200 (or a 503 with Retry-After). When the retry dies too (every worker killed as it starts), the request
 * is a 503 with Retry-After whose message says generation restarted; then the server serves again.
 */
import assert from "node:assert/strict";
import type { SynthesisPool } from "../../model/pool/synthesis_pool.ts";
import type { PoolSynthesizer } from "../../server/synthesizer.ts";
import { type ErrorJson, type Fetched, pooled, request, startServer } from "./helpers.ts";

function poolOf(synthesizer: unknown): SynthesisPool {
  return (synthesizer as PoolSynthesizer).pool;
}

/** Each response: a 200 PNG, or a 503 with Retry-After and a JSON error. Never anything else. */
function assertAnswered(responses: Fetched[]): void {
  for (const res of responses) {
    assert.ok(res.status === 200 || res.status === 503, `status ${res.status}: ${JSON.stringify(res.json)}`);
    if (res.status === 503) {
      assert.match(res.headers.get("retry-after") ?? "", /^\d+$/);
      assert.ok(typeof (res.json as ErrorJson).error === "string");
    }
  }
}

Deno.test("SIGKILL of a synthesis worker under 50 concurrent grids: 0 × 500, the lost batch retried", async () => {
  const server = await startServer({ config: { workers: 2 } });
  try {
    const pool = poolOf(server.services.queue.synthesizer);
    assert.equal(pool.pids().length, 2);
    const [victim] = pool.pids();
    let killed = false;
    const responses = pooled(
      50,
      50,
      (i) => request(`${server.url}/grid?seeds=${1000 + 4 * i}-${1003 + 4 * i}`),
    );
    // Kill once both workers are busy, so that batches are in flight on the victim.
    while (server.services.queue.stats().running < 2) await new Promise((r) => setTimeout(r, 5));
    Deno.kill(victim, "SIGKILL");
    killed = true;
    const answered = await responses;
    assert.ok(killed);
    assertAnswered(answered);
    const ok = answered.filter((r) => r.status === 200).length;
    assert.equal(ok, 50, `${50 - ok} requests were refused although the other worker took the lost batch`);
    assert.ok(!pool.pids().includes(victim));
  } finally {
    await server.close();
  }
});

Deno.test("a batch lost twice is a 503 + Retry-After saying generation restarted; the server recovers", async () => {
  const server = await startServer({ config: { workers: 1 } });
  try {
    const pool = poolOf(server.services.queue.synthesizer);
    // Kill every worker as soon as it exists, until the request has been answered.
    let answered = false;
    const killer = (async () => {
      while (!answered) {
        for (const pid of pool.pids()) {
          try {
            Deno.kill(pid, "SIGKILL");
          } catch {
            // exited already
          }
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const res = await request(`${server.url}/generate?seed=3`);
    answered = true;
    await killer;
    assert.equal(res.status, 503, JSON.stringify(res.json));
    assert.equal(res.headers.get("retry-after"), "2");
    assert.match((res.json as ErrorJson).error, /^generation restarted: a synthesis worker stopped/);
    const after = await request(`${server.url}/generate?seed=3`);
    assert.equal(after.status, 200);
  } finally {
    await server.close();
  }
});
