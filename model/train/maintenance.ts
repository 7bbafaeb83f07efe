/**
 * What the training loop does between steps, as a list of "when / what": after every step each task whose
 * `when` holds runs, in order (progress, log line, samples, metrics, timed checkpoint, end of epoch). Adding a
 * kind of maintenance is one entry here, not another branch in the loop.
 */
import type { TrainConfig } from "../config.ts";
import type { RunPosition } from "./schedule.ts";
import type { StepLosses } from "./step.ts";

/** What a task sees about the step just finished. */
export interface FinishedStep {
  /** The position the step ran at. */
  at: RunPosition;
  /** The position after it. */
  next: RunPosition;
  /** The run's step counter after it. */
  step: number;
  losses: StepLosses;
  /** Batches finished in the step's epoch, this one included (1-based). */
  batch: number;
  /** The step finished its epoch. */
  epochEnded: boolean;
  /** Images per second over this session's part of the epoch. */
  imgPerS: number;
}

/** The actions maintenance uses; the loop provides them. */
export interface MaintenanceActions {
  progress(done: FinishedStep): void;
  logLine(done: FinishedStep): Promise<void>;
  samples(done: FinishedStep): Promise<void>;
  metrics(done: FinishedStep): Promise<void>;
  checkpointWithinEpoch(done: FinishedStep): Promise<void>;
  endOfEpoch(done: FinishedStep): Promise<void>;
  /** Minutes since the last checkpoint. */
  minutesSinceCheckpoint(): number;
}

/** One maintenance task. */
export interface MaintenanceTask {
  name: string;
  when(done: FinishedStep): boolean;
  what(done: FinishedStep): Promise<void> | void;
}

/** The maintenance of a run with `config`, in the order the tasks run after a step. */
export function maintenanceTasks(config: TrainConfig, act: MaintenanceActions): MaintenanceTask[] {
  const crossed = (every: number, before: number, after: number) =>
    every > 0 && Math.floor(after / every) > Math.floor(before / every);
  return [
    { name: "progress", when: () => true, what: (d) => act.progress(d) },
    {
      name: "log",
      when: (d) => d.batch % config.log_every === 0 || d.batch === 1,
      what: (d) => act.logLine(d),
    },
    { name: "samples", when: (d) => d.batch % config.sample_every === 0, what: (d) => act.samples(d) },
    {
      name: "metrics",
      when: (d) => crossed(config.metrics_kimg, d.at.kimg, d.next.kimg),
      what: (d) => act.metrics(d),
    },
    {
      // The end of an epoch writes its own checkpoint.
      name: "timed checkpoint",
      when: (d) => !d.epochEnded && act.minutesSinceCheckpoint() >= config.checkpoint_minutes,
      what: (d) => act.checkpointWithinEpoch(d),
    },
    { name: "end of epoch", when: (d) => d.epochEnded, what: (d) => act.endOfEpoch(d) },
  ];
}

/** Run the tasks whose time has come, in order. */
export async function runMaintenance(tasks: MaintenanceTask[], done: FinishedStep): Promise<void> {
  for (const task of tasks) if (task.when(done)) await task.what(done);
}
