/**
 * Job records survive the server (issue 23, item 2): `deno run -A server/main.ts` is started as a child process,
 * killed with SIGKILL mid-job, and started again on the same folders. The finished job, its samples and its
 * model are served again; the running one is `interrupted` (its orphaned training process killed), keeps its
 * checkpoint, and POST /api/train/{id}/resume continues it from there (kimg goes on from the checkpoint's, not
 * from 0). SIGTERM stops a resumed job at its safe point and the next server finds it `interrupted` too.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { LatestPointer } from "../../model/train/run_dir.ts";
import type { TrainingJobStatus } from "../../server/training/jobs.ts";
import { REPO_ROOT } from "../support/paths.ts";
import { request } from "./helpers.ts";
import { AUTH, copyRealImages, getJob, tinyConfig, TOKEN, waitForJob } from "./train_support.ts";

/** A server process on a free port. */
interface ServerProcess {
  url: string;
  child: Deno.ChildProcess;
  /** Resolves with the exit status (stdout and stderr are drained meanwhile). */
  exited: Promise<Deno.CommandStatus>;
}

async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "server/main.ts", "--port", "0", "--backend", "wasm"],
    cwd: REPO_ROOT,
    env: { SGAN_WORKERS: "0", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream());
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let url: string | undefined;
  const deadline = Date.now() + 60_000;
  while (!url) {
    const { value, done } = await lines.read();
    if (done || Date.now() > deadline) throw new Error(`the server did not start: ${seen}`);
    seen += value;
    const port = /on http:\/\/localhost:(\d+)\//.exec(seen)?.[1];
    if (port) url = `http://127.0.0.1:${port}`;
  }
  const drain = (async () => {
    while (!(await lines.read()).done) { /* keep the pipe flowing */ }
  })();
  const exited = Promise.all([child.status, stderr, drain]).then(([status]) => status);
  return { url, child, exited };
}

/** Pids of processes whose command line names `folder` (the training processes of a job). */
function processesNaming(folder: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).includes(folder)) {
        found.push(Number(entry.name));
      }
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

const post = (url: string, path: string, body?: unknown) =>
  request(`${url}${path}`, {
    method: "POST",
    headers: { ...AUTH, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

Deno.test({
  name:
    "job records survive SIGKILL and SIGTERM of the server; an interrupted job resumes from its checkpoint",
  sanitizeResources: false, // the killed server's pipes close on their own
  fn: async () => {
    const base = await Deno.makeTempDir({ prefix: "sgan-restart-" });
    const root = join(base, "data");
    await copyRealImages(root, 16);
    const env = {
      SGAN_TOKEN: TOKEN,
      SGAN_DATA_ROOT: root,
      SGAN_RUNS_DIR: join(base, "runs"),
      SGAN_MODELS_DIR: join(base, "models"),
    };
    let server = await startServerProcess(env);
    try {
      // A job that finishes, then one that runs long enough to be killed after a checkpoint and a sample.
      const finished = await post(server.url, "/api/train", {
        name: "kept-16",
        ...tinyConfig("list.txt", [1, 1, 1]),
      });
      assert.equal(finished.status, 202, JSON.stringify(finished.json));
      const doneId = (finished.json as TrainingJobStatus).id;
      const done = await waitForJob(server.url, doneId, (j) => j.state === "done" || j.state === "failed");
      assert.equal(done.state, "done", JSON.stringify(done));
      const long = await post(server.url, "/api/train", tinyConfig("list.txt", [1, 1, 100_000]));
      assert.equal(long.status, 202, JSON.stringify(long.json));
      const id = (long.json as TrainingJobStatus).id;
      const before = await waitForJob(
        server.url,
        id,
        (j) => j.checkpoint !== null && j.latest_sample !== null,
      );
      assert.equal(before.state, "running");

      server.child.kill("SIGKILL");
      assert.equal((await server.exited).signal, "SIGKILL");
      server = await startServerProcess(env);

      // The finished job, its sample and its model, as before.
      const doneAgain = await getJob(server.url, doneId);
      assert.equal(doneAgain.state, "done");
      assert.equal(doneAgain.model, "kept-16");
      assert.equal(doneAgain.created_at, done.created_at);
      const sample = await request(`${server.url}${doneAgain.latest_sample}`, { headers: AUTH });
      assert.equal(sample.status, 200);
      assert.deepEqual([...sample.body.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
      const models = await request(`${server.url}/api/models`);
      assert.ok(JSON.stringify(models.json).includes('"kept-16"'), JSON.stringify(models.json));
      // The killed one: interrupted, its checkpoint and sample reachable, no training process left behind.
      const interrupted = await getJob(server.url, id);
      assert.equal(interrupted.state, "interrupted", JSON.stringify(interrupted));
      // Its checkpoint is the newest complete one (the killed process may have written more after the record).
      const latest = JSON.parse(
        await Deno.readTextFile(join(base, "runs", id, "run", "models", "latest.json")),
      );
      assert.equal(interrupted.checkpoint, `models/${(latest as LatestPointer).files.shadow}`);
      const checkpointFile = join(base, "runs", id, "run", interrupted.checkpoint!);
      assert.ok((await Deno.stat(checkpointFile)).isFile);
      const lost = await request(`${server.url}${interrupted.latest_sample}`, { headers: AUTH });
      assert.equal(lost.status, 200);
      assert.deepEqual(processesNaming(join(base, "runs", id)), []);
      const list = (await request(`${server.url}/api/train`, { headers: AUTH })).json as {
        jobs: TrainingJobStatus[];
      };
      assert.deepEqual(list.jobs.map((j) => [j.id, j.state]), [[id, "interrupted"], [doneId, "done"]]);
      // A finished job does not resume; the interrupted one does, from its checkpoint.
      assert.equal((await post(server.url, `/api/train/${doneId}/resume`)).status, 409);
      const resumed = await post(server.url, `/api/train/${id}/resume`);
      assert.equal(resumed.status, 202, JSON.stringify(resumed.json));
      assert.equal((resumed.json as TrainingJobStatus).state, "starting");
      const running = await waitForJob(server.url, id, (j) => j.state === "running" && j.kimg > 0);
      // kimg counts on from the checkpoint's (a fresh start would report a batch's worth, from 0).
      const { kimg: kimgAtCheckpoint } = (latest as LatestPointer).state;
      assert.ok(kimgAtCheckpoint > 0);
      assert.ok(
        running.kimg > kimgAtCheckpoint,
        `resumed at ${running.kimg} kimg, checkpoint ${kimgAtCheckpoint}`,
      );
      assert.ok(running.kimg >= before.kimg, `resumed at ${running.kimg} kimg, was at ${before.kimg}`);
      assert.equal((await post(server.url, `/api/train/${id}/resume`)).status, 409); // it runs already

      // SIGTERM: the job stops at its safe point, the server exits, and the next one finds it interrupted.
      server.child.kill("SIGTERM");
      assert.equal((await server.exited).code, 0);
      server = await startServerProcess(env);
      const afterTerm = await getJob(server.url, id);
      assert.equal(afterTerm.state, "interrupted", JSON.stringify(afterTerm));
      assert.ok(afterTerm.kimg >= running.kimg);
      assert.ok((await Deno.stat(join(base, "runs", id, "run", afterTerm.checkpoint!))).isFile);
      assert.deepEqual(processesNaming(join(base, "runs", id)), []);
    } finally {
      try {
        server.child.kill("SIGKILL");
      } catch {
        // exited already
      }
      await server.exited;
      for (const pid of processesNaming(base)) Deno.kill(pid, "SIGKILL");
      await Deno.remove(base, { recursive: true });
    }
  },
});
