/**
 * A training run's directory: `config.yaml`, `log.txt`, `samples/`, `models/` (checkpoints and the
 * `latest.json` pointer), `cache/` (decoded dataset), `metrics.jsonl`.
 *
 * Checkpoints are written file by file, each atomically, and the pointer last (atomically too): a run
 * killed at any moment resumes from the previous complete checkpoint, never from a half-written one.
 */
import { stringify as toYaml } from "yaml";
import type { TrainConfig } from "../config.ts";
import { readSafetensors, writeSafetensors } from "../checkpoint/safetensors.ts";
import { assignStateDict, type TorchTensor } from "../checkpoint/state_dict.ts";
import { saveNetwork } from "../checkpoint/checkpoint.ts";
import type { Generator } from "../networks/generator.ts";
import type { Discriminator } from "../networks/discriminator.ts";
import type { Adam } from "./adam.ts";
import { writeFileAtomic } from "../files.ts";

/** The format of {@link TrainState} this version writes (1: the per-depth counters before one step counter). */
export const TRAIN_STATE_VERSION = 2;

/**
 * Where training stands; everything needed to continue exactly. The run's position is `step` alone
 * (model/train/schedule.ts positionAt gives depth, epoch, alpha and kimg from it); `depth`, `epoch`,
 * `batchInEpoch` and `kimg` are that function's values, written for people and checked on resume (a
 * changed schedule that moves a run's position is refused rather than silently followed).
 */
export interface TrainState {
  version: typeof TRAIN_STATE_VERSION;
  /** Optimisation steps over the run: the run's position. */
  step: number;
  /** The step at which the current depth's fade-in reached alpha 1, if it has (see positionAt). */
  fadeCompleteAt?: number;
  /** The model depth, 1-based epoch within it and batches finished in that epoch, at `step`. */
  depth: number;
  epoch: number;
  batchInEpoch: number;
  /** Real images shown to D, in thousands, at `step`. */
  kimg: number;
  /** Consecutive steps skipped for non-finite losses. */
  nanStreak: number;
  /** Wall-clock seconds spent training, over all sessions of the run. */
  elapsed: number;
  /** Random streams (JSON snapshots). */
  rng: unknown;
  sampler: unknown;
  /** Last losses, for status reports. */
  dLoss: number;
  gLoss: number;
}

/** The pointer file: the checkpoint files of the latest complete checkpoint and the state. */
export interface LatestPointer {
  files: { gen: string; shadow: string; dis: string; gOptim: string; dOptim: string };
  state: TrainState;
}

/** Paths of a run directory. */
export class RunDir {
  constructor(readonly root: string) {}
  get models(): string {
    return `${this.root}/models`;
  }
  get samples(): string {
    return `${this.root}/samples`;
  }
  get cache(): string {
    return `${this.root}/cache`;
  }
  get latest(): string {
    return `${this.models}/latest.json`;
  }
  get log(): string {
    return `${this.root}/log.txt`;
  }
  get metrics(): string {
    return `${this.root}/metrics.jsonl`;
  }

  /** True when the directory holds anything. */
  async exists(): Promise<boolean> {
    try {
      for await (const _ of Deno.readDir(this.root)) return true;
      return false;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
  }

  /** Create the folders (the dataset cache needs its folder before the run's checks are done). */
  async makeFolders(): Promise<void> {
    for (const dir of [this.root, this.models, this.samples, this.cache]) {
      await Deno.mkdir(dir, { recursive: true });
    }
  }

  /** Create the folders and write the final configuration. */
  async prepare(config: TrainConfig): Promise<void> {
    await this.makeFolders();
    await writeFileAtomic(`${this.root}/config.yaml`, new TextEncoder().encode(toYaml(config)));
  }

  /** Append a line to log.txt. */
  async appendLog(line: string): Promise<void> {
    await Deno.writeTextFile(this.log, line + "\n", { append: true });
  }

  /** The latest pointer, or undefined when the run has no checkpoint yet. */
  async readLatest(): Promise<LatestPointer | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.latest);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as LatestPointer;
    } catch (e) {
      throw new Error(`${this.latest}: not valid JSON (${(e as Error).message})`);
    }
  }

  /**
   * Write a checkpoint: G, its shadow, D and both optimizers, then the pointer. `tag` is
   * `{depth}_{epoch}` at the end of an epoch (StyleGAN.pytorch's names) or `{depth}_{epoch}_{batch}` mid-epoch.
   */
  async writeCheckpoint(
    tag: string,
    nets: { G: Generator; Gs: Generator; D: Discriminator; gOptim: Adam; dOptim: Adam },
    state: TrainState,
    metadata: Record<string, string>,
  ): Promise<LatestPointer> {
    const previous = await this.readLatest();
    const files = checkpointFiles(tag);
    const meta = { ...metadata, kimg: state.kimg.toFixed(3), step: String(state.step) };
    await saveNetwork(`${this.models}/${files.gen}`, nets.G, meta);
    await saveNetwork(`${this.models}/${files.shadow}`, nets.Gs, meta);
    await saveNetwork(`${this.models}/${files.dis}`, nets.D, meta);
    await writeOptimizer(`${this.models}/${files.gOptim}`, nets.gOptim);
    await writeOptimizer(`${this.models}/${files.dOptim}`, nets.dOptim);
    const pointer: LatestPointer = { files, state };
    await writeFileAtomic(this.latest, new TextEncoder().encode(JSON.stringify(pointer, null, 1)));
    // Mid-epoch checkpoints are superseded by the next one; epoch checkpoints are kept.
    if (previous && isMidEpoch(previous.files.gen) && previous.files.gen !== files.gen) {
      for (const f of Object.values(previous.files)) await Deno.remove(`${this.models}/${f}`).catch(() => {});
    }
    return pointer;
  }

  /**
   * Load the latest checkpoint into the networks and optimizers; returns the state. `checkHeader` sees G's
   * header first and throws to refuse the checkpoint.
   */
  async restore(
    nets: { G: Generator; Gs: Generator; D: Discriminator; gOptim: Adam; dOptim: Adam },
    checkHeader: (metadata: Record<string, string>, file: string) => void = () => {},
  ): Promise<TrainState> {
    const pointer = await this.readLatest();
    if (!pointer) {
      throw new Error(`${this.root}: no checkpoint to resume from (models/latest.json is missing)`);
    }
    const version = (pointer.state as { version?: unknown }).version;
    if (version !== TRAIN_STATE_VERSION) {
      throw new Error(
        `${this.latest}: this run was written by an earlier version of the trainer (state format ${
          version ?? 1
        }, before the run's position became one step counter); this version reads format ${TRAIN_STATE_VERSION}. ` +
          "Resume it with the version that wrote it, or start a new run.",
      );
    }
    const path = (f: string) => `${this.models}/${f}`;
    // The caller checks G's header (e.g. its classes) before anything is loaded.
    checkHeader((await readSafetensors(path(pointer.files.gen))).metadata, path(pointer.files.gen));
    await loadInto(nets.G, path(pointer.files.gen));
    await loadInto(nets.Gs, path(pointer.files.shadow));
    await loadInto(nets.D, path(pointer.files.dis));
    await readOptimizer(path(pointer.files.gOptim), nets.gOptim);
    await readOptimizer(path(pointer.files.dOptim), nets.dOptim);
    return pointer.state;
  }
}

/** The five files of the checkpoint tagged `tag` (StyleGAN.pytorch's names). */
export function checkpointFiles(tag: string): LatestPointer["files"] {
  return {
    gen: `GAN_GEN_${tag}.safetensors`,
    shadow: `GAN_GEN_SHADOW_${tag}.safetensors`,
    dis: `GAN_DIS_${tag}.safetensors`,
    gOptim: `GAN_GEN_OPTIM_${tag}.safetensors`,
    dOptim: `GAN_DIS_OPTIM_${tag}.safetensors`,
  };
}

/** The tag of the checkpoint at the end of an epoch (`{depth}_{epoch}`) or within one (`…_{batch}`). */
export function checkpointTag(depth: number, epoch: number, batchInEpoch?: number): string {
  return batchInEpoch === undefined ? `${depth}_${epoch}` : `${depth}_${epoch}_${batchInEpoch}`;
}

function isMidEpoch(file: string): boolean {
  return /_\d+_\d+_\d+\.safetensors$/.test(file);
}

async function loadInto(net: Generator | Discriminator, file: string): Promise<void> {
  const { tensors } = await readSafetensors(file);
  const plain = new Map<string, TorchTensor>();
  for (const [k, t] of tensors) plain.set(k, { shape: t.shape, data: t.data as Float32Array });
  assignStateDict(net.params, plain, file);
}

async function writeOptimizer(file: string, optim: Adam): Promise<void> {
  const { tensors, step } = await optim.stateDict();
  const entries: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of tensors) entries[k] = { dtype: "F32", shape: t.shape, data: t.data };
  await writeSafetensors(file, entries, {
    format: "sgan-ts/1",
    network: "adam",
    step: String(step),
    ...optimOptions(optim),
  });
}

function optimOptions(optim: Adam): Record<string, string> {
  return Object.fromEntries(Object.entries(optim.options).map(([k, v]) => [k, String(v)]));
}

async function readOptimizer(file: string, optim: Adam): Promise<void> {
  const { tensors, metadata } = await readSafetensors(file);
  const plain = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, t] of tensors) plain.set(k, { shape: t.shape, data: t.data as Float32Array });
  optim.loadStateDict(plain, Number(metadata.step ?? 0), file);
  optim.options.learning_rate = Number(metadata.learning_rate ?? optim.options.learning_rate);
}
