/** Run the project's command-line entry points as a user would, in a child process. */
import { REPO_ROOT } from "./paths.ts";

/** What a finished command printed and its exit status. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stderr without the lines Deno itself may print first (npm `Download …`, `Warning …`): the program's own. */
  programStderr: string;
}

// What Deno prints on stderr on its own account, before or around the program's output (colour codes removed).
const DENO_OWN_LINE = /^(Download|Downloading|Warning|Initialize|Check) /;

/** The program's own stderr lines: Deno's `Download …` or `Warning …` lines dropped, colour codes removed. */
export function programStderr(stderr: string): string {
  // deno-lint-ignore no-control-regex
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  return plain.split("\n").filter((line) => !DENO_OWN_LINE.test(line)).join("\n");
}

/** `deno run -A model/cli/<script> ...args` from the repository root (wasm backend unless `env` says). */
export async function runCli(
  script: string,
  args: string[],
  env: Record<string, string> = { SGAN_BACKEND: "wasm" },
): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_ROOT}/model/cli/${script}`, ...args],
    cwd: REPO_ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stderr = dec.decode(out.stderr);
  return { code: out.code, stdout: dec.decode(out.stdout), stderr, programStderr: programStderr(stderr) };
}
