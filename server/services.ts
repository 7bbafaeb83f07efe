/**
 * The long-lived parts of a server: models, generation queue, response cache, label font, training jobs.
 * Built once by {@link createServices} and handed to `createApp`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { dirname, join, resolve } from "node:path";
import { type LabelFont, loadLabelFont } from "../model/figures/labels.ts";
import { EMBEDDED_MODELS, type EmbeddedModel } from "../model/pretrained/registry.ts";
import { defaultRuntime, type Runtime } from "../model/runtime.ts";
import { type ConfigOverrides, resolveConfig, type ServerConfig } from "./config.ts";
import { ResponseCache } from "./http_cache.ts";
import { ModelStore } from "./models.ts";
import { GenerationQueue } from "./queue.ts";
import { createSynthesizer } from "./synthesizer.ts";
import { Store } from "./store/database.ts";
import { TrainingRecords } from "./store/training_records.ts";
import { TrainingJobs, type TrainingJobStatus } from "./training/jobs.ts";
import { ProjectionJobs, type ProjectionStatus } from "./projection/jobs.ts";
import { ProjectionRecords } from "./store/projection_records.ts";

/** Everything the routes use. */
export interface Services {
  config: ServerConfig;
  /** How the networks run (backend settings, OpenBLAS, WebGPU pipelines, label font): the entry point's. */
  runtime: Runtime;
  models: ModelStore;
  queue: GenerationQueue;
  cache: ResponseCache;
  /** Label font; undefined when none is installed (figures are then drawn without labels). */
  font?: LabelFont;
  /** Training jobs (their routes are off without a token). */
  training: TrainingJobs;
  /** Projections of real tiles (undefined while SGAN_PROJECTIONS is off). */
  projections?: ProjectionJobs;
  /** The server's database (job and projection records); undefined while neither needs it. */
  store?: Store;
  /** Stop what runs beside the requests: training jobs (at their safe point) and synthesis workers. */
  close(): Promise<void>;
}

/** Options of {@link createServices}. */
export interface ServiceOptions {
  /** Configuration (merged with the defaults). */
  config?: ConfigOverrides;
  /**
   * The runtime `initBackend` was given (default: every setting at its default): its webgpu settings choose the
   * generators' inference engine, its font is tried first for labels, and synthesis workers run with it.
   */
  runtime?: Runtime;
  /** Label font: a font, null for none, or undefined to look for one (see `loadLabelFont`). */
  font?: LabelFont | null;
  /** Embedded models (default: the registry's). */
  embedded?: EmbeddedModel[];
  /** Training jobs (default: jobs in the configured runs folder, publishing to the models folder). */
  training?: TrainingJobs;
}

/** Build the services. */
export async function createServices(options: ServiceOptions = {}): Promise<Services> {
  const config = resolveConfig(options.config);
  config.memoryBytes ??= Deno.systemMemoryInfo().total; // read once, here, for the training-settings check
  const runtime = options.runtime ?? defaultRuntime();
  const font = options.font === null
    ? undefined
    : options.font ?? (await loadLabelFont({ preferred: runtime.font }));
  // Finished jobs publish where the store looks: SGAN_MODELS_DIR, else the runs folder's models/.
  const modelsDir = config.modelsDir ?? join(resolve(config.runsDir), "models");
  const queue = new GenerationQueue(
    config.queue,
    await createSynthesizer(config.workers, undefined, runtime),
  );
  // The database is opened where it has records to keep: training jobs (which need a token), projections.
  const needsStore = (!options.training && config.token) || config.projections;
  const store = needsStore ? await Store.open(databasePathOf(config)) : undefined;
  const projections = config.projections
    ? new ProjectionJobs({
      dir: projectionsDirOf(config),
      concurrency: config.projection.workers,
      maxQueued: config.projection.maxQueued,
      previewEvery: config.projection.previewEvery,
      wAvgSamples: config.projection.wAvgSamples,
      backend: tf.getBackend(),
      records: new ProjectionRecords<ProjectionStatus>(store!),
    })
    : undefined;
  const training = options.training ??
    new TrainingJobs({
      runsDir: config.runsDir,
      modelsDir,
      dataRoot: config.dataRoot,
      records: store && !options.training && config.token
        ? new TrainingRecords<TrainingJobStatus>(store)
        : undefined,
    });
  return {
    config,
    runtime,
    models: new ModelStore({
      embedded: withDefaultFirst(options.embedded ?? EMBEDDED_MODELS, config.defaultModel),
      modelsDir,
      maxLoaded: config.maxLoadedModels,
      runtime,
    }),
    queue,
    cache: new ResponseCache(config.responseCacheBytes),
    font,
    training,
    projections,
    store,
    close: async () => {
      await training.close();
      await projections?.close();
      await queue.synthesizer.close();
      store?.close();
    },
  };
}

/** The database file: SGAN_DATABASE, else `sgan.sqlite` beside the runs folder (`runs/sgan.sqlite`). */
export function databasePathOf(config: ServerConfig): string {
  return config.databasePath ?? join(dirname(resolve(config.runsDir)), "sgan.sqlite");
}

/** The projections' folder: SGAN_PROJECTIONS_DIR, else `projections/` beside the runs folder. */
export function projectionsDirOf(config: ServerConfig): string {
  return resolve(config.projectionsDir ?? join(dirname(resolve(config.runsDir)), "projections"));
}

/** The embedded models with the configured default first (the store serves its first as the default). */
function withDefaultFirst(models: EmbeddedModel[], name: string | undefined): EmbeddedModel[] {
  if (!name) return models;
  const chosen = models.find((m) => m.name === name);
  if (!chosen) {
    throw new Error(
      `SGAN_DEFAULT_MODEL=${name}: no embedded model of that name (${models.map((m) => m.name).join(", ")})`,
    );
  }
  return [chosen, ...models.filter((m) => m !== chosen)];
}
