/**
 * Training jobs: the slot the training routes plug into. The progressive training loop does not exist yet, so no
 * {@link TrainingJobs} implementation ships and `POST /api/train` answers 501. When the loop lands, implement
 * this interface (start a run in a worker, report progress from its snapshots) and pass it to `createServices`:
 * the routes already authenticate, validate the body and confine dataset paths to SGAN_DATA_ROOT.
 *
 * @module
 */
import { z } from "zod";

/** Body of `POST /api/train`. */
export const trainRequestSchema = z.strictObject({
  /** Dataset folder or file, relative to SGAN_DATA_ROOT (or absolute inside it). */
  dataset: z.string().min(1).max(4096),
  /** Training configuration (a YAML file name under configs/), default the project's default. */
  config: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/).optional(),
  /** Name of the model the run writes (its checkpoints appear in SGAN_MODELS_DIR under this name). */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/).optional(),
  /** Length of the run in thousands of images. */
  kimg: z.number().int().min(1).max(100_000).optional(),
  /** Metres per pixel of the dataset at full resolution. */
  gsd_m: z.number().positive().max(100_000).optional(),
});

/** A validated training request. */
export type TrainRequest = z.infer<typeof trainRequestSchema>;

/** Where a run is. */
export interface TrainingJobStatus {
  id: string;
  state: "queued" | "running" | "done" | "failed" | "cancelled";
  /** Thousands of images shown so far. */
  kimg: number;
  /** Name of the model its snapshots are served as. */
  model: string;
  /** Why it failed, when it did. */
  error?: string;
}

/** What the training routes need from a training runner. */
export interface TrainingJobs {
  /** Start a run; `datasetPath` is the real path, already checked to lie under the data root. */
  start(request: TrainRequest & { datasetPath: string }): Promise<TrainingJobStatus>;
  /** One run, or undefined. */
  get(id: string): Promise<TrainingJobStatus | undefined>;
  /** Every run, newest first. */
  list(): Promise<TrainingJobStatus[]>;
  /** Stop a run. */
  cancel(id: string): Promise<TrainingJobStatus | undefined>;
}
