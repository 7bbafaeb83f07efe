/**
 * POST /api/projections and its routes, against a real server and real worker processes (the small reference
 * model, 2–3 steps, few W-spread samples): the accepted projection's events, status, w and reconstructions;
 * `w:<id>` in /generate, /truncation and /mixing (checked against what G(w) must give: the worker's own
 * reconstruction, and ψ = 0 landing on the W centre like any seed); GeoTIFF targets keeping their place;
 * every kind of bad upload refused before anything is stored; the bounded queue; and a restart on the same
 * database file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { saveNetwork } from "../../model/checkpoint/checkpoint.ts";
import { ParameterTree } from "../../model/layers/parameters.ts";
import { Discriminator } from "../../model/networks/discriminator.ts";
import { Generator } from "../../model/networks/generator.ts";
import { decodeImage } from "../../model/data/decode.ts";
import { openGeoTiff } from "../../model/geo/read.ts";
import { writeGeoTiff } from "../../model/geo/write.ts";
import { encodePng, type Raster8 } from "../../model/images.ts";
import type { ProjectionStatus } from "../../server/projection/jobs.ts";
import type { ServiceOptions } from "../../server/services.ts";
import { UCMERCED_DIR } from "../support/paths.ts";
import { writeConditionalModel } from "../support/conditional_model.ts";
import { type ErrorJson, type Fetched, request, startServer, type TestServer, useWasm } from "./helpers.ts";
import { parseSseBlock, type SseEvent } from "./train_support.ts";

const JPEG = await Deno.readFile(`${UCMERCED_DIR}/images/agricultural/agricultural00.jpg`);

/** A server with projections on, its files in a fresh folder (`base`); the same `base` reopens them. */
async function projectionServer(base?: string, options: ServiceOptions = {}) {
  const dir = base ?? await Deno.makeTempDir({ prefix: "sgan-projections-" });
  const server = await startServer({
    ...options,
    config: {
      projections: true,
      projectionsDir: join(dir, "projections"),
      databasePath: join(dir, "sgan.sqlite"),
      ...options.config,
      projection: { wAvgSamples: 200, previewEvery: 1, ...options.config?.projection },
    },
  });
  return { server, dir };
}

function post(
  server: TestServer,
  query: string,
  body: BodyInit | Uint8Array,
  type?: string,
): Promise<Fetched> {
  return request(`${server.url}/api/projections${query}`, {
    method: "POST",
    headers: type ? { "Content-Type": type } : {},
    body: body as BodyInit,
  });
}

/** Every event of a projection's stream (it ends after the final state). */
async function events(server: TestServer, id: string): Promise<SseEvent[]> {
  const text = await (await fetch(`${server.url}/api/projections/${id}/events`)).text();
  return text.split("\n\n").map(parseSseBlock).filter((e): e is SseEvent => e !== undefined);
}

async function status(server: TestServer, id: string) {
  return (await request(`${server.url}/api/projections/${id}`)).json as ProjectionStatus & {
    w: { dlatents: number[]; num_layers: number; dlatent_size: number; w_plus: boolean } | null;
  };
}

async function png(server: TestServer, url: string): Promise<Raster8> {
  const res = await request(server.url + url);
  assert.equal(res.status, 200, `${url}: ${new TextDecoder().decode(res.body).slice(0, 200)}`);
  assert.equal(res.headers.get("content-type"), "image/png");
  return await decodeImage(res.body, url);
}

function maxDifference(a: Raster8, b: Raster8): number {
  assert.deepEqual([a.width, a.height, a.channels], [b.width, b.height, b.channels]);
  let most = 0;
  for (let i = 0; i < a.data.length; i++) most = Math.max(most, Math.abs(a.data[i] - b.data[i]));
  return most;
}

async function projectDone(server: TestServer, query: string, body: BodyInit | Uint8Array, type?: string) {
  const accepted = await post(server, query, body, type);
  assert.equal(accepted.status, 202, JSON.stringify(accepted.json));
  const id = (accepted.json as ProjectionStatus).id;
  const stream = await events(server, id);
  return { accepted, id, stream };
}

function assertError(res: Fetched, status: number, field: string | null, message: RegExp): ErrorJson {
  const body = res.json as ErrorJson;
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.field, field, JSON.stringify(body));
  assert.match(body.error, message);
  assert.ok(body.allowed !== null && body.allowed !== undefined, `allowed is given: ${JSON.stringify(body)}`);
  return body;
}

Deno.test("a projection: 202, progress and reconstructions as SSE, status with loss curve and w, w:<id> edits", async (t) => {
  const { server, dir } = await projectionServer();
  try {
    const { accepted, id, stream } = await projectDone(server, "?steps=3&seed=4", JPEG, "image/jpeg");
    const body = accepted.json as ProjectionStatus;
    assert.equal(accepted.headers.get("location"), `/api/projections/${id}`);
    assert.equal(body.status_url, `/api/projections/${id}`);
    assert.equal(body.events_url, `/api/projections/${id}/events`);
    assert.deepEqual(body.options, { steps: 3, seed: 4, wplus: false, loss: "mix", class: null, gsd: null });

    await t.step(
      "the stream: status first, a progress event per step, a reconstruction URL per preview",
      async () => {
        assert.equal(stream[0].event, "status");
        const progress = stream.filter((e) => e.event === "progress").map((e) => e.data);
        assert.deepEqual(progress.map((p) => p.step), [1, 2, 3]);
        const previews = stream.filter((e) => e.event === "reconstruction").map((e) => e.data);
        assert.deepEqual(previews.map((p) => p.step), [1, 2, 3]);
        for (const p of previews) {
          const image = await png(server, p.url as string);
          assert.deepEqual([image.width, image.height], [32, 32]);
        }
        const last = stream.at(-1)!;
        assert.equal(last.event, "state");
        assert.equal(last.data.state, "done");
      },
    );

    const done = await status(server, id);
    await t.step(
      "GET: done, the loss curve is the streamed totals, the w has the model's shape",
      async () => {
        assert.equal(done.state, "done");
        const totals = stream.filter((e) => e.event === "progress").map((e) =>
          (e.data.losses as { total: number }).total
        );
        assert.deepEqual(done.loss_curve, totals);
        assert.ok(done.loss_curve[2] < done.loss_curve[0], "the loss falls");
        const model = (await request(`${server.url}/api/models/reference-r32`)).json as {
          style_layers: number;
          config: { dlatent_size: number };
        };
        assert.equal(done.w!.num_layers, model.style_layers);
        assert.equal(done.w!.dlatents.length, model.style_layers * model.config.dlatent_size);
        assert.equal(done.w!.w_plus, false);
        assert.match(done.target.resampling!, /256 → 32 px/);
        assert.equal(done.geotiff_url, null);
        assert.equal(done.source, `w:${id}`);
        assertError(
          await request(`${server.url}/api/projections/${id}/reconstruction.tif`),
          404,
          null,
          /only GeoTIFF/,
        );
      },
    );

    await t.step(
      "the upload is decoded once: the folder keeps the resampled target, not the upload, and the worker projected it",
      async () => {
        const folder = join(dir, "projections", id);
        const names = [...Deno.readDirSync(folder)].map((e) => e.name).sort();
        assert.deepEqual(names, [
          "previews",
          "request.json",
          "result",
          "stderr.log",
          "target.json",
          "target.raw",
        ]);
        const raw = await Deno.readFile(join(folder, "target.raw"));
        const seen = await decodeImage(
          await Deno.readFile(join(folder, "result", "target.png")),
          "target.png",
        );
        assert.deepEqual([seen.width, seen.height, seen.channels], [32, 32, 3]);
        assert.deepEqual(seen.data, raw, "the worker's target is the server's, byte for byte");
        const request = JSON.parse(await Deno.readTextFile(join(folder, "request.json")));
        assert.equal("upload" in request, false, "the worker is not pointed at an upload");
        assert.equal(body.target.resampling, done.target.resampling, "known when accepted");
      },
    );

    await t.step("w:<id> at ψ = 1 renders the worker's reconstruction (G(w), constant noise)", async () => {
      const final = await png(server, done.reconstruction_url!);
      const edit = await png(server, `/generate?seed=w:${id}`);
      assert.ok(maxDifference(final, edit) <= 1, `differs by ${maxDifference(final, edit)}`);
    });

    await t.step(
      "truncation of w:<id> pulls toward the W centre: ψ = 0 on every layer is any seed's ψ = 0",
      async () => {
        const centre = await request(`${server.url}/generate?seed=5&psi=0&cutoff=8`);
        const projected = await request(`${server.url}/generate?seed=w:${id}&psi=0&cutoff=8`);
        assert.deepEqual(projected.body, centre.body);
        const half = await png(server, `/generate?seed=w:${id}&psi=0.5&cutoff=8`);
        const ends = [await png(server, done.reconstruction_url!), await decodeImage(centre.body, "centre")];
        assert.ok(
          maxDifference(half, ends[0]) > 0 && maxDifference(half, ends[1]) > 0,
          "ψ = 0.5 lies between",
        );
        const figure = await request(`${server.url}/truncation?seeds=w:${id},3&psis=0,1&cutoff=8`);
        assert.equal(figure.status, 200);
      },
    );

    await t.step(
      "mixing with w:<id>: the JSON names it; taking every layer from it gives its tile",
      async () => {
        const json = await request(`${server.url}/mixing?src=w:${id}&dst=7&ranges=0-7&format=json`);
        assert.equal(json.status, 200, JSON.stringify(json.json));
        const cells = (json.json as { cells: { kind: string; seed: unknown; src_seed: unknown }[] }).cells;
        assert.equal(cells.find((c) => c.kind === "source")!.seed, `w:${id}`);
        assert.equal(cells.find((c) => c.kind === "mixed")!.src_seed, `w:${id}`);
        // The figure: 2 × 2 tiles of 32 px; the mixed cell (bottom right) took all 8 style layers of w:<id>.
        const figure = await png(server, `/mixing?src=w:${id}&dst=7&ranges=0-7`);
        const mixed = crop(figure, 32, 32, 32);
        assert.ok(maxDifference(mixed, await png(server, `/generate?seed=w:${id}`)) <= 1);
      },
    );

    await t.step("unknown and malformed w: ids", async () => {
      assertError(
        await request(`${server.url}/generate?seed=w:p20000101-000000-0000`),
        404,
        "seed",
        /no projection 'w:p20000101-000000-0000'/,
      );
      assertError(await request(`${server.url}/generate?seed=w:nope`), 400, "seed", /is not a projection id/);
      assertError(
        await request(`${server.url}/mixing?src=1&dst=w:p20000101-000000-0000&ranges=0-3`),
        404,
        "dst",
        /no projection/,
      );
      assertError(
        await request(`${server.url}/generate?seed=w:${id}&class=forest`),
        400,
        "class",
        /keeps its own/,
      );
      assertError(
        await request(`${server.url}/api/projections/p20000101-000000-0000`),
        404,
        "id",
        /no projection/,
      );
      assertError(await request(`${server.url}/api/projections/nope/events`), 404, "id", /no projection/);
      assertError(
        await request(`${server.url}/api/projections/${id}/reconstruction.png?step=9`),
        404,
        "step",
        /no preview after step 9/,
      );
    });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

function crop(image: Raster8, x: number, y: number, side: number): Raster8 {
  const data = new Uint8Array(side * side * image.channels);
  for (let row = 0; row < side; row++) {
    const from = ((y + row) * image.width + x) * image.channels;
    data.set(image.data.subarray(from, from + side * image.channels), row * side * image.channels);
  }
  return { width: side, height: side, channels: image.channels, data };
}

Deno.test("bad uploads and options: 415, 413, 422, 400 with {error, field, allowed}, and nothing stored", async (t) => {
  const { server, dir } = await projectionServer(undefined, {
    config: { projection: { maxBytes: 200_000 } },
  });
  const stored = () => {
    try {
      return [...Deno.readDirSync(join(dir, "projections"))].length;
    } catch {
      return 0;
    }
  };
  try {
    await t.step("415: not an image type, or bytes that are no image", async () => {
      assertError(
        await post(server, "", "hello", "text/plain"),
        415,
        "Content-Type",
        /text\/plain, not an image/,
      );
      assertError(await post(server, "", "hello", "image/png"), 415, "image", /not a PNG, JPEG or TIFF/);
    });
    await t.step("413: over the byte limit, or a header announcing 30,000 × 30,000 px", async () => {
      assertError(
        await post(server, "", new Uint8Array(300_000), "image/png"),
        413,
        "image",
        /larger than 200000/,
      );
      const bytes = await encodePng({ width: 8, height: 8, channels: 3, data: new Uint8Array(192) });
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      view.setUint32(16, 30000);
      view.setUint32(20, 30000);
      assertError(await post(server, "", bytes, "image/png"), 413, "image", /30000 × 30000 px/);
    });
    await t.step("422: a truncated PNG", async () => {
      const bytes = await encodePng({
        width: 64,
        height: 64,
        channels: 3,
        data: new Uint8Array(64 * 64 * 3),
      });
      assertError(
        await post(server, "", bytes.subarray(0, 30), "image/png"),
        422,
        "image",
        /cut short|truncated/,
      );
    });
    await t.step(
      "400: options out of range, unknown, twice, or a class on an unconditional model",
      async () => {
        const steps = assertError(
          await post(server, "?steps=0", JPEG, "image/jpeg"),
          400,
          "steps",
          /at least 1/,
        );
        assert.match(String(steps.allowed), /from 1 to 2000/);
        const loss = assertError(
          await post(server, "?loss=vgg", JPEG, "image/jpeg"),
          400,
          "loss",
          /must be one of/,
        );
        assert.deepEqual(loss.allowed, ["l2", "l1", "laplacian", "mix", "mix+d"]);
        // The D-feature loss needs the model's discriminator; the embedded models ship none.
        const noD = assertError(
          await post(server, "?loss=mix%2Bd", JPEG, "image/jpeg"),
          400,
          "loss",
          /loss=mix\+d uses the trained discriminator's features, and model 'reference-r32' ships no discriminator \(no reference-r32\.discriminator\.safetensors beside its generator\)/,
        );
        assert.deepEqual(noD.allowed, ["l2", "l1", "laplacian", "mix"]);
        assertError(await post(server, "?x=1", JPEG, "image/jpeg"), 400, "x", /unknown parameter/);
        assertError(await post(server, "?class=forest", JPEG, "image/jpeg"), 400, "class", /unconditional/);
        const form = new FormData();
        form.append("image", new Blob([JPEG]), "tile.jpg");
        form.append("steps", "2");
        assertError(await post(server, "?steps=3", form), 400, "steps", /more than once/);
        const empty = new FormData();
        empty.append("steps", "2");
        assertError(await post(server, "", empty), 400, "image", /no image file/);
        const badField = new FormData();
        badField.append("image", new Blob([JPEG]), "tile.jpg");
        badField.append("wplus", "maybe");
        assertError(await post(server, "", badField), 400, "wplus", /must be 1 or 0/);
      },
    );
    assert.equal(stored(), 0, "no refused upload left a file");

    await t.step("a multipart upload with its options as form fields is accepted", async () => {
      const form = new FormData();
      form.append("image", new Blob([JPEG]), "tile.jpg");
      form.append("steps", "2");
      form.append("wplus", "1");
      const res = await post(server, "", form);
      assert.equal(res.status, 202, JSON.stringify(res.json));
      const accepted = res.json as ProjectionStatus;
      assert.equal(accepted.target.name, "tile.jpg");
      assert.deepEqual([accepted.options.steps, accepted.options.wplus], [2, true]);
      await events(server, accepted.id);
      const done = await status(server, accepted.id);
      assert.equal(done.state, "done", done.error ?? "");
      assert.equal(done.w!.w_plus, true);
      assert.equal(stored(), 1);
    });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GET /api/projections pages newest first; DELETE cancels a queued or running one (its worker stopped) and deletes a finished one with its files", async (t) => {
  const { server, dir } = await projectionServer(undefined, {
    config: { projection: { workers: 1, maxQueued: 2, previewEvery: 50 } },
  });
  const list = async (query = "") => {
    const res = await request(`${server.url}/api/projections${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return res.json as {
      projections: ProjectionStatus[];
      total: number;
      limit: number;
      offset: number;
      next: string | null;
    };
  };
  const remove = (id: string) => request(`${server.url}/api/projections/${id}`, { method: "DELETE" });
  let queued: string;
  try {
    const done = (await projectDone(server, "?steps=2", JPEG, "image/jpeg")).id;
    const running = ((await post(server, "?steps=2000", JPEG, "image/jpeg")).json as ProjectionStatus).id;
    queued = ((await post(server, "?steps=2000", JPEG, "image/jpeg")).json as ProjectionStatus).id;
    assert.deepEqual([running, queued].map((id) => typeof id), ["string", "string"]);

    await t.step("the list: newest first, in pages whose next URL leads to the last one", async () => {
      const all = await list();
      assert.deepEqual(all.projections.map((p) => p.id), [queued, running, done]);
      assert.deepEqual(all.projections.map((p) => p.state), ["queued", "running", "done"]);
      assert.deepEqual([all.total, all.limit, all.offset, all.next], [3, 50, 0, null]);
      assert.equal("w" in all.projections[2], false, "entries carry no w");
      const first = await list("?limit=2");
      assert.deepEqual(first.projections.map((p) => p.id), [queued, running]);
      assert.equal(first.next, "/api/projections?limit=2&offset=2");
      const last = await list(first.next!.slice("/api/projections".length));
      assert.deepEqual(last.projections.map((p) => p.id), [done]);
      assert.equal(last.next, null);
      const beyond = await list("?offset=3");
      assert.deepEqual([beyond.projections, beyond.total, beyond.next], [[], 3, null]);
    });

    await t.step("bad paging: 400 naming limit or offset", async () => {
      const at = (query: string) => request(`${server.url}/api/projections${query}`);
      assert.match(String(assertError(await at("?limit=0"), 400, "limit", /at least 1/).allowed), /1 to 200/);
      assertError(await at("?limit=201"), 400, "limit", /at most 200/);
      assertError(await at("?offset=-1"), 400, "offset", /whole number/);
      assertError(await at("?offset=x"), 400, "offset", /whole number/);
      assertError(await at("?page=2"), 400, "page", /unknown parameter/);
    });

    await t.step("DELETE a queued one: 200, cancelled before it started", async () => {
      const res = await remove(queued);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const cancelled = res.json as ProjectionStatus;
      assert.deepEqual([cancelled.state, cancelled.started_at, cancelled.error], ["cancelled", null, null]);
      const stream = await events(server, queued);
      assert.deepEqual(stream.at(-1)!.data, { state: "cancelled" });
      assertError(await request(`${server.url}/generate?seed=w:${queued}`), 400, "seed", /is cancelled/);
    });

    await t.step("DELETE a running one: its worker is stopped, 200, cancelled", async () => {
      const folder = join(dir, "projections", running);
      for (let i = 0; i < 600 && !workerOf(folder); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(workerOf(folder), "the worker runs");
      const res = await remove(running);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const cancelled = res.json as ProjectionStatus;
      assert.equal(cancelled.state, "cancelled");
      assert.ok(cancelled.step < 2000 && cancelled.finished_at !== null);
      assert.equal(workerOf(folder), undefined, "no worker is left");
      assert.equal((await status(server, running)).state, "cancelled");
    });

    await t.step(
      "DELETE a finished one: 204, its files gone, its id and w:<id> a 404 like an unknown one",
      async () => {
        const folder = join(dir, "projections", done);
        assert.ok(Deno.statSync(join(folder, "result", "w.json")).isFile);
        const before = await request(`${server.url}/generate?seed=w:${done}`);
        assert.equal(before.status, 200);
        const res = await remove(done);
        assert.deepEqual([res.status, res.body.length], [204, 0]);
        assert.throws(() => Deno.statSync(folder), Deno.errors.NotFound);
        const unknown = "p20000101-000000-0000";
        for (const [url, field] of [["/api/projections/ID", "id"], ["/generate?seed=w:ID", "seed"]]) {
          const gone = assertError(
            await request(server.url + url.replace("ID", done)),
            404,
            field,
            /no projection/,
          );
          const never = assertError(
            await request(server.url + url.replace("ID", unknown)),
            404,
            field,
            /no projection/,
          );
          assert.deepEqual({ ...gone, error: gone.error.replace(done, unknown) }, never);
        }
        assertError(await remove(done), 404, "id", /no projection/);
        assertError(await remove("nope"), 404, "id", /no projection/);
        // A cancelled one is finished: a second DELETE removes it.
        assert.equal((await remove(running)).status, 204);
        assert.deepEqual((await list()).projections.map((p) => p.id), [queued]);
      },
    );
  } finally {
    await server.close();
  }
  const again = await projectionServer(dir);
  try {
    // The database agrees: the deleted ones stay deleted, the cancelled one stays cancelled.
    const page = (await request(`${again.server.url}/api/projections`)).json as {
      projections: ProjectionStatus[];
    };
    assert.deepEqual(page.projections.map((p) => [p.id, p.state]), [[queued, "cancelled"]]);
  } finally {
    await again.server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a full projection queue answers 503 with Retry-After; shutdown leaves the running one interrupted, a restart keeps it so", async () => {
  const { server, dir } = await projectionServer(undefined, {
    config: { projection: { workers: 1, maxQueued: 0, previewEvery: 50 } },
  });
  let id: string;
  try {
    // Two at once for one slot: exactly one is accepted (the slot is taken before the upload is written).
    const both = await Promise.all([
      post(server, "?steps=2000", JPEG, "image/jpeg"),
      post(server, "?steps=2000", JPEG, "image/jpeg"),
    ]);
    assert.deepEqual(both.map((r) => r.status).sort(), [202, 503]);
    const first = both.find((r) => r.status === 202)!;
    id = (first.json as ProjectionStatus).id;
    const full = await post(server, "?steps=2", JPEG, "image/jpeg");
    assert.equal(full.status, 503, JSON.stringify(full.json));
    assert.match((full.json as ErrorJson).error, /projection queue is full \(1 running, 0 waiting\)/);
    assert.ok(
      Number(full.headers.get("retry-after")) >= 1,
      `Retry-After: ${full.headers.get("retry-after")}`,
    );
  } finally {
    await server.close();
  }
  const again = await projectionServer(dir);
  try {
    const interrupted = await status(again.server, id);
    assert.equal(interrupted.state, "interrupted");
    assert.match(interrupted.error!, /server stopped/);
    assertError(await request(`${again.server.url}/generate?seed=w:${id}`), 400, "seed", /is interrupted/);
  } finally {
    await again.server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a restart on the same database serves finished projections and their w:<id> again", async () => {
  const { server, dir } = await projectionServer();
  let id: string;
  let before: Uint8Array;
  try {
    ({ id } = await projectDone(server, "?steps=2", JPEG, "image/jpeg"));
    before = (await request(`${server.url}/generate?seed=w:${id}&psi=0.7`)).body;
  } finally {
    await server.close();
  }
  const again = await projectionServer(dir);
  try {
    const done = await status(again.server, id);
    assert.equal(done.state, "done");
    assert.equal(done.loss_curve.length, 2);
    assert.ok(done.w);
    const after = await request(`${again.server.url}/generate?seed=w:${id}&psi=0.7`);
    assert.equal(after.status, 200);
    assert.deepEqual(after.body, before);
  } finally {
    await again.server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a GeoTIFF target: the reconstruction and every edit of it lie on the target's ground", async () => {
  const { server, dir } = await projectionServer();
  try {
    // A 100 × 100 px RGB site at 1 m/px in UTM zone 14N (EPSG:26914), cut from the UC Merced tile.
    const site = await decodeImage(JPEG, "site");
    const data = new Uint8Array(100 * 100 * 3);
    for (let y = 0; y < 100; y++) {
      data.set(site.data.subarray(y * site.width * 3, (y * site.width + 100) * 3), y * 300);
    }
    const origin: [number, number] = [486_540, 5_208_607];
    const tif = join(dir, "site.tif");
    await writeGeoTiff(tif, {
      width: 100,
      height: 100,
      bands: 3,
      data,
      geo: { geoTransform: [origin[0], 1, 0, origin[1], 0, -1], crs: { epsg: 26914 } },
    });
    const { id } = await projectDone(server, "?steps=2", await Deno.readFile(tif), "image/tiff");
    const done = await status(server, id);
    assert.equal(done.state, "done", done.error ?? "");
    assert.equal(done.target.georeferenced, true);
    const gsd = ((await request(`${server.url}/api/models/reference-r32`)).json as { gsd_m: number }).gsd_m;

    const recon = await readPlace(server, done.geotiff_url!);
    assert.equal(recon.epsg, 26914);
    assert.deepEqual([recon.width, recon.height], [32, 32]);
    // The model's pixel size (to the source pixel the window is rounded to), centred on the site's centre.
    assert.ok(Math.abs(recon.gt[1] - gsd) < 1 / 32, `pixel ${recon.gt[1]} m, model ${gsd} m`);
    assert.equal(recon.gt[5], -recon.gt[1]);
    const centre = [recon.gt[0] + 16 * recon.gt[1], recon.gt[3] + 16 * recon.gt[5]];
    assert.ok(Math.abs(centre[0] - (origin[0] + 50)) <= 1 && Math.abs(centre[1] - (origin[1] - 50)) <= 1);

    const tile = await readPlace(server, `/generate?seed=w:${id}&psi=0.5&format=tiff`);
    assert.deepEqual(tile.gt, recon.gt);
    assert.equal(tile.epsg, 26914);
    const coarser = await readPlace(server, `/generate?seed=w:${id}&format=tiff&depth=2`);
    assert.deepEqual(coarser.gt, [recon.gt[0], recon.gt[1] * 2, 0, recon.gt[3], 0, recon.gt[5] * 2]);
    assert.equal(coarser.width, 16);
    // The figures' one-tile GeoTIFFs: a truncated tile, and a mixed tile at the projected destination's place
    // (or the projected source's, when the destination is a seed).
    const truncated = await readPlace(server, `/truncation?seeds=w:${id}&psis=0.5&format=tiff`);
    assert.deepEqual(truncated.gt, recon.gt);
    assert.equal(truncated.epsg, 26914);
    const mixedDst = await readPlace(server, `/mixing?src=3&dst=w:${id}&ranges=4-7&format=tiff`);
    assert.deepEqual([mixedDst.gt, mixedDst.epsg], [recon.gt, 26914]);
    const mixedSrc = await readPlace(server, `/mixing?src=w:${id}&dst=3&ranges=0-3&format=tiff`);
    assert.deepEqual([mixedSrc.gt, mixedSrc.epsg], [recon.gt, 26914]);
    assertError(
      await request(`${server.url}/truncation?seeds=w:${id}&psis=0,1&format=tiff`),
      400,
      "format",
      /format=tiff is one edited tile .* this figure has 2/,
    );
    // A seed's tile has no place on Earth: the local metric frame, as before.
    const seed = await readPlace(server, "/generate?seed=3&format=tiff");
    assert.notEqual(seed.epsg, 26914);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A GeoTIFF answer read back with the project's reader: geotransform, EPSG code and size. */
async function readPlace(server: TestServer, url: string) {
  const res = await request(server.url + url);
  assert.equal(res.status, 200, `${url}: ${new TextDecoder().decode(res.body).slice(0, 200)}`);
  assert.equal(res.headers.get("content-type"), "image/tiff");
  const file = await Deno.makeTempFile({ suffix: ".tif" });
  await Deno.writeFile(file, res.body);
  const tif = await openGeoTiff(file);
  try {
    return {
      gt: tif.info.geo!.geoTransform,
      epsg: tif.info.geo!.crs.epsg,
      width: tif.info.width,
      height: tif.info.height,
    };
  } finally {
    await tif.close();
    await Deno.remove(file);
  }
}

Deno.test({
  name:
    "a server killed mid-projection (SIGKILL): the next one on its database marks it interrupted and stops its worker",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sgan-projection-kill-" });
    const env = {
      SGAN_BACKEND: "wasm",
      SGAN_WORKERS: "0",
      SGAN_DEFAULT_MODEL: "reference-r32",
      SGAN_PROJECTIONS_DIR: join(dir, "projections"),
      SGAN_DATABASE: join(dir, "sgan.sqlite"),
      NO_COLOR: "1",
    };
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "server/main.ts", "--port", "0"],
      cwd: new URL("../../", import.meta.url).pathname,
      env,
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let workerPid: number | undefined;
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let printed = "";
      while (!/http:\/\/localhost:(\d+)\//.test(printed)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the server exited: ${printed}`);
        printed += value;
      }
      const url = `http://127.0.0.1:${/localhost:(\d+)/.exec(printed)![1]}`;
      const accepted = await request(`${url}/api/projections?steps=2000`, {
        method: "POST",
        headers: { "Content-Type": "image/jpeg" },
        body: JPEG,
      });
      assert.equal(accepted.status, 202, JSON.stringify(accepted.json));
      const id = (accepted.json as ProjectionStatus).id;
      // Wait until the worker has projected a while (its first preview, after 10 steps, is recorded).
      for (let i = 0; i < 600; i++) {
        const s = (await request(`${url}/api/projections/${id}`)).json as ProjectionStatus;
        if (s.latest_reconstruction) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      workerPid = workerOf(join(dir, "projections", id));
      assert.ok(workerPid, "the worker process runs");
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel();

      const again = await projectionServer(dir);
      try {
        const s = await status(again.server, id);
        assert.equal(s.state, "interrupted");
        assert.match(s.error!, /server stopped while this projection ran/);
        assert.ok(s.step >= 10 && s.step < 2000, `recorded at step ${s.step}`);
        assert.ok(s.latest_reconstruction, "its last preview is still served");
        assert.equal((await request(again.server.url + s.latest_reconstruction)).status, 200);
      } finally {
        await again.server.close();
      }
      for (let i = 0; i < 50 && workerOf(join(dir, "projections", id)); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(workerOf(join(dir, "projections", id)), undefined, "the orphaned worker was stopped");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      if (workerPid && workerOf(join(dir, "projections"))) Deno.kill(workerPid, "SIGKILL");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/** The pid of a live process whose command line names `dir` (a projection worker), if any. */
function workerOf(dir: string): number | undefined {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
      const state = Deno.readTextFileSync(`/proc/${entry.name}/stat`).split(") ")[1]?.[0];
      if (state !== "Z" && cmdline.some((arg) => arg.startsWith(dir))) return Number(entry.name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

Deno.test("loss=mix+d: with the model's discriminator beside it the projection uses D's features; a missing, mismatched or wrong one is a 400 naming loss", async () => {
  await useWasm();
  const models = await Deno.makeTempDir({ prefix: "sgan-projection-d-" });
  const small = {
    latent_size: 8,
    dlatent_size: 8,
    mapping_layers: 2,
    mapping_fmaps: 8,
    fmap_base: 32,
    fmap_max: 8,
  };
  const save = async (file: string, network: Generator | Discriminator) => {
    await saveNetwork(join(models, file), network, { gsd_m: "1" });
    network.dispose();
  };
  await save("tiny.safetensors", new Generator({ resolution: 16, ...small }, ParameterTree.seeded(4)));
  await save(
    "tiny.discriminator.safetensors",
    new Discriminator({ resolution: 16, fmap_base: 32, fmap_max: 8 }),
  );
  await save("odd.safetensors", new Generator({ resolution: 16, ...small }, ParameterTree.seeded(5)));
  await save(
    "odd.discriminator.safetensors",
    new Discriminator({ resolution: 32, fmap_base: 32, fmap_max: 8 }),
  );
  await save("twin.safetensors", new Generator({ resolution: 16, ...small }, ParameterTree.seeded(6)));
  await save(
    "twin.discriminator.safetensors",
    new Generator({ resolution: 16, ...small }, ParameterTree.seeded(7)),
  );
  const { server, dir } = await projectionServer(undefined, { config: { modelsDir: models } });
  try {
    const names = ((await request(`${server.url}/api/models`)).json as { models: { name: string }[] }).models
      .map((m) => m.name);
    assert.deepEqual(names.filter((n) => n.includes("discriminator")), [], "a discriminator is no model");

    const { id } = await projectDone(server, "?model=tiny&steps=2&loss=mix%2Bd", JPEG, "image/jpeg");
    const done = await status(server, id);
    assert.equal(done.state, "done", done.error ?? "");
    assert.equal(done.options.loss, "mix+d");
    // Without a loss named, a model that ships its discriminator projects with it.
    const byDefault = await projectDone(server, "?model=tiny&steps=2", JPEG, "image/jpeg");
    assert.equal((await status(server, byDefault.id)).options.loss, "mix+d");
    assert.ok(done.final_losses!.discriminator > 0, JSON.stringify(done.final_losses));
    assert.ok(
      Math.abs(
        done.final_losses!.total - (done.final_losses!.l2 + done.final_losses!.laplacian +
          0.1 * done.final_losses!.discriminator),
      ) < 1e-4,
      "total = l2 + laplacian + 0.1 · discriminator",
    );
    const report = JSON.parse(await Deno.readTextFile(join(dir, "projections", id, "result", "report.json")));
    assert.equal(report.discriminator, "tiny.discriminator.safetensors");

    const refused = async (query: string, message: RegExp) => {
      const body = assertError(await post(server, query, JPEG, "image/jpeg"), 400, "loss", message);
      assert.deepEqual(body.allowed, ["l2", "l1", "laplacian", "mix"]);
    };
    await refused(
      "?model=odd&loss=mix%2Bd",
      /odd\.discriminator\.safetensors is for 32 px, 3-band images; model 'odd' makes 16 px, 3-band ones/,
    );
    await refused(
      "?model=twin&loss=mix%2Bd",
      /twin\.discriminator\.safetensors holds a generator, not a discriminator/,
    );
    // An unencoded + is a space in a query string: a name that does not exist.
    assertError(
      await post(server, "?model=tiny&loss=mix+d", JPEG, "image/jpeg"),
      400,
      "loss",
      /must be one of/,
    );
    // The two projections above, nothing of the refusals.
    assert.equal([...Deno.readDirSync(join(dir, "projections"))].length, 2, "refusals stored nothing");
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(models, { recursive: true });
  }
});

Deno.test("a conditional model: a projection names its class, and its w:<id> truncates toward that class's centre", async () => {
  await useWasm();
  const models = await Deno.makeTempDir({ prefix: "sgan-projection-classes-" });
  const { generator: G } = await writeConditionalModel(`${models}/landuse.safetensors`);
  const layers = G.numLayers;
  G.dispose();
  const { server, dir } = await projectionServer(undefined, { config: { modelsDir: models } });
  try {
    assertError(
      await post(server, "?model=landuse&steps=2", JPEG, "image/jpeg"),
      400,
      "class",
      /is conditional/,
    );
    const { id } = await projectDone(server, "?model=landuse&class=river&steps=2", JPEG, "image/jpeg");
    const done = await status(server, id);
    assert.equal(done.state, "done", done.error ?? "");
    assert.equal(done.options.class, "river");
    // It started at the river centre: the first step's learning rate is 0, so its preview is G(centre), the
    // tile every river seed gives at ψ = 0 on every layer.
    const start = await request(`${server.url}/api/projections/${id}/reconstruction.png?step=1`);
    const centre = await request(
      `${server.url}/generate?model=landuse&seed=11&psi=0&cutoff=${layers}&class=river`,
    );
    assert.ok(
      maxDifference(await decodeImage(start.body, "start"), await decodeImage(centre.body, "centre")) <= 1,
    );
    // Without model=, w:<id> renders with the model it was projected into.
    const projected = await request(`${server.url}/generate?seed=w:${id}&psi=0&cutoff=${layers}`);
    const river = await request(
      `${server.url}/generate?model=landuse&seed=11&psi=0&cutoff=${layers}&class=river`,
    );
    const forest = await request(
      `${server.url}/generate?model=landuse&seed=11&psi=0&cutoff=${layers}&class=forest`,
    );
    assert.equal(projected.status, 200, new TextDecoder().decode(projected.body));
    assert.deepEqual(projected.body, river.body);
    assert.notDeepEqual(projected.body, forest.body);
    assertError(
      await request(`${server.url}/generate?seed=w:${id}&model=reference-r32`),
      400,
      "seed",
      /was projected into model 'landuse', not 'reference-r32'/,
    );
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(models, { recursive: true });
  }
});
