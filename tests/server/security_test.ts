/** The token rule, the data-root path rule, CORS, and the training route slot. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ApiError, ForbiddenError, UnauthorizedError, ValidationError } from "../../server/errors.ts";
import { checkBearer, constantTimeEqual, isInside, resolveDataPath } from "../../server/security.ts";
import type { TrainingJobs, TrainingJobStatus, TrainRequest } from "../../server/training/jobs.ts";
import { type ErrorJson, request, startServer } from "./helpers.ts";

Deno.test("checkBearer: off without a token, then exactly 'Bearer <token>'", () => {
  assert.throws(() => checkBearer(undefined, "Bearer x"), ForbiddenError);
  assert.throws(() => checkBearer("", "Bearer "), ForbiddenError);
  assert.throws(() => checkBearer("s3cret", undefined), UnauthorizedError);
  assert.throws(() => checkBearer("s3cret", "s3cret"), UnauthorizedError);
  assert.throws(() => checkBearer("s3cret", "Basic czNjcmV0"), UnauthorizedError);
  assert.throws(() => checkBearer("s3cret", "Bearer s3cre"), UnauthorizedError);
  assert.throws(() => checkBearer("s3cret", "Bearer s3cret2"), UnauthorizedError);
  assert.throws(() => checkBearer("s3cret", "Bearer s3cret extra"), UnauthorizedError);
  checkBearer("s3cret", "Bearer s3cret");
  checkBearer("s3cret", "bearer  s3cret ");
  assert.ok(constantTimeEqual("abc", "abc"));
  assert.ok(!constantTimeEqual("abc", "abd"));
  assert.ok(!constantTimeEqual("abc", "abcd"));
  assert.ok(!constantTimeEqual("", "a"));
});

Deno.test("resolveDataPath: under SGAN_DATA_ROOT only, no '..', no symbolic link out", async (t) => {
  const base = await Deno.makeTempDir();
  const root = join(base, "data");
  const outside = join(base, "outside");
  await Deno.mkdir(join(root, "tiles", "aerial"), { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(root, "tiles", "a.png"), "x");
  await Deno.writeTextFile(join(outside, "secret.png"), "x");
  await Deno.symlink(outside, join(root, "escape"));
  await Deno.symlink(join(root, "tiles"), join(root, "alias"));
  await Deno.symlink(root, join(base, "root-link"));
  const realRoot = await Deno.realPath(root);
  const rejects = async (path: string, kind: new (...a: never[]) => ApiError = ValidationError) =>
    await assert.rejects(resolveDataPath(root, path), kind, path);
  try {
    await t.step("accepted", async () => {
      assert.equal(await resolveDataPath(root, "tiles"), join(realRoot, "tiles"));
      assert.equal(await resolveDataPath(root, "tiles/aerial/"), join(realRoot, "tiles", "aerial"));
      assert.equal(await resolveDataPath(root, "./tiles/a.png"), join(realRoot, "tiles", "a.png"));
      assert.equal(await resolveDataPath(root, join(root, "tiles")), join(realRoot, "tiles"));
      assert.equal(
        await resolveDataPath(root, "alias/a.png"),
        join(realRoot, "tiles", "a.png"),
        "a link that stays inside",
      );
      assert.equal(
        await resolveDataPath(join(base, "root-link"), "tiles"),
        join(realRoot, "tiles"),
        "a linked root",
      );
      assert.equal(await resolveDataPath(root, "."), realRoot);
    });
    await t.step("refused", async () => {
      await rejects("../outside/secret.png");
      await rejects("tiles/../tiles");
      await rejects("tiles/..");
      await rejects("..");
      await rejects("tiles\\..\\..\\outside");
      await rejects(join(outside, "secret.png"));
      await rejects("/etc/passwd");
      await rejects("escape/secret.png");
      await rejects("escape");
      await rejects("missing");
      await rejects("");
      await rejects("   ");
      await rejects("tiles\0/a.png");
      await assert.rejects(resolveDataPath(undefined, "tiles"), ForbiddenError);
      await assert.rejects(resolveDataPath(join(base, "nope"), "tiles"), ForbiddenError);
    });
    await t.step("isInside", () => {
      assert.ok(isInside("/data", "/data"));
      assert.ok(isInside("/data", "/data/a/b"));
      assert.ok(!isInside("/data", "/data2"));
      assert.ok(!isInside("/data", "/"));
      assert.ok(!isInside("/data", "/other/data"));
      assert.ok(isInside("/data", "/data/..hidden"));
    });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("POST /api/train: 403 off, 401 without the token, 501 until training exists", async () => {
  const off = await startServer();
  const on = await startServer({ config: { token: "s3cret" } });
  const post = (url: string, headers: Record<string, string> = {}, body = '{"dataset":"tiles"}') =>
    request(`${url}/api/train`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body,
    });
  try {
    assert.equal((await post(off.url, { Authorization: "Bearer s3cret" })).status, 403);
    const missing = await post(on.url);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="sgan"');
    assert.equal((missing.json as ErrorJson).field, "Authorization");
    assert.equal((await post(on.url, { Authorization: "Bearer wrong" })).status, 401);
    const notYet = await post(on.url, { Authorization: "Bearer s3cret" });
    assert.equal(notYet.status, 501);
    assert.match((notYet.json as ErrorJson).error, /not available yet/);
    assert.equal(
      (await request(`${on.url}/api/train`, { headers: { Authorization: "Bearer s3cret" } })).status,
      404,
    );
  } finally {
    await off.close();
    await on.close();
  }
});

/** A stand-in training runner, to prove the route's wiring for when the training loop lands. */
class FakeTraining implements TrainingJobs {
  started: (TrainRequest & { datasetPath: string })[] = [];
  start(request: TrainRequest & { datasetPath: string }): Promise<TrainingJobStatus> {
    this.started.push(request);
    return Promise.resolve({ id: "run-1", state: "queued", kimg: 0, model: request.name ?? "run-1" });
  }
  get(): Promise<TrainingJobStatus | undefined> {
    return Promise.resolve(undefined);
  }
  list(): Promise<TrainingJobStatus[]> {
    return Promise.resolve([]);
  }
  cancel(): Promise<TrainingJobStatus | undefined> {
    return Promise.resolve(undefined);
  }
}

Deno.test("POST /api/train with a training runner: body validated, dataset confined to the data root", async () => {
  const dataRoot = await Deno.makeTempDir();
  await Deno.mkdir(join(dataRoot, "tiles"));
  const training = new FakeTraining();
  const server = await startServer({ config: { token: "s3cret", dataRoot }, training });
  const post = (body: string) =>
    request(`${server.url}/api/train`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer s3cret" },
      body,
    });
  try {
    const ok = await post('{"dataset":"tiles","name":"aerial","kimg":100}');
    assert.equal(ok.status, 202);
    assert.equal(training.started[0].datasetPath, join(await Deno.realPath(dataRoot), "tiles"));
    for (
      const [body, field] of [
        ['{"dataset":"../etc"}', "dataset"],
        ['{"dataset":"/etc"}', "dataset"],
        ['{"dataset":"tiles","kimg":-1}', "kimg"],
        ['{"dataset":"tiles","extra":1}', "extra"],
        ["{not json", null],
      ] as const
    ) {
      const res = await post(body);
      assert.equal(res.status, 400, body);
      assert.equal((res.json as ErrorJson).field, field, body);
    }
    assert.equal((await post(JSON.stringify({ dataset: "x".repeat(70_000) }))).status, 413);
    assert.equal(training.started.length, 1);
  } finally {
    await server.close();
    await Deno.remove(dataRoot, { recursive: true });
  }
});

Deno.test("CORS: only the configured origins, with the image headers exposed", async () => {
  const none = await startServer();
  const some = await startServer({ config: { corsOrigins: ["https://reports.example.org"] } });
  const any = await startServer({ config: { corsOrigins: ["*"] } });
  const from = (origin: string) => ({ headers: { Origin: origin } });
  try {
    const plain = await request(`${none.url}/api/models`, from("https://reports.example.org"));
    assert.equal(plain.headers.get("access-control-allow-origin"), null);

    const allowed = await request(`${some.url}/generate?seed=1`, from("https://reports.example.org"));
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://reports.example.org");
    assert.match(allowed.headers.get("access-control-expose-headers") ?? "", /ETag/);
    assert.match(allowed.headers.get("access-control-expose-headers") ?? "", /X-Style-Layers/);
    const other = await request(`${some.url}/generate?seed=1`, from("https://evil.example.com"));
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    const preflight = await request(`${some.url}/api/train`, {
      method: "OPTIONS",
      headers: { Origin: "https://reports.example.org", "Access-Control-Request-Method": "POST" },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /Authorization/);

    const star = await request(`${any.url}/api/models`, from("https://anywhere.example"));
    assert.equal(star.headers.get("access-control-allow-origin"), "*");
  } finally {
    await none.close();
    await some.close();
    await any.close();
  }
});
