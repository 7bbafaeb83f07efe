/**
 * The server on the webgpu backend with the own WGSL mapping and synthesis pipelines (a runtime with
 * SGAN_WEBGPU_SYNTHESIS=1; on this machine's software adapter `auto` would keep tfjs's kernels): the models it loads get them, and its tiles
 * match those of the same server drawing with tfjs's kernels to within one 8-bit level.
 */
import assert from "node:assert/strict";
import { decode } from "imagescript";
import { initBackend } from "../../model/backend/select.ts";
import { REFERENCE_MODEL } from "../../model/pretrained/registry.ts";
import { runtimeFromEnv } from "../../model/runtime.ts";
import { createApp } from "../../server/app.ts";
import { createServices } from "../../server/services.ts";
import { request } from "./helpers.ts";

async function startWebGpuServer(ownPipelines: boolean) {
  const runtime = runtimeFromEnv({ SGAN_BACKEND: "webgpu", SGAN_WEBGPU_SYNTHESIS: ownPipelines ? "1" : "0" });
  const services = await createServices({ font: null, embedded: [REFERENCE_MODEL], runtime });
  // Models load on first use: load it now and say which path it got.
  const accelerated = await services.models.use(
    undefined,
    (m) => Promise.resolve(m.generator.gSynthesis.accelerator !== undefined),
  );
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createApp(services).fetch,
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    services,
    accelerated,
    close: async () => {
      await server.shutdown();
      await services.close();
      await services.models.dispose();
    },
  };
}

async function pixels(body: Uint8Array): Promise<Uint8ClampedArray> {
  return ((await decode(body)) as unknown as { bitmap: Uint8ClampedArray }).bitmap;
}

Deno.test("server on webgpu with the own pipelines: same tiles as with tfjs's kernels, every depth and noise", async () => {
  await initBackend("webgpu", { quiet: true });
  const paths = [
    "/generate?seed=730&psi=0.7",
    "/generate?seed=5&psi=-0.5&depth=1",
    "/generate?seed=9&noise=none&depth=0",
    "/truncation?seeds=1,2&psis=-1,0,1",
  ];
  const layers = await startWebGpuServer(false);
  const own = await startWebGpuServer(true);
  try {
    assert.equal(own.accelerated, true, "the loaded model has the own pipelines");
    assert.equal(layers.accelerated, false);
    for (const path of paths) {
      const [a, b] = [await request(layers.url + path), await request(own.url + path)];
      assert.equal(a.status, 200, path);
      assert.equal(b.status, 200, path);
      const [pa, pb] = [await pixels(a.body), await pixels(b.body)];
      assert.equal(pa.length, pb.length, path);
      let worst = 0;
      for (let i = 0; i < pa.length; i++) worst = Math.max(worst, Math.abs(pa[i] - pb[i]));
      assert.ok(worst <= 1, `${path}: pixels differ by up to ${worst} levels`);
      // ETags hash the bytes: equal exactly when the two paths gave the same bytes.
      const same = a.body.length === b.body.length && a.body.every((v, i) => v === b.body[i]);
      assert.equal(a.headers.get("etag") === b.headers.get("etag"), same, path);
    }
    // noise=random: a new tile every time, from the own path too.
    const [r1, r2] = [
      await request(own.url + "/generate?seed=3&noise=random"),
      await request(own.url + "/generate?seed=3&noise=random"),
    ];
    assert.equal(r1.status, 200);
    assert.notDeepEqual(await pixels(r1.body), await pixels(r2.body));
  } finally {
    await own.close();
    await layers.close();
  }
});
