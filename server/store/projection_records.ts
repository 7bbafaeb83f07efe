/**
 * Projection records in the server's database (table `projections`, migration 2): written when a projection is
 * accepted and at each state change, read back when the server starts so that finished projections are served
 * again (and `w:<id>` still works) and one that was running is marked interrupted.
 *
 * @module
 */
import type { Store } from "./database.ts";
import { type JobRecord, JobRecords } from "./job_records.ts";

/** The part of a projection's status the table indexes. */
export interface ProjectionStatusKeys {
  id: string;
  model: string;
  state: string;
  created_at: string;
}

/** One stored projection: its status, its folder (the upload, request.json, previews/, result/), its worker. */
export type ProjectionRecord<S extends ProjectionStatusKeys> = JobRecord<S>;

/** Read and write projection records (table `projections`, indexed by the model). */
export class ProjectionRecords<S extends ProjectionStatusKeys> extends JobRecords<S> {
  constructor(store: Store) {
    super(store, { table: "projections", column: "model", value: (status) => status.model });
  }
}
