/**
 * Projection records in the server's database (table `projections`, migration 2): written when a projection is
 * accepted and at each state change, read back when the server starts so that finished projections are served
 * again (and `w:<id>` still works) and one that was running is marked interrupted.
 *
 * @module
 */
import type { Store } from "./database.ts";

/** The part of a projection's status the table indexes. */
export interface ProjectionStatusKeys {
  id: string;
  model: string;
  state: string;
  created_at: string;
}

/** One stored projection: its status as the API shows it, where its files are, and its worker process. */
export interface ProjectionRecord<S extends ProjectionStatusKeys> {
  status: S;
  /** The projection's folder (the upload, request.json, previews/, result/). */
  dir: string;
  /** The worker process while one runs, else null. */
  pid: number | null;
}

/** Read and write projection records. */
export class ProjectionRecords<S extends ProjectionStatusKeys> {
  constructor(readonly store: Store) {}

  /** Insert or replace a record (one transaction). */
  save(record: ProjectionRecord<S>): void {
    const { status, dir, pid } = record;
    this.store.transaction(() => {
      this.store.db.prepare(
        `INSERT INTO projections (id, model, state, dir, created_at, updated_at, pid, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET model = excluded.model, state = excluded.state, dir = excluded.dir,
           updated_at = excluded.updated_at, pid = excluded.pid, status = excluded.status`,
      ).run(
        status.id,
        status.model,
        status.state,
        dir,
        status.created_at,
        new Date().toISOString(),
        pid,
        JSON.stringify(status),
      );
    });
  }

  /** Every record, oldest first. */
  all(): ProjectionRecord<S>[] {
    const rows = this.store.db.prepare(
      "SELECT dir, pid, status FROM projections ORDER BY created_at, id",
    ).all() as { dir: string; pid: number | null; status: string }[];
    return rows.map((row) => ({ dir: row.dir, pid: row.pid, status: JSON.parse(row.status) as S }));
  }

  /** Forget a projection (the oldest finished ones beyond the server's limit). */
  remove(id: string): void {
    this.store.transaction(() => this.store.db.prepare("DELETE FROM projections WHERE id = ?").run(id));
  }
}
