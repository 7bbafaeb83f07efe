/**
 * Training-job records in the server's database: written when a job is created and at each state change, read
 * back when the server starts so that finished jobs are served again and interrupted ones can be resumed.
 *
 * @module
 */
import type { Store } from "./database.ts";

/** One stored job: its status as the API shows it, plus where it lives and which process ran it. */
export interface TrainingRecord<S extends { id: string; name: string; state: string; created_at: string }> {
  status: S;
  /** The job's folder (request.yaml, run/, stderr.log). */
  dir: string;
  /** The training process while one runs, else null. */
  pid: number | null;
}

/** Read and write training-job records. */
export class TrainingRecords<S extends { id: string; name: string; state: string; created_at: string }> {
  constructor(readonly store: Store) {}

  /** Insert or replace a job's record (one transaction). */
  save(record: TrainingRecord<S>): void {
    const { status, dir, pid } = record;
    this.store.transaction(() => {
      this.store.db.prepare(
        `INSERT INTO training_jobs (id, name, state, dir, created_at, updated_at, pid, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, state = excluded.state, dir = excluded.dir,
           updated_at = excluded.updated_at, pid = excluded.pid, status = excluded.status`,
      ).run(
        status.id,
        status.name,
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
  all(): TrainingRecord<S>[] {
    const rows = this.store.db.prepare(
      "SELECT dir, pid, status FROM training_jobs ORDER BY created_at, id",
    ).all() as { dir: string; pid: number | null; status: string }[];
    return rows.map((row) => ({ dir: row.dir, pid: row.pid, status: JSON.parse(row.status) as S }));
  }

  /** Forget a job (the oldest finished ones beyond the server's limit). */
  remove(id: string): void {
    this.store.transaction(() => this.store.db.prepare("DELETE FROM training_jobs WHERE id = ?").run(id));
  }
}
