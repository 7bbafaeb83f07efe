/**
 * The models the server offers: the embedded default model plus every generator checkpoint
 * (`*.safetensors`) in `SGAN_MODELS_DIR` (or, without it, `SGAN_RUNS_DIR/models`, where training jobs publish),
 * named by file stem; `<stem>.discriminator.safetensors` is that model's discriminator (for the projection's
 * D-feature loss), never a model of its own. Listing reads only the safetensors headers
 * (rescanned on each call, so checkpoints written by training appear without a restart); generators are
 * loaded on first use and kept, least recently used first out, up to `maxLoaded`.
 *
 * @module
 */
import { basename, join } from "node:path";
import {
  classNamesFromMetadata,
  DISCRIMINATOR_SUFFIX,
  discriminatorFileOf,
  loadGenerator,
} from "../model/checkpoint/checkpoint.ts";
import { loadGeneratorForInference } from "../model/serving.ts";
import { defaultRuntime, type Runtime } from "../model/runtime.ts";
import { fileFingerprint } from "../model/files.ts";
import type { Generator } from "../model/networks/generator.ts";
import {
  DISCRIMINATOR_DEFAULTS,
  GENERATOR_DEFAULTS,
  type GeneratorOptions,
} from "../model/networks/options.ts";
import { DEFAULT_MODEL, EMBEDDED_MODELS, type EmbeddedModel } from "../model/pretrained/registry.ts";
import { maxDepthOf, type ScaleRow, scaleTable } from "../model/scale.ts";
import { ModelLoadError, NotFoundError } from "./errors.ts";

export { DISCRIMINATOR_SUFFIX } from "../model/checkpoint/checkpoint.ts";

/** What a model name may look like (it is a file stem, and travels in URLs). */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A model's description, as /api/models returns it. */
export interface ModelInfo {
  /** Name used by `model=`. */
  name: string;
  /** `embedded` (shipped with the server) or `models_dir` (from SGAN_MODELS_DIR). */
  source: "embedded" | "models_dir";
  /** Free text from the checkpoint. */
  description: string | null;
  /** Output resolution in pixels. */
  resolution: number;
  /** Image channels (bands). */
  channels: number;
  /** Style layers (2 per depth). */
  style_layers: number;
  /** Depths (output resolutions), 0 = 4 px. */
  depths: number;
  /** Thousands of images the model was trained on, if recorded. */
  kimg: number | null;
  /** Metres per pixel at full resolution, if recorded. */
  gsd_m: number | null;
  /** Side of a tile on the ground in metres (null without gsd_m). */
  tile_extent_m: number | null;
  /** The model's default truncation. */
  truncation: { psi: number; cutoff: number };
  /** The generator's hyper-parameters. */
  config: GeneratorOptions;
  /** Quality metrics recorded with the checkpoint (e.g. sliced Wasserstein distance per level), or null. */
  metrics: Record<string, unknown> | null;
  /** depth ↔ pixels ↔ metres per pixel ↔ style layers ↔ the ground features each scale holds. */
  scale: ScaleEntry[];
  /** A conditional model's classes (land uses), by label index; empty for an unconditional model. */
  classes: string[];
}

/** One row of the scale table; the metre fields are null when the model has no ground resolution. */
export type ScaleEntry =
  | ScaleRow
  | (Pick<ScaleRow, "depth" | "pixels" | "style_layers"> & {
    metres_per_pixel: null;
    tile_extent_m: null;
    smallest_feature_m: null;
    holds: null;
  });

/** A generator ready to run. */
export interface LoadedModel {
  info: ModelInfo;
  generator: Generator;
  /** SHA-256 of the checkpoint file: part of every ETag, so a replaced file never serves stale tiles. */
  fingerprint: string;
  /** Checkpoint file and its size:mtime when loaded. */
  file: string;
  stamp: string;
  /** Requests using it now (a model in use is never disposed). */
  users: number;
  /** Evicted or replaced: no new request gets it; disposed once `users` reaches 0. */
  retired: boolean;
  disposed: boolean;
}

interface LoadSlot {
  promise: Promise<LoadedModel>;
  /** Set once loaded. */
  model?: LoadedModel;
}

interface CatalogueEntry {
  name: string;
  file: string;
  source: ModelInfo["source"];
}

/** Options of a {@link ModelStore}. */
export interface ModelStoreOptions {
  /** Models shipped with the server (default: the registry's). */
  embedded?: EmbeddedModel[];
  /** Folder of extra checkpoints. */
  modelsDir?: string;
  /** Generators kept loaded. */
  maxLoaded?: number;
  /** The runtime whose webgpu settings choose each loaded generator's inference engine (default: the defaults). */
  runtime?: Pick<Runtime, "webgpu">;
}

/** The server's models. */
export class ModelStore {
  readonly defaultName: string;
  readonly #embedded: EmbeddedModel[];
  readonly #modelsDir?: string;
  readonly #maxLoaded: number;
  readonly #runtime: Pick<Runtime, "webgpu">;
  readonly #headers = new Map<string, { stamp: string; info: ModelInfo | null }>();
  readonly #loaded = new Map<string, LoadSlot>();

  constructor(options: ModelStoreOptions = {}) {
    this.#embedded = options.embedded ?? EMBEDDED_MODELS;
    this.defaultName = (this.#embedded[0] ?? DEFAULT_MODEL).name;
    this.#modelsDir = options.modelsDir;
    this.#maxLoaded = Math.max(1, options.maxLoaded ?? 4);
    this.#runtime = options.runtime ?? defaultRuntime();
  }

  /** Every model, embedded first, then the models folder in name order. Unreadable files are skipped. */
  async list(): Promise<ModelInfo[]> {
    const out: ModelInfo[] = [];
    for (const entry of await this.#catalogue()) {
      const info = await this.#describe(entry);
      if (info) out.push(info);
    }
    return out;
  }

  /** Names of every model. */
  async names(): Promise<string[]> {
    return (await this.list()).map((m) => m.name);
  }

  /** One model's description; 404 for an unknown name. */
  async describe(name: string): Promise<ModelInfo> {
    const entry = await this.#find(name);
    const info = await this.#describe(entry);
    if (!info) throw new ModelLoadError(name, "its safetensors header cannot be read");
    return info;
  }

  /**
   * Run `fn` with a loaded generator (the default model when `name` is undefined); 404 for an unknown name.
   * The model cannot be evicted while `fn` runs. A checkpoint file replaced since it was loaded is reloaded.
   */
  async use<T>(name: string | undefined, fn: (model: LoadedModel) => Promise<T>): Promise<T> {
    const model = await this.#acquire(name ?? this.defaultName);
    try {
      return await fn(model);
    } finally {
      model.users--;
      if (model.retired) this.#disposeIfIdle(model);
      else this.#evict();
    }
  }

  async #acquire(name: string): Promise<LoadedModel> {
    for (let attempt = 0;; attempt++) {
      let slot = this.#loaded.get(name);
      if (!slot) {
        const entry = await this.#find(name);
        slot = this.#loaded.get(name) ?? this.#startLoading(name, entry);
      }
      const model = await slot.promise;
      // Re-check after every await: another request may have evicted or replaced it meanwhile.
      if (model.retired) continue;
      if (attempt < 3 && (await fileStamp(model.file)) !== model.stamp) {
        this.#retire(name, model);
        continue;
      }
      if (model.retired) continue;
      this.#loaded.delete(name); // re-insert at the back: Map order is the eviction order
      this.#loaded.set(name, slot);
      model.users++;
      this.#evict();
      return model;
    }
  }

  #startLoading(name: string, entry: CatalogueEntry): LoadSlot {
    const slot: LoadSlot = { promise: this.#loadEntry(entry) };
    this.#loaded.set(name, slot);
    slot.promise.then((model) => (slot.model = model), () => {
      if (this.#loaded.get(name) === slot) this.#loaded.delete(name);
    });
    return slot;
  }

  /** Take a model out of service; its tensors are freed once no request uses it. */
  #retire(name: string, model: LoadedModel): void {
    if (this.#loaded.get(name)?.model === model) this.#loaded.delete(name);
    model.retired = true;
    this.#disposeIfIdle(model);
  }

  #disposeIfIdle(model: LoadedModel): void {
    if (model.users === 0 && !model.disposed) {
      model.disposed = true;
      model.generator.dispose();
    }
  }

  /** Free every loaded generator. */
  async dispose(): Promise<void> {
    const slots = [...this.#loaded.values()];
    this.#loaded.clear();
    for (const slot of slots) {
      try {
        const model = await slot.promise;
        model.retired = true;
        model.users = 0;
        this.#disposeIfIdle(model);
      } catch {
        // failed loads hold nothing
      }
    }
  }

  /**
   * The discriminator shipped with a model, for the projection's D-feature loss: the file
   * `<stem>.discriminator.safetensors` beside the generator's (in SGAN_MODELS_DIR, or beside an embedded
   * model), holding a discriminator (by its header) for the model's resolution and channels. `why` says what
   * is missing when there is none (file names only, not where they live); 404 for an unknown model.
   */
  async discriminatorOf(name: string): Promise<{ file: string } | { why: string }> {
    const entry = await this.#find(name);
    const file = discriminatorFileOf(entry.file);
    const shown = basename(file);
    let metadata: Record<string, string>;
    try {
      metadata = await readSafetensorsMetadata(file);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        return { why: `model '${name}' ships no discriminator (no ${shown} beside its generator)` };
      }
      return { why: `${shown} cannot be read: ${(e as Error).message.replaceAll(file, shown)}` };
    }
    if (metadata.network && metadata.network !== "discriminator") {
      return { why: `${shown} holds a ${metadata.network}, not a discriminator` };
    }
    const config = jsonObject(metadata.config);
    const info = await this.describe(name);
    // Without a config in its header (a plain PyTorch state_dict), the worker checks D against G when it loads.
    if (config) {
      const resolution = config.resolution;
      const channels = config.num_channels ?? DISCRIMINATOR_DEFAULTS.num_channels;
      if (resolution !== info.resolution || channels !== info.channels) {
        return {
          why: `${shown} is for ${resolution} px, ${channels}-band images; model '${name}' makes ` +
            `${info.resolution} px, ${info.channels}-band ones`,
        };
      }
    }
    return { file };
  }

  async #find(name: string): Promise<CatalogueEntry> {
    const catalogue = await this.#catalogue();
    const entry = catalogue.find((e) => e.name === name);
    if (!entry) throw new NotFoundError(`unknown model '${name}'`, "model", catalogue.map((e) => e.name));
    return entry;
  }

  async #catalogue(): Promise<CatalogueEntry[]> {
    const entries: CatalogueEntry[] = this.#embedded.map((m) => ({
      name: m.name,
      file: m.file,
      source: "embedded",
    }));
    if (!this.#modelsDir) return entries;
    const taken = new Set(entries.map((e) => e.name));
    const found: CatalogueEntry[] = [];
    try {
      for await (const item of Deno.readDir(this.#modelsDir)) {
        if (!item.isFile || !item.name.endsWith(".safetensors")) continue;
        if (item.name.endsWith(DISCRIMINATOR_SUFFIX)) continue; // a model's D (discriminatorOf), never a model

        const name = basename(item.name, ".safetensors");
        if (taken.has(name) || !MODEL_NAME_PATTERN.test(name)) continue; // embedded names win; names must be URL-safe
        found.push({ name, file: join(this.#modelsDir, item.name), source: "models_dir" });
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    found.sort((a, b) => a.name.localeCompare(b.name));
    // Only generators count; the header says which network a file holds.
    const generators: CatalogueEntry[] = [];
    for (const entry of found) if (await this.#describe(entry)) generators.push(entry);
    return [...entries, ...generators];
  }

  async #describe(entry: CatalogueEntry): Promise<ModelInfo | null> {
    const stamp = await fileStamp(entry.file);
    if (stamp === "gone") return null;
    const cached = this.#headers.get(entry.file);
    if (cached?.stamp === stamp) return cached.info;
    let info: ModelInfo | null = null;
    try {
      const metadata = await readSafetensorsMetadata(entry.file);
      if (!metadata.network || metadata.network === "generator") {
        const options = configOf(metadata) ?? (await this.#inferOptions(entry));
        info = describeModel(entry, metadata, options);
      }
    } catch {
      info = null; // unreadable or not a generator: not offered
    }
    this.#headers.set(entry.file, { stamp, info });
    return info;
  }

  /** Options of a checkpoint without a config header (a plain PyTorch state_dict): load it once to infer them. */
  async #inferOptions(entry: CatalogueEntry): Promise<GeneratorOptions> {
    const { network } = await loadGenerator(entry.file);
    const options = network.options;
    network.dispose();
    return options;
  }

  async #loadEntry(entry: CatalogueEntry): Promise<LoadedModel> {
    try {
      const stamp = await fileStamp(entry.file);
      const fingerprint = await fileFingerprint(entry.file);
      const { network, metadata } = await loadGeneratorForInference(entry.file, this.#runtime);
      return {
        info: describeModel(entry, metadata, network.options),
        generator: network,
        fingerprint,
        file: entry.file,
        stamp,
        users: 0,
        retired: false,
        disposed: false,
      };
    } catch (e) {
      // Name the file, not where it lives on the server.
      throw new ModelLoadError(entry.name, (e as Error).message.replaceAll(entry.file, basename(entry.file)));
    }
  }

  /** Retire the least recently used idle models beyond `maxLoaded`. */
  #evict(): void {
    let excess = this.#loaded.size - this.#maxLoaded;
    for (const [name, slot] of [...this.#loaded]) {
      if (excess <= 0) break;
      if (slot.model && slot.model.users === 0) {
        this.#retire(name, slot.model);
        excess--;
      }
    }
  }
}

/** The model description from a checkpoint's header metadata and its generator options. */
export function describeModel(
  entry: { name: string; source: ModelInfo["source"] },
  metadata: Record<string, string>,
  config: GeneratorOptions,
): ModelInfo {
  const gsd = positiveNumber(metadata.gsd_m);
  const kimg = Number(metadata.kimg);
  const maxDepth = maxDepthOf(config.resolution);
  return {
    name: entry.name,
    source: entry.source,
    description: metadata.description ?? null,
    resolution: config.resolution,
    channels: config.num_channels,
    style_layers: 2 * (maxDepth + 1),
    depths: maxDepth + 1,
    kimg: metadata.kimg !== undefined && Number.isFinite(kimg) ? kimg : null,
    gsd_m: gsd,
    tile_extent_m: gsd === null ? null : config.resolution * gsd,
    truncation: { psi: config.truncation_psi, cutoff: config.truncation_cutoff },
    config,
    metrics: jsonObject(metadata.metrics),
    classes: classNamesFromMetadata(metadata, config.label_size ?? 0, entry.name),
    scale: gsd === null
      ? Array.from({ length: maxDepth + 1 }, (_, depth) => ({
        depth,
        pixels: 4 * 2 ** depth,
        style_layers: [2 * depth, 2 * depth + 1] as [number, number],
        metres_per_pixel: null,
        tile_extent_m: null,
        smallest_feature_m: null,
        holds: null,
      }))
      : scaleTable(config.resolution, gsd),
  };
}

/** Size and modification time of a file ("gone" when it cannot be read), to notice replaced checkpoints. */
async function fileStamp(file: string): Promise<string> {
  try {
    const stat = await Deno.stat(file);
    return `${stat.size}:${stat.mtime?.getTime()}`;
  } catch {
    return "gone";
  }
}

/**
 * The `__metadata__` of a safetensors file, reading only its header (8-byte length + JSON), so listing a
 * folder of large checkpoints stays cheap.
 */
export async function readSafetensorsMetadata(file: string): Promise<Record<string, string>> {
  using handle = await Deno.open(file, { read: true });
  const lengthBytes = await readExactly(handle, 8);
  const length = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true));
  if (!(length > 1 && length < 100 * 2 ** 20)) {
    throw new Error(`${file}: implausible safetensors header length ${length}`);
  }
  const header = JSON.parse(new TextDecoder().decode(await readExactly(handle, length)));
  const metadata = header?.__metadata__ ?? {};
  return typeof metadata === "object" && metadata !== null ? metadata : {};
}

async function readExactly(handle: Deno.FsFile, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let read = 0;
  while (read < length) {
    const n = await handle.read(out.subarray(read));
    if (n === null) throw new Error("unexpected end of file");
    read += n;
  }
  return out;
}

function configOf(metadata: Record<string, string>): GeneratorOptions | undefined {
  const parsed = jsonObject(metadata.config);
  if (!parsed || typeof parsed.resolution !== "number") return undefined;
  return { ...GENERATOR_DEFAULTS, ...parsed } as GeneratorOptions;
}

function jsonObject(text: string | undefined): Record<string, unknown> | null {
  if (text === undefined) return null;
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function positiveNumber(text: string | undefined): number | null {
  const value = Number(text);
  return text !== undefined && Number.isFinite(value) && value > 0 ? value : null;
}
