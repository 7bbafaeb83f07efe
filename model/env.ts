/**
 * An environment variable, or undefined when it is unset or the process may not read the environment (run
 * without --allow-env, the settings fall back to their defaults instead of failing).
 */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
