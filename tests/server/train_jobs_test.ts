/**
 * The training-job routes against the real app on a loopback port: the token rule on every route, the data-root
 * rule (`..`, absolute paths, symbolic links, list entries), configuration errors naming the key, and real tiny
 * jobs (16 px, a few steps, a `deno task train --events` process each): start, status, Server-Sent Events with
 * sample URLs, the finished model in /api/models and /generate, one job at a time, stop with a checkpoint, and a
 * failing process.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { configFromEnv } from "../../server/config.ts";
import { TrainingJobs, type TrainingJobStatus } from "../../server/training/jobs.ts";
import { readSafetensorsMetadata } from "../../server/models.ts";
import { parseTrainRequest } from "../../server/training/request.ts";
import { REPO_ROOT } from "../support/paths.ts";
import { type ErrorJson, request, startServer, type TestServer } from "./helpers.ts";
import {
  AUTH,
  copyRealImages,
  getJob as getJobAt,
  parseSseBlock,
  postJob as post,
  type SseEvent,
  tinyConfig,
  TOKEN,
  waitForJob,
} from "./train_support.ts";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * A data root with 24 real UC Merced JPEGs (copied: links out of the root are refused) and `list.txt`, beside an
 * `outside/` folder and the ways of reaching it from inside.
 */
async function makeDataRoot(): Promise<{ base: string; root: string; outside: string }> {
  const base = await Deno.makeTempDir({ prefix: "sgan-train-jobs-" });
  const root = join(base, "data");
  const outside = join(base, "outside");
  const names = await copyRealImages(root, 24);
  await Deno.mkdir(join(root, "mixed"));
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(root, "two.txt"), names.slice(0, 2).join("\n") + "\n");
  await Deno.copyFile(join(root, "images", "tile00.jpg"), join(outside, "secret.jpg"));
  await Deno.copyFile(join(root, "images", "tile00.jpg"), join(root, "mixed", "a.jpg"));
  await Deno.symlink(outside, join(root, "escape"));
  await Deno.symlink(join(outside, "secret.jpg"), join(root, "mixed", "b.jpg"));
  await Deno.writeTextFile(join(root, "up-list.txt"), "images/tile00.jpg\n../outside/secret.jpg\n");
  await Deno.writeTextFile(join(root, "abs-list.txt"), `images/tile00.jpg\n${join(outside, "secret.jpg")}\n`);
  await Deno.writeTextFile(join(root, "link-list.txt"), "images/tile00.jpg\nescape/secret.jpg\n");
  return { base, root, outside };
}

/** A job's status (train_support's, by server). */
function getJob(server: TestServer, id: string): Promise<TrainingJobStatus> {
  return getJobAt(server.url, id);
}

/** Poll a job until `ready` holds (train_support's, by server). */
function waitFor(
  server: TestServer,
  id: string,
  ready: (job: TrainingJobStatus) => boolean,
  timeoutMs = 60_000,
): Promise<TrainingJobStatus> {
  return waitForJob(server.url, id, ready, timeoutMs);
}

/** Read a job's event stream to its end, or until `enough` says so (then hang up). */
async function readEvents(
  server: TestServer,
  id: string,
  headers: Record<string, string> = {},
  enough: (events: SseEvent[]) => boolean = () => false,
): Promise<SseEvent[]> {
  const res = await fetch(`${server.url}/api/train/${id}/events`, { headers: { ...AUTH, ...headers } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const events: SseEvent[] = [];
  let buffer = "";
  for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseSseBlock(block);
      if (event) events.push(event);
    }
    if (enough(events)) break; // leaving the loop cancels the body: the server sees the client go
  }
  return events;
}

Deno.test("training routes: off without SGAN_TOKEN, then the bearer token on every route", async () => {
  const off = await startServer();
  const on = await startServer({ config: { token: TOKEN } });
  const routes: [string, string][] = [
    ["POST", "/api/train"],
    ["GET", "/api/train"],
    ["GET", "/api/train/some-id"],
    ["DELETE", "/api/train/some-id"],
    ["GET", "/api/train/some-id/events"],
    ["GET", "/api/train/some-id/samples/gen_0_1_2.png"],
  ];
  const call = (server: TestServer, [method, path]: [string, string], headers: Record<string, string> = {}) =>
    request(`${server.url}${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      body: method === "POST" ? "{}" : undefined,
    });
  try {
    for (const route of routes) {
      const label = route.join(" ");
      const forbidden = await call(off, route, AUTH);
      assert.equal(forbidden.status, 403, label);
      assert.match((forbidden.json as ErrorJson).error, /SGAN_TOKEN/, label);
      const missing = await call(on, route);
      assert.equal(missing.status, 401, label);
      assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="sgan"', label);
      assert.equal((missing.json as ErrorJson).field, "Authorization", label);
      assert.equal((await call(on, route, { Authorization: `Bearer ${TOKEN}x` })).status, 401, label);
      assert.equal((await call(on, route, { Authorization: `Basic ${btoa(TOKEN)}` })).status, 401, label);
    }
    // With the token, an unknown job is a 404 on every route that names one.
    for (const route of routes.slice(2)) {
      const res = await call(on, route, AUTH);
      assert.equal(res.status, 404, route.join(" "));
      assert.equal((res.json as ErrorJson).field, "id", route.join(" "));
    }
    assert.equal(
      configFromEnv((name) => ({ SGAN_RUNS_DIR: "/srv/jobs" } as Record<string, string>)[name]).runsDir,
      "/srv/jobs",
    );
  } finally {
    await off.close();
    await on.close();
  }
});

Deno.test("POST /api/train: dataset confined to SGAN_DATA_ROOT, configuration checked, before anything runs", async () => {
  const { base, root, outside } = await makeDataRoot();
  const runsDir = join(base, "runs");
  const server = await startServer({ config: { token: TOKEN, dataRoot: root, runsDir } });
  const noRoot = await startServer({ config: { token: TOKEN, runsDir } });
  const fails = async (body: unknown, status: number, field: string | null, message?: RegExp) => {
    const res = await post(server, body);
    const label = typeof body === "string" ? body : JSON.stringify(body).slice(0, 120);
    assert.equal(res.status, status, `${label}: ${JSON.stringify(res.json)}`);
    const error = res.json as ErrorJson;
    assert.equal(error.field, field, label);
    if (message) assert.match(error.error, message, label);
    return error;
  };
  try {
    // Paths: '..', absolute outside, links out (the path itself, a folder's file, a list's entries), missing.
    for (const imgDir of ["../outside/secret.jpg", "images/../list.txt", "..", "escape/../list.txt"]) {
      await fails(tinyConfig(imgDir), 400, "dataset.img_dir", /'\.\.'/);
    }
    await fails(tinyConfig(join(outside, "secret.jpg")), 400, "dataset.img_dir", /outside the data root/);
    await fails(tinyConfig("/etc/hostname"), 400, "dataset.img_dir");
    await fails(tinyConfig("escape/secret.jpg"), 400, "dataset.img_dir", /outside the data root/);
    const escapeFolder = tinyConfig("escape");
    (escapeFolder.dataset as Record<string, unknown>).folder = true;
    await fails(escapeFolder, 400, "dataset.img_dir", /outside the data root/);
    const mixed = tinyConfig("mixed");
    (mixed.dataset as Record<string, unknown>).folder = true;
    await fails(mixed, 400, "dataset.img_dir", /names an image outside the data root: .*b\.jpg/);
    for (const list of ["up-list.txt", "abs-list.txt", "link-list.txt"]) {
      await fails(tinyConfig(list), 400, "dataset.img_dir", /names an image outside the data root/);
    }
    await fails(tinyConfig("missing.txt"), 400, "dataset.img_dir", /no such file/);
    await fails(tinyConfig("images"), 400, "dataset.img_dir", /is a folder, not a list file/);
    // The label CSV is confined like the images (the trainer reads it).
    const labelled = (csv: string) => {
      const config = tinyConfig("list.txt");
      Object.assign(config.dataset as Record<string, unknown>, { labels: "csv", label_csv: csv });
      return config;
    };
    await fails(labelled("../outside/labels.csv"), 400, "dataset.label_csv", /'\.\.'/);
    await fails(labelled(join(outside, "secret.jpg")), 400, "dataset.label_csv", /outside the data root/);
    await fails(labelled("missing.csv"), 400, "dataset.label_csv", /no such file/);
    await fails(labelled(""), 400, "dataset.label_csv", /labels csv needs dataset\.label_csv/);
    // So is a warm start's generator.
    const warm = (file: string) => ({ ...tinyConfig("list.txt"), init: { generator: file } });
    await fails(warm("../outside/secret.jpg"), 400, "init.generator", /'\.\.'/);
    await fails(warm(join(outside, "secret.jpg")), 400, "init.generator", /outside the data root/);
    await fails(warm("missing.safetensors"), 400, "init.generator", /no such file/);
    const warmD = (file: string) => ({ ...tinyConfig("list.txt"), init: { discriminator: file } });
    await fails(warmD("../outside/secret.jpg"), 400, "init.discriminator", /'\.\.'/);
    await fails(warmD(join(outside, "secret.jpg")), 400, "init.discriminator", /outside the data root/);
    const noDataRoot = await post(noRoot, tinyConfig("list.txt"));
    assert.equal(noDataRoot.status, 403);
    assert.equal((noDataRoot.json as ErrorJson).field, "dataset.img_dir");

    // The configuration: unknown keys, types, values, required keys; the body itself; the name.
    const unknown = await fails(
      { ...tinyConfig("list.txt"), dataset: { img_dir: "list.txt", folder: false, resolutoin: 16 } },
      400,
      "dataset.resolutoin",
      /unknown key 'dataset\.resolutoin'/,
    );
    assert.ok(Array.isArray(unknown.allowed) && unknown.allowed.includes("dataset.resolution"));
    await fails({ ...tinyConfig("list.txt"), epochs: 3 }, 400, "epochs", /unknown key 'epochs'/);
    await fails(
      { ...tinyConfig("list.txt"), dataset: { img_dir: "list.txt", folder: false, resolution: "16" } },
      400,
      "dataset.resolution",
      /must be a number/,
    );
    await fails(
      { ...tinyConfig("list.txt"), dataset: { img_dir: "list.txt", folder: false, resolution: 24 } },
      400,
      "dataset.resolution",
      /power of two/,
    );
    await fails(
      { ...tinyConfig("list.txt"), dataset: { folder: false } },
      400,
      "dataset.img_dir",
      /required/,
    );
    await fails({ ...tinyConfig("list.txt"), sched: { epochs: [1] } }, 400, "sched.epochs", /depths/);
    await fails(
      { ...tinyConfig("list.txt"), augment: { policy: "color,flip" } },
      400,
      "augment.policy",
      /unknown policy 'flip'; valid names: color, translation, cutout/,
    );
    await fails(
      { ...tinyConfig("list.txt"), model: { r1_gamma: "heuristic" } },
      400,
      "model.r1_gamma",
      /must be a number ≥ 0 or "auto"/,
    );
    await fails("{not json", 400, null, /JSON object/);
    await fails("[1,2]", 400, null, /JSON object/);
    await fails({ ...tinyConfig("list.txt"), name: "../evil" }, 400, "name");
    await fails({ ...tinyConfig("list.txt"), name: 7 }, 400, "name");
    const embedded = ((await request(`${server.url}/api/models`)).json as { default: string }).default;
    await fails({ ...tinyConfig("list.txt"), name: embedded }, 409, "name", /exists already/);
    const tooLarge = await post(server, { ...tinyConfig("list.txt"), padding: "x".repeat(70_000) });
    assert.equal(tooLarge.status, 413);
    const query = await request(`${server.url}/api/train?x=1`, { headers: AUTH });
    assert.equal(query.status, 400);
    assert.equal((query.json as ErrorJson).field, "x");

    // Nothing was started.
    assert.deepEqual((await request(`${server.url}/api/train`, { headers: AUTH })).json, { jobs: [] });
    assert.equal(await Deno.stat(runsDir).then(() => true, () => false), false);
  } finally {
    await server.close();
    await noRoot.close();
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("training jobs end to end: progress, events, samples, the model, one at a time, stop, failure", async (t) => {
  const { base, root } = await makeDataRoot();
  const runsDir = join(base, "runs");
  const server = await startServer({ config: { token: TOKEN, dataRoot: root, runsDir } });
  try {
    let tiny!: TrainingJobStatus;
    let events!: SseEvent[];

    await t.step("POST starts a job: 202, its id and URL", async () => {
      const res = await post(server, { name: "tiny-16", ...tinyConfig("list.txt") });
      assert.equal(res.status, 202, JSON.stringify(res.json));
      tiny = res.json as TrainingJobStatus;
      assert.match(tiny.id, /^[A-Za-z0-9-]+$/);
      assert.equal(res.headers.get("location"), `/api/train/${tiny.id}`);
      assert.equal(tiny.name, "tiny-16");
      assert.equal(tiny.state, "starting");
      assert.equal(tiny.events_url, `/api/train/${tiny.id}/events`);
      // The job's own run directory, whatever output_dir the body had; the dataset under the root.
      const yaml = await Deno.readTextFile(join(runsDir, tiny.id, "request.yaml"));
      assert.match(yaml, new RegExp(`output_dir: ${join(runsDir, tiny.id, "run")}`));
      assert.match(yaml, new RegExp(`img_dir: ${join(await Deno.realPath(root), "list.txt")}`));
    });

    await t.step("the event stream delivers status, progress, samples and the end", async () => {
      events = await readEvents(server, tiny.id);
      assert.equal(events[0].event, "status");
      assert.equal(events[0].data.id, tiny.id);
      const progress = events.filter((e) => e.event === "progress");
      assert.ok(progress.length >= 12, `${progress.length} progress events`);
      assert.deepEqual(progress.map((e) => e.data.depth).filter((d, i, a) => a.indexOf(d) === i), [0, 1, 2]);
      for (const key of ["epoch", "epochs", "batch", "batches", "alpha", "kimg", "d_loss", "g_loss"]) {
        assert.equal(typeof progress[0].data[key], "number", key);
      }
      assert.ok(progress.some((e) => (e.data.alpha as number) < 1), "fade-in reported");
      const samples = events.filter((e) => e.event === "sample");
      assert.ok(samples.length >= 4);
      for (const sample of samples.slice(-2)) {
        assert.match(
          sample.data.url as string,
          new RegExp(`^/api/train/${tiny.id}/samples/gen_\\d+_\\d+_\\d+\\.png$`),
        );
        const png = await request(`${server.url}${sample.data.url}`, { headers: AUTH });
        assert.equal(png.status, 200);
        assert.equal(png.headers.get("content-type"), "image/png");
        assert.deepEqual([...png.body.slice(0, 8)], PNG_SIGNATURE);
      }
      assert.ok(events.some((e) => e.event === "checkpoint"));
      assert.ok(
        events.some((e) => e.event === "log" && /Currently working on depth: 3/.test(e.data.line as string)),
      );
      assert.ok(!JSON.stringify(events).includes(runsDir), "no server paths in the stream");
      const ids = events.slice(1).map((e) => Number(e.id));
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      const done = events.at(-2)!;
      assert.equal(done.event, "done");
      assert.equal(done.data.model, "tiny-16");
      assert.deepEqual(events.at(-1), { event: "state", id: events.at(-1)!.id, data: { state: "done" } });
    });

    await t.step("GET shows the finished job; a late subscriber continues after Last-Event-ID", async () => {
      const job = await getJob(server, tiny.id);
      assert.equal(job.state, "done");
      assert.equal(job.depth, 2);
      assert.equal(job.resolution, 16);
      assert.equal(job.epoch, 2);
      assert.equal(job.epochs, 2);
      assert.equal(job.alpha, 1);
      assert.ok(Math.abs(job.kimg - 12 * 8 / 1000) < 1e-9, String(job.kimg));
      assert.ok(Number.isFinite(job.losses?.d) && Number.isFinite(job.losses?.g));
      assert.match(job.latest_sample ?? "", /\/samples\/gen_2_2_3\.png$/);
      assert.match(job.checkpoint ?? "", /^models\/GAN_GEN_SHADOW_2_2\.safetensors$/);
      assert.equal(job.model, "tiny-16");
      assert.equal(job.error, null);
      assert.ok(job.finished_at);
      const list = (await request(`${server.url}/api/train`, { headers: AUTH })).json as {
        jobs: TrainingJobStatus[];
      };
      assert.deepEqual(list.jobs.map((j) => j.id), [tiny.id]);

      const cut = events.at(-4)!.id!;
      const late = await readEvents(server, tiny.id, { "Last-Event-ID": cut });
      assert.equal(late[0].event, "status");
      assert.equal(late[0].data.state, "done");
      assert.deepEqual(late.slice(1), events.slice(-3));
      const badId = await request(`${server.url}/api/train/${tiny.id}/events`, {
        headers: { ...AUTH, "Last-Event-ID": "x" },
      });
      assert.equal(badId.status, 400);
      assert.equal((badId.json as ErrorJson).field, "Last-Event-ID");
    });

    await t.step("samples: only the job's own PNGs", async () => {
      for (
        const [file, status] of [["gen_9_9_9.png", 404], ["..%2Frequest.yaml", 400], ["x.txt", 400]] as const
      ) {
        const res = await request(`${server.url}/api/train/${tiny.id}/samples/${file}`, { headers: AUTH });
        assert.equal(res.status, status, file);
        assert.equal((res.json as ErrorJson).field, "file", file);
      }
    });

    await t.step("the finished generator is a model: listed, described, generating", async () => {
      const models = (await request(`${server.url}/api/models`)).json as { models: { name: string }[] };
      assert.ok(
        models.models.some((m) => m.name === "tiny-16"),
        JSON.stringify(models.models.map((m) => m.name)),
      );
      const info = (await request(`${server.url}/api/models/tiny-16`)).json as {
        resolution: number;
        kimg: number;
      };
      assert.equal(info.resolution, 16);
      assert.ok(info.kimg > 0);
      // Its discriminator, of the same checkpoint, lies beside it (for loss=mix+d projections), not as a model.
      const published = await Deno.readFile(join(runsDir, "models", "tiny-16.discriminator.safetensors"));
      assert.deepEqual(
        published,
        await Deno.readFile(join(runsDir, tiny.id, "run", "models", "GAN_DIS_2_2.safetensors")),
      );
      assert.equal(
        (await readSafetensorsMetadata(join(runsDir, "models", "tiny-16.discriminator.safetensors"))).network,
        "discriminator",
      );
      assert.deepEqual(models.models.filter((m) => m.name.startsWith("tiny-16")).map((m) => m.name), [
        "tiny-16",
      ]);
      const tile = await request(`${server.url}/generate?model=tiny-16&seed=1`);
      assert.equal(tile.status, 200);
      assert.equal(tile.headers.get("content-type"), "image/png");
      assert.deepEqual([...tile.body.slice(0, 8)], PNG_SIGNATURE);
      // A done job cannot be stopped; its name cannot be trained again.
      const stop = await request(`${server.url}/api/train/${tiny.id}`, { method: "DELETE", headers: AUTH });
      assert.equal(stop.status, 409);
      assert.equal((await post(server, { name: "tiny-16", ...tinyConfig("list.txt") })).status, 409);
    });

    await t.step("one job at a time; DELETE stops at a safe point with a checkpoint", async () => {
      const res = await post(server, { name: "long", ...tinyConfig("list.txt", [1, 1, 1000]) });
      assert.equal(res.status, 202);
      const long = res.json as TrainingJobStatus;
      const second = await post(server, tinyConfig("list.txt"));
      assert.equal(second.status, 409);
      assert.match((second.json as ErrorJson).error, /one job runs at a time/);
      assert.match(String((second.json as ErrorJson).allowed), new RegExp(`DELETE /api/train/${long.id}`));

      // Live progress on the stream while it runs; hanging up ends only that stream.
      const live = await readEvents(
        server,
        long.id,
        {},
        (events) => events.some((e) => e.event === "progress"),
      );
      assert.equal(live[0].data.state, "starting");
      const running = await waitFor(server, long.id, (j) => j.state === "running" && j.checkpoint !== null);
      assert.equal(typeof running.depth, "number");
      assert.ok(running.kimg > 0);
      // The API keeps answering while the job trains.
      assert.equal((await request(`${server.url}/api/models`)).status, 200);

      const stopped = await request(`${server.url}/api/train/${long.id}`, {
        method: "DELETE",
        headers: AUTH,
      });
      assert.equal(stopped.status, 200);
      const job = stopped.json as TrainingJobStatus;
      assert.equal(job.state, "cancelled");
      assert.match(job.checkpoint ?? "", /^models\/GAN_GEN_SHADOW_\d+_\d+(_\d+)?\.safetensors$/);
      assert.ok((await Deno.stat(join(runsDir, long.id, "run", job.checkpoint!))).isFile);
      const latest = JSON.parse(
        await Deno.readTextFile(join(runsDir, long.id, "run", "models", "latest.json")),
      );
      assert.equal(`models/${latest.files.shadow}`, job.checkpoint);
      assert.equal(job.model, null);
      assert.equal((await getJob(server, long.id)).state, "cancelled");
      const again = await request(`${server.url}/api/train/${long.id}`, { method: "DELETE", headers: AUTH });
      assert.equal(again.status, 200);
      assert.equal((again.json as TrainingJobStatus).state, "cancelled");
      const names =
        ((await request(`${server.url}/api/models`)).json as { models: { name: string }[] }).models;
      assert.ok(!names.some((m) => m.name === "long"));
    });

    await t.step("a job stopped while it starts is cancelled", async () => {
      const res = await post(server, tinyConfig("list.txt", [1, 1, 1000]));
      assert.equal(res.status, 202);
      const id = (res.json as TrainingJobStatus).id;
      const stopped = await request(`${server.url}/api/train/${id}`, { method: "DELETE", headers: AUTH });
      assert.equal(stopped.status, 200);
      assert.equal((stopped.json as TrainingJobStatus).state, "cancelled");
    });

    await t.step("a process that fails: the job is failed with its last stderr lines", async () => {
      // Two images cannot fill a batch of 8: the trainer refuses the dataset.
      const res = await post(server, tinyConfig("two.txt"));
      assert.equal(res.status, 202);
      const id = (res.json as TrainingJobStatus).id;
      const events = await readEvents(server, id);
      const job = await getJob(server, id);
      assert.equal(job.state, "failed");
      assert.match(job.error ?? "", /error/i);
      assert.ok(!(job.error ?? "").includes(root), job.error ?? "");
      assert.deepEqual(events.at(-1)!.data, { state: "failed", error: job.error });
    });
  } finally {
    await server.close();
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("deno task train --events: stdout is one JSON TrainEvent per line and nothing else", async () => {
  const { base, root } = await makeDataRoot();
  try {
    const config = { ...tinyConfig(join(root, "list.txt")), output_dir: join(base, "run") };
    await Deno.writeTextFile(join(base, "config.yaml"), toYaml(config));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "model/cli/train.ts", "--config", join(base, "config.yaml"), "--events"],
      cwd: REPO_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const lines = new TextDecoder().decode(out.stdout).trimEnd().split("\n");
    const types = new Set<string>();
    for (const line of lines) {
      const event = JSON.parse(line);
      assert.ok(
        ["progress", "log", "warning", "sample", "checkpoint", "depth", "metrics", "done", "stopped"]
          .includes(event.type),
        line,
      );
      types.add(event.type);
    }
    assert.deepEqual([...types].sort(), ["checkpoint", "depth", "done", "log", "progress", "sample"]);
    assert.equal(JSON.parse(lines.at(-1)!).type, "done");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("a job that does not stop in time is killed, and keeps its last complete checkpoint", async () => {
  const { base, root } = await makeDataRoot();
  const jobs = new TrainingJobs({
    runsDir: join(base, "runs"),
    modelsDir: join(base, "models"),
    stopTimeoutMs: 0,
  });
  try {
    const request = await parseTrainRequest(tinyConfig("list.txt", [1, 1, 1000]), root);
    const { id } = await jobs.start(request);
    const job = jobs.get(id);
    while (job.status().checkpoint === null) {
      assert.ok(!job.finished, JSON.stringify(job.status()));
      await job.changed;
    }
    const cancelled = await jobs.cancel(id);
    assert.equal(cancelled.state, "cancelled");
    const latest = JSON.parse(await Deno.readTextFile(join(job.runDir, "models", "latest.json")));
    assert.equal(cancelled.checkpoint, `models/${latest.files.shadow}`);
    assert.ok((await Deno.stat(join(job.runDir, cancelled.checkpoint!))).isFile);
    assert.deepEqual(jobs.list().map((j) => j.id), [id]);
  } finally {
    await jobs.close();
    await Deno.remove(base, { recursive: true });
  }
});
