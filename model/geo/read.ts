/**
 * Read GeoTIFFs through `geotiff` (as the design asks): the samples in their own data type, 1 to N bands,
 * the NoData value, and the georeferencing (geotransform, pixel size, CRS) from the file's tags.
 *
 * Files are opened with geotiff's `fromFile`, which reads the header and then only the blocks a window
 * needs, so a large mosaic is never loaded whole just to learn its size or cut one tile.
 *
 * Samples come back **band-interleaved by pixel** (BIP, "chunky", HWC): the value of band `b` at row `y`,
 * column `x` is `data[(y * width + x) * bands + b]`, the layout the rest of the project uses for rasters.
 *
 * Every failure is a {@link GeoTiffError} whose message starts with the file's path and says what is wrong
 * (not a TIFF, truncated, an unsupported compression or sample type, ...).
 *
 * @module
 */
import { fromFile, type GeoTIFF, type GeoTIFFImage } from "geotiff";

/** Sample data types a GeoTIFF may hold (the names GDAL and numpy use). */
export type SampleType = "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "float64";

/** The typed array of each {@link SampleType}. */
export type SampleArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/**
 * A GDAL-order affine geotransform: `[originX, pixelWidth, rowRotation, originY, columnRotation, -pixelHeight]`.
 * The map position of the corner of pixel (column x, row y) is
 * `(gt[0] + x·gt[1] + y·gt[2], gt[3] + x·gt[4] + y·gt[5])`.
 */
export type GeoTransform = [number, number, number, number, number, number];

/** A coordinate reference system as far as the GeoKeys say. */
export interface Crs {
  /** EPSG code of the projected (ProjectedCSTypeGeoKey) or geographic (GeographicTypeGeoKey) CRS; null when user-defined. */
  epsg: number | null;
  /** Its name from the citation keys (e.g. "NAD83 / UTM zone 14N"), when the file has one. */
  name: string | null;
  /** Projected (map units: metres, feet) or geographic (degrees). */
  kind: "projected" | "geographic" | "unknown";
  /** The map unit of the geotransform, with its size in metres (null for angles or an unknown unit). */
  unit: { name: string; metres: number | null; assumed: boolean };
  /** Every GeoKey of the file, by geotiff's names (copied as they are into tiles cut from it). */
  geoKeys: Record<string, unknown>;
}

/** Where a raster sits on the ground. */
export interface Georeference {
  geoTransform: GeoTransform;
  /** Pixel size in map units, both positive ([x, y]). */
  pixelSize: [number, number];
  /** The same in metres, or null when the map unit is not a length (degrees) or not known. */
  pixelSizeM: [number, number] | null;
  /** Map coordinates of the upper-left corner of the upper-left pixel. */
  origin: [number, number];
  crs: Crs;
}

/** What a GeoTIFF's header says. */
export interface GeoTiffInfo {
  /** The path the file was opened by (used in every message). */
  path: string;
  width: number;
  height: number;
  bands: number;
  dtype: SampleType;
  /** The GDAL_NODATA value, or null. */
  noData: number | null;
  /** TIFF compression code and name. */
  compression: { code: number; name: string };
  /** TIFF PhotometricInterpretation (1 MinIsBlack, 2 RGB, 3 Palette, ...). */
  photometric: number;
  /** The palette of a paletted file: 2^bits entries of [r, g, b], 8-bit. */
  colorMap: [number, number, number][] | null;
  /** Georeferencing, or null for a plain TIFF. */
  geo: Georeference | null;
  /** ImageDescription, when present. */
  description: string | null;
}

/** Samples of a window of a GeoTIFF. */
export interface GeoRaster extends GeoTiffInfo {
  /** The window read, in pixels of the file. */
  window: PixelWindow;
  /** Bands read, 1-based (GDAL numbering), in the order they are stored in `data`. */
  bandsRead: number[];
  /** Samples, band-interleaved by pixel: `data[(y * window.width + x) * bandsRead.length + b]`. */
  data: SampleArray;
}

/** A rectangle of pixels: column, row of its upper-left pixel, and its size. */
export interface PixelWindow {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A GeoTIFF that cannot be read; the message names the file. */
export class GeoTiffError extends Error {
  override name = "GeoTiffError";
  constructor(readonly file: string, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** TIFF compression codes, with whether geotiff decodes them here. */
const COMPRESSIONS = new Map<number, { name: string; supported: boolean }>([
  [1, { name: "none", supported: true }],
  [5, { name: "LZW", supported: true }],
  [6, { name: "old-style JPEG", supported: false }],
  [7, { name: "JPEG", supported: true }],
  [8, { name: "Deflate", supported: true }],
  [32946, { name: "Deflate (PKZIP)", supported: true }],
  [32773, { name: "PackBits", supported: true }],
  [34887, { name: "LERC", supported: true }],
  [50000, { name: "ZSTD", supported: true }],
  // geotiff hands WebP to the browser's image decoder, which Deno does not have.
  [50001, { name: "WebP", supported: false }],
  [34712, { name: "JPEG 2000", supported: false }],
  [50002, { name: "JPEG XL", supported: false }],
  [34925, { name: "LZMA", supported: false }],
  [2, { name: "CCITT RLE", supported: false }],
  [3, { name: "CCITT Group 3", supported: false }],
  [4, { name: "CCITT Group 4", supported: false }],
]);

/** The linear units of EPSG's unit table that GeoTIFFs use, in metres. */
const LINEAR_UNITS = new Map<number, { name: string; metres: number }>([
  [9001, { name: "metre", metres: 1 }],
  [9002, { name: "foot", metres: 0.3048 }],
  [9003, { name: "US survey foot", metres: 1200 / 3937 }],
  [9036, { name: "kilometre", metres: 1000 }],
]);

/** Geographic (angular) units. */
const ANGULAR_UNITS = new Map<number, string>([[9101, "radian"], [9102, "degree"], [9105, "grad"]]);

/** User-defined value of a GeoKey (GeoTIFF spec: 32767). */
const USER_DEFINED = 32767;

/** An open GeoTIFF: its header, and windows of samples on demand. Close it when done. */
export interface GeoTiffFile {
  info: GeoTiffInfo;
  /**
   * Read a window (default: the whole raster) of some bands (1-based, default: all), band-interleaved by pixel.
   * @throws GeoTiffError naming the file when the data cannot be decoded.
   */
  read(options?: { window?: PixelWindow; bands?: number[] }): Promise<GeoRaster>;
  close(): Promise<void>;
}

/**
 * Open a GeoTIFF and read its header (not its pixels). Checks what can be checked before decoding: that
 * it is a TIFF at all, that its compression and sample type are supported, and that its image data lies
 * inside the file (a truncated download fails here, naming the file, not halfway through a read).
 * @throws GeoTiffError naming `path`.
 */
export async function openGeoTiff(path: string): Promise<GeoTiffFile> {
  const size = await checkTiffSignature(path);
  let tiff: GeoTIFF;
  try {
    tiff = await fromFile(path);
  } catch (error) {
    throw new GeoTiffError(
      path,
      `${path}: cannot read the TIFF header: ${messageOf(error)} (corrupt file?)`,
      {
        cause: error,
      },
    );
  }
  try {
    let image: GeoTIFFImage;
    try {
      image = await tiff.getImage(0); // the full-resolution image; later ones are overviews or masks
    } catch (error) {
      throw new GeoTiffError(path, `${path}: cannot read the first image directory: ${messageOf(error)}`, {
        cause: error,
      });
    }
    const info = await describe(image, path, size);
    return {
      info,
      read: (options = {}) => readWindow(image, info, options.window, options.bands),
      close: async () => {
        await tiff.close();
      },
    };
  } catch (error) {
    await tiff.close();
    throw error;
  }
}

/** The header of a GeoTIFF (see {@link openGeoTiff}). */
export async function readGeoTiffInfo(path: string): Promise<GeoTiffInfo> {
  const file = await openGeoTiff(path);
  await file.close();
  return file.info;
}

/**
 * Read a GeoTIFF: header and samples (a window and some bands when given).
 * @throws GeoTiffError naming `path`.
 */
export async function readGeoTiff(
  path: string,
  options: { window?: PixelWindow; bands?: number[] } = {},
): Promise<GeoRaster> {
  const file = await openGeoTiff(path);
  try {
    return await file.read(options);
  } finally {
    await file.close();
  }
}

/** The size of one sample type in bytes. */
export function bytesPerSample(dtype: SampleType): number {
  return { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, float64: 8 }[dtype];
}

/** Whether a sample is NoData: the file's NoData value, or NaN in a float raster. */
export function isNoDataValue(value: number, noData: number | null): boolean {
  return value !== value || value === noData;
}

/**
 * Fraction of the pixels of a band-interleaved raster that are NoData. A pixel is NoData when every one
 * of its bands is (GDAL's rule for a per-dataset mask: a dark pixel with one band at 0 is still data).
 */
export function noDataFraction(data: ArrayLike<number>, bands: number, noData: number | null): number {
  const pixels = data.length / bands;
  if (pixels === 0) return 0;
  let empty = 0;
  for (let p = 0, i = 0; p < pixels; p++, i += bands) {
    let all = true;
    for (let b = 0; b < bands && all; b++) all = isNoDataValue(data[i + b], noData);
    if (all) empty++;
  }
  return empty / pixels;
}

// ---------------------------------------------------------------------------------------------------------
// Header.

/** Check the file starts like a TIFF; returns its size. */
async function checkTiffSignature(path: string): Promise<number> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ? "file not found" : messageOf(error);
    throw new GeoTiffError(path, `cannot read ${path}: ${why}`, { cause: error });
  }
  try {
    const size = (await file.stat()).size;
    const head = new Uint8Array(16);
    let got = 0;
    while (got < head.length) {
      const n = await file.read(head.subarray(got));
      if (n === null) break;
      got += n;
    }
    const start = head.subarray(0, got);
    const is = (...magic: number[]) => magic.every((v, i) => start[i] === v);
    if (is(0x49, 0x49, 0x2a, 0x00) || is(0x4d, 0x4d, 0x00, 0x2a)) return size;
    if (is(0x49, 0x49, 0x2b, 0x00) || is(0x4d, 0x4d, 0x00, 0x2b)) return size; // BigTIFF
    throw new GeoTiffError(path, `${path} is not a TIFF file (${describeStart(start)})`);
  } finally {
    file.close();
  }
}

async function describe(image: GeoTIFFImage, path: string, fileSize: number): Promise<GeoTiffInfo> {
  const fd = image.fileDirectory;
  const width = image.getWidth();
  const height = image.getHeight();
  const bands = image.getSamplesPerPixel();
  if (!(width > 0 && height > 0 && bands > 0)) {
    throw new GeoTiffError(path, `${path}: the image is ${width}×${height} with ${bands} band(s)`);
  }

  const code = Number(fd.getValue("Compression") ?? 1);
  const known = COMPRESSIONS.get(code);
  if (!known?.supported) {
    const what = known ? `${known.name} compression (code ${code})` : `an unknown compression (code ${code})`;
    throw new GeoTiffError(
      path,
      `${path} uses ${what}, which geotiff cannot decode here; rewrite it uncompressed or with Deflate or LZW ` +
        `(e.g. gdal_translate -co COMPRESS=DEFLATE in.tif out.tif)`,
    );
  }
  const dtype = sampleTypeOf(image, path, bands);
  await checkDataInsideFile(image, path, fileSize);

  const photometric = Number(fd.getValue("PhotometricInterpretation") ?? 1);
  const colorMap = photometric === 3 ? await paletteOf(image) : null;
  const description = fd.hasTag("ImageDescription")
    ? String(await fd.loadValue("ImageDescription")).replace(/\0+$/, "")
    : null;
  return {
    path,
    width,
    height,
    bands,
    dtype,
    noData: noDataOf(image),
    compression: { code, name: known.name },
    photometric,
    colorMap,
    geo: georeferenceOf(image, path),
    description,
  };
}

function sampleTypeOf(image: GeoTIFFImage, path: string, bands: number): SampleType {
  const types = new Set<SampleType | undefined>();
  for (let b = 0; b < bands; b++) {
    const bits = image.getBitsPerSample(b);
    const format = image.getSampleFormat(b) ?? 1; // 1 unsigned, 2 signed, 3 float
    const name = format === 3 ? `float${bits}` : `${format === 2 ? "int" : "uint"}${bits}`;
    const known = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"].includes(
      name,
    );
    types.add(known ? name as SampleType : undefined);
    if (!known) {
      throw new GeoTiffError(
        path,
        `${path} has ${bits}-bit ${
          ["", "unsigned", "signed", "float"][format] ?? `format-${format}`
        } samples; supported are 8, 16, 32 and 64 bits (uint8, uint16, int16, float32, ...)`,
      );
    }
  }
  if (types.size > 1) {
    throw new GeoTiffError(path, `${path} mixes sample types across bands (${[...types].join(", ")})`);
  }
  return [...types][0]!;
}

/** A truncated file fails here, with the sizes, rather than with geotiff's bare RangeError mid-read. */
async function checkDataInsideFile(image: GeoTIFFImage, path: string, fileSize: number): Promise<void> {
  const fd = image.fileDirectory;
  const tiled = fd.hasTag("TileOffsets");
  const offsets = await fd.loadValue(tiled ? "TileOffsets" : "StripOffsets") as ArrayLike<number> | undefined;
  const counts = await fd.loadValue(tiled ? "TileByteCounts" : "StripByteCounts") as
    | ArrayLike<number>
    | undefined;
  if (!offsets || !counts || offsets.length !== counts.length) {
    throw new GeoTiffError(
      path,
      `${path}: its ${tiled ? "tile" : "strip"} offsets or byte counts are missing`,
    );
  }
  let end = 0;
  for (let i = 0; i < offsets.length; i++) end = Math.max(end, Number(offsets[i]) + Number(counts[i]));
  if (end > fileSize) {
    throw new GeoTiffError(
      path,
      `${path} is truncated: its image data runs to byte ${end} but the file has ${fileSize} bytes`,
    );
  }
}

function noDataOf(image: GeoTIFFImage): number | null {
  const fd = image.fileDirectory;
  if (!fd.hasTag("GDAL_NODATA")) return null;
  const text = String(fd.getValue("GDAL_NODATA")).replace(/\0/g, "").trim();
  if (text === "") return null;
  const value = text.toLowerCase() === "nan" ? NaN : Number(text);
  return Number.isNaN(value) && text.toLowerCase() !== "nan" ? null : value;
}

async function paletteOf(image: GeoTIFFImage): Promise<[number, number, number][] | null> {
  const map = await image.fileDirectory.loadValue("ColorMap") as ArrayLike<number> | undefined;
  if (!map || map.length % 3 !== 0) return null;
  const n = map.length / 3;
  return Array.from(
    { length: n },
    (_, i) =>
      [map[i], map[n + i], map[2 * n + i]].map((v) => Math.round(Number(v) / 257)) as [
        number,
        number,
        number,
      ],
  );
}

// ---------------------------------------------------------------------------------------------------------
// Georeferencing.

function georeferenceOf(image: GeoTIFFImage, path: string): Georeference | null {
  const fd = image.fileDirectory;
  const scale = fd.getValue("ModelPixelScale") as ArrayLike<number> | undefined;
  const tiepoint = fd.getValue("ModelTiepoint") as ArrayLike<number> | undefined;
  const matrix = fd.getValue("ModelTransformation") as ArrayLike<number> | undefined;
  const keys = (image.getGeoKeys() ?? {}) as Record<string, unknown>;

  let gt: GeoTransform;
  if (matrix && matrix.length >= 16) {
    gt = [matrix[3], matrix[0], matrix[1], matrix[7], matrix[4], matrix[5]];
  } else if (scale && scale.length >= 2 && tiepoint && tiepoint.length >= 6) {
    // The tie point ties raster (i, j) to map (X, Y); the origin is where raster (0, 0) lands.
    const [i, j, , X, Y] = Array.from(tiepoint);
    gt = [X - i * scale[0], scale[0], 0, Y + j * scale[1], 0, -scale[1]];
  } else {
    return null;
  }
  if (keys.GTRasterTypeGeoKey === 2) {
    // PixelIsPoint: the tie point is the centre of the pixel; GDAL shifts to the corner by half a pixel.
    gt[0] -= (gt[1] + gt[2]) / 2;
    gt[3] -= (gt[4] + gt[5]) / 2;
  }
  const pixelSize: [number, number] = [Math.hypot(gt[1], gt[4]), Math.hypot(gt[2], gt[5])];
  if (!(pixelSize[0] > 0 && pixelSize[1] > 0) || !gt.every(Number.isFinite)) {
    throw new GeoTiffError(
      path,
      `${path}: its geotransform is degenerate (pixel size ${pixelSize.join(" × ")})`,
    );
  }
  const crs = crsOf(keys);
  const metres = crs.unit.metres;
  return {
    geoTransform: gt,
    pixelSize,
    pixelSizeM: metres === null ? null : [pixelSize[0] * metres, pixelSize[1] * metres],
    origin: [gt[0], gt[3]],
    crs,
  };
}

/** The CRS the GeoKeys describe. No PROJ database here: the EPSG code and names are what the file says. */
export function crsOf(keys: Record<string, unknown>): Crs {
  const number = (key: string) => typeof keys[key] === "number" ? keys[key] as number : undefined;
  const text = (key: string) =>
    typeof keys[key] === "string" ? (keys[key] as string).replace(/\|+$/, "").trim() || null : null;
  const model = number("GTModelTypeGeoKey");
  const projected = number("ProjectedCSTypeGeoKey");
  const geographic = number("GeographicTypeGeoKey");
  const kind = model === 1 || (model === undefined && projected !== undefined)
    ? "projected"
    : model === 2 || (model === undefined && geographic !== undefined)
    ? "geographic"
    : "unknown";
  const code = kind === "projected" ? projected : kind === "geographic" ? geographic : undefined;
  const epsg = code !== undefined && code !== USER_DEFINED && code > 0 ? code : null;
  const name = kind === "projected"
    ? text("PCSCitationGeoKey") ?? text("GTCitationGeoKey")
    : text("GeogCitationGeoKey") ?? text("GTCitationGeoKey");

  let unit: Crs["unit"];
  if (kind === "geographic") {
    const angular = number("GeogAngularUnitsGeoKey") ?? 9102;
    unit = { name: ANGULAR_UNITS.get(angular) ?? `angular unit ${angular}`, metres: null, assumed: false };
  } else {
    const linear = number("ProjLinearUnitsGeoKey");
    const size = number("ProjLinearUnitSizeGeoKey");
    if (linear !== undefined && LINEAR_UNITS.has(linear)) {
      unit = { ...LINEAR_UNITS.get(linear)!, assumed: false };
    } else if (linear === USER_DEFINED && size) unit = { name: "user-defined", metres: size, assumed: false };
    else if (linear !== undefined) unit = { name: `linear unit ${linear}`, metres: null, assumed: false };
    // Nearly every projected EPSG CRS is in metres, and GDAL writes the unit key when it is not.
    else if (kind === "projected") unit = { name: "metre", metres: 1, assumed: true };
    else unit = { name: "unknown", metres: null, assumed: true };
  }
  return { epsg, name, kind, unit, geoKeys: { ...keys } };
}

/** The geotransform of a window of a raster with geotransform `gt`. */
export function windowGeoTransform(gt: GeoTransform, window: { x: number; y: number }): GeoTransform {
  const { x, y } = window;
  return [gt[0] + x * gt[1] + y * gt[2], gt[1], gt[2], gt[3] + x * gt[4] + y * gt[5], gt[4], gt[5]];
}

// ---------------------------------------------------------------------------------------------------------
// Samples.

async function readWindow(
  image: GeoTIFFImage,
  info: GeoTiffInfo,
  window: PixelWindow = { x: 0, y: 0, width: info.width, height: info.height },
  bands: number[] = Array.from({ length: info.bands }, (_, b) => b + 1),
): Promise<GeoRaster> {
  const { path } = info;
  const { x, y, width, height } = window;
  if (
    ![x, y, width, height].every(Number.isInteger) || x < 0 || y < 0 || width < 1 || height < 1 ||
    x + width > info.width || y + height > info.height
  ) {
    throw new RangeError(
      `window ${width}×${height} at (${x}, ${y}) is outside ${path} (${info.width}×${info.height} px)`,
    );
  }
  for (const band of bands) {
    if (!Number.isInteger(band) || band < 1 || band > info.bands) {
      throw new GeoTiffError(path, `${path} has ${info.bands} band(s); there is no band ${band}`);
    }
  }
  let data: SampleArray;
  try {
    data = await image.readRasters({
      window: [x, y, x + width, y + height],
      samples: bands.map((b) => b - 1),
      interleave: true,
    }) as unknown as SampleArray;
  } catch (error) {
    // geotiff may throw undefined or a bare RangeError on a damaged block.
    throw new GeoTiffError(
      path,
      `cannot decode ${path}: ${
        messageOf(error)
      } (${info.compression.name} data; truncated or corrupt file?)`,
      { cause: error },
    );
  }
  const expected = width * height * bands.length;
  if (!data || data.length !== expected) {
    throw new GeoTiffError(path, `cannot decode ${path}: got ${data?.length} samples, expected ${expected}`);
  }
  // Drop geotiff's width/height properties: a plain typed array of the declared type.
  const plain =
    new (data.constructor as { new (buffer: ArrayBufferLike, offset: number, length: number): SampleArray })(
      data.buffer,
      data.byteOffset,
      data.length,
    );
  return { ...info, window: { x, y, width, height }, bandsRead: [...bands], data: plain };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return error === undefined ? "no reason given" : String(error);
}

/** What a file's start looks like, without quoting it (messages reach API clients; the bytes are not theirs). */
function describeStart(bytes: Uint8Array): string {
  if (bytes.length === 0) return "the file is empty";
  const is = (...magic: number[]) => magic.every((v, i) => bytes[i] === v);
  if (is(0x89, 0x50, 0x4e, 0x47)) return "it is a PNG image";
  if (is(0xff, 0xd8, 0xff)) return "it is a JPEG image";
  const printable = bytes.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  return printable ? "it looks like a text file" : "its first bytes match no TIFF signature";
}
