/**
 * Training jobs: one `deno task train --events` process at a time, followed through the JSON event lines it
 * prints. A job lives in `<runsDir>/<id>/`: `request.yaml` (the validated configuration it was started with),
 * `run/` (the run directory: checkpoints, samples, log), `stderr.log` and, once finished, `job.json`.
 *
 * Running the loop in its own process keeps the API answering (the process gets one BLAS thread, leaving the
 * server a core) and lets a stop request reach it the way Ctrl-C does: SIGINT stops at the next safe point with
 * a checkpoint written. A finished job copies its final EMA generator atomically to `<modelsDir>/<name>.safetensors`,
 * where the model store finds it.
 *
 * With a {@link TrainingRecords} store every job is recorded when it is created and at each state change, so a
 * restarted server serves its finished jobs again; one whose server went away while it ran (SIGKILL, a crash, or
 * a shutdown that stopped it at its safe point) comes back `interrupted` and {@link TrainingJobs.resume}
 * continues it from its last checkpoint (`deno task train --resume`).
 *
 * @module
 */
import { writeFileAtomic } from "../../model/files.ts";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify as toYaml } from "yaml";
import type { TrainConfig } from "../../model/config.ts";
import type { TrainEvent } from "../../model/train/loop.ts";
import { type LatestPointer, RunDir } from "../../model/train/run_dir.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { DISCRIMINATOR_SUFFIX } from "../models.ts";
import { forEachLine } from "../lines.ts";
import { signalJobProcess, startJobProcess } from "../job_process.ts";
import { isInside } from "../security.ts";
import type { TrainRequest } from "./request.ts";
import type { TrainingRecord, TrainingRecords } from "../store/training_records.ts";

/** Where a job is. */
export type JobState =
  | "starting"
  | "running"
  | "stopping"
  | "done"
  | "failed"
  | "cancelled"
  | "interrupted";

/** States in which no process runs: final, except that a cancelled or interrupted job may be resumed. */
export const FINISHED_STATES: readonly JobState[] = ["done", "failed", "cancelled", "interrupted"];

/** States a job can be resumed from (with a checkpoint). */
export const RESUMABLE_STATES: readonly JobState[] = ["cancelled", "interrupted"];

/** A job as `GET /api/train/{id}` describes it. Numbers are null until the first progress report. */
export interface TrainingJobStatus {
  id: string;
  /** Model name the finished generator is published as. */
  name: string;
  state: JobState;
  /** ISO times. */
  created_at: string;
  finished_at: string | null;
  /** Depth being trained (0 = 4 px) and its resolution in pixels. */
  depth: number | null;
  resolution: number | null;
  /** Epoch within the depth (1-based) of `epochs`, batch within the epoch of `batches`. */
  epoch: number | null;
  epochs: number | null;
  batch: number | null;
  batches: number | null;
  /** Fade-in of the newest block (0 → 1). */
  alpha: number | null;
  /** Thousands of real images shown so far. */
  kimg: number;
  /** Last D and G losses (null when non-finite). */
  losses: { d: number | null; g: number | null } | null;
  img_per_s: number | null;
  elapsed_s: number | null;
  /** URL of the newest sample grid (a PNG), or null. */
  latest_sample: string | null;
  /** Newest checkpoint's EMA generator, relative to the run directory, or null. */
  checkpoint: string | null;
  /** Name of the published model (in /api/models) once done, else null. */
  model: string | null;
  /** Why it failed: the process's last stderr lines. */
  error: string | null;
  /** The job's Server-Sent Events. */
  events_url: string;
}

/** One event of a job's stream: the SSE `id`, `event` and JSON `data`. */
export interface JobEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** Options of {@link TrainingJobs}. */
export interface TrainingJobsOptions {
  /** Folder of the jobs' folders. */
  runsDir: string;
  /** Folder finished generators are published to. */
  modelsDir: string;
  /** The data root, shown as `$SGAN_DATA_ROOT` in messages instead of its path. */
  dataRoot?: string;
  /** How long a stop request waits for the safe point before killing the process (default 60 s). */
  stopTimeoutMs?: number;
  /** Events kept per job for late subscribers (default 500). */
  keepEvents?: number;
  /** Jobs remembered (finished ones beyond this are forgotten, oldest first; default 100). */
  keepJobs?: number;
  /** Extra environment of the training process. */
  env?: Record<string, string>;
  /** Where job records outlive the server (see server/store/); without it jobs are forgotten on restart. */
  records?: TrainingRecords<TrainingJobStatus>;
}

/** The training command, run from the repository root. */
const TRAIN_SCRIPT = fileURLToPath(new URL("../../model/cli/train.ts", import.meta.url));

/** stderr lines kept for the error of a failed job. */
const STDERR_TAIL = 20;

/** The server's training jobs. */
export class TrainingJobs {
  readonly runsDir: string;
  readonly modelsDir: string;
  readonly #options: TrainingJobsOptions;
  readonly #jobs = new Map<string, TrainingJob>();

  constructor(options: TrainingJobsOptions) {
    this.#options = options;
    this.runsDir = resolve(options.runsDir);
    this.modelsDir = resolve(options.modelsDir);
    for (const record of options.records?.all() ?? []) {
      const job = TrainingJob.restore(record, this.modelsDir, this.#jobOptions());
      this.#jobs.set(job.id, job);
    }
  }

  #jobOptions(): TrainingJobsOptions & { keepEvents: number } {
    return { ...this.#options, keepEvents: this.#options.keepEvents ?? 500 };
  }

  /** The job that is starting, running or stopping, if any. */
  get active(): TrainingJob | undefined {
    return [...this.#jobs.values()].find((job) => !job.finished);
  }

  /** 409 while a job is unfinished: one job runs at a time. */
  #refuseWhileBusy(): void {
    const busy = this.active;
    if (busy) {
      throw new ConflictError(
        `training job ${busy.id} is ${busy.state}; one job runs at a time`,
        null,
        `wait until it finishes (GET /api/train/${busy.id}) or stop it (DELETE /api/train/${busy.id})`,
      );
    }
  }

  /** Start a job; 409 while another one is unfinished. Resolves once the process is launched. */
  async start(request: TrainRequest): Promise<TrainingJobStatus> {
    this.#refuseWhileBusy();
    let id = newJobId();
    while (this.#jobs.has(id)) id = newJobId();
    const job = new TrainingJob(
      id,
      request.name ?? `job-${id}`,
      join(this.runsDir, id),
      this.modelsDir,
      this.#jobOptions(),
    );
    this.#jobs.set(id, job);
    this.#forgetOld();
    await job.launch(request.config);
    return job.status();
  }

  /** One job; 404 for an unknown id. */
  get(id: string): TrainingJob {
    const job = this.#jobs.get(id);
    if (!job) {
      throw new NotFoundError(`no training job '${id.slice(0, 64)}'`, "id", "an id from GET /api/train");
    }
    return job;
  }

  /** Every job's status, newest first. */
  list(): TrainingJobStatus[] {
    return [...this.#jobs.values()].reverse().map((job) => job.status());
  }

  /**
   * Stop a job at its next safe point (a checkpoint is written) and wait for it; killed after the stop timeout.
   * A cancelled job answers as it is; 409 for one that is done or failed.
   */
  async cancel(id: string): Promise<TrainingJobStatus> {
    const job = this.get(id);
    if (job.state === "done" || job.state === "failed") {
      throw new ConflictError(
        `training job ${id} has already ${job.state === "done" ? "finished" : "failed"}`,
      );
    }
    await job.stop(this.#options.stopTimeoutMs ?? 60_000);
    return job.status();
  }

  /**
   * Continue a cancelled or interrupted job from its last checkpoint, in a new training process (202 with the
   * job, now `starting`). 409 while another job runs, for a job in another state, or without a checkpoint.
   */
  async resume(id: string): Promise<TrainingJobStatus> {
    const job = this.get(id);
    this.#refuseWhileBusy();
    if (!RESUMABLE_STATES.includes(job.state)) {
      throw new ConflictError(
        `training job ${id} is ${job.state}; only a cancelled or interrupted job can be resumed`,
        "id",
        "a job whose state is cancelled or interrupted",
      );
    }
    if (!(await new RunDir(job.runDir).readLatest().catch(() => undefined))) {
      throw new ConflictError(
        `training job ${id} has no checkpoint to resume from (it stopped before writing one)`,
        "id",
        "a job with a checkpoint (its status names one)",
      );
    }
    await job.launchResume();
    return job.status();
  }

  /**
   * Stop whatever runs (server shutdown) at its safe point; the job is recorded as `interrupted`, so that the
   * next server can resume it.
   */
  async close(): Promise<void> {
    await this.active?.stop(this.#options.stopTimeoutMs ?? 60_000, "interrupted");
  }

  #forgetOld(): void {
    const finished = [...this.#jobs.values()].filter((job) => job.finished);
    const excess = this.#jobs.size - (this.#options.keepJobs ?? 100);
    for (const job of finished.slice(0, Math.max(0, excess))) {
      this.#jobs.delete(job.id);
      this.#options.records?.remove(job.id);
    }
  }
}

/** One job: its process, its progress and its recent events. */
export class TrainingJob {
  #state: JobState = "starting";
  #createdAt = new Date();
  #finishedAt?: Date;
  #progress?: Extract<TrainEvent, { type: "progress" }>;
  #kimg = 0;
  #latestSample: string | null = null;
  #checkpoint: string | null = null;
  #model: string | null = null;
  #error: string | null = null;
  #generator?: string;
  #stopRequested = false;
  /** The state a stop ends in: cancelled (a user's DELETE) or interrupted (server shutdown). */
  #stopState: JobState = "cancelled";
  #stoppedAtSafePoint = false;
  /** The numbers of a job restored from its record, until a resumed process reports its own. */
  #restored?: TrainingJobStatus;
  #child?: Deno.ChildProcess;
  readonly #stderrTail: string[] = [];
  readonly #events: JobEvent[] = [];
  #nextEventId = 0;
  #changed = Promise.withResolvers<void>();
  #done = Promise.withResolvers<void>();
  readonly runDir: string;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly dir: string,
    readonly modelsDir: string,
    readonly options: TrainingJobsOptions & { keepEvents: number },
  ) {
    this.runDir = join(dir, "run");
  }

  /**
   * A job from its record. One that was unfinished when its server went away is `interrupted`: its process is
   * gone, or is an orphan still holding the run directory, which is killed here (its last checkpoint stays:
   * checkpoints are written atomically).
   */
  static restore(
    record: TrainingRecord<TrainingJobStatus>,
    modelsDir: string,
    options: TrainingJobsOptions & { keepEvents: number },
  ): TrainingJob {
    const { status } = record;
    const job = new TrainingJob(status.id, status.name, record.dir, modelsDir, options);
    job.#restored = status;
    job.#createdAt = new Date(status.created_at);
    job.#finishedAt = status.finished_at ? new Date(status.finished_at) : undefined;
    job.#kimg = status.kimg;
    job.#latestSample = status.latest_sample;
    job.#checkpoint = status.checkpoint;
    job.#model = status.model;
    job.#error = status.error;
    job.#state = status.state;
    if (!job.finished) {
      if (record.pid !== null) killOrphan(record.pid, job.runDir);
      // The process may have written checkpoints after the last record: the pointer names the newest complete one.
      const shadow = latestShadowSync(job.runDir);
      if (shadow) job.#checkpoint = `models/${shadow}`;
      job.#state = "interrupted";
      job.#finishedAt = new Date();
      job.#error = "the server stopped while this job ran; resume it with POST /api/train/" + status.id +
        "/resume";
      job.#record();
    }
    job.#done.resolve();
    return job;
  }

  get createdAt(): Date {
    return this.#createdAt;
  }

  get state(): JobState {
    return this.#state;
  }

  /** Whether the job has reached a final state. */
  get finished(): boolean {
    return FINISHED_STATES.includes(this.state);
  }

  /** Resolves when anything new happens (a new event, the end); take it before reading the events. */
  get changed(): Promise<void> {
    return this.#changed.promise;
  }

  /** Resolves when the job has finished. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  /** Folder of the sample grids. */
  get samplesDir(): string {
    return join(this.runDir, "samples");
  }

  /** Id of the newest event (−1 before the first). */
  get lastEventId(): number {
    return this.#nextEventId - 1;
  }

  /** The kept events with an id of at least `from`, oldest first. */
  eventsFrom(from: number): JobEvent[] {
    return this.#events.filter((e) => e.id >= from);
  }

  status(): TrainingJobStatus {
    const p = this.#progress;
    const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);
    const restored = this.#restored;
    if (!p && restored) {
      return {
        ...restored,
        state: this.state,
        finished_at: this.#finishedAt?.toISOString() ?? null,
        kimg: this.#kimg,
        latest_sample: this.#latestSample,
        checkpoint: this.#checkpoint,
        model: this.#model,
        error: this.#error,
      };
    }
    return {
      id: this.id,
      name: this.name,
      state: this.state,
      created_at: this.createdAt.toISOString(),
      finished_at: this.#finishedAt?.toISOString() ?? null,
      depth: p?.depth ?? null,
      resolution: p?.resolution ?? null,
      epoch: p?.epoch ?? null,
      epochs: p?.epochs ?? null,
      batch: p?.batch ?? null,
      batches: p?.batches ?? null,
      alpha: p?.alpha ?? null,
      kimg: this.#kimg,
      losses: p ? { d: finite(p.dLoss), g: finite(p.gLoss) } : null,
      img_per_s: finite(p?.imgPerS),
      elapsed_s: finite(p?.elapsed),
      latest_sample: this.#latestSample,
      checkpoint: this.#checkpoint,
      model: this.#model,
      error: this.#error,
      events_url: `/api/train/${this.id}/events`,
    };
  }

  /** Write the configuration and start the training process. */
  async launch(config: TrainConfig): Promise<void> {
    const final = structuredClone(config) as TrainConfig;
    final.output_dir = this.runDir;
    const configFile = join(this.dir, "request.yaml");
    try {
      await Deno.mkdir(dirname(this.dir), { recursive: true });
      await Deno.mkdir(this.dir); // a new folder: never another job's
      await Deno.writeTextFile(configFile, toYaml(final));
    } catch (e) {
      this.#error = `the job folder could not be written: ${this.#redact((e as Error).message)}`;
      await this.#finish("failed");
      throw e;
    }
    this.#record();
    await this.#spawn(["--config", configFile]);
  }

  /** Continue from the run directory's last checkpoint in a new process (see TrainingJobs.resume). */
  async launchResume(): Promise<void> {
    this.#stopRequested = false;
    this.#stopState = "cancelled";
    this.#stoppedAtSafePoint = false;
    this.#generator = undefined;
    this.#error = null;
    this.#finishedAt = undefined;
    this.#stderrTail.length = 0;
    this.#done = Promise.withResolvers<void>();
    this.#setState("starting");
    await this.#spawn(["--resume", this.runDir]);
  }

  /** Start `deno task train --events` with `how` (a config or a run to resume) and follow it. */
  async #spawn(how: string[]): Promise<void> {
    let stderrLog: Deno.FsFile;
    try {
      // No data-parallel workers: a job gets one core (one BLAS thread), the API keeps the other.
      ({ child: this.#child, stderrLog } = await startJobProcess(
        this.dir,
        TRAIN_SCRIPT,
        [...how, "--events", "--workers", "0", ...this.#dataRootFlag()],
        this.options.env,
      ));
    } catch (e) {
      this.#error = `the training process could not be started: ${this.#redact((e as Error).message)}`;
      await this.#finish("failed");
      throw e;
    }
    this.#record();
    if (this.#stopRequested) signalJobProcess(this.#child, "SIGINT"); // a stop that came while launching
    else this.#push("state", { state: this.state });
    this.#follow(this.#child, stderrLog).catch((e) => console.error(`training job ${this.id}:`, e));
  }

  /**
   * Ask the process to stop at its next safe point; SIGKILL after `timeoutMs`. Resolves when finished, in
   * `final` (cancelled for a user's stop, interrupted for a server shutdown).
   */
  async stop(timeoutMs: number, final: "cancelled" | "interrupted" = "cancelled"): Promise<void> {
    if (this.finished) return;
    if (!this.#stopRequested) {
      this.#stopRequested = true;
      this.#stopState = final;
      this.#setState("stopping");
      signalJobProcess(this.#child, "SIGINT");
    }
    const timer = setTimeout(() => signalJobProcess(this.#child, "SIGKILL"), timeoutMs);
    try {
      await this.done;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Read the process's output until it exits, then settle the job. */
  async #follow(child: Deno.ChildProcess, stderrLog: Deno.FsFile): Promise<void> {
    // Neither handler throws: the streams must be read to their end whatever a line holds.
    const stdout = forEachLine(child.stdout, (line) => {
      try {
        this.#onLine(line);
      } catch {
        this.#push("log", { line: this.#redact(line) }); // a malformed event
      }
    });
    const stderr = forEachLine(child.stderr, async (line) => {
      this.#stderrTail.push(line);
      if (this.#stderrTail.length > STDERR_TAIL) this.#stderrTail.shift();
      await stderrLog.write(new TextEncoder().encode(line + "\n")).catch(() => {});
    });
    let exit: Deno.CommandStatus | undefined;
    try {
      [exit] = await Promise.all([child.status, stdout, stderr]);
    } catch (e) {
      this.#error = `lost the training process: ${(e as Error).message}`;
    } finally {
      stderrLog.close();
    }
    // A stop that came after the last step finds the run complete: it is published all the same.
    if (exit?.success && this.#generator && !this.#stoppedAtSafePoint) {
      try {
        await this.#publish(this.#generator);
        this.#push("done", { kimg: this.#kimg, model: this.name, model_url: `/api/models/${this.name}` });
        return await this.#finish("done");
      } catch (e) {
        this.#error = `the finished generator could not be published: ${this.#redact((e as Error).message)}`;
        return await this.#finish("failed");
      }
    }
    // Killed or crashed, the newest complete checkpoint is the one the pointer names (written last, atomically).
    const pointer = await new RunDir(this.runDir).readLatest().catch(() => undefined);
    if (pointer) this.#checkpoint = `models/${pointer.files.shadow}`;
    if (this.#stopRequested || this.#stoppedAtSafePoint) return await this.#finish(this.#stopState);
    if (this.#error === null) {
      const tail = this.#stderrTail.map((l) => this.#redact(l)).join("\n").trim();
      const how = exit?.signal ? `was killed by ${exit.signal}` : `exited with code ${exit?.code}`;
      this.#error = tail || `the training process ${how} before finishing`;
    }
    await this.#finish("failed");
  }

  /** One stdout line: a TrainEvent as JSON (anything else is kept as a log line). */
  #onLine(line: string): void {
    if (line.trim() === "") return;
    let event: TrainEvent;
    try {
      event = JSON.parse(line);
    } catch {
      return this.#push("log", { line: this.#redact(line) });
    }
    switch (event.type) {
      case "progress":
        this.#progress = event;
        this.#kimg = event.kimg;
        if (this.state === "starting") this.#setState("running");
        return this.#push("progress", {
          depth: event.depth,
          resolution: event.resolution,
          epoch: event.epoch,
          epochs: event.epochs,
          batch: event.batch,
          batches: event.batches,
          alpha: event.alpha,
          kimg: event.kimg,
          d_loss: event.dLoss,
          g_loss: event.gLoss,
          img_per_s: event.imgPerS,
          elapsed_s: event.elapsed,
        });
      case "sample": {
        if (resolve(dirname(event.path)) !== this.samplesDir) return;
        this.#latestSample = `/api/train/${this.id}/samples/${encodeURIComponent(basename(event.path))}`;
        return this.#push("sample", {
          url: this.#latestSample,
          depth: event.depth,
          epoch: event.epoch,
          batch: event.batch,
        });
      }
      case "checkpoint":
        this.#checkpoint = this.#inRun(event.path);
        this.#record(); // what a resume after a crash starts from
        return this.#push("checkpoint", { file: this.#checkpoint });
      case "depth":
        return this.#push("depth", {
          depth: event.depth,
          resolution: event.resolution,
          metres_per_pixel: event.metresPerPixel,
        });
      case "metrics":
        return this.#push("metrics", { kimg: event.kimg, report: event.report });
      case "log":
        return this.#push("log", { line: this.#redact(event.line) });
      case "warning":
        return this.#push("warning", { message: this.#redact(event.message) });
      case "done":
        this.#kimg = event.kimg;
        this.#generator = resolve(event.generator);
        return;
      case "stopped":
        this.#kimg = event.kimg;
        this.#stoppedAtSafePoint = true;
        this.#checkpoint = this.#inRun(event.checkpoint);
        return this.#push("stopped", { kimg: event.kimg, checkpoint: this.#checkpoint });
    }
  }

  /**
   * Copy the generator to `<modelsDir>/<name>.safetensors` atomically (a temporary name, then a rename), and the
   * discriminator of the same checkpoint beside it as `<name>.discriminator.safetensors` (what the projection's
   * D-feature loss uses, see ModelStore.discriminatorOf). D goes first, so that a model that appears is complete.
   */
  async #publish(generator: string): Promise<void> {
    if (!isInside(this.runDir, generator)) throw new Error("the generator is not in the run directory");
    await Deno.mkdir(this.modelsDir, { recursive: true });
    const discriminator = join(this.modelsDir, `${this.name}${DISCRIMINATOR_SUFFIX}`);
    const latest = await new RunDir(this.runDir).readLatest();
    if (latest && basename(generator) === latest.files.shadow) {
      await writeFileAtomic(discriminator, await Deno.readFile(join(dirname(generator), latest.files.dis)));
    } else {
      // No D of this generator's checkpoint: none beside it (not a stale one of an earlier model of that name).
      await Deno.remove(discriminator).catch(() => {});
    }
    await writeFileAtomic(join(this.modelsDir, `${this.name}.safetensors`), await Deno.readFile(generator));
    this.#model = this.name;
  }

  async #finish(state: JobState): Promise<void> {
    // State and final event together: a stream that sees the job finished has its last event.
    this.#finishedAt = new Date();
    this.#state = state;
    this.#push("state", { state, ...(this.#error ? { error: this.#error } : {}) });
    this.#record();
    await Deno.writeTextFile(join(this.dir, "job.json"), JSON.stringify(this.status(), null, 1) + "\n")
      .catch(() => {}); // a record for people; the job is finished either way
    this.#done.resolve();
  }

  #setState(state: JobState): void {
    this.#state = state;
    this.#record();
    this.#push("state", { state });
  }

  /** Write the job's record (when the server keeps them); a failed write is logged, the job goes on. */
  #record(): void {
    const records = this.options.records;
    if (!records) return;
    try {
      records.save({
        status: this.status(),
        dir: this.dir,
        pid: this.finished ? null : this.#child?.pid ?? null,
      });
    } catch (e) {
      console.error(`training job ${this.id}: the job record could not be written: ${(e as Error).message}`);
    }
  }

  #push(event: string, data: Record<string, unknown>): void {
    this.#events.push({ id: this.#nextEventId++, event, data });
    if (this.#events.length > this.options.keepEvents) this.#events.shift();
    const changed = this.#changed;
    this.#changed = Promise.withResolvers<void>();
    changed.resolve();
  }

  /** A path inside the run directory as a relative one; null for anything else. */
  #inRun(path: string): string | null {
    const full = resolve(path);
    return isInside(this.runDir, full) ? relative(this.runDir, full) : null;
  }

  /** The training process enforces the data root itself on every file it opens (a link can change later). */
  #dataRootFlag(): string[] {
    const root = this.options.dataRoot;
    return root ? ["--data-root", resolve(root)] : [];
  }

  /** Server paths out of a message: the job folder and the data root by name. */
  #redact(text: string): string {
    let out = text.replaceAll(this.dir, "$JOB_DIR");
    const root = this.options.dataRoot;
    if (root) {
      out = out.replaceAll(isAbsolute(root) ? root : resolve(root), "$SGAN_DATA_ROOT");
      try {
        out = out.replaceAll(Deno.realPathSync(root), "$SGAN_DATA_ROOT");
      } catch {
        // no root, nothing to hide
      }
    }
    return out;
  }
}

/** A sortable, URL-safe job id: UTC time and 4 random hex digits, e.g. `20250101-120000-3fa9`. */
function newJobId(): string {
  const time = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const random = crypto.getRandomValues(new Uint8Array(2));
  return `${time}-${Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Kill a training process left running by a server that went away, if `pid` is still one (its command line
 * names this run directory: a reused pid is left alone). Linux only (/proc); elsewhere nothing is done.
 */
function killOrphan(pid: number, runDir: string): void {
  let cmdline: string;
  try {
    cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
  } catch {
    return; // gone, or no /proc
  }
  if (!cmdline.split("\0").some((arg) => arg.startsWith(dirname(runDir)))) return;
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // exited meanwhile
  }
}

/** The EMA generator file the run's `models/latest.json` names, or undefined (no checkpoint, unreadable). */
function latestShadowSync(runDir: string): string | undefined {
  try {
    const pointer = JSON.parse(Deno.readTextFileSync(new RunDir(runDir).latest)) as LatestPointer;
    return typeof pointer.files?.shadow === "string" ? pointer.files.shadow : undefined;
  } catch {
    return undefined;
  }
}
