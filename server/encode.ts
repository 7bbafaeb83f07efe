/**
 * Response encodings: PNG and JPEG through imagescript (model/images.ts), and GeoTIFF. Every encoding is a
 * function of the pixels alone (no timestamps), so deterministic tiles have stable bytes.
 *
 * The GeoTIFF is written here rather than with geotiff.js's `writeArrayBuffer`: that writer copies every sample
 * through a fresh DataView (about 6 s for one 2048 px RGB tile on this machine, blocking the event loop), while
 * an uncompressed single-strip TIFF is a few hundred bytes of tags plus the raster. geotiff.js reads the result
 * back in the tests. A generated tile has no place on Earth, so its CRS is a user-defined projected frame in
 * metres with the tile's top-left corner at (0, extent): the pixel size is what GIS tools measure with.
 *
 * @module
 */
import type { Image } from "imagescript";
import { encodeJpeg, encodePng, type Raster8 } from "../model/images.ts";

/** An encoded response body. */
export interface Encoded {
  body: Uint8Array;
  contentType: string;
  /** File extension for Content-Disposition. */
  extension: string;
}

/** Formats a single tile can be encoded in. */
export type TileFormat = "png" | "jpeg" | "tiff";

/** Encode one tile; `metresPerPixel` sets the GeoTIFF pixel size (1 when unknown). */
export async function encodeTile(
  raster: Raster8,
  format: TileFormat,
  metresPerPixel?: number | null,
): Promise<Encoded> {
  if (format === "tiff") {
    return { body: encodeGeoTiff(raster, metresPerPixel ?? 1), contentType: "image/tiff", extension: "tif" };
  }
  return await encodeFigure(raster, format);
}

/** Encode a figure canvas (or a raster) as PNG or JPEG; the same pixels always give the same bytes. */
export async function encodeFigure(image: Image | Raster8, format: "png" | "jpeg"): Promise<Encoded> {
  return format === "png"
    ? {
      body: await encodePng(image),
      contentType: "image/png",
      extension: "png",
    }
    : { body: await encodeJpeg(image, 90), contentType: "image/jpeg", extension: "jpg" };
}

// TIFF field types.
const ASCII = 2, SHORT = 3, LONG = 4, DOUBLE = 12;
const TYPE_SIZE: Record<number, number> = { [ASCII]: 1, [SHORT]: 2, [LONG]: 4, [DOUBLE]: 8 };

interface Field {
  tag: number;
  type: number;
  values: number[] | string;
}

/** GeoKey values (GeoTIFF 1.1). */
const GEOKEY = {
  GTModelType: 1024,
  GTRasterType: 1025,
  GTCitation: 1026,
  ProjectedCSType: 3072,
  ProjLinearUnits: 3076,
  ModelTypeProjected: 1,
  RasterPixelIsArea: 1,
  UserDefined: 32767,
  LinearMeter: 9001,
} as const;

/**
 * A little-endian, uncompressed, single-strip GeoTIFF of an 8-bit raster with square pixels of `metresPerPixel`
 * metres (all bands kept: RGB when 3 or more, grey otherwise).
 */
export function encodeGeoTiff(raster: Raster8, metresPerPixel: number): Uint8Array {
  const { width, height, channels, data } = raster;
  if (data.length !== width * height * channels) throw new RangeError("raster data does not match its shape");
  const citation = "sgan-ts generated tile: local metric frame (no geographic location)|";
  const rgb = channels >= 3;
  const extra = rgb ? channels - 3 : channels - 1;
  const fields: Field[] = [
    { tag: 256, type: LONG, values: [width] }, // ImageWidth
    { tag: 257, type: LONG, values: [height] }, // ImageLength
    { tag: 258, type: SHORT, values: Array(channels).fill(8) }, // BitsPerSample
    { tag: 259, type: SHORT, values: [1] }, // Compression: none
    { tag: 262, type: SHORT, values: [rgb ? 2 : 1] }, // PhotometricInterpretation: RGB or BlackIsZero
    { tag: 273, type: LONG, values: [0] }, // StripOffsets (filled in below)
    { tag: 277, type: SHORT, values: [channels] }, // SamplesPerPixel
    { tag: 278, type: LONG, values: [height] }, // RowsPerStrip
    { tag: 279, type: LONG, values: [data.length] }, // StripByteCounts
    { tag: 284, type: SHORT, values: [1] }, // PlanarConfiguration: chunky
    { tag: 305, type: ASCII, values: "sgan-ts" }, // Software
    ...(extra > 0 ? [{ tag: 338, type: SHORT, values: Array(extra).fill(0) }] : []), // ExtraSamples: unspecified
    { tag: 339, type: SHORT, values: Array(channels).fill(1) }, // SampleFormat: unsigned integer
    { tag: 33550, type: DOUBLE, values: [metresPerPixel, metresPerPixel, 0] }, // ModelPixelScale
    { tag: 33922, type: DOUBLE, values: [0, 0, 0, 0, height * metresPerPixel, 0] }, // ModelTiepoint
    {
      tag: 34735, // GeoKeyDirectory
      type: SHORT,
      values: [
        1,
        1,
        0,
        5,
        GEOKEY.GTModelType,
        0,
        1,
        GEOKEY.ModelTypeProjected,
        GEOKEY.GTRasterType,
        0,
        1,
        GEOKEY.RasterPixelIsArea,
        GEOKEY.GTCitation,
        34737,
        citation.length,
        0,
        GEOKEY.ProjectedCSType,
        0,
        1,
        GEOKEY.UserDefined,
        GEOKEY.ProjLinearUnits,
        0,
        1,
        GEOKEY.LinearMeter,
      ],
    },
    { tag: 34737, type: ASCII, values: citation }, // GeoAsciiParams
  ];

  // Layout: header, IFD, out-of-line field values, then the strip.
  const ifdOffset = 8;
  const ifdSize = 2 + fields.length * 12 + 4;
  const byteLength = (f: Field) =>
    (typeof f.values === "string" ? f.values.length + 1 : f.values.length) * TYPE_SIZE[f.type];
  let cursor = ifdOffset + ifdSize;
  const valueOffsets = fields.map((f) => {
    if (byteLength(f) <= 4) return -1;
    const at = cursor;
    cursor += byteLength(f) + (byteLength(f) % 2);
    return at;
  });
  const stripOffset = cursor;
  (fields.find((f) => f.tag === 273)!.values as number[])[0] = stripOffset;

  const out = new Uint8Array(stripOffset + data.length);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49]); // "II": little-endian
  view.setUint16(2, 42, true);
  view.setUint32(4, ifdOffset, true);
  view.setUint16(ifdOffset, fields.length, true);
  fields.forEach((field, i) => {
    const entry = ifdOffset + 2 + i * 12;
    const count = typeof field.values === "string" ? field.values.length + 1 : field.values.length;
    view.setUint16(entry, field.tag, true);
    view.setUint16(entry + 2, field.type, true);
    view.setUint32(entry + 4, count, true);
    const at = valueOffsets[i] >= 0 ? valueOffsets[i] : entry + 8;
    if (valueOffsets[i] >= 0) view.setUint32(entry + 8, at, true);
    writeValues(view, at, field);
  });
  view.setUint32(ifdOffset + 2 + fields.length * 12, 0, true); // no next IFD
  out.set(data, stripOffset);
  return out;
}

function writeValues(view: DataView, at: number, field: Field): void {
  if (typeof field.values === "string") {
    for (let i = 0; i < field.values.length; i++) view.setUint8(at + i, field.values.charCodeAt(i) & 0x7f);
    view.setUint8(at + field.values.length, 0);
    return;
  }
  field.values.forEach((value, i) => {
    if (field.type === SHORT) view.setUint16(at + 2 * i, value, true);
    else if (field.type === LONG) view.setUint32(at + 4 * i, value, true);
    else view.setFloat64(at + 8 * i, value, true);
  });
}
