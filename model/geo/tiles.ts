/**
 * Cut large rasters into training tiles: square windows of `size` px every `stride` px, kept as GeoTIFFs
 * of the source's sample type, bands, NoData, palette and CRS, each with its own geotransform; windows
 * with more than `maxNoData` of NoData pixels are skipped. A sidecar index (`index.json` and `index.csv`)
 * records each tile's source, pixel window, geotransform and CRS.
 *
 * All or nothing: every source header is checked first (readable, supported, large enough, and the
 * sources consistent: one band count, one sample type, one pixel size), tiles are written into a
 * temporary folder beside the output, and that folder becomes the output only when everything is done.
 * A failure (a corrupt block found mid-way, an all-NoData source) leaves no output behind.
 *
 * Windows that would run past the right or bottom edge are not cut (no padding); the index says how
 * many pixels each source leaves uncovered.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import {
  GeoTiffError,
  type GeoTiffFile,
  type GeoTiffInfo,
  type GeoTransform,
  noDataFraction,
  openGeoTiff,
  type PixelWindow,
  windowGeoTransform,
} from "./read.ts";
import { encodeGeoTiff } from "./write.ts";

/** Options of {@link cutTiles}. */
export interface TileOptions {
  /** Side of the tiles in pixels. */
  size: number;
  /** Step between tiles in pixels (default: `size`, no overlap). */
  stride?: number;
  /** Largest fraction of NoData pixels a tile may have (default 0.05). */
  maxNoData?: number;
  /** Output folder; must not exist, or be empty, or (with `force`) hold an earlier tiles index. */
  outDir: string;
  /** Replace an output folder that holds an earlier tile set (its index.json). */
  force?: boolean;
  /** Deflate the tiles (default true). */
  compress?: boolean;
  /** Progress: tiles written and considered so far for the current source. */
  onProgress?: (event: { source: string; written: number; skipped: number }) => void;
}

/** One tile of the index. */
export interface TileEntry {
  /** File name, relative to the output folder. */
  file: string;
  /** Absolute path of the source raster. */
  source: string;
  /** The tile's pixels in the source. */
  window: PixelWindow;
  /** GDAL-order geotransform of the tile (null for a source without georeferencing). */
  geo_transform: GeoTransform | null;
  /** EPSG code of the CRS (null when user-defined or absent). */
  epsg: number | null;
  crs_name: string | null;
  /** Fraction of the tile's pixels that are NoData. */
  nodata_fraction: number;
}

/** One source of the index. */
export interface SourceEntry {
  path: string;
  width: number;
  height: number;
  geo_transform: GeoTransform | null;
  epsg: number | null;
  crs_name: string | null;
  tiles_written: number;
  /** Windows skipped for too much NoData. */
  tiles_skipped: number;
  /** Pixels at the right and bottom edges that no full window covers. */
  uncovered_px: { right: number; bottom: number };
}

/** The sidecar index (index.json). */
export interface TileIndex {
  format: "sgan-tiles";
  version: 1;
  created: string;
  size: number;
  stride: number;
  max_nodata: number;
  bands: number;
  dtype: string;
  no_data: number | null;
  /** Pixel size in map units [x, y] (null without georeferencing). */
  pixel_size: [number, number] | null;
  /** Pixel size in metres (null in degrees or without georeferencing): the dataset's gsd. */
  pixel_size_m: [number, number] | null;
  sources: SourceEntry[];
  tiles: TileEntry[];
}

/** Names of the index files. */
export const INDEX_JSON = "index.json";
export const INDEX_CSV = "index.csv";

/**
 * Cut `sources` into tiles under `options.outDir` (see the module note).
 * @throws GeoTiffError naming the source at fault; RangeError for bad options; Error for an output
 *   folder that is in the way. Nothing is left in `outDir` when it throws.
 */
export async function cutTiles(sources: string[], options: TileOptions): Promise<TileIndex> {
  const { size, stride = options.size, maxNoData = 0.05, compress = true } = options;
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`tile size must be a positive integer, got ${size}`);
  }
  if (!Number.isInteger(stride) || stride < 1) {
    throw new RangeError(`stride must be a positive integer, got ${stride}`);
  }
  if (!(maxNoData >= 0 && maxNoData <= 1)) {
    throw new RangeError(`max NoData fraction must be in [0, 1], got ${maxNoData}`);
  }
  if (sources.length === 0) throw new RangeError("no source rasters given");
  const paths = [...new Set(sources.map((s) => resolve(s)))];
  const outDir = resolve(options.outDir);
  await checkOutputFolder(outDir, options.force ?? false);

  // Check every header before writing anything.
  const files: GeoTiffFile[] = [];
  try {
    for (const path of paths) files.push(await openGeoTiff(path));
    const infos = files.map((f) => f.info);
    checkConsistent(infos);
    for (const info of infos) {
      if (info.width < size || info.height < size) {
        throw new GeoTiffError(
          info.path,
          `${info.path} is ${info.width}×${info.height} px, smaller than one ${size} px tile`,
        );
      }
    }

    // Cut into a staging folder beside the output.
    const staging = join(dirname(outDir), `.${basename(outDir)}.${crypto.randomUUID()}.partial`);
    await Deno.mkdir(staging, { recursive: true });
    try {
      const names = tileStems(paths);
      const tiles: TileEntry[] = [];
      const sourceEntries: SourceEntry[] = [];
      for (let i = 0; i < files.length; i++) {
        const cut = await cutOne(files[i], names[i], { size, stride, maxNoData, compress }, staging, options);
        tiles.push(...cut.tiles);
        sourceEntries.push(cut.source);
      }
      const first = infos[0];
      const index: TileIndex = {
        format: "sgan-tiles",
        version: 1,
        created: new Date().toISOString(),
        size,
        stride,
        max_nodata: maxNoData,
        bands: first.bands,
        dtype: first.dtype,
        no_data: first.noData,
        pixel_size: first.geo?.pixelSize ?? null,
        pixel_size_m: first.geo?.pixelSizeM ?? null,
        sources: sourceEntries,
        tiles,
      };
      if (tiles.length === 0) {
        throw new GeoTiffError(
          paths[0],
          `no tile of ${size} px has at most ${formatFraction(maxNoData)} NoData in ${paths.join(", ")}; ` +
            `raise --max-nodata or choose other rasters`,
        );
      }
      await Deno.writeTextFile(join(staging, INDEX_JSON), JSON.stringify(index, null, 1) + "\n");
      await Deno.writeTextFile(join(staging, INDEX_CSV), indexCsv(index));
      await replaceFolder(staging, outDir);
      return index;
    } catch (error) {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
      throw error;
    }
  } finally {
    for (const file of files) await file.close();
  }
}

/** Cut one source: read one row of windows at a time (bounded memory), test NoData, write the tiles. */
async function cutOne(
  file: GeoTiffFile,
  stem: string,
  settings: { size: number; stride: number; maxNoData: number; compress: boolean },
  staging: string,
  options: TileOptions,
): Promise<{ tiles: TileEntry[]; source: SourceEntry }> {
  const { info } = file;
  const { size, stride, maxNoData, compress } = settings;
  const tiles: TileEntry[] = [];
  let skipped = 0;
  let validPixelsSeen = 0;
  const columns = Math.floor((info.width - size) / stride) + 1;
  const rows = Math.floor((info.height - size) / stride) + 1;
  for (let r = 0; r < rows; r++) {
    const y = r * stride;
    const band = await file.read({ window: { x: 0, y, width: info.width, height: size } });
    const rowData = band.data;
    const pixelSamples = info.bands;
    for (let c = 0; c < columns; c++) {
      const x = c * stride;
      // The window's samples, copied out of the row band.
      const tile = new (rowData.constructor as new (n: number) => typeof rowData)(size * size * pixelSamples);
      for (let yy = 0; yy < size; yy++) {
        const from = (yy * info.width + x) * pixelSamples;
        tile.set(rowData.subarray(from, from + size * pixelSamples) as never, yy * size * pixelSamples);
      }
      const fraction = noDataFraction(tile, pixelSamples, info.noData);
      validPixelsSeen += Math.round((1 - fraction) * size * size);
      if (fraction > maxNoData) {
        skipped++;
        options.onProgress?.({ source: info.path, written: tiles.length, skipped });
        continue;
      }
      const name = `${stem}_x${x}_y${y}.tif`;
      const geoTransform = info.geo ? windowGeoTransform(info.geo.geoTransform, { x, y }) : null;
      const bytes = await encodeGeoTiff({
        width: size,
        height: size,
        bands: info.bands,
        data: tile,
        noData: info.noData,
        photometric: info.photometric === 3 && info.colorMap
          ? "palette"
          : info.photometric === 2
          ? "rgb"
          : "minisblack",
        colorMap: info.photometric === 3 && info.colorMap ? info.colorMap.slice(0, 256) : undefined,
        geo: geoTransform ? { geoTransform, crs: { geoKeys: info.geo!.crs.geoKeys } } : undefined,
        compress,
      });
      await Deno.writeFile(join(staging, name), bytes);
      tiles.push({
        file: name,
        source: info.path,
        window: { x, y, width: size, height: size },
        geo_transform: geoTransform,
        epsg: info.geo?.crs.epsg ?? null,
        crs_name: info.geo?.crs.name ?? null,
        nodata_fraction: fraction,
      });
      options.onProgress?.({ source: info.path, written: tiles.length, skipped });
    }
  }
  if (validPixelsSeen === 0) {
    const what = info.noData === null ? "NaN" : String(info.noData);
    throw new GeoTiffError(
      info.path,
      `${info.path} holds no valid pixels: every pixel read is NoData (${what})`,
    );
  }
  return {
    tiles,
    source: {
      path: info.path,
      width: info.width,
      height: info.height,
      geo_transform: info.geo?.geoTransform ?? null,
      epsg: info.geo?.crs.epsg ?? null,
      crs_name: info.geo?.crs.name ?? null,
      tiles_written: tiles.length,
      tiles_skipped: skipped,
      uncovered_px: {
        right: info.width - ((columns - 1) * stride + size),
        bottom: info.height - ((rows - 1) * stride + size),
      },
    },
  };
}

/** One band count, one sample type, one pixel size (within a part in a million), georeferenced or not alike. */
export function checkConsistent(infos: GeoTiffInfo[]): void {
  const [first] = infos;
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
  for (const info of infos.slice(1)) {
    const mixed = (what: string, here: string, there: string) =>
      new GeoTiffError(
        info.path,
        `mixed ${what}: ${info.path} has ${here} but ${first.path} has ${there}; tile matching rasters together`,
      );
    if (info.bands !== first.bands) throw mixed("band counts", `${info.bands} band(s)`, `${first.bands}`);
    if (info.dtype !== first.dtype) throw mixed("sample types", info.dtype, first.dtype);
    const a = info.geo?.pixelSize;
    const b = first.geo?.pixelSize;
    const describe = (p?: [number, number]) => (p ? `a ${p[0]} × ${p[1]} pixel` : "no georeferencing");
    if (!a !== !b || (a && b && !(close(a[0], b[0]) && close(a[1], b[1])))) {
      throw mixed("pixel sizes", describe(a), describe(b));
    }
  }
}

/** File-name stems of the sources, made unique (same names from different folders get -2, -3, ...). */
function tileStems(paths: string[]): string[] {
  const seen = new Map<string, number>();
  return paths.map((path) => {
    const stem = basename(path).replace(/\.[^.]+$/, "").replace(/[^\w.-]+/g, "_");
    const n = (seen.get(stem) ?? 0) + 1;
    seen.set(stem, n);
    return n === 1 ? stem : `${stem}-${n}`;
  });
}

async function checkOutputFolder(outDir: string, force: boolean): Promise<void> {
  const entries: string[] = [];
  try {
    for await (const entry of Deno.readDir(outDir)) entries.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    if (error instanceof Deno.errors.NotADirectory) {
      throw new Error(`--out ${outDir} is a file, not a folder`);
    }
    throw error;
  }
  if (entries.length === 0) return;
  if (!entries.includes(INDEX_JSON)) {
    throw new Error(`--out ${outDir} exists and holds other files; choose a new or empty folder`);
  }
  if (!force) {
    throw new Error(`--out ${outDir} already holds a tile set (${INDEX_JSON}); replace it with --force`);
  }
}

/** Put the staged folder in place of `outDir` (an empty or replaced folder is removed first). */
async function replaceFolder(staging: string, outDir: string): Promise<void> {
  await Deno.mkdir(dirname(outDir), { recursive: true });
  const old = `${outDir}.${crypto.randomUUID()}.old`;
  let moved = false;
  try {
    await Deno.rename(outDir, old);
    moved = true;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  try {
    await Deno.rename(staging, outDir);
  } catch (error) {
    if (moved) await Deno.rename(old, outDir).catch(() => {});
    throw error;
  }
  if (moved) await Deno.remove(old, { recursive: true });
}

/** The index as CSV: one row per tile, geotransform as six columns. */
export function indexCsv(index: TileIndex): string {
  const header = [
    "file",
    "source",
    "x",
    "y",
    "width",
    "height",
    "gt0_origin_x",
    "gt1_pixel_width",
    "gt2_row_rotation",
    "gt3_origin_y",
    "gt4_column_rotation",
    "gt5_pixel_height",
    "epsg",
    "crs_name",
    "nodata_fraction",
  ];
  const quote = (v: unknown) => {
    const text = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const rows = index.tiles.map((t) =>
    [
      t.file,
      t.source,
      t.window.x,
      t.window.y,
      t.window.width,
      t.window.height,
      ...(t.geo_transform ?? ["", "", "", "", "", ""]),
      t.epsg,
      t.crs_name,
      t.nodata_fraction,
    ].map(quote).join(",")
  );
  return [header.join(","), ...rows].join("\n") + "\n";
}

function formatFraction(f: number): string {
  return `${+(f * 100).toPrecision(3)}%`;
}
