/**
 * The token rule, the data-root path rule and CORS. The training routes themselves (token, paths, jobs) are
 * tested against the real app in train_jobs_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ApiError, ForbiddenError, UnauthorizedError, ValidationError } from "../../server/errors.ts";
import { checkBearer, constantTimeEqual, isInside, resolveDataPath } from "../../server/security.ts";
import { request, startServer } from "./helpers.ts";

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
    assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /DELETE/);

    const star = await request(`${any.url}/api/models`, from("https://anywhere.example"));
    assert.equal(star.headers.get("access-control-allow-origin"), "*");
  } finally {
    await none.close();
    await some.close();
    await any.close();
  }
});

Deno.test("CORS: the widgets bundle is public code for any origin; the data keeps the configured rule", async () => {
  const staticDir = await Deno.makeTempDir();
  await Deno.mkdir(`${staticDir}/widgets`);
  await Deno.writeTextFile(`${staticDir}/widgets/sgan-widgets.js`, "export {};\n");
  const none = await startServer({ config: { staticDir } });
  const some = await startServer({ config: { staticDir, corsOrigins: ["https://reports.example.org"] } });
  // A page opened from file:// sends `Origin: null`.
  const origins = ["https://elsewhere.example", "https://reports.example.org", "null"];
  try {
    for (const server of [none, some]) {
      for (const origin of origins) {
        const bundle = await request(`${server.url}/widgets/sgan-widgets.js`, {
          headers: { Origin: origin },
        });
        assert.equal(bundle.status, 200);
        assert.equal(bundle.headers.get("access-control-allow-origin"), "*", `${server.url} from ${origin}`);
        assert.equal(bundle.headers.get("cross-origin-resource-policy"), "cross-origin");
      }
      // A missing widget file says so to any origin too (the page can then show why).
      const missing = await request(`${server.url}/widgets/nope.js`, { headers: { Origin: "null" } });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get("access-control-allow-origin"), "*");
    }
    const data = await request(`${none.url}/api/models`, {
      headers: { Origin: "https://elsewhere.example" },
    });
    assert.equal(data.headers.get("access-control-allow-origin"), null);
    const other = await request(`${some.url}/generate?seed=1`, {
      headers: { Origin: "https://elsewhere.example" },
    });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    const allowed = await request(`${some.url}/api/models`, {
      headers: { Origin: "https://reports.example.org" },
    });
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://reports.example.org");
    const demo = await request(`${none.url}/static/demo.css`, {
      headers: { Origin: "https://elsewhere.example" },
    });
    assert.equal(demo.headers.get("access-control-allow-origin"), null, "only /widgets/* is public");
  } finally {
    await none.close();
    await some.close();
    await Deno.remove(staticDir, { recursive: true });
  }
});
