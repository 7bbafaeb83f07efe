/** `deno task generate` end to end: reference PNGs reproduced, bad input refused with nothing written. */
import assert from "node:assert/strict";
import { Image } from "imagescript";
import { FIXTURE_DIR } from "../../support/paths.ts";
import { runCli } from "../../support/cli.ts";
import { readGeoTiff } from "../../../model/geo/read.ts";

const generate = (args: string[]) => runCli("generate.ts", args);

async function pixels(path: string): Promise<Uint8ClampedArray> {
  return (await Image.decode(await Deno.readFile(path))).bitmap;
}

Deno.test("deno task generate", async (t) => {
  const dir = await Deno.makeTempDir();
  const G = `${FIXTURE_DIR}/G.safetensors`;

  await t.step("reproduces the reference PNGs (noise none, ψ 0.7 and ψ=-0.5 in equals form)", async () => {
    for (const psi of ["0.7", "-0.5"]) {
      const res = await generate([
        "--checkpoint",
        G,
        "--seeds",
        "730,904",
        `--psi=${psi}`,
        "--noise",
        "none",
        "--out",
        `${dir}/ok`,
      ]);
      assert.equal(res.code, 0, res.stderr);
      for (const seed of ["0730", "0904"]) {
        const ours = await pixels(`${dir}/ok/seed${seed}.png`);
        const theirs = await pixels(`${FIXTURE_DIR}/seed${seed}_psi${Number(psi).toFixed(1)}_noisenone.png`);
        assert.equal(ours.length, theirs.length);
        for (let i = 0; i < ours.length; i++) {
          assert.ok(Math.abs(ours[i] - theirs[i]) <= 1, `seed ${seed} byte ${i}`);
        }
      }
    }
  });

  await t.step("seed ranges and the default (embedded) model", async () => {
    const res = await generate(["--seeds", "0-2", "--out", `${dir}/range`]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual([...Deno.readDirSync(`${dir}/range`)].map((e) => e.name).sort(), [
      "seed0000.png",
      "seed0001.png",
      "seed0002.png",
    ]);
    assert.match(res.stdout, /m\/px/);
  });

  await t.step(
    "--workers 2 splits the tiles over worker processes and writes exactly the same PNGs",
    async () => {
      // XNNPACK kernels (SGAN_BLAS=0) in both runs: tiles do not depend on batching or thread count.
      const env = { SGAN_BACKEND: "wasm", SGAN_BLAS: "0" };
      const args = ["--seeds", "10-19", "--psi", "0.7", "--batch", "4"];
      const one = await runCli("generate.ts", [...args, "--workers", "0", "--out", `${dir}/w0`], env);
      const two = await runCli("generate.ts", [...args, "--workers", "2", "--out", `${dir}/w2`], env);
      assert.equal(one.code, 0, one.stderr);
      assert.equal(two.code, 0, two.stderr);
      assert.match(two.stdout, /on wasm, 2 worker processes\)/);
      assert.doesNotMatch(one.stdout, /worker/);
      const names = [...Deno.readDirSync(`${dir}/w2`)].map((e) => e.name).sort();
      assert.equal(names.length, 10);
      const first = await Deno.readFile(`${dir}/w0/${names[0]}`);
      for (const name of names) {
        const [a, b] = [await Deno.readFile(`${dir}/w0/${name}`), await Deno.readFile(`${dir}/w2/${name}`)];
        assert.deepEqual(a, b, name);
        if (name !== names[0]) assert.notDeepEqual(a, first, "tiles differ by seed");
      }
    },
  );

  await t.step("--format geotiff: pixel size of the output depth, origin and CRS as given", async () => {
    const res = await generate([
      "--seeds",
      "730",
      "--depth",
      "2",
      "--format",
      "geotiff",
      "--origin",
      "500000,5200000",
      "--epsg",
      "26914",
      "--out",
      `${dir}/tif`,
    ]);
    assert.equal(res.code, 0, res.stderr);
    const tif = await readGeoTiff(`${dir}/tif/seed0730.tif`);
    assert.deepEqual([tif.width, tif.height, tif.bands, tif.dtype], [16, 16, 3, "uint8"]);
    // The embedded model: 64 px at 1.2192 m/px, so depth 2 (16 px) is 4.8768 m/px.
    assert.deepEqual(tif.geo?.pixelSize, [4.8768, 4.8768]);
    assert.deepEqual(tif.geo?.origin, [500000, 5200000]);
    assert.equal(tif.geo?.crs.epsg, 26914);
  });

  await t.step("--format geotiff needs a ground sample distance", async () => {
    const res = await generate([
      "--checkpoint",
      G,
      "--seeds",
      "1",
      "--format",
      "geotiff",
      "--out",
      `${dir}/nogsd`,
    ]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /no ground sample distance/);
    await assert.rejects(Deno.stat(`${dir}/nogsd`), Deno.errors.NotFound);
  });

  await t.step("bad input: one line on stderr, non-zero exit, nothing written", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--seeds", "1.5"], /seed/],
      [["--seeds", "-3"], /seed|value/],
      [["--seeds", "4294967296"], /seed/],
      [["--seeds", "1", "--psi", "nan"], /psi/],
      [["--seeds", "1", "--psi", "inf"], /psi/],
      [["--seeds", "1", "--depth", "9"], /depth/],
      [["--seeds", "1", "--cutoff", "99"], /cutoff/],
      [["--seeds", "1", "--noise", "loud"], /noise/],
      [["--seeds", "1", "--backend", "quantum"], /unknown backend 'quantum'/],
      [["--seeds", "1", "--backend", "tensorflow"], /tensorflow.*not available/],
      [["--seeds", "1", "--checkpoint", `${dir}/missing.safetensors`], /missing\.safetensors/],
      [["--seeds", "1", "--checkpoint", `${FIXTURE_DIR}/README.md`], /README\.md/],
      [["--seeds", "1", "--bogus", "2"], /bogus/],
      [["--seeds", "1-20", "--workers", "-1"], /--workers/],
      [["--seeds", "1-20", "--workers", "two"], /--workers/],
    ];
    for (const [args, pattern] of cases) {
      const out = `${dir}/bad`;
      const res = await generate([...args, "--out", out]);
      assert.notEqual(res.code, 0, args.join(" "));
      assert.match(res.programStderr, /^error: [^\n]+\n(usage: [^\n]+\n)?$/, args.join(" "));
      assert.match(res.stderr, pattern, args.join(" "));
      await assert.rejects(Deno.stat(out), Deno.errors.NotFound, `${args.join(" ")} created ${out}`);
    }
  });

  await Deno.remove(dir, { recursive: true });
});
