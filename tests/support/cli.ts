/** Run the project's command-line entry points as a user would, in a child process. */
import { REPO_ROOT } from "./paths.ts";

/** What a finished command printed and its exit status. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
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
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
