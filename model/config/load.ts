/**
 * Loading a training configuration in the spirit of yacs: the schema's defaults ← a YAML file ← each
 * `--set key=value` (dotted keys, values as YAML), or a JSON object (a checkpoint header, a run's config, the
 * body of POST /api/train); validated, then frozen.
 *
 * Every layer is checked against the schema on its own first, so that an unknown key or a value of the wrong
 * kind is reported with the layer it came from (the file, `--set key`, `body`) and, for unknown keys, the list
 * of valid ones. The merged result is then parsed once by the same schema (ranges, enums, defaults) and by the
 * cross-key rules.
 */
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { ConfigError } from "./errors.ts";
import { applyRules } from "./rules.ts";
import {
  shapeOf,
  TRAIN_CONFIG_SCHEMA,
  TRAIN_DEFAULTS,
  type TrainConfig,
  unwrapped,
  validKeys,
} from "./schema.ts";

type Layer = Record<string, unknown>;
type Schema = z.core.$ZodType;

function isPlainObject(v: unknown): v is Layer {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The kind of a value in the words of the messages ("list", "mapping", "number", ...). */
function kindOf(v: unknown): string {
  if (Array.isArray(v)) return "list";
  if (v === null) return "null";
  return isPlainObject(v) ? "mapping" : typeof v;
}

/** The kinds of value a schema accepts, in the words of {@link kindOf}; the first is the one to name. */
function kindsOf(schema: Schema): string[] {
  const def = unwrapped(schema)._zod.def as {
    type: string;
    innerType?: Schema;
    entries?: Record<string, unknown>;
    values?: unknown[];
    options?: Schema[];
  };
  switch (def.type) {
    case "object":
    case "record":
      return ["mapping"];
    case "array":
      return ["list"];
    case "nullable":
      return [...kindsOf(def.innerType!), "null"];
    case "enum":
      return [...new Set(Object.values(def.entries!).map(kindOf))];
    case "literal":
      return [...new Set(def.values!.map(kindOf))];
    case "union":
      return [...new Set(def.options!.flatMap(kindsOf))];
    default:
      return [def.type];
  }
}

/** The schema of the value at `path` (object keys, record values, list entries), or undefined. */
function schemaAt(schema: Schema, path: PropertyKey[]): Schema | undefined {
  let node: Schema | undefined = schema;
  for (const step of path) {
    if (!node) return undefined;
    const shape = shapeOf(node);
    let def = unwrapped(node)._zod.def as {
      type: string;
      innerType?: Schema;
      valueType?: Schema;
      element?: Schema;
    };
    if (def.type === "nullable") def = unwrapped(def.innerType!)._zod.def as typeof def;
    if (shape) node = Object.hasOwn(shape, step) ? shape[step as string] : undefined;
    else if (def.type === "record") node = def.valueType;
    else if (def.type === "array") node = def.element;
    else return undefined;
  }
  return node;
}

/** The value at `path` in a layer (own properties only), or undefined. */
function valueAt(layer: unknown, path: PropertyKey[]): unknown {
  let node = layer;
  for (const step of path) {
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, step)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[step];
  }
  return node;
}

function unknownKey(key: string, source: string): ConfigError {
  return new ConfigError(`${source}: unknown key '${key}'; valid keys: ${validKeys().join(", ")}`, key, true);
}

/** Where a layer came from, for messages. */
interface Source {
  /** Prefix of the messages: the file, `--set key`, `body`. */
  name: string;
  /** The layer is one `--set`: unknown keys are reported as `--set: ...`, a section given a value says so. */
  fromSet?: boolean;
}

/**
 * Check one layer against the schema: keys it does not know and values of the wrong kind. Ranges, enums and
 * missing keys are left to the merged configuration (another layer may complete or fix them).
 */
function checkLayer(layer: Layer, source: Source): void {
  const result = TRAIN_CONFIG_SCHEMA.safeParse(layer);
  if (result.success) return;
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      throw unknownKey([...issue.path, issue.keys[0]].join("."), source.fromSet ? "--set" : source.name);
    }
    const problem = kindProblem(layer, issue.path, source);
    if (problem) throw problem;
  }
}

/** A ConfigError when the value at `path` (or the list holding it) is of a kind its schema refuses. */
function kindProblem(layer: Layer, path: PropertyKey[], source: Source): ConfigError | undefined {
  const inList = typeof path.at(-1) === "number";
  const keyPath = inList ? path.slice(0, -1) : path;
  const key = keyPath.join(".");
  const value = valueAt(layer, path);
  const schema = schemaAt(TRAIN_CONFIG_SCHEMA, path);
  if (value === undefined || !schema) return undefined;
  const kinds = kindsOf(schema);
  if (kinds.includes(kindOf(value))) return undefined;
  if (inList) {
    return new ConfigError(
      `${source.name}: ${key} must be a list of ${kinds[0]}s, got ${JSON.stringify(valueAt(layer, keyPath))}`,
      key,
    );
  }
  if (kinds[0] === "mapping" && shapeOf(schema) && source.fromSet) {
    const inside = validKeys().filter((k) => k.startsWith(key + "."));
    return new ConfigError(`--set ${key}: a section, not a value; set one of ${inside.join(", ")}`, key);
  }
  if (kinds[0] === "mapping") {
    return new ConfigError(`${source.name}: ${key} must be a mapping, got ${kindOf(value)}`, key);
  }
  return new ConfigError(
    `${source.name}: ${key} must be a ${kinds[0]}, got ${kindOf(value)} (${JSON.stringify(value)})`,
    key,
  );
}

/**
 * `over` merged into `base` (new objects; mappings merge key by key, so `model.lrate_per_res: {"2048": 0.004}`
 * adds to the official entries; anything else replaces).
 */
function merged(base: Layer, over: Layer): Layer {
  const out: Layer = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const before = Object.hasOwn(out, k) ? out[k] : undefined;
    // defineProperty: a key such as "__proto__" stays an own key rather than replacing the prototype.
    Object.defineProperty(out, k, {
      value: isPlainObject(before) && isPlainObject(v) ? merged(before, v) : v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Parse `key=value` (value as a YAML scalar or flow list) into a nested override object, checked. */
export function parseOverride(text: string): Layer {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new ConfigError(`--set ${text}: expected key=value`);
  const key = text.slice(0, eq).trim();
  let value: unknown;
  try {
    value = parseYaml(text.slice(eq + 1));
  } catch (e) {
    throw new ConfigError(`--set ${key}: cannot parse value (${(e as Error).message.split("\n")[0]})`, key);
  }
  if (value === null && text.slice(eq + 1).trim() === "") value = "";
  // fromEntries: every part becomes an own key, "__proto__" included, so the schema sees (and refuses) it.
  const layer = key.split(".").reduceRight<unknown>(
    (inner, part) => Object.fromEntries([[part, inner]]),
    value,
  );
  checkLayer(layer as Layer, { name: `--set ${key}`, fromSet: true });
  return layer as Layer;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/** Validate a merged configuration (schema, then cross-key rules); throws ConfigError naming the key. */
export function validateConfig(config: Layer): TrainConfig {
  const result = TRAIN_CONFIG_SCHEMA.safeParse(config);
  if (!result.success) {
    const issue = result.error.issues[0];
    if (issue.code === "unrecognized_keys") {
      throw unknownKey([...issue.path, issue.keys[0]].join("."), "config");
    }
    const key = issue.path.join(".");
    throw new ConfigError(`${key}: ${issue.message}`, key || null);
  }
  return applyRules(result.data);
}

/**
 * Build the final, frozen configuration: defaults ← YAML file (if any) ← each `--set` override.
 */
export async function loadConfig(file: string | undefined, overrides: string[] = []): Promise<TrainConfig> {
  let layers = TRAIN_DEFAULTS as unknown as Layer;
  if (file) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new ConfigError(`${file}: cannot read (${(e as Error).message})`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (e) {
      throw new ConfigError(`${file}: not valid YAML (${(e as Error).message.split("\n")[0]})`);
    }
    if (parsed !== null && !isPlainObject(parsed)) {
      throw new ConfigError(`${file}: the top level must be a mapping`);
    }
    checkLayer(parsed ?? {}, { name: file });
    layers = merged(layers, parsed ?? {});
  }
  for (const text of overrides) layers = merged(layers, parseOverride(text));
  return deepFreeze(validateConfig(layers));
}

/** The configuration from a JSON text (a checkpoint header, a run's config file, a request body), validated. */
export function configFromJson(text: string, source: string): TrainConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(parsed)) throw new ConfigError(`${source}: not a configuration object`);
  checkLayer(parsed, { name: source });
  return deepFreeze(validateConfig(merged(TRAIN_DEFAULTS as unknown as Layer, parsed)));
}

/** The learning rate at a resolution (official per-resolution overrides, else the base rate). */
export function learningRateAt(config: TrainConfig, resolution: number, base: number): number {
  return config.model.lrate_per_res[String(resolution)] ?? base;
}
