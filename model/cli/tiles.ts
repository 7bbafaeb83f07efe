/**
 * `deno task tiles --src FILE... --size 256 [--stride 256] [--max-nodata 0.05] [--no-compress] [--force] --out DIR`
 *
 * Cut GeoTIFFs into square training tiles (GeoTIFFs of the same sample type, bands, NoData and CRS) and
 * write a sidecar index (index.json and index.csv: each tile's source, pixel window, geotransform, CRS).
 * Tiles with more than --max-nodata NoData pixels are skipped. The sources must agree (band count, sample
 * type, pixel size); every header is checked before anything is written, and the output folder appears
 * only when all tiles are done.
 */
import { cutTiles, INDEX_CSV, INDEX_JSON } from "../geo/tiles.ts";
import { integerFlag, numberFlag, parseFlags, runCommand, UsageError } from "./common.ts";

const USAGE = "usage: deno task tiles --src FILE.tif [FILE.tif ...] --size 256 [--stride 256] " +
  "[--max-nodata 0.05] [--no-compress] [--force] --out DIR";

await runCommand(async () => {
  // `--src a.tif b.tif c.tif` (a shell glob) as well as `--src a.tif --src b.tif`.
  const args: string[] = [];
  const sources: string[] = [];
  for (let i = 0; i < Deno.args.length; i++) {
    const arg = Deno.args[i];
    if (arg === "--src" || arg.startsWith("--src=")) {
      if (arg.startsWith("--src=")) sources.push(arg.slice(6));
      while (i + 1 < Deno.args.length && !Deno.args[i + 1].startsWith("--")) sources.push(Deno.args[++i]);
    } else args.push(arg);
  }
  const { values } = parseFlags(args, {
    size: { type: "string" },
    stride: { type: "string" },
    "max-nodata": { type: "string" },
    "no-compress": { type: "boolean", default: false },
    force: { type: "boolean", default: false },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (sources.length === 0) throw new UsageError(`--src is required: one or more GeoTIFFs\n${USAGE}`);
  if (!values.size) throw new UsageError(`--size is required (tile side in pixels)\n${USAGE}`);
  if (!values.out) throw new UsageError(`--out is required\n${USAGE}`);
  const size = integerFlag("size", values.size, 1, 65536)!;
  const stride = integerFlag("stride", values.stride, 1, 65536) ?? size;
  const maxNoData = numberFlag("max-nodata", values["max-nodata"], 0.05)!;
  if (maxNoData < 0 || maxNoData > 1) {
    throw new UsageError(`--max-nodata must be a fraction in [0, 1], got '${values["max-nodata"]}'`);
  }

  const started = performance.now();
  const index = await cutTiles(sources, {
    size,
    stride,
    maxNoData,
    outDir: values.out,
    force: values.force,
    compress: !values["no-compress"],
  });
  for (const s of index.sources) {
    console.log(
      `${s.path}: ${s.tiles_written} tile(s), ${s.tiles_skipped} skipped (NoData > ${maxNoData})` +
        (s.uncovered_px.right || s.uncovered_px.bottom
          ? `, ${s.uncovered_px.right} px right and ${s.uncovered_px.bottom} px bottom not covered`
          : ""),
    );
  }
  const pixel = index.pixel_size_m ? `, ${+index.pixel_size_m[0].toPrecision(6)} m/px` : "";
  console.log(
    `wrote ${index.tiles.length} tile(s) of ${size} px (${index.bands} band(s) ${index.dtype}${pixel}) to ` +
      `${values.out} in ${
        ((performance.now() - started) / 1000).toFixed(1)
      } s; index ${values.out}/${INDEX_JSON} ` +
      `and ${INDEX_CSV}`,
  );
});
