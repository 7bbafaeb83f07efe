/**
 * Starting a background job's process (a training run, a projection worker): `deno run -A` of one of the
 * repository's scripts from the repository root, one BLAS thread (the server keeps a core for generation),
 * stdout and stderr piped for the job to follow, and the job folder's `stderr.log` opened for appending.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

/** A started job process and the log its stderr lines go to (the caller closes it when the process ends). */
export interface JobProcess {
  child: Deno.ChildProcess;
  stderrLog: Deno.FsFile;
}

/**
 * Start `deno run -A script ...args` for the job in `dir`; `env` is added to (and may override) the one BLAS
 * thread. Throws when the log cannot be opened or the process not started (the log is closed then).
 */
export async function startJobProcess(
  dir: string,
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<JobProcess> {
  const stderrLog = await Deno.open(join(dir, "stderr.log"), { write: true, create: true, append: true });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, ...args],
      cwd: REPO_ROOT,
      env: { SGAN_BLAS_THREADS: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return { child, stderrLog };
  } catch (e) {
    stderrLog.close();
    throw e;
  }
}

/** Send `name` to a job's process, if it has one and it still runs (one that has exited is no error). */
export function signalJobProcess(child: Deno.ChildProcess | undefined, name: Deno.Signal): void {
  try {
    child?.kill(name);
  } catch {
    // already gone
  }
}
