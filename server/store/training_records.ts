/**
 * Training-job records in the server's database: written when a job is created and at each state change, read
 * back when the server starts so that finished jobs are served again and interrupted ones can be resumed.
 *
 * @module
 */
import type { Store } from "./database.ts";
import { type JobRecord, JobRecords } from "./job_records.ts";

/** The part of a training job's status the table indexes. */
type TrainingStatusKeys = { id: string; name: string; state: string; created_at: string };

/** One stored job: its status, its folder (request.yaml, run/, stderr.log) and the training process. */
export type TrainingRecord<S extends TrainingStatusKeys> = JobRecord<S>;

/** Read and write training-job records (table `training_jobs`, indexed by the run's name). */
export class TrainingRecords<S extends TrainingStatusKeys> extends JobRecords<S> {
  constructor(store: Store) {
    super(store, { table: "training_jobs", column: "name", value: (status) => status.name });
  }
}
