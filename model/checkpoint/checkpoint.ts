/**
 * Generator and discriminator checkpoints: safetensors in PyTorch layout with StyleGAN.pytorch's keys,
 * the network config in the header metadata. A plain PyTorch `state_dict` saved with safetensors loads
 * too: its architecture is inferred from the tensor shapes.
 */
import { Generator } from "../networks/generator.ts";
import { Discriminator } from "../networks/discriminator.ts";
import {
  DISCRIMINATOR_DEFAULTS,
  type DiscriminatorOptions,
  GENERATOR_DEFAULTS,
  type GeneratorOptions,
} from "../networks/options.ts";
import { CheckpointError, readSafetensors, writeSafetensors } from "./safetensors.ts";
import {
  assignStateDict,
  inferDiscriminatorOptions,
  inferGeneratorOptions,
  stateDictOf,
  type TorchTensor,
} from "./state_dict.ts";

/** Metadata key holding the network's hyper-parameters as JSON. */
export const CONFIG_KEY = "config";
/** Metadata key naming which network a file holds. */
export const NETWORK_KEY = "network";
/** Metadata key holding a conditional network's class names (a JSON array, one per label index). */
export const CLASS_NAMES_KEY = "class_names";
/** A model's discriminator lies beside its generator `<stem>.safetensors` as `<stem>` + this. */
export const DISCRIMINATOR_SUFFIX = ".discriminator.safetensors";

/** Where the discriminator of the generator in `generatorFile` lies (the projection's D-feature loss). */
export function discriminatorFileOf(generatorFile: string): string {
  return generatorFile.replace(/\.safetensors$/, "") + DISCRIMINATOR_SUFFIX;
}

/** Format tag written by this project. */
export const FORMAT_TAG = "sgan-ts/1";

/** A network loaded from disk with the header metadata it came with. */
export interface Loaded<T> {
  network: T;
  metadata: Record<string, string>;
  /** True when the config was inferred from shapes (no config in the header). */
  inferred: boolean;
}

async function readFloatTensors(
  file: string,
): Promise<{ tensors: Map<string, TorchTensor>; metadata: Record<string, string> }> {
  const { tensors, metadata } = await readSafetensors(file, { float64ToFloat32: true });
  const out = new Map<string, TorchTensor>();
  for (const [key, t] of tensors) {
    if (!(t.data instanceof Float32Array)) {
      throw new CheckpointError(file, `has dtype ${t.dtype}; network weights must be floating point`, {
        tensor: key,
      });
    }
    out.set(key, { shape: t.shape, data: t.data });
  }
  return { tensors: out, metadata };
}

function configFrom<T>(metadata: Record<string, string>, file: string): Partial<T> | undefined {
  const text = metadata[CONFIG_KEY];
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) throw new Error("not an object");
    return parsed as Partial<T>;
  } catch (e) {
    throw new CheckpointError(
      file,
      `header metadata '${CONFIG_KEY}' is not valid JSON (${(e as Error).message})`,
    );
  }
}

/**
 * Load a generator. `extraFiles` are merged in first (e.g. the reference fixture's constant noise maps,
 * kept by the port outside its state_dict); the main file wins on duplicate keys.
 */
export async function loadGenerator(file: string, extraFiles: string[] = []): Promise<Loaded<Generator>> {
  const { tensors, metadata } = await readFloatTensors(file);
  if (metadata[NETWORK_KEY] && metadata[NETWORK_KEY] !== "generator") {
    throw new CheckpointError(file, `holds a ${metadata[NETWORK_KEY]}, not a generator`);
  }
  for (const extra of extraFiles) {
    const more = await readFloatTensors(extra);
    for (const [k, v] of more.tensors) if (!tensors.has(k)) tensors.set(k, v);
  }
  const given = configFrom<GeneratorOptions>(metadata, file);
  const options: GeneratorOptions = given?.resolution
    ? { ...GENERATOR_DEFAULTS, ...given } as GeneratorOptions
    : inferGeneratorOptions(tensors, file);
  const network = new Generator(options);
  try {
    assignStateDict(network.params, tensors, file);
  } catch (e) {
    network.dispose();
    throw e;
  }
  return { network, metadata, inferred: !given?.resolution };
}

/** Load a discriminator (same rules as {@link loadGenerator}). */
export async function loadDiscriminator(file: string): Promise<Loaded<Discriminator>> {
  const { tensors, metadata } = await readFloatTensors(file);
  if (metadata[NETWORK_KEY] && metadata[NETWORK_KEY] !== "discriminator") {
    throw new CheckpointError(file, `holds a ${metadata[NETWORK_KEY]}, not a discriminator`);
  }
  const given = configFrom<DiscriminatorOptions>(metadata, file);
  const options: DiscriminatorOptions = given?.resolution
    ? { ...DISCRIMINATOR_DEFAULTS, ...given } as DiscriminatorOptions
    : inferDiscriminatorOptions(tensors, file);
  const network = new Discriminator(options);
  try {
    assignStateDict(network.params, tensors, file);
  } catch (e) {
    network.dispose();
    throw e;
  }
  return { network, metadata, inferred: !given?.resolution };
}

/**
 * Save a network atomically. `metadata` may carry anything string-valued (training config, kimg,
 * ground sample distance); the network's own config is always written under `config`.
 */
export async function saveNetwork(
  file: string,
  network: Generator | Discriminator,
  metadata: Record<string, string> = {},
  dtype: "F32" | "F16" = "F32",
): Promise<void> {
  const tensors = await stateDictOf(network.params);
  const entries: Record<string, { dtype: "F32" | "F16"; shape: number[]; data: Float32Array }> = {};
  for (const [key, t] of tensors) entries[key] = { dtype, shape: t.shape, data: t.data };
  const kind = network instanceof Generator ? "generator" : "discriminator";
  await writeSafetensors(file, entries, {
    format: FORMAT_TAG,
    ...metadata,
    [NETWORK_KEY]: kind,
    [CONFIG_KEY]: JSON.stringify(network.options),
  });
}

/**
 * The class names of a loaded conditional network, from its header (`class_names`), checked against its
 * label count; a conditional file without names (a StyleGAN.pytorch export) gets "0", "1", …. Empty for an
 * unconditional network.
 */
export function classNamesOf(loaded: Loaded<Generator | Discriminator>, file: string): string[] {
  return classNamesFromMetadata(loaded.metadata, loaded.network.options.label_size, file);
}

/** {@link classNamesOf} from a header's metadata and the network's label count (no network needed). */
export function classNamesFromMetadata(
  metadata: Record<string, string>,
  classes: number,
  file: string,
): string[] {
  const text = metadata[CLASS_NAMES_KEY];
  if (classes === 0) {
    if (text !== undefined) throw new CheckpointError(file, `names classes but the network is unconditional`);
    return [];
  }
  if (text === undefined) return Array.from({ length: classes }, (_, i) => String(i));
  let names: unknown;
  try {
    names = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(
      file,
      `header metadata '${CLASS_NAMES_KEY}' is not valid JSON (${(e as Error).message})`,
    );
  }
  if (
    !Array.isArray(names) || names.length !== classes ||
    names.some((n) => typeof n !== "string" || n === "") || new Set(names).size !== names.length
  ) {
    throw new CheckpointError(
      file,
      `header metadata '${CLASS_NAMES_KEY}' must list ${classes} distinct class names, got ${
        text.slice(0, 200)
      }`,
    );
  }
  return names as string[];
}
