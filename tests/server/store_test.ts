/**
 * The server's database (server/store/): a new file gets the current schema version, a file from a newer server
 * is refused naming it, a failed transaction writes nothing, and training records round-trip.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SCHEMA_VERSION, Store, StoreError } from "../../server/store/database.ts";
import { TrainingRecords } from "../../server/store/training_records.ts";

interface Status {
  id: string;
  name: string;
  state: string;
  created_at: string;
  kimg: number;
}

Deno.test("store: schema version, newer files refused, transactions all or nothing, records round-trip", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sgan-store-" });
  const path = join(dir, "sub", "sgan.sqlite");
  try {
    const store = await Store.open(path);
    const version = (store.db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
    assert.equal(version, SCHEMA_VERSION);
    assert.ok(SCHEMA_VERSION >= 1);
    const records = new TrainingRecords<Status>(store);
    const a = {
      id: "20260101-000000-aaaa",
      name: "a",
      state: "running",
      created_at: "2026-01-01T00:00:00.000Z",
      kimg: 1,
    };
    const b = { ...a, id: "20260102-000000-bbbb", name: "b", created_at: "2026-01-02T00:00:00.000Z" };
    records.save({ status: b, dir: "/jobs/b", pid: 42 });
    records.save({ status: a, dir: "/jobs/a", pid: null });
    records.save({ status: { ...a, state: "done", kimg: 2.5 }, dir: "/jobs/a", pid: null }); // an update
    assert.deepEqual(records.all(), [
      { status: { ...a, state: "done", kimg: 2.5 }, dir: "/jobs/a", pid: null },
      { status: b, dir: "/jobs/b", pid: 42 },
    ]);
    assert.throws(() =>
      store.transaction(() => {
        records.store.db.prepare("DELETE FROM training_jobs").run();
        throw new Error("halfway");
      }), /halfway/);
    assert.equal(records.all().length, 2, "a failed transaction wrote nothing");
    records.remove(b.id);
    assert.deepEqual(records.all().map((r) => r.status.id), [a.id]);
    store.close();

    // Reopened: the same rows, no migration run twice.
    const again = await Store.open(path);
    assert.deepEqual(new TrainingRecords<Status>(again).all().map((r) => r.status.state), ["done"]);
    again.close();

    // A file from a newer server is refused with its name, untouched.
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    await assert.rejects(
      Store.open(path),
      (e: Error) =>
        e instanceof StoreError && e.message.includes(path) && /newer than this server's/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
