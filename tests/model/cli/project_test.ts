/** `deno task project` end to end: files written in place (GeoTIFF georeference kept), bad input refused with nothing written. */
import assert from "node:assert/strict";
import { fromFile } from "geotiff";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { encodePng } from "../../../model/images.ts";
import { encodeGeoTiff } from "../../../model/geo/write.ts";
import { REFERENCE_MODEL } from "../../../model/pretrained/registry.ts";
import { FIXTURE_DIR } from "../../support/paths.ts";
import { runCli } from "../../support/cli.ts";

const ENV = { SGAN_BACKEND: "wasm", SGAN_BLAS: "0" };
const project = (args: string[]) =>
  runCli("project.ts", ["--checkpoint", REFERENCE_MODEL.file, "--steps", "3", ...args], ENV);

/** A 128 × 128 RGB raster of smooth gradients. */
function site(): Uint8Array {
  const data = new Uint8Array(128 * 128 * 3);
  for (let p = 0; p < 128 * 128; p++) {
    data[3 * p] = p % 128 * 2;
    data[3 * p + 1] = Math.floor(p / 128) * 2;
    data[3 * p + 2] = 128;
  }
  return data;
}

Deno.test("deno task project", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "sgan-project-test-" });
  try {
    await t.step(
      "a GeoTIFF target: w, reconstruction PNG and GeoTIFF on the same ground, report",
      async () => {
        const image = join(dir, "site.tif");
        await Deno.writeFile(
          image,
          await encodeGeoTiff({
            width: 128,
            height: 128,
            bands: 3,
            data: site(),
            geo: { geoTransform: [500000, 1.2192, 0, 4000000, 0, -1.2192], crs: { epsg: 26914 } },
          }),
        );
        const out = join(dir, "out");
        const res = await project(["--image", image, "--out", out]);
        assert.equal(res.code, 0, res.stderr);
        // The reference model: 32 px at 2.4384 m/px = 78 m = 64 source pixels from (32, 32).
        assert.match(
          res.programStderr,
          /target: 1\.22 m\/px → 2\.44 m\/px, 64 → 32 px \(box average\); centre 64 × 64 of 128 × 128 px/,
        );
        assert.match(
          res.stdout,
          /^projected .*site\.tif .*: 3 steps in [\d.]+ s on wasm, PSNR [\d.]+ dB, l2 [\d.e-]+, laplacian/,
        );
        assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
          "reconstruction.png",
          "reconstruction.tif",
          "report.json",
          "target.png",
          "w.json",
        ]);
        // The GeoTIFF, read back with geotiff.js: the window's corner, the model's pixel size, the source's CRS.
        const tiff = await fromFile(join(out, "reconstruction.tif"));
        const img = await tiff.getImage();
        assert.deepEqual([img.getWidth(), img.getHeight(), img.getSamplesPerPixel()], [32, 32, 3]);
        const [x0, y0] = img.getOrigin();
        assert.ok(
          Math.abs(x0 - (500000 + 32 * 1.2192)) < 1e-6 && Math.abs(y0 - (4000000 - 32 * 1.2192)) < 1e-6,
        );
        const [px, py] = img.getResolution();
        assert.ok(Math.abs(px - 2.4384) < 1e-9 && Math.abs(py + 2.4384) < 1e-9, `${px}, ${py}`);
        assert.equal(img.getGeoKeys()?.ProjectedCSTypeGeoKey, 26914);
        await tiff.close();
        const w = JSON.parse(await Deno.readTextFile(join(out, "w.json")));
        assert.deepEqual([w.format, w.num_layers, w.dlatent_size, w.w_plus, w.dlatents.length], [
          "sgan-ts/projected-w/1",
          8,
          512,
          false,
          8 * 512,
        ]);
        const report = JSON.parse(await Deno.readTextFile(join(out, "report.json")));
        assert.equal(report.steps, 3);
        assert.equal(report.loss_curve.length, 3);
        assert.deepEqual(report.target.geotransform, [
          500000 + 32 * 1.2192,
          2.4384,
          0,
          4000000 - 32 * 1.2192,
          0,
          -2.4384,
        ]);
        assert.ok(Number.isFinite(report.psnr_db) && report.final_losses.l2 > 0);
      },
    );

    await t.step(
      "W+, noise maps and D features with --discriminator; a PNG target gives no GeoTIFF",
      async () => {
        const image = join(dir, "site.png");
        await Deno.writeFile(image, await encodePng({ width: 128, height: 128, channels: 3, data: site() }));
        const out = join(dir, "out-d");
        const res = await project([
          "--image",
          image,
          "--discriminator",
          `${FIXTURE_DIR}/D.safetensors`,
          "--wplus",
          "--noise-reg",
          "--out",
          out,
        ]);
        assert.equal(res.code, 0, res.stderr);
        assert.match(
          res.programStderr,
          /ground resolution unknown, taken as the model's 2\.44 m\/px; 128 → 32 px/,
        );
        const report = JSON.parse(await Deno.readTextFile(join(out, "report.json")));
        assert.equal(report.loss, "mix+d");
        assert.ok(report.final_losses.discriminator > 0);
        const w = JSON.parse(await Deno.readTextFile(join(out, "w.json")));
        assert.equal(w.w_plus, true);
        assert.deepEqual(w.noise_maps.map((m: { size: number }) => m.size), [4, 4, 8, 8, 16, 16, 32, 32]);
        assert.ok(!existsSync(join(out, "reconstruction.tif")));
      },
    );

    await t.step(
      "without --loss: mix+d with the discriminator beside the checkpoint, mix without one",
      async () => {
        const image = join(dir, "site-d.png");
        await Deno.writeFile(
          image,
          await encodePng({ width: 32, height: 32, channels: 3, data: site().slice(0, 3072) }),
        );
        const models = await Deno.makeTempDir({ dir });
        await Deno.copyFile(REFERENCE_MODEL.file, join(models, "ref.safetensors"));
        await Deno.copyFile(`${FIXTURE_DIR}/D.safetensors`, join(models, "ref.discriminator.safetensors"));
        const withD = join(dir, "out-beside");
        let res = await runCli("project.ts", [
          "--checkpoint",
          join(models, "ref.safetensors"),
          "--steps",
          "2",
          "--image",
          image,
          "--out",
          withD,
        ], ENV);
        assert.equal(res.code, 0, res.stderr);
        let report = JSON.parse(await Deno.readTextFile(join(withD, "report.json")));
        assert.equal(report.loss, "mix+d");
        assert.equal(report.discriminator, join(models, "ref.discriminator.safetensors"));
        assert.ok(report.final_losses.discriminator > 0);
        const without = join(dir, "out-plain");
        res = await project(["--image", image, "--out", without]);
        assert.equal(res.code, 0, res.stderr);
        report = JSON.parse(await Deno.readTextFile(join(without, "report.json")));
        assert.deepEqual([report.loss, report.discriminator], ["mix", null]);
      },
    );

    await t.step("bad input: a clear message naming the file, exit 2, nothing written", async () => {
      const text = join(dir, "notes.png");
      await Deno.writeTextFile(text, "not pixels");
      const bytes = await encodePng({ width: 8, height: 8, channels: 3, data: new Uint8Array(192) });
      new DataView(bytes.buffer).setUint32(16, 30000);
      new DataView(bytes.buffer).setUint32(20, 30000);
      const bomb = join(dir, "bomb.png");
      await Deno.writeFile(bomb, bytes);
      const cases: [string[], RegExp][] = [
        [["--image", text], /^error: .*notes\.png is not a PNG, JPEG or TIFF image$/m],
        [["--image", bomb], /^error: .*bomb\.png is 30000 × 30000 px \(900 M pixels\), over the limit/m],
        [["--image", join(dir, "missing.tif")], /^error: cannot read .*missing\.tif: file not found$/m],
        [
          ["--image", text, "--loss", "mix+d"],
          /--loss mix\+d needs --discriminator FILE: .*reference-r32\.safetensors has no reference-r32\.discriminator\.safetensors beside it/,
        ],
        [
          ["--image", text, "--loss", "vgg"],
          /--loss must be one of l2, l1, laplacian, mix, mix\+d, got 'vgg'/,
        ],
        [["--image", text, "--steps", "0"], /--steps must be an integer in \[1, 100000\], got '0'/],
        [["--image", text, "--class", "forest"], /--class: .*reference-r32\.safetensors is unconditional/],
        [["--image", text, "--gsd", "-1"], /--gsd must be a positive ground resolution in m\/px/],
        [[], /--image is required/],
      ];
      for (const [args, message] of cases) {
        const out = join(dir, "never");
        const res = await project([...args, "--out", out]);
        assert.equal(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
        assert.match(res.programStderr, message);
        assert.ok(!existsSync(out), `${args.join(" ")} wrote ${out}`);
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
