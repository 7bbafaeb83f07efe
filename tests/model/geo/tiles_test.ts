/** Cutting tiles (`deno task tiles`): tiles, the index, the NoData filter, and bad inputs with nothing written. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readGeoTiff, readGeoTiffInfo } from "../../../model/geo/read.ts";
import { cutTiles, INDEX_CSV, INDEX_JSON, type TileIndex } from "../../../model/geo/tiles.ts";
import { northUpGeoTransform } from "../../../model/geo/write.ts";
import { DSM, DTM, HAG, listNames, NAIP, NAIP_FILES, runCli, withTempDir, writeTiff } from "./helpers.ts";

Deno.test("cutting tiles", async (t) => {
  await t.step(
    "two NAIP dates → 256 px GeoTIFF tiles of the same type, bands and CRS, and the index",
    async () => {
      await withTempDir(async (dir) => {
        const out = join(dir, "tiles");
        const index = await cutTiles(NAIP_FILES.slice(0, 2), { size: 256, outDir: out });
        // 600 × 300 px clips → 2 × 1 whole tiles per date.
        assert.equal(index.tiles.length, 4);
        assert.deepEqual([index.bands, index.dtype, index.no_data, index.pixel_size_m], [4, "uint8", 0, [
          5,
          5,
        ]]);
        assert.deepEqual(index.sources.map((s) => s.tiles_written), [2, 2]);
        assert.equal(index.sources[0].uncovered_px.right, 600 - 512);
        assert.equal(index.sources[0].uncovered_px.bottom, 300 - 256);
        assert.deepEqual(listNames(out).filter((n) => !n.endsWith(".tif")), [INDEX_CSV, INDEX_JSON]);
        assert.deepEqual(JSON.parse(await Deno.readTextFile(join(out, INDEX_JSON))), index);

        const source = await readGeoTiffInfo(NAIP);
        const entry = index.tiles.find((e) => e.source === NAIP && e.window.x === 256 && e.window.y === 0)!;
        assert.equal(entry.file, "m_4709963_se_14_1_20090818_x256_y0.tif");
        const [x0, , , y0] = source.geo!.geoTransform;
        assert.deepEqual(entry.geo_transform, [x0 + 1280, 5, 0, y0, 0, -5]);
        assert.deepEqual([entry.epsg, entry.crs_name], [26914, "NAD83 / UTM zone 14N"]);

        const tile = await readGeoTiff(join(out, entry.file));
        assert.deepEqual([tile.width, tile.height, tile.bands, tile.dtype, tile.noData], [
          256,
          256,
          4,
          "uint8",
          0,
        ]);
        assert.deepEqual(tile.geo!.geoTransform, entry.geo_transform);
        assert.equal(tile.geo!.crs.epsg, 26914);
        const window = await readGeoTiff(NAIP, { window: entry.window });
        assert.deepEqual(tile.data, window.data);

        const csv = (await Deno.readTextFile(join(out, INDEX_CSV))).trim().split("\n");
        assert.equal(csv.length, 5);
        assert.match(csv[0], /^file,source,x,y,width,height,gt0_origin_x,.*,epsg,crs_name,nodata_fraction$/);
        assert.ok(
          csv.includes(
            `${entry.file},${NAIP},256,0,256,256,${x0 + 1280},5,0,${y0},0,-5,26914,NAD83 / UTM zone 14N,0`,
          ),
        );

        // Again into the same folder: refused without --force, replaced with it.
        await assert.rejects(
          cutTiles([NAIP], { size: 256, outDir: out }),
          /already holds a tile set .* --force/,
        );
        const again = await cutTiles([NAIP], { size: 300, outDir: out, force: true });
        assert.equal(again.tiles.length, 2);
        assert.equal(listNames(out).length, 4);
        assert.deepEqual(listNames(dir), ["tiles"]); // no staging or old folder left behind
      });
    },
  );

  await t.step(
    "elevation (DTM has NoData): float32 tiles keep it; the NoData filter skips what exceeds it",
    async () => {
      await withTempDir(async (dir) => {
        const loose = await cutTiles([DSM, DTM], {
          size: 64,
          stride: 48,
          maxNoData: 1,
          outDir: join(dir, "all"),
        });
        const strict = await cutTiles([DSM, DTM], {
          size: 64,
          stride: 48,
          maxNoData: 0,
          outDir: join(dir, "none"),
        });
        const withNoData = loose.tiles.filter((e) => e.nodata_fraction > 0);
        assert.ok(withNoData.length > 0, "the samples have some NoData");
        assert.equal(strict.tiles.length, loose.tiles.length - withNoData.length);
        assert.equal(strict.sources.reduce((n, s) => n + s.tiles_skipped, 0), withNoData.length);
        const tile = await readGeoTiff(join(dir, "all", withNoData[0].file));
        assert.deepEqual([tile.dtype, tile.noData, tile.geo!.pixelSizeM], ["float32", -9999, [2, 2]]);
        const empty = Array.from(tile.data).filter((v) => v === -9999).length;
        assert.equal(empty / tile.data.length, withNoData[0].nodata_fraction);
      });
    },
  );

  await t.step("bad inputs: clear errors naming the file, and no output folder", async () => {
    await withTempDir(async (dir) => {
      const out = join(dir, "out");
      const fails = async (sources: string[], pattern: RegExp, options = {}) => {
        await assert.rejects(cutTiles(sources, { size: 64, outDir: out, ...options }), pattern);
        assert.deepEqual(
          listNames(dir).filter((n) => n.startsWith(".") || n === "out"),
          [],
          "nothing written",
        );
      };
      await fails([NAIP, DSM], /mixed band counts: .*dsm\.tif has 1 band\(s\) but .*20090818\.tif has 4/);

      const coarse = join(dir, "coarse.tif");
      const dsm = await readGeoTiff(DSM);
      await writeTiff(coarse, {
        width: dsm.width,
        height: dsm.height,
        bands: 1,
        data: dsm.data,
        noData: -9999,
        geo: { geoTransform: northUpGeoTransform([0, 0], 10), crs: { epsg: 26918 } },
      });
      await fails(
        [DSM, coarse],
        /mixed pixel sizes: .*coarse\.tif has a 10 × 10 pixel but .*dsm\.tif has a 2 × 2 pixel/,
      );

      const empty = join(dir, "empty.tif");
      await writeTiff(empty, {
        width: 128,
        height: 128,
        bands: 1,
        data: new Float32Array(128 * 128).fill(-9999),
        noData: -9999,
        geo: { geoTransform: northUpGeoTransform([0, 0], 2) },
      });
      // The good file is cut first; the all-NoData one fails after: still nothing is left.
      await fails([DSM, empty], /empty\.tif holds no valid pixels: every pixel read is NoData \(-9999\)/);

      const png = join(dir, "photo.tif");
      await Deno.writeFile(png, Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13));
      await fails([DSM, png], /photo\.tif is not a TIFF file \(it is a PNG image\)/);
      const bytes = await Deno.readFile(HAG);
      const cut = join(dir, "cut.tif");
      await Deno.writeFile(cut, bytes.subarray(0, bytes.length - 5000));
      await fails([DSM, cut], /cut\.tif is truncated/);
      await fails([DSM], /dsm\.tif is 283×259 px, smaller than one 512 px tile/, { size: 512 });

      // An output folder holding other files is never touched.
      await Deno.mkdir(out);
      await Deno.writeTextFile(join(out, "mine.txt"), "keep");
      await assert.rejects(cutTiles([DSM], { size: 64, outDir: out }), /exists and holds other files/);
      assert.deepEqual(listNames(out), ["mine.txt"]);
    });
  });

  await t.step(
    "deno task tiles: --src with several files, a summary, one-line errors and exit codes",
    async () => {
      await withTempDir(async (dir) => {
        const ok = await runCli("tiles.ts", [
          "--src",
          DSM,
          HAG,
          "--size",
          "128",
          "--stride",
          "96",
          "--out",
          join(dir, "t"),
        ]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /wrote 8 tile\(s\) of 128 px \(1 band\(s\) float32, 2 m\/px\) to /);
        const index: TileIndex = JSON.parse(await Deno.readTextFile(join(dir, "t", INDEX_JSON)));
        assert.equal(index.stride, 96);

        const bad = await runCli("tiles.ts", ["--src", NAIP, DSM, "--size", "64", "--out", join(dir, "u")]);
        assert.equal(bad.code, 1);
        assert.match(
          bad.programStderr.trim(),
          /^error: GeoTiffError: mixed band counts: [^\n]*dsm\.tif has 1 band\(s\)[^\n]*$/,
        );
        const usage = await runCli("tiles.ts", ["--src", DSM, "--out", join(dir, "v")]);
        assert.equal(usage.code, 2);
        assert.match(usage.stderr, /--size is required/);
        assert.deepEqual(listNames(dir), ["t"]);
      });
    },
  );
});
