/**
 * Server configuration: limits, queue, models, security. Defaults in one place; every value can be set
 * through an `SGAN_*` environment variable (see {@link ENV_VARIABLES}).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { RUNTIME_SETTINGS } from "../model/runtime.ts";

/** Request limits; anything over them is a 400 that names the limit. */
export interface Limits {
  /** Seeds in one seed list of a figure (truncation rows, mixing sources or destinations). */
  maxSeeds: number;
  /** ψ values in one truncation figure. */
  maxPsis: number;
  /** Tiles in one figure (grid tiles, truncation seeds × ψ, mixing (sources + 1) × (destinations + 1)). */
  maxCells: number;
  /** Side in pixels of a resampled tile (`size=` of /generate, `tile=` of figures). */
  maxSize: number;
  /** Pixels in one figure canvas. */
  maxFigurePixels: number;
  /** Optimisation steps of one projection (`steps=` of POST /api/projections). */
  maxProjectionSteps: number;
}

/** Projections of real tiles (POST /api/projections). */
export interface ProjectionOptions {
  /** Largest upload in bytes (413 beyond). */
  maxBytes: number;
  /** Largest image in pixels, by its header (413 beyond: a decompression bomb is refused unread). */
  maxPixels: number;
  /** Projections running at once, each in its own worker process. */
  workers: number;
  /** Projections waiting beyond the running ones before new ones are refused with 503. */
  maxQueued: number;
  /** A preview of the reconstruction (an SSE event with its URL) every this many steps. */
  previewEvery: number;
  /** Mapped samples for the W spread (projector.py: 10,000). */
  wAvgSamples: number;
}

/** How generation work is queued and batched. */
export interface QueueOptions {
  /** Images waiting or running before new work is refused with 503. */
  maxQueuedImages: number;
  /** Estimated wait (seconds) beyond which new work is refused with 503. */
  maxWaitS: number;
  /** Images in one synthesis batch. */
  maxBatchImages: number;
  /**
   * Output pixels in one synthesis batch; a single image always fits. On the CPU backends batching pays off
   * only for small tiles (per-call overhead), while a batch of large tiles just makes every request in it wait
   * for the slowest, so the default batches up to 16 tiles of 64 px and runs 256 px tiles one at a time. Raise
   * it on a GPU backend.
   */
  maxBatchPixels: number;
  /** Whether concurrent requests for the same model, depth and noise share a batch. */
  batching: boolean;
}

/** Everything the app needs to know. */
export interface ServerConfig {
  limits: Limits;
  queue: QueueOptions;
  /**
   * Whether POST /api/projections is served (403 otherwise). `serve` defaults to on; the library default is
   * off (tests and embedders write no projection files unless they ask).
   */
  projections: boolean;
  projection: ProjectionOptions;
  /** Folder of the projections' files; undefined: `projections/` beside the runs folder (`runs/projections`). */
  projectionsDir?: string;
  /** Folder of extra generator checkpoints (`*.safetensors`), or undefined. */
  modelsDir?: string;
  /** Name of the default model (an embedded one); undefined: the registry's default. */
  defaultModel?: string;
  /** Generators kept in memory at once. */
  maxLoadedModels: number;
  /** Bearer token that switches the training routes on; undefined keeps them off. */
  token?: string;
  /** Folder that training dataset paths must lie under. */
  dataRoot?: string;
  /**
   * Folder of the training jobs' run directories (relative to the working directory unless absolute). Without
   * `modelsDir`, finished jobs' generators go to its `models/` subfolder, which the model list then includes.
   */
  runsDir: string;
  /**
   * The server's SQLite database (job records that outlive a restart); undefined: `sgan.sqlite` beside the
   * runs folder (`runs/sgan.sqlite` by default).
   */
  databasePath?: string;
  /**
   * The machine's memory in bytes, against which training settings are checked (a 400 for settings that cannot
   * fit); read once by createServices when not given.
   */
  memoryBytes?: number;
  /** Origins allowed to call the API from a browser (`*` for any); empty for same-origin only. */
  corsOrigins: string[];
  /** Folder served at `/` and `/widgets/`. */
  staticDir: string;
  /** Bytes of encoded images kept for repeated deterministic requests (0 = off). */
  responseCacheBytes: number;
  /**
   * Synthesis worker processes: 0 generates in the server process; "auto" starts one per core on the wasm and
   * cpu backends (which use one core per process) and none on GPU backends. `serve` defaults to "auto"; the
   * library default is 0 (tests and embedders start no processes unless they ask).
   */
  workers: number | "auto";
}

/** The default limits (the issue's). */
export const DEFAULT_LIMITS: Limits = {
  maxSeeds: 32,
  maxPsis: 16,
  maxCells: 256,
  maxSize: 2048,
  maxFigurePixels: 4096 * 4096,
  maxProjectionSteps: 2000,
};

/** The default projection settings. */
export const DEFAULT_PROJECTION: ProjectionOptions = {
  maxBytes: 64 * 2 ** 20,
  maxPixels: 40_000_000,
  workers: 1,
  maxQueued: 4,
  previewEvery: 10,
  wAvgSamples: 10_000,
};

/** The default queue. */
export const DEFAULT_QUEUE: QueueOptions = {
  maxQueuedImages: 512,
  maxWaitS: 60,
  maxBatchImages: 16,
  maxBatchPixels: 16 * 64 * 64,
  batching: true,
};

/** The default configuration. */
export const DEFAULT_CONFIG: ServerConfig = {
  limits: DEFAULT_LIMITS,
  queue: DEFAULT_QUEUE,
  projections: false,
  projection: DEFAULT_PROJECTION,
  maxLoadedModels: 4,
  runsDir: "runs/jobs",
  corsOrigins: [],
  staticDir: fileURLToPath(new URL("../static", import.meta.url)),
  responseCacheBytes: 64 * 1024 * 1024,
  workers: 0,
};

/** A configuration value that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Every environment variable the server reads, with its meaning (printed by `--help`). The runtime's (backend,
 * OpenBLAS, kernels, WebGPU, flags, font) come from model/runtime.ts's table, where they are parsed.
 */
export const ENV_VARIABLES: Record<string, string> = {
  PORT: "port to listen on (default 8000; 0 picks a free one)",
  HOST: "address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)",
  ...Object.fromEntries(
    RUNTIME_SETTINGS.map((
      s,
    ) => [s.env, `${s.meaning.replaceAll("`", "")} (default: ${s.default.replaceAll("`", "")})`]),
  ),
  SGAN_MODELS_DIR:
    "folder of extra generator checkpoints (*.safetensors); finished training jobs publish theirs here",
  SGAN_DEFAULT_MODEL:
    "embedded model served when a request names none (default: the first, the trained model)",
  SGAN_TOKEN: "bearer token that switches the training routes on",
  SGAN_DATA_ROOT: "folder that training dataset paths must lie under",
  SGAN_RUNS_DIR: `folder of training jobs' run directories (default ${DEFAULT_CONFIG.runsDir}; ` +
    "without SGAN_MODELS_DIR their generators go to its models/ subfolder)",
  SGAN_DATABASE:
    "the server's SQLite file of job records (default sgan.sqlite beside SGAN_RUNS_DIR: runs/sgan.sqlite)",
  SGAN_CORS_ORIGINS: "comma-separated origins allowed to embed the widgets (* for any)",
  SGAN_STATIC_DIR: "folder served at / and /widgets/ (default static/)",
  SGAN_MAX_SEEDS: `seeds per figure seed list (default ${DEFAULT_LIMITS.maxSeeds})`,
  SGAN_MAX_PSIS: `ψ values per truncation figure (default ${DEFAULT_LIMITS.maxPsis})`,
  SGAN_MAX_CELLS: `tiles per figure (default ${DEFAULT_LIMITS.maxCells})`,
  SGAN_MAX_SIZE: `largest size= / tile= in pixels (default ${DEFAULT_LIMITS.maxSize})`,
  SGAN_MAX_FIGURE_PIXELS: `pixels per figure canvas (default ${DEFAULT_LIMITS.maxFigurePixels})`,
  SGAN_MAX_PROJECTION_STEPS: `steps= of one projection (default ${DEFAULT_LIMITS.maxProjectionSteps})`,
  SGAN_PROJECTIONS: "1 (default under serve) serves POST /api/projections, 0 switches it off (403)",
  SGAN_PROJECTIONS_DIR: "folder of the projections' files (default projections/ beside SGAN_RUNS_DIR)",
  SGAN_PROJECTION_MAX_MB: `largest projection upload in MiB (default ${
    DEFAULT_PROJECTION.maxBytes / 2 ** 20
  })`,
  SGAN_PROJECTION_MAX_PIXELS: `largest projection image in pixels (default ${DEFAULT_PROJECTION.maxPixels})`,
  SGAN_PROJECTION_WORKERS: `projections run at once (default ${DEFAULT_PROJECTION.workers})`,
  SGAN_PROJECTION_QUEUE: `projections waiting before 503 (default ${DEFAULT_PROJECTION.maxQueued})`,
  SGAN_QUEUE_IMAGES: `images queued before 503 (default ${DEFAULT_QUEUE.maxQueuedImages})`,
  SGAN_QUEUE_WAIT_S: `estimated queue wait in seconds before 503 (default ${DEFAULT_QUEUE.maxWaitS})`,
  SGAN_BATCH_IMAGES: `images per synthesis batch (default ${DEFAULT_QUEUE.maxBatchImages})`,
  SGAN_BATCH_PIXELS: `output pixels per synthesis batch (default ${DEFAULT_QUEUE.maxBatchPixels})`,
  SGAN_BATCHING: "1 (default) batches concurrent requests together, 0 runs each request alone",
  SGAN_MAX_LOADED_MODELS: `generators kept in memory (default ${DEFAULT_CONFIG.maxLoadedModels})`,
  SGAN_WORKERS:
    "synthesis worker processes: auto (default: one per core on wasm/cpu, none on GPUs) or N (0: none)",
  SGAN_CACHE_MB: `megabytes of encoded images cached (default ${
    DEFAULT_CONFIG.responseCacheBytes / 2 ** 20
  }; 0 = off)`,
};

/** Overrides of the defaults; `limits` and `queue` may be partial too. */
export type ConfigOverrides = Partial<Omit<ServerConfig, "limits" | "queue" | "projection">> & {
  limits?: Partial<Limits>;
  queue?: Partial<QueueOptions>;
  projection?: Partial<ProjectionOptions>;
};

/** A full configuration from defaults and overrides (nested objects merged). */
export function resolveConfig(partial: ConfigOverrides = {}): ServerConfig {
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    ...partial,
    limits: { ...DEFAULT_LIMITS, ...partial.limits },
    queue: { ...DEFAULT_QUEUE, ...partial.queue },
    projection: { ...DEFAULT_PROJECTION, ...partial.projection },
  };
  checkConfig(config);
  return config;
}

/** The configuration described by environment variables (`get` reads one; default `Deno.env.get`). */
export function configFromEnv(
  get: (name: string) => string | undefined = (n) => Deno.env.get(n),
): ServerConfig {
  const int = (name: string, fallback: number, min = 1) => {
    const text = get(name)?.trim();
    if (text === undefined || text === "") return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) {
      throw new ConfigError(`${name} must be an integer ≥ ${min}, got "${text}"`);
    }
    return value;
  };
  const flag = (name: string, fallback: boolean) => {
    const text = get(name)?.trim().toLowerCase();
    if (text === undefined || text === "") return fallback;
    if (["1", "true", "yes", "on"].includes(text)) return true;
    if (["0", "false", "no", "off"].includes(text)) return false;
    throw new ConfigError(`${name} must be 1 or 0, got "${text}"`);
  };
  const text = (name: string) => get(name)?.trim() || undefined;
  return resolveConfig({
    limits: {
      maxSeeds: int("SGAN_MAX_SEEDS", DEFAULT_LIMITS.maxSeeds),
      maxPsis: int("SGAN_MAX_PSIS", DEFAULT_LIMITS.maxPsis),
      maxCells: int("SGAN_MAX_CELLS", DEFAULT_LIMITS.maxCells),
      maxSize: int("SGAN_MAX_SIZE", DEFAULT_LIMITS.maxSize),
      maxFigurePixels: int("SGAN_MAX_FIGURE_PIXELS", DEFAULT_LIMITS.maxFigurePixels),
      maxProjectionSteps: int("SGAN_MAX_PROJECTION_STEPS", DEFAULT_LIMITS.maxProjectionSteps),
    },
    projections: flag("SGAN_PROJECTIONS", true),
    projectionsDir: text("SGAN_PROJECTIONS_DIR"),
    projection: {
      maxBytes: int("SGAN_PROJECTION_MAX_MB", DEFAULT_PROJECTION.maxBytes / 2 ** 20) * 2 ** 20,
      maxPixels: int("SGAN_PROJECTION_MAX_PIXELS", DEFAULT_PROJECTION.maxPixels),
      workers: int("SGAN_PROJECTION_WORKERS", DEFAULT_PROJECTION.workers),
      maxQueued: int("SGAN_PROJECTION_QUEUE", DEFAULT_PROJECTION.maxQueued, 0),
    },
    queue: {
      maxQueuedImages: int("SGAN_QUEUE_IMAGES", DEFAULT_QUEUE.maxQueuedImages),
      maxWaitS: int("SGAN_QUEUE_WAIT_S", DEFAULT_QUEUE.maxWaitS),
      maxBatchImages: int("SGAN_BATCH_IMAGES", DEFAULT_QUEUE.maxBatchImages),
      maxBatchPixels: int("SGAN_BATCH_PIXELS", DEFAULT_QUEUE.maxBatchPixels),
      batching: flag("SGAN_BATCHING", DEFAULT_QUEUE.batching),
    },
    modelsDir: text("SGAN_MODELS_DIR"),
    defaultModel: text("SGAN_DEFAULT_MODEL"),
    maxLoadedModels: int("SGAN_MAX_LOADED_MODELS", DEFAULT_CONFIG.maxLoadedModels),
    token: text("SGAN_TOKEN"),
    dataRoot: text("SGAN_DATA_ROOT"),
    runsDir: text("SGAN_RUNS_DIR") ?? DEFAULT_CONFIG.runsDir,
    databasePath: text("SGAN_DATABASE"),
    corsOrigins: (get("SGAN_CORS_ORIGINS") ?? "").split(",").map((o) => o.trim()).filter(Boolean),
    staticDir: text("SGAN_STATIC_DIR") ?? DEFAULT_CONFIG.staticDir,
    responseCacheBytes: int("SGAN_CACHE_MB", DEFAULT_CONFIG.responseCacheBytes / 2 ** 20, 0) * 2 ** 20,
    workers: workersFrom(text("SGAN_WORKERS")),
  });
}

/** SGAN_WORKERS: unset or "auto", else a count of processes. */
function workersFrom(text: string | undefined): number | "auto" {
  if (text === undefined || text.toLowerCase() === "auto") return "auto";
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(
      `SGAN_WORKERS must be auto or an integer ≥ 0 (0: no worker processes), got "${text}"`,
    );
  }
  return value;
}

function checkConfig(config: ServerConfig): void {
  const { limits, queue } = config;
  if (queue.maxQueuedImages < limits.maxCells) {
    throw new ConfigError(
      `the queue (SGAN_QUEUE_IMAGES=${queue.maxQueuedImages}) must hold at least one full figure (SGAN_MAX_CELLS=${limits.maxCells})`,
    );
  }
  if (config.workers !== "auto" && !(Number.isInteger(config.workers) && config.workers >= 0)) {
    throw new ConfigError(`SGAN_WORKERS must be auto or an integer ≥ 0, got ${config.workers}`);
  }
  const { maxQueued: _zeroAllowed, ...projection } = config.projection;
  for (const [name, value] of Object.entries({ ...limits, ...queue, ...projection })) {
    if (typeof value === "number" && !(Number.isInteger(value) && value >= 1)) {
      throw new ConfigError(`${name} must be a positive integer, got ${value}`);
    }
  }
  for (const origin of config.corsOrigins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(
        `SGAN_CORS_ORIGINS: "${origin}" is not an origin like https://reports.example.org or *`,
      );
    }
  }
}
