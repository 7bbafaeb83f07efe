/**
 * Shared plumbing of the command-line entry points: flag parsing with clear errors, one-line error
 * reports on stderr, and exit codes (2 = bad usage, 1 = failure).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { defaultPoolSize } from "../pool/process_worker.ts";

/** An error whose message is meant for the user as is (bad flag, bad value). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parse `args` with node's parseArgs; unknown flags and missing values become UsageErrors. */
export function parseFlags<T extends ParseArgsConfig["options"]>(
  args: string[],
  options: T,
  usage: string,
) {
  // `--psi -0.5` would read as a flag named "-0.5"; join negative numbers to their flag instead.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith("--") ? args[i].slice(2) : undefined;
    const next = args[i + 1];
    if (name && options?.[name]?.type === "string" && next !== undefined && /^-\d|^-\.\d|^-inf/i.test(next)) {
      joined.push(`${args[i]}=${next}`);
      i++;
    } else {
      joined.push(args[i]);
    }
  }
  try {
    return parseArgs({ args: joined, options, strict: true, allowPositionals: false });
  } catch (e) {
    const msg = (e as Error).message.replace(
      /^Option '(.+?)' argument is ambiguous.*$/s,
      "flag $1 needs a value; write negative numbers as $1=-0.5",
    );
    throw new UsageError(`${msg}\n${usage}`);
  }
}

/** A finite number from a flag value, or a UsageError naming the flag. */
export function numberFlag(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) {
    throw new UsageError(`--${name} must be a finite number, got '${value}'`);
  }
  return n;
}

/** An integer from a flag value within [min, max], or a UsageError. */
export function integerFlag(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  const n = numberFlag(name, value);
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got '${value}'`);
  }
  return n;
}

/** Run a command's main function: print errors as one line on stderr and exit non-zero. */
export async function runCommand(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const err = e as Error;
    const usage = err instanceof UsageError;
    const text = usage ? err.message : `${err.name === "Error" ? "error" : err.name}: ${err.message}`;
    console.error(
      text.startsWith("error") || usage ? `error: ${text.replace(/^error: /, "")}` : `error: ${text}`,
    );
    if (Deno.env.get("SGAN_DEBUG")) console.error(err.stack);
    Deno.exit(usage ? 2 : 1);
  }
}

/** `--workers auto|N`: undefined when absent or `auto`, else a count from 0 to 64. */
export function workersFlag(value: string | undefined): number | undefined {
  return value === undefined || value.trim().toLowerCase() === "auto"
    ? undefined
    : integerFlag("workers", value, 0, 64);
}

/**
 * Worker processes to start: the `--workers` count if given, else one per core on the wasm and cpu backends
 * (none on GPU backends). A count on another backend is a usage error.
 */
export function workerCount(flag: number | undefined, backend: string): number {
  const workers = flag ?? defaultPoolSize(backend);
  if (workers > 0 && backend !== "wasm" && backend !== "cpu") {
    throw new UsageError(`--workers: worker processes run the wasm or cpu backend, not ${backend}`);
  }
  return workers;
}
