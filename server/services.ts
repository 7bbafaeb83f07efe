/**
 * The long-lived parts of a server: models, generation queue, response cache, label font, training runner.
 * Built once by {@link createServices} and handed to `createApp`.
 *
 * @module
 */
import { type LabelFont, loadLabelFont } from "../model/figures/labels.ts";
import type { EmbeddedModel } from "../model/pretrained/registry.ts";
import { type ConfigOverrides, resolveConfig, type ServerConfig } from "./config.ts";
import { ResponseCache } from "./http_cache.ts";
import { ModelStore } from "./models.ts";
import { GenerationQueue } from "./queue.ts";
import type { TrainingJobs } from "./training/jobs.ts";

/** Everything the routes use. */
export interface Services {
  config: ServerConfig;
  models: ModelStore;
  queue: GenerationQueue;
  cache: ResponseCache;
  /** Label font; undefined when none is installed (figures are then drawn without labels). */
  font?: LabelFont;
  /** Training runner; undefined until the training loop exists (POST /api/train answers 501). */
  training?: TrainingJobs;
}

/** Options of {@link createServices}. */
export interface ServiceOptions {
  /** Configuration (merged with the defaults). */
  config?: ConfigOverrides;
  /** Label font: a font, null for none, or undefined to look for one (see `loadLabelFont`). */
  font?: LabelFont | null;
  /** Embedded models (default: the registry's). */
  embedded?: EmbeddedModel[];
  training?: TrainingJobs;
}

/** Build the services. */
export async function createServices(options: ServiceOptions = {}): Promise<Services> {
  const config = resolveConfig(options.config);
  const font = options.font === null ? undefined : options.font ?? (await loadLabelFont());
  return {
    config,
    models: new ModelStore({
      embedded: options.embedded,
      modelsDir: config.modelsDir,
      maxLoaded: config.maxLoadedModels,
    }),
    queue: new GenerationQueue(config.queue),
    cache: new ResponseCache(config.responseCacheBytes),
    font,
    training: options.training,
  };
}
