/**
 * Projections of real tiles into W, run by the server: a bounded queue (one worker process at a time by
 * default, a few waiting; more is a 503 with Retry-After), each projection in its own process
 * (`worker.ts`, as training jobs are: generation in the server never waits for it), followed through the JSON
 * event lines it prints. A projection lives in `<dir>/<id>/`: the upload as the route resampled it
 * (`target.json`, `target.raw`: the upload itself is not kept), `request.json`, `previews/` (the
 * reconstruction every few steps) and, once done, `result/` (w.json, reconstruction.png, reconstruction.tif
 * for a GeoTIFF target, target.png, report.json).
 *
 * With {@link ProjectionRecords} every projection is recorded when accepted and at each state change, so a
 * restarted server serves its finished projections again (and `w:<id>` keeps working); one that was queued or
 * running when its server went away comes back `interrupted`.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { GeoTransform } from "../../model/geo/read.ts";
import { openGeoTiff } from "../../model/geo/read.ts";
import type { ProjectionLossName } from "../../model/projection/losses.ts";
import type { ProjectedW } from "../../model/projection/outputs.ts";
import type { ProjectionTarget } from "../../model/projection/target.ts";
import { ApiError, NotFoundError, ValidationError } from "../errors.ts";
import { forEachLine } from "../lines.ts";
import { signalJobProcess, startJobProcess } from "../job_process.ts";
import type { StoredEvent } from "../sse.ts";
import type { ProjectionRecord, ProjectionRecords } from "../store/projection_records.ts";
import { writeTargetFiles } from "./target_file.ts";
import type { ProjectionWorkerEvent, ProjectionWorkerRequest } from "./worker.ts";

/**
 * Where a projection is: `cancelled` by a DELETE while it was queued or running, `interrupted` by its server
 * stopping meanwhile.
 */
export const PROJECTION_STATES = ["queued", "running", "done", "failed", "cancelled", "interrupted"] as const;
export type ProjectionState = typeof PROJECTION_STATES[number];

/** States in which no process runs and none will. */
export const FINISHED_PROJECTION_STATES: readonly ProjectionState[] = [
  "done",
  "failed",
  "cancelled",
  "interrupted",
];

/** A projection as `GET /api/projections/{id}` describes it (without its w, which GET adds when done). */
export interface ProjectionStatus {
  id: string;
  model: string;
  state: ProjectionState;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** The settings it was asked for. */
  options: {
    steps: number;
    seed: number;
    wplus: boolean;
    loss: string;
    class: string | null;
    gsd: number | null;
  };
  /** The upload: its name, format, and what resampling did. */
  target: { name: string; format: string; georeferenced: boolean; resampling: string | null };
  /** Steps taken so far. */
  step: number;
  steps: number;
  /** The latest step's losses (raw terms and the weighted `total`), or null. */
  losses: Record<string, number> | null;
  /** The total loss after every step so far. */
  loss_curve: number[];
  /** URL of the newest reconstruction preview (PNG), or null. */
  latest_reconstruction: string | null;
  /** Once done: PSNR of the reconstruction against the resampled target (dB), final losses, seconds. */
  psnr_db: number | null;
  final_losses: Record<string, number> | null;
  seconds: number | null;
  /** Once done: the reconstruction (PNG), and as a GeoTIFF at the target's place when the target was one. */
  reconstruction_url: string | null;
  geotiff_url: string | null;
  /** What edits call it: `w:<id>` in seed parameters. */
  source: string;
  error: string | null;
  status_url: string;
  events_url: string;
}

/** A finished projection's w, as edits use it. */
export interface ProjectedTile {
  id: string;
  model: string;
  /** [num_layers × dlatent_size] row-major. */
  dlatents: Float32Array;
  wPlus: boolean;
  /** The class (label index) of a conditional model's projection, truncated toward its centre. */
  label?: number;
  /** The target's place for a GeoTIFF target: the reconstruction's geotransform and GeoKeys. */
  geo?: { geoTransform: GeoTransform; geoKeys: Record<string, unknown>; width: number };
}

/** What a new projection needs (checked by the route). */
export interface ProjectionRequest {
  model: string;
  checkpoint: string;
  /** The upload resampled to the model (by the route, which refused it if it could not be), its name and format. */
  target: ProjectionTarget;
  name: string;
  format: "png" | "jpeg" | "tiff";
  steps: number;
  seed: number;
  wPlus: boolean;
  loss: ProjectionLossName;
  /** The model's discriminator checkpoint, for a loss that uses D's features. */
  discriminator?: string;
  className: string | null;
  label?: number;
  gsdM?: number;
}

/** Options of {@link ProjectionJobs}. */
export interface ProjectionJobsOptions {
  /** Folder of the projections' folders. */
  dir: string;
  /** Projections running at once (worker processes). */
  concurrency: number;
  /** Projections waiting beyond those running before new ones are refused (503). */
  maxQueued: number;
  /** The tensor backend the workers use. */
  backend: string;
  /** A preview of the reconstruction every this many steps. */
  previewEvery: number;
  /** Mapped samples for the W spread (default: projector.py's 10,000; tests use fewer). */
  wAvgSamples?: number;
  /** Projections remembered (finished ones beyond this are forgotten with their files, oldest first). */
  keep?: number;
  /** Events kept per projection for late subscribers (default 1000). */
  keepEvents?: number;
  records?: ProjectionRecords<ProjectionStatus>;
  /** Extra environment of the worker processes. */
  env?: Record<string, string>;
}

const WORKER_SCRIPT = fileURLToPath(new URL("./worker.ts", import.meta.url));

/** Seconds a projection step takes before any was measured (64 px, one core; docs/performance.md). */
const INITIAL_SECONDS_PER_STEP = 0.2;
/** Seconds a worker needs to start and load its model. */
const STARTUP_S = 5;

/** 503 for a full projection queue. */
export class ProjectionQueueFullError extends ApiError {
  override name = "ProjectionQueueFullError";
  constructor(retryAfterS: number, running: number, queued: number) {
    super(
      503,
      `the projection queue is full (${running} running, ${queued} waiting); retry in ${retryAfterS} s`,
      null,
      null,
      { "Retry-After": String(retryAfterS) },
    );
  }
}

/** The server's projections. */
export class ProjectionJobs {
  readonly #options: ProjectionJobsOptions;
  readonly #jobs = new Map<string, ProjectionJob>();
  readonly #tiles = new Map<string, ProjectedTile>();
  /** Uploads accepted but not yet queued (their files are being written). */
  #reserved = 0;
  #secondsPerStep = INITIAL_SECONDS_PER_STEP;

  constructor(options: ProjectionJobsOptions) {
    this.#options = options;
    for (const record of options.records?.all() ?? []) {
      const job = ProjectionJob.restore(record, this.#options);
      this.#jobs.set(job.id, job);
    }
  }

  get dir(): string {
    return this.#options.dir;
  }

  /** Accept a projection: its files are written and it is queued; 503 when the queue is full. */
  async start(request: ProjectionRequest): Promise<ProjectionStatus> {
    const running = this.#count("running");
    const queued = this.#count("queued") + this.#reserved;
    if (running + queued >= this.#options.concurrency + this.#options.maxQueued) {
      throw new ProjectionQueueFullError(this.retryAfterS(), running, queued);
    }
    // The slot is taken before the files are written, so that uploads arriving meanwhile count it.
    this.#reserved++;
    try {
      return await this.#accept(request);
    } finally {
      this.#reserved--;
    }
  }

  async #accept(request: ProjectionRequest): Promise<ProjectionStatus> {
    let id = newProjectionId();
    while (this.#jobs.has(id)) id = newProjectionId();
    const dir = join(this.#options.dir, id);
    await Deno.mkdir(this.#options.dir, { recursive: true });
    await Deno.mkdir(dir);
    try {
      await writeTargetFiles(dir, request.target);
      const workerRequest: ProjectionWorkerRequest = {
        uploadName: request.name,
        checkpoint: request.checkpoint,
        backend: this.#options.backend,
        steps: request.steps,
        seed: request.seed,
        wPlus: request.wPlus,
        loss: request.loss,
        discriminator: request.discriminator,
        wAvgSamples: this.#options.wAvgSamples,
        label: request.label,
        previewEvery: this.#options.previewEvery,
      };
      await Deno.writeTextFile(join(dir, "request.json"), JSON.stringify(workerRequest, null, 1));
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
    const job = new ProjectionJob(id, dir, request, this.#options);
    this.#jobs.set(id, job);
    this.#forgetOld();
    job.record();
    this.#pump();
    return job.status();
  }

  /** One projection; 404 for an unknown id. */
  get(id: string): ProjectionJob {
    const job = this.#jobs.get(id);
    if (!job) {
      throw new NotFoundError(
        `no projection '${id.slice(0, 64)}'`,
        "id",
        "an id from POST /api/projections",
      );
    }
    return job;
  }

  /** One page of the projections, newest first, and how many there are. */
  list(limit: number, offset: number): { projections: ProjectionStatus[]; total: number } {
    const newestFirst = [...this.#jobs.values()].reverse();
    return {
      projections: newestFirst.slice(offset, offset + limit).map((job) => job.status()),
      total: newestFirst.length,
    };
  }

  /**
   * DELETE: a queued or running projection is cancelled (its worker is stopped; it stays listed, `cancelled`)
   * and its status returned; a finished one is forgotten with its files (null), so that its id, and `w:<id>`,
   * then answer the 404 of an unknown one.
   */
  async remove(id: string): Promise<ProjectionStatus | null> {
    const job = this.get(id);
    if (!job.finished) {
      await job.stop("cancelled");
      return job.status();
    }
    await this.#forget(job);
    return null;
  }

  /**
   * The w of a finished projection, for `w:<id>`: 404 for an unknown id; one that has not finished
   * (or failed) is a 400, naming `field`.
   */
  async tile(id: string, field: string): Promise<ProjectedTile> {
    const cached = this.#tiles.get(id);
    if (cached) return cached;
    const job = this.#jobs.get(id);
    if (!job) {
      throw new NotFoundError(
        `${field}: no projection 'w:${id.slice(0, 64)}' on this server`,
        field,
        "w:<id> of a finished projection (POST /api/projections), or a seed",
      );
    }
    if (job.state !== "done") {
      throw new ValidationError(
        field,
        `${field}: projection w:${id} is ${job.state}${
          job.finished ? "" : "; wait until it is done (GET /api/projections/" + id + ")"
        }`,
        "w:<id> of a finished projection, or a seed",
      );
    }
    const tile = await job.loadTile();
    this.#tiles.set(id, tile);
    return tile;
  }

  /** Seconds until a slot is likely free (an estimate from measured step times). */
  retryAfterS(): number {
    const work = [...this.#jobs.values()].filter((j) => !j.finished)
      .reduce((sum, j) => sum + (j.steps - j.step) * this.#secondsPerStep + (j.started ? 0 : STARTUP_S), 0);
    return Math.min(3600, Math.max(1, Math.ceil(work / this.#options.concurrency)));
  }

  /** Stop every worker (server shutdown): their projections are recorded as interrupted. */
  async close(): Promise<void> {
    await Promise.all([...this.#jobs.values()].map((job) => job.stop("interrupted")));
  }

  #count(state: ProjectionState): number {
    return [...this.#jobs.values()].filter((j) => j.state === state).length;
  }

  #pump(): void {
    while (this.#count("running") < this.#options.concurrency) {
      const next = [...this.#jobs.values()].find((j) => j.state === "queued");
      if (!next) return;
      next.run().then((measured) => {
        if (measured !== undefined) this.#secondsPerStep = 0.7 * this.#secondsPerStep + 0.3 * measured;
      }).finally(() => this.#pump());
    }
  }

  #forgetOld(): void {
    const finished = [...this.#jobs.values()].filter((job) => job.finished);
    const excess = this.#jobs.size - (this.#options.keep ?? 200);
    for (const job of finished.slice(0, Math.max(0, excess))) this.#forget(job);
  }

  /**
   * Forget a finished projection: out of the table at once (before any await, so that a second request finds
   * it gone), its record, then its folder. A folder that cannot be removed is logged: the projection is gone
   * from the API all the same.
   */
  async #forget(job: ProjectionJob): Promise<void> {
    this.#jobs.delete(job.id);
    this.#tiles.delete(job.id);
    this.#options.records?.remove(job.id);
    await Deno.remove(job.dir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) {
        console.error(`projection ${job.id}: its folder could not be removed: ${(e as Error).message}`);
      }
    });
  }
}

/** One projection: its worker process, progress and recent events. */
export class ProjectionJob {
  #status: ProjectionStatus;
  #label?: number;
  #child?: Deno.ChildProcess;
  /** Set by {@link stop}: the state the projection ends in unless its worker finished first. */
  #stopping?: "cancelled" | "interrupted";
  readonly #stderrTail: string[] = [];
  readonly #events: StoredEvent[] = [];
  #nextEventId = 0;
  #changed = Promise.withResolvers<void>();
  #done = Promise.withResolvers<void>();

  constructor(
    readonly id: string,
    readonly dir: string,
    request: ProjectionRequest | undefined,
    readonly options: ProjectionJobsOptions,
    restored?: ProjectionStatus,
  ) {
    this.#label = request?.label;
    this.#status = restored ?? {
      id,
      model: request!.model,
      state: "queued",
      created_at: new Date().toISOString(),
      started_at: null,
      finished_at: null,
      options: {
        steps: request!.steps,
        seed: request!.seed,
        wplus: request!.wPlus,
        loss: request!.loss,
        class: request!.className,
        gsd: request!.gsdM ?? null,
      },
      target: {
        name: request!.name,
        format: request!.format,
        georeferenced: request!.target.geo !== undefined,
        // The route resampled it: known from the start (the worker's target event repeats it).
        resampling: request!.target.description,
      },
      step: 0,
      steps: request!.steps,
      losses: null,
      loss_curve: [],
      latest_reconstruction: null,
      psnr_db: null,
      final_losses: null,
      seconds: null,
      reconstruction_url: null,
      geotiff_url: null,
      source: `w:${id}`,
      error: null,
      status_url: `/api/projections/${id}`,
      events_url: `/api/projections/${id}/events`,
    };
  }

  /** A projection from its record; one that was queued or running is `interrupted` (its worker is gone). */
  static restore(record: ProjectionRecord<ProjectionStatus>, options: ProjectionJobsOptions): ProjectionJob {
    const status = record.status as ProjectionStatus & { label?: number };
    const job = new ProjectionJob(status.id, record.dir, undefined, options, status);
    job.#label = status.label;
    if (!job.finished) {
      if (record.pid !== null) killOrphan(record.pid, record.dir);
      job.#status.state = "interrupted";
      job.#status.finished_at = new Date().toISOString();
      job.#status.error = "the server stopped while this projection ran; post the tile again";
      job.record();
    }
    job.#done.resolve();
    return job;
  }

  get state(): ProjectionState {
    return this.#status.state;
  }

  get finished(): boolean {
    return FINISHED_PROJECTION_STATES.includes(this.state);
  }

  get started(): boolean {
    return this.#status.started_at !== null;
  }

  get step(): number {
    return this.#status.step;
  }

  get steps(): number {
    return this.#status.steps;
  }

  /** Resolves when anything new happens; take it before reading the events. */
  get changed(): Promise<void> {
    return this.#changed.promise;
  }

  /** Resolves when the projection has finished. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  get lastEventId(): number {
    return this.#nextEventId - 1;
  }

  eventsFrom(from: number): StoredEvent[] {
    return this.#events.filter((e) => e.id >= from);
  }

  status(): ProjectionStatus {
    return structuredClone(this.#status);
  }

  /** Folder of the previews, and of the result once done. */
  get previewsDir(): string {
    return join(this.dir, "previews");
  }

  get resultDir(): string {
    return join(this.dir, "result");
  }

  /** The finished projection's w and place (read from result/). */
  async loadTile(): Promise<ProjectedTile> {
    const w = JSON.parse(await Deno.readTextFile(join(this.resultDir, "w.json"))) as ProjectedW;
    const tile: ProjectedTile = {
      id: this.id,
      model: this.#status.model,
      dlatents: Float32Array.from(w.dlatents),
      wPlus: w.w_plus,
      label: this.#label,
    };
    if (this.#status.geotiff_url) {
      const file = await openGeoTiff(join(this.resultDir, "reconstruction.tif"));
      try {
        const geo = file.info.geo;
        if (geo) {
          tile.geo = { geoTransform: geo.geoTransform, geoKeys: geo.crs.geoKeys, width: file.info.width };
        }
      } finally {
        await file.close();
      }
    }
    return tile;
  }

  /** The w file as GET shows it (done projections only). */
  async w(): Promise<ProjectedW | null> {
    if (this.state !== "done") return null;
    return JSON.parse(await Deno.readTextFile(join(this.resultDir, "w.json"))) as ProjectedW;
  }

  /** Run the worker to its end; resolves with the measured seconds per step (undefined when it failed). */
  async run(): Promise<number | undefined> {
    this.#status.state = "running";
    this.#status.started_at = new Date().toISOString();
    let stderrLog: Deno.FsFile;
    try {
      ({ child: this.#child, stderrLog } = await startJobProcess(
        this.dir,
        WORKER_SCRIPT,
        [this.dir],
        this.options.env,
      ));
    } catch (e) {
      this.#status.error = `the projection process could not be started: ${(e as Error).message}`;
      this.#finish("failed");
      return undefined;
    }
    // A stop that came while the process was being started.
    if (this.#stopping) signalJobProcess(this.#child, "SIGKILL");
    this.record();
    this.#push("state", { state: "running" });
    const stdout = forEachLine(this.#child.stdout, (line) => this.#onLine(line));
    const stderr = forEachLine(this.#child.stderr, async (line) => {
      this.#stderrTail.push(line);
      if (this.#stderrTail.length > 20) this.#stderrTail.shift();
      await stderrLog.write(new TextEncoder().encode(line + "\n")).catch(() => {});
    });
    let exit: Deno.CommandStatus | undefined;
    try {
      [exit] = await Promise.all([this.#child.status, stdout, stderr]);
    } catch (e) {
      this.#status.error = `lost the projection process: ${(e as Error).message}`;
    } finally {
      stderrLog.close();
    }
    // A worker that finished before a stop could reach it has a complete result: it is done all the same.
    if (exit?.success && this.#status.psnr_db !== null) {
      this.#finish("done");
      return this.#status.seconds! / Math.max(1, this.#status.steps);
    }
    if (this.#stopping) {
      this.#status.error = this.#stopping === "interrupted"
        ? "the server stopped while this projection ran; post the tile again"
        : null;
      this.#finish(this.#stopping);
      return undefined;
    }
    if (this.#status.error === null) {
      const tail = this.#stderrTail.join("\n").trim();
      const how = exit?.signal ? `was killed by ${exit.signal}` : `exited with code ${exit?.code}`;
      this.#status.error = tail || `the projection process ${how} before finishing`;
    }
    this.#finish("failed");
    return undefined;
  }

  /**
   * Stop the projection and wait until it has finished: `cancelled` (a DELETE) or `interrupted` (server
   * shutdown). A queued one ends at once; a running one's worker is killed (it has nothing to save: a
   * projection is started again from its upload, not resumed). The first stop's state wins.
   */
  async stop(final: "cancelled" | "interrupted"): Promise<void> {
    if (this.finished) return;
    this.#stopping ??= final;
    if (this.state === "queued") {
      this.#status.error = this.#stopping === "interrupted"
        ? "the server stopped before this projection started; post the tile again"
        : null;
      this.#finish(this.#stopping);
      return;
    }
    // Running: run() kills a worker that is still being started once it is.
    signalJobProcess(this.#child, "SIGKILL");
    await this.done;
  }

  #onLine(line: string): void {
    if (line.trim() === "") return;
    let event: ProjectionWorkerEvent;
    try {
      event = JSON.parse(line);
    } catch {
      return; // not an event (a library printing to stdout)
    }
    const s = this.#status;
    switch (event.type) {
      case "target":
        s.target.resampling = event.description;
        this.record();
        return this.#push("target", { resampling: event.description });
      case "progress":
        s.step = event.step;
        s.losses = event.losses;
        s.loss_curve.push(event.losses.total);
        return this.#push("progress", {
          step: event.step,
          steps: event.steps,
          learning_rate: event.learning_rate,
          losses: event.losses,
        });
      case "preview": {
        s.latest_reconstruction = `/api/projections/${this.id}/reconstruction.png?step=${event.step}`;
        this.record(); // every few steps, so a server that dies mid-projection leaves how far it got
        return this.#push("reconstruction", { step: event.step, url: s.latest_reconstruction });
      }
      case "done":
        s.psnr_db = event.psnr_db;
        s.final_losses = event.final_losses;
        s.seconds = event.seconds;
        s.reconstruction_url = `/api/projections/${this.id}/reconstruction.png`;
        s.geotiff_url = event.files.includes("reconstruction.tif")
          ? `/api/projections/${this.id}/reconstruction.tif`
          : null;
        return;
    }
  }

  #finish(state: ProjectionState): void {
    this.#status.state = state;
    this.#status.finished_at = new Date().toISOString();
    // State and final event together: a stream that sees the projection finished has its last event.
    this.#push("state", {
      state,
      ...(state === "done"
        ? { psnr_db: this.#status.psnr_db, reconstruction_url: this.#status.reconstruction_url }
        : {}),
      ...(this.#status.error ? { error: this.#status.error } : {}),
    });
    this.record();
    this.#done.resolve();
  }

  /** Write the record (when the server keeps them); a failed write is logged, the projection goes on. */
  record(): void {
    const records = this.options.records;
    if (!records) return;
    try {
      records.save({
        status: { ...this.#status, ...(this.#label !== undefined ? { label: this.#label } : {}) },
        dir: this.dir,
        pid: this.finished ? null : this.#child?.pid ?? null,
      });
    } catch (e) {
      console.error(`projection ${this.id}: the record could not be written: ${(e as Error).message}`);
    }
  }

  #push(event: string, data: Record<string, unknown>): void {
    this.#events.push({ id: this.#nextEventId++, event, data });
    if (this.#events.length > (this.options.keepEvents ?? 1000)) this.#events.shift();
    const changed = this.#changed;
    this.#changed = Promise.withResolvers<void>();
    changed.resolve();
  }
}

/** What a projection id looks like: `p` + UTC time + 4 random hex digits, e.g. `p20250101-120000-3fa9`. */
export const PROJECTION_ID_PATTERN = /^p\d{8}-\d{6}-[0-9a-f]{4}$/;

function newProjectionId(): string {
  const time = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const random = crypto.getRandomValues(new Uint8Array(2));
  return `p${time}-${Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Kill a worker left running by a server that went away, if `pid` is still one (its command line names `dir`). */
function killOrphan(pid: number, dir: string): void {
  let cmdline: string;
  try {
    cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
  } catch {
    return;
  }
  if (!cmdline.split("\0").some((arg) => arg === dir || arg.startsWith(dirname(dir) + "/"))) return;
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // exited meanwhile
  }
}
