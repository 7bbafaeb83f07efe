/**
 * Records of the server's background jobs (training jobs, projections) in its database: one row per job with
 * its status as the API shows it (JSON), its folder and its process, written at every state change and read
 * back when the server starts. One implementation for every job table; each table differs only in its name
 * and the indexed column that names the job (the training run's name, the projection's model).
 *
 * @module
 */
import type { Store } from "./database.ts";

/** The part of a job's status every job table indexes. */
export interface JobStatusKeys {
  id: string;
  state: string;
  created_at: string;
}

/** One stored job: its status as the API shows it, where its files are, and its process. */
export interface JobRecord<S extends JobStatusKeys> {
  status: S;
  /** The job's folder. */
  dir: string;
  /** The job's process while one runs, else null. */
  pid: number | null;
}

/** Which table holds a kind of job, and its column (and status field) naming the job. */
export interface JobTable<S> {
  /** A table of migration-created schema (a constant, never user input: it is written into the SQL). */
  table: string;
  /** The indexed text column beside id and state, e.g. `name` or `model`. */
  column: string;
  /** That column's value for a status. */
  value: (status: S) => string;
}

/** Read and write the records of one job table. */
export class JobRecords<S extends JobStatusKeys> {
  constructor(readonly store: Store, readonly kind: JobTable<S>) {}

  /** Insert or replace a job's record (one transaction). */
  save(record: JobRecord<S>): void {
    const { status, dir, pid } = record;
    const { table, column, value } = this.kind;
    this.store.transaction(() => {
      this.store.db.prepare(
        `INSERT INTO ${table} (id, ${column}, state, dir, created_at, updated_at, pid, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET ${column} = excluded.${column}, state = excluded.state, dir = excluded.dir,
           updated_at = excluded.updated_at, pid = excluded.pid, status = excluded.status`,
      ).run(
        status.id,
        value(status),
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
  all(): JobRecord<S>[] {
    const rows = this.store.db.prepare(
      `SELECT dir, pid, status FROM ${this.kind.table} ORDER BY created_at, id`,
    ).all() as { dir: string; pid: number | null; status: string }[];
    return rows.map((row) => ({ dir: row.dir, pid: row.pid, status: JSON.parse(row.status) as S }));
  }

  /** Forget a job (the oldest finished ones beyond the server's limit). */
  remove(id: string): void {
    this.store.transaction(() =>
      this.store.db.prepare(`DELETE FROM ${this.kind.table} WHERE id = ?`).run(id)
    );
  }
}
