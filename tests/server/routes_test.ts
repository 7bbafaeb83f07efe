/**
 * Every route and every error class against the real app: a real `Deno.serve` on a loopback port.
 */
import { FIXTURE_DIR } from "../support/paths.ts";
import assert from "node:assert/strict";
import { Image } from "imagescript";
import { fromArrayBuffer } from "geotiff";
import { Generator } from "../../model/networks/generator.ts";
import { saveNetwork } from "../../model/checkpoint/checkpoint.ts";
import { groundResolutionAt } from "../../model/scale.ts";
import { loadLabelFont } from "../../model/figures/labels.ts";
import { type ErrorJson, request, startServer, useBatchInvariantKernels } from "./helpers.ts";

// These tests compare tiles byte for byte across batchings (see useBatchInvariantKernels).
useBatchInvariantKernels();

const FIXTURE = FIXTURE_DIR;
/** The reference model: 32 px, 4 depths, 8 style layers, 2.4384 m/px. */
const GSD = 2.4384;

async function decodePng(bytes: Uint8Array): Promise<Image> {
  return await Image.decode(bytes) as Image;
}

function assertError(
  res: { status: number; json: unknown },
  status: number,
  field?: string | null,
): ErrorJson {
  assert.equal(res.status, status, JSON.stringify(res.json));
  const body = res.json as ErrorJson;
  assert.equal(typeof body.error, "string");
  assert.ok("field" in body && "allowed" in body, "error bodies carry {error, field, allowed}");
  if (field !== undefined) assert.equal(body.field, field);
  return body;
}

Deno.test("image routes", async (t) => {
  const server = await startServer();
  const { url } = server;
  try {
    await t.step("/generate matches StyleGAN.pytorch's PNG for seed 730, psi 0.7", async () => {
      const res = await request(`${url}/generate?seed=730&psi=0.7`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "image/png");
      assert.equal(res.headers.get("x-sgan-model"), "reference-r32");
      assert.equal(res.headers.get("x-sgan-depth"), "3");
      assert.equal(Number(res.headers.get("x-metres-per-pixel")), GSD);
      const mine = await decodePng(res.body);
      const reference = await decodePng(await Deno.readFile(`${FIXTURE}/seed0730_psi0.7_noiseconst.png`));
      assert.deepEqual(mine.bitmap, reference.bitmap);
    });

    await t.step("/generate noise=none, depth, cutoff, size and jpeg", async () => {
      const none = await request(`${url}/generate?seed=904&psi=-0.5&noise=none`);
      const reference = await decodePng(await Deno.readFile(`${FIXTURE}/seed0904_psi-0.5_noisenone.png`));
      assert.deepEqual((await decodePng(none.body)).bitmap, reference.bitmap);

      const small = await request(`${url}/generate?seed=1&depth=1&cutoff=2`);
      const image = await decodePng(small.body);
      assert.equal(image.width, 8);
      assert.equal(small.headers.get("x-metres-per-pixel"), String(groundResolutionAt(1, 32, GSD)));

      const big = await request(`${url}/generate?seed=1&size=100`);
      assert.equal((await decodePng(big.body)).width, 100);

      const jpeg = await request(`${url}/generate?seed=1&format=jpeg`);
      assert.equal(jpeg.headers.get("content-type"), "image/jpeg");
      assert.deepEqual([...jpeg.body.subarray(0, 2)], [0xff, 0xd8]);
    });

    await t.step(
      "/generate depth=d is the full tile area-averaged to 4·2^d px; view=raw is the depth's own head",
      async () => {
        const full = await decodePng((await request(`${url}/generate?seed=730&psi=0.7`)).body);
        for (const depth of [0, 1, 2]) {
          const side = 4 * 2 ** depth;
          const block = 32 / side;
          const ground = await request(`${url}/generate?seed=730&psi=0.7&depth=${depth}`);
          assert.equal(ground.headers.get("x-sgan-view"), "ground");
          assert.equal(ground.headers.get("x-sgan-depth"), String(depth));
          const image = await decodePng(ground.body);
          assert.equal(image.width, side);
          // By hand: each pixel is the rounded mean of the block × block full-resolution pixels it covers.
          for (let y = 0; y < side; y++) {
            for (let x = 0; x < side; x++) {
              for (let k = 0; k < 3; k++) {
                let sum = 0;
                for (let dy = 0; dy < block; dy++) {
                  for (let dx = 0; dx < block; dx++) {
                    sum += full.bitmap[((y * block + dy) * 32 + x * block + dx) * 4 + k];
                  }
                }
                assert.equal(
                  image.bitmap[(y * side + x) * 4 + k],
                  Math.round(sum / (block * block)),
                  `depth ${depth} pixel ${x},${y} channel ${k}`,
                );
              }
            }
          }
          const raw = await request(`${url}/generate?seed=730&psi=0.7&depth=${depth}&view=raw`);
          assert.equal(raw.headers.get("x-sgan-view"), "raw");
          const rawImage = await decodePng(raw.body);
          assert.equal(rawImage.width, side);
          assert.notDeepEqual(
            rawImage.bitmap,
            image.bitmap,
            `depth ${depth}: raw head and ground view differ`,
          );
          assert.notEqual(raw.headers.get("etag"), ground.headers.get("etag"));
        }
        // At the last depth both views are the full output.
        const last = await request(`${url}/generate?seed=730&psi=0.7&depth=3&view=raw`);
        assert.deepEqual((await decodePng(last.body)).bitmap, full.bitmap);
        assertError(await request(`${url}/generate?seed=1&view=rgb`), 400, "view");
        // Figures take the same view: a depth-1 truncation figure's tiles are the ground view's tiles.
        const figure = await decodePng((await request(`${url}/truncation?seeds=730&psis=0.7&depth=1`)).body);
        const tile = await decodePng(
          (await request(`${url}/generate?seed=730&psi=0.7&depth=1&cutoff=8`)).body,
        );
        assert.deepEqual(figure.bitmap, tile.bitmap);
      },
    );

    await t.step("/generate format=tiff is a GeoTIFF with the ground resolution of the depth", async () => {
      for (
        const [query, side, mpp] of [
          ["depth=2", 16, groundResolutionAt(2, 32, GSD)],
          ["size=64", 64, (32 * GSD) / 64],
        ] as const
      ) {
        const res = await request(`${url}/generate?seed=730&format=tiff&${query}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "image/tiff");
        const tiff = await fromArrayBuffer(res.body.slice().buffer);
        const image = await tiff.getImage();
        assert.equal(image.getWidth(), side);
        assert.equal(image.getSamplesPerPixel(), 3);
        const [sx, sy] = image.getResolution();
        assert.ok(
          Math.abs(sx - mpp) < 1e-9 && Math.abs(sy + mpp) < 1e-9,
          `pixel size ${sx}, ${sy} vs ${mpp}`,
        );
        assert.deepEqual(image.getOrigin(), [0, 32 * GSD, 0]);
        assert.equal(image.getGeoKeys()?.ProjLinearUnitsGeoKey, 9001);
      }
      // Same pixels as the PNG.
      const png = await decodePng((await request(`${url}/generate?seed=730`)).body);
      const tiff = await (await fromArrayBuffer(
        (await request(`${url}/generate?seed=730&format=tiff`)).body.slice().buffer,
      )).getImage();
      const raster = await tiff.readRasters({ interleave: true }) as unknown as Uint8Array;
      for (let p = 0; p < 32 * 32; p++) {
        for (let k = 0; k < 3; k++) assert.equal(raster[p * 3 + k], png.bitmap[p * 4 + k]);
      }
    });

    await t.step("/grid lays tiles out row by row", async () => {
      const res = await request(`${url}/grid?seeds=0-9&psi=0.7&cols=4`);
      assert.equal(res.status, 200);
      const grid = await decodePng(res.body);
      assert.deepEqual([grid.width, grid.height], [4 * 32, 3 * 32]);
      const tile = await decodePng((await request(`${url}/generate?seed=5&psi=0.7`)).body);
      // seed 5 is row 1, column 1.
      assert.deepEqual(grid.clone().crop(32, 32, 32, 32).bitmap, tile.bitmap);
      // Default columns: a square-ish grid; the seed text's 64-tile figure is 8 × 8.
      const square = await decodePng((await request(`${url}/grid?seeds=0-63&psi=0.7&depth=0`)).body);
      assert.deepEqual([square.width, square.height], [8 * 4, 8 * 4]);
    });

    await t.step("/truncation: rows are seeds, columns are psi", async () => {
      const res = await request(`${url}/truncation?seeds=91,388&psis=-1,-0.5,0,0.5,1`);
      assert.equal(res.status, 200);
      const figure = await decodePng(res.body);
      assert.deepEqual([figure.width, figure.height], [5 * 32, 2 * 32]);
      // psi = 1 is untruncated: the plain tile; cutoff=8 (all layers) and psi 0.5 equals /generate with cutoff 8.
      const plain = await decodePng((await request(`${url}/generate?seed=388`)).body);
      assert.deepEqual(figure.clone().crop(4 * 32, 32, 32, 32).bitmap, plain.bitmap);
      const half = await decodePng((await request(`${url}/generate?seed=91&psi=0.5&cutoff=8`)).body);
      assert.deepEqual(figure.clone().crop(3 * 32, 0, 32, 32).bitmap, half.bitmap);
    });

    await t.step(
      "/mixing: sources in the first row, destinations in the first column, layers reported",
      async () => {
        const res = await request(
          `${url}/mixing?src=730,904&dst=387,190&ranges=0-3,4-7&src_psi=-0.5&dst_psi=0.7`,
        );
        assert.equal(res.status, 200, new TextDecoder().decode(res.body));
        assert.equal(res.headers.get("x-style-layers"), "0-3,4-7");
        const figure = await decodePng(res.body);
        assert.deepEqual([figure.width, figure.height], [3 * 32, 3 * 32]);
        const src = await decodePng((await request(`${url}/generate?seed=904&psi=-0.5`)).body);
        const dst = await decodePng((await request(`${url}/generate?seed=190&psi=0.7`)).body);
        assert.deepEqual(figure.clone().crop(2 * 32, 0, 32, 32).bitmap, src.bitmap);
        assert.deepEqual(figure.clone().crop(0, 2 * 32, 32, 32).bitmap, dst.bitmap);
        // The top-left cell is blank white, as in the paper's figure.
        assert.ok(figure.clone().crop(0, 0, 32, 32).bitmap.every((v) => v === 255));
        // A mixed cell differs from both of its parents.
        const mixed = figure.clone().crop(2 * 32, 2 * 32, 32, 32).bitmap;
        assert.notDeepEqual(mixed, src.bitmap);
        assert.notDeepEqual(mixed, dst.bitmap);
      },
    );

    await t.step(
      "/mixing ranges in metres translate to style layers, and format=json lists every cell",
      async () => {
        // depths: 19.5, 9.75, 4.88, 2.44 m/px → 20m-9m = depths 0-1 = layers 0-3; 2.4m = depth 3 = layers 6-7.
        const res = await request(
          `${url}/mixing?src=730,904&dst=387,190&ranges=20m-9m,2.4m&format=json&src_psi=-0.5`,
        );
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-style-layers"), "0-3,6-7");
        const body = res.json as {
          rows: { layers: number[]; depths: number[]; metres_per_pixel: number[] }[];
          cells: {
            kind: string;
            row: number;
            col: number;
            seed: number;
            psi: number;
            src_seed: number | null;
            src_layers: number[] | null;
          }[];
        };
        assert.deepEqual(body.rows.map((r) => r.layers), [[0, 3], [6, 7]]);
        assert.deepEqual(body.rows[0].metres_per_pixel, [
          groundResolutionAt(0, 32, GSD),
          groundResolutionAt(1, 32, GSD),
        ]);
        assert.equal(body.cells.length, 3 * 3 - 1);
        assert.deepEqual(body.cells.find((c) => c.row === 2 && c.col === 1), {
          kind: "mixed",
          row: 2,
          col: 1,
          seed: 190,
          class: null, // an unconditional model: no land use (tests/server/classes_test.ts has a conditional one)
          psi: 1,
          src_seed: 730,
          src_class: null,
          src_psi: -0.5,
          src_layers: [6, 7],
        });
        // One range for every row.
        const one = await request(`${url}/mixing?src=730&dst=387,190,1&ranges=4-7&format=json`);
        assert.equal(one.headers.get("x-style-layers"), "4-7,4-7,4-7");
        // The image variant uses the same layers.
        const image = await request(`${url}/mixing?src=730,904&dst=387,190&ranges=20m-9m,2.4m`);
        assert.equal(image.headers.get("x-style-layers"), "0-3,6-7");
      },
    );

    await t.step("labels draw margins when a font is installed", async () => {
      const font = await loadLabelFont();
      const labelled = await startServer({ font: font ?? null });
      try {
        const res = await request(`${labelled.url}/truncation?seeds=91,388&psis=-1,1&labels=1`);
        const figure = await decodePng(res.body);
        if (font) {
          assert.ok(
            figure.width > 2 * 64 && figure.height > 2 * 64,
            "labelled tiles are at least 64 px, plus margins",
          );
        } else {
          assert.deepEqual([figure.width, figure.height], [2 * 32, 2 * 32]);
        }
      } finally {
        await labelled.close();
      }
    });
  } finally {
    await server.close();
  }
});

Deno.test("model, documentation and static routes", async (t) => {
  const staticDir = await Deno.makeTempDir();
  const server = await startServer({ config: { staticDir } });
  const { url } = server;
  try {
    await t.step("/api/models and /api/models/{name} carry the scale table", async () => {
      const list = await request(`${url}/api/models`);
      assert.equal(list.status, 200);
      const body = list.json as { default: string; models: { name: string }[] };
      assert.equal(body.default, "reference-r32");
      assert.deepEqual(body.models.map((m) => m.name), ["reference-r32"]);
      // The figure limits, the documented defaults (SGAN_MAX_SEEDS, SGAN_MAX_PSIS, SGAN_MAX_CELLS).
      assert.deepEqual((list.json as { limits: unknown }).limits, {
        max_seeds: 32,
        max_psis: 16,
        max_cells: 256,
      });
      const one = await request(`${url}/api/models/reference-r32`);
      const info = one.json as Record<string, unknown> & { scale: Record<string, unknown>[] };
      assert.equal(info.resolution, 32);
      assert.equal(info.channels, 3);
      assert.equal(info.kimg, 0);
      assert.equal(info.style_layers, 8);
      assert.equal((info.config as { fmap_max: number }).fmap_max, 64);
      assert.ok("metrics" in info);
      assert.deepEqual(info.scale.map((r) => r.pixels), [4, 8, 16, 32]);
      assert.deepEqual(info.scale.map((r) => r.style_layers), [[0, 1], [2, 3], [4, 5], [6, 7]]);
      assert.equal(info.scale[3].metres_per_pixel, GSD);
      assert.equal(info.scale[0].metres_per_pixel, GSD * 8);
      assert.equal(typeof info.scale[0].holds, "string");
      assertError(await request(`${url}/api/models/nope`), 404, "model");
      assertError(await request(`${url}/api/models/${encodeURIComponent("../x")}`), 400, "name");
    });

    await t.step("/openapi.json documents every route and parameter; /docs renders it", async () => {
      const doc = (await request(`${url}/openapi.json`)).json as {
        openapi: string;
        paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
      };
      assert.equal(doc.openapi, "3.1.0");
      for (
        const path of [
          "/generate",
          "/grid",
          "/truncation",
          "/mixing",
          "/api/models",
          "/api/models/{name}",
          "/api/train",
          "/api/train/{id}",
          "/api/train/{id}/events",
          "/api/train/{id}/samples/{file}",
          "/openapi.json",
          "/docs",
          "/",
          "/widgets/{file}",
        ]
      ) {
        assert.ok(doc.paths[path], `${path} is documented`);
      }
      const names = doc.paths["/generate"].get.parameters!.map((p) => p.name);
      assert.deepEqual(names.sort(), [
        "class",
        "cutoff",
        "depth",
        "format",
        "model",
        "noise",
        "psi",
        "seed",
        "size",
        "view",
      ]);
      const page = await request(`${url}/docs`);
      assert.equal(page.status, 200);
      const html = new TextDecoder().decode(page.body);
      assert.match(html, /\/truncation/);
      assert.match(html, /\/api\/train\/\{id\}\/events/);
    });

    await t.step("/ serves a built-in page until static/index.html exists, then the file", async () => {
      const builtIn = await request(`${url}/`);
      assert.equal(builtIn.status, 200);
      assert.match(new TextDecoder().decode(builtIn.body), /\/generate\?seed=730/);
      await Deno.writeTextFile(`${staticDir}/index.html`, "<!doctype html><p>demo</p>");
      const file = await request(`${url}/`);
      assert.equal(new TextDecoder().decode(file.body), "<!doctype html><p>demo</p>");
    });

    await t.step(
      "/widgets/sgan-widgets.js: 404 JSON while missing, then the bundle with revalidation",
      async () => {
        assertError(await request(`${url}/widgets/sgan-widgets.js`), 404);
        await Deno.mkdir(`${staticDir}/widgets`);
        await Deno.writeTextFile(`${staticDir}/widgets/sgan-widgets.js`, "export {};\n");
        const res = await request(`${url}/widgets/sgan-widgets.js`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type")!, /javascript/);
        const etag = res.headers.get("etag")!;
        assert.equal(
          (await request(`${url}/widgets/sgan-widgets.js`, { headers: { "If-None-Match": etag } })).status,
          304,
        );
        // No way out of the folder.
        await Deno.writeTextFile(`${staticDir}/secret.txt`, "no");
        assertError(await request(`${url}/widgets/..%2Fsecret.txt`), 404);
        await Deno.symlink(`${staticDir}/secret.txt`, `${staticDir}/widgets/link.txt`);
        assertError(await request(`${url}/widgets/link.txt`), 404);
      },
    );

    await t.step(
      "unknown routes are JSON 404s; a wrong method is a JSON 405 with Allow (issue 16)",
      async () => {
        assertError(await request(`${url}/nope`), 404);
        const wrong = await request(`${url}/generate?seed=1`, { method: "DELETE" });
        assertError(wrong, 405);
        assert.equal(wrong.headers.get("allow"), "GET, HEAD");
      },
    );
  } finally {
    await server.close();
    await Deno.remove(staticDir, { recursive: true });
  }
});

Deno.test("every error class answers JSON {error, field, allowed}", async (t) => {
  const modelsDir = await Deno.makeTempDir();
  // A checkpoint whose header is fine but whose data is cut short: listed, but it cannot load.
  const G = new Generator({
    resolution: 8,
    fmap_base: 32,
    fmap_max: 8,
    mapping_layers: 2,
    mapping_fmaps: 16,
    latent_size: 16,
    dlatent_size: 16,
  });
  await saveNetwork(`${modelsDir}/broken.safetensors`, G, { gsd_m: "1" });
  G.dispose();
  const bytes = await Deno.readFile(`${modelsDir}/broken.safetensors`);
  await Deno.writeFile(`${modelsDir}/broken.safetensors`, bytes.subarray(0, bytes.length - 64));
  const limits = { maxSeeds: 4, maxPsis: 3, maxCells: 10, maxSize: 256, maxFigurePixels: 256 * 256 };
  const server = await startServer({ config: { modelsDir, limits } });
  const { url } = server;
  try {
    await t.step("400: missing, malformed, unknown, repeated and out-of-range parameters", async () => {
      assertError(await request(`${url}/generate`), 400, "seed");
      assertError(await request(`${url}/generate?seed=-1`), 400, "seed");
      assertError(await request(`${url}/generate?seed=4294967296`), 400, "seed");
      assertError(await request(`${url}/generate?seed=1.5`), 400, "seed");
      assertError(await request(`${url}/generate?seed=1&psi=NaN`), 400, "psi");
      assertError(await request(`${url}/generate?seed=1&psi=3`), 400, "psi");
      assertError(await request(`${url}/generate?seed=1&noise=loud`), 400, "noise");
      assertError(await request(`${url}/generate?seed=1&format=gif`), 400, "format");
      assertError(await request(`${url}/generate?seed=1&depth=4`), 400, "depth");
      assertError(await request(`${url}/generate?seed=1&cutoff=9`), 400, "cutoff");
      const unknown = assertError(await request(`${url}/generate?seed=1&sede=2`), 400, "sede");
      assert.ok((unknown.allowed as string[]).includes("seed"), "the allowed names are listed");
      assertError(await request(`${url}/generate?seed=1&seed=2`), 400, "seed");
      assertError(await request(`${url}/grid?seeds=1,,2`), 400, "seeds");
      assertError(await request(`${url}/grid?seeds=5-3`), 400, "seeds");
      assertError(await request(`${url}/grid?seeds=1&labels=maybe`), 400, "labels");
      assertError(await request(`${url}/mixing?src=1&dst=2&ranges=0-3,4-7`), 400, "ranges"); // 2 ranges, 1 row
      assertError(await request(`${url}/mixing?src=1&dst=2&ranges=7-3`), 400, "ranges");
      assertError(await request(`${url}/mixing?src=1&dst=2&ranges=0-8`), 400, "ranges");
      assertError(await request(`${url}/mixing?src=1&dst=2&ranges=500m`), 400, "ranges");
      assertError(await request(`${url}/mixing?src=1&dst=2&ranges=big`), 400, "ranges");
      // A GeoTIFF is one edited tile at its place: a figure of two is refused.
      assertError(await request(`${url}/mixing?src=1&dst=2,3&ranges=0-3&format=tiff`), 400, "format");
    });

    await t.step("400: configured limits", async () => {
      assert.match(
        assertError(await request(`${url}/truncation?seeds=1-5&psis=1`), 400, "seeds").error,
        /at most 4/,
      );
      assertError(await request(`${url}/truncation?seeds=1&psis=1,2,0,0.5`), 400, "psis");
      assertError(await request(`${url}/truncation?seeds=1-4&psis=1,0.5,0`), 400, "psis"); // 12 cells > 10
      assertError(await request(`${url}/grid?seeds=0-10`), 400, "seeds");
      assertError(await request(`${url}/mixing?src=1,2&dst=1,2,3&ranges=0-3`), 400, "dst"); // 3 × 4 cells
      assertError(await request(`${url}/generate?seed=1&size=257`), 400, "size");
      assertError(await request(`${url}/grid?seeds=0-9&tile=256`), 400, "tile"); // canvas over 256 × 256 px
      assert.equal((await request(`${url}/truncation?seeds=1-3&psis=1,0.5,0`)).status, 200); // 9 cells: fine
    });

    await t.step("404: unknown model", async () => {
      const body = assertError(await request(`${url}/generate?seed=1&model=missing`), 404, "model");
      assert.deepEqual(body.allowed, ["reference-r32", "broken"]);
    });

    await t.step("500: a broken checkpoint is a JSON error, and the server carries on", async () => {
      const body = assertError(await request(`${url}/generate?seed=1&model=broken`), 500, "model");
      assert.match(body.error, /could not be loaded/);
      assert.equal((await request(`${url}/generate?seed=1`)).status, 200);
    });
  } finally {
    await server.close();
    await Deno.remove(modelsDir, { recursive: true });
  }
});
