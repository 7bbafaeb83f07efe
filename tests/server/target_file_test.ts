/**
 * The projection target as the server hands it to its worker (server/projection/target_file.ts): what is read
 * back is what was written, pixel for pixel and with its place on the ground, and files that do not fit the
 * model, or are not target files, are refused naming the file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ProjectionTarget } from "../../model/projection/target.ts";
import { readTargetFiles, writeTargetFiles } from "../../server/projection/target_file.ts";

/** A 4 × 4 px, 3-band target on the ground of UTM zone 14N, every byte distinct from its neighbours. */
function target(): ProjectionTarget {
  return {
    raster: {
      width: 4,
      height: 4,
      channels: 3,
      data: Uint8Array.from({ length: 48 }, (_, i) => (i * 37) % 256),
    },
    description: "1 m/px → 2 m/px, 8 → 4 px (box average)",
    source: { path: "site.tif", format: "tiff", width: 10, height: 9, gsdM: 1 },
    window: { x: 1, y: 0, width: 8, height: 8 },
    gsdM: 2,
    geo: {
      geoTransform: [486_541, 2, 0, 5_208_607, 0, -2],
      crs: { epsg: 26914, name: "NAD83 / UTM zone 14N", geoKeys: { ProjectedCSTypeGeoKey: 26914 } },
    },
  };
}

const MODEL = { resolution: 4, channels: 3 };

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sgan-target-file-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("target files: read back exactly as written, pixels, resampling line and place", async () => {
  await inTempDir(async (dir) => {
    await writeTargetFiles(dir, target());
    assert.equal((await Deno.stat(join(dir, "target.raw"))).size, 48);
    assert.deepEqual(await readTargetFiles(dir, MODEL), target());
    // A PNG or JPEG target has no place: none is invented.
    const plain = { ...target(), geo: undefined, gsdM: null };
    delete plain.geo;
    await writeTargetFiles(dir, plain);
    const back = await readTargetFiles(dir, MODEL);
    assert.equal("geo" in back, false);
    assert.equal(back.gsdM, null);
  });
});

Deno.test("target files: another model's shape, a short raster, or no target file are refused naming the file", async () => {
  await inTempDir(async (dir) => {
    await writeTargetFiles(dir, target());
    await assert.rejects(
      readTargetFiles(dir, { resolution: 8, channels: 3 }),
      /target\.json: the target is 4 × 4 px with 3 band\(s\); the model makes 8 × 8 px with 3/,
    );
    await assert.rejects(
      readTargetFiles(dir, { resolution: 4, channels: 1 }),
      /the model makes 4 × 4 px with 1/,
    );
    await Deno.writeFile(join(dir, "target.raw"), new Uint8Array(47));
    await assert.rejects(
      readTargetFiles(dir, MODEL),
      /target\.raw holds 47 bytes, not the 48 of a 4 × 4 × 3/,
    );
    await Deno.writeTextFile(join(dir, "target.json"), JSON.stringify({ steps: 3 }));
    await assert.rejects(readTargetFiles(dir, MODEL), /target\.json is not a projection target/);
    await Deno.remove(join(dir, "target.json"));
    await assert.rejects(readTargetFiles(dir, MODEL), Deno.errors.NotFound);
  });
});
