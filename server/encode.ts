/**
 * Response encodings: PNG and JPEG through imagescript (model/images.ts), and GeoTIFF. Every encoding is a
 * function of the pixels alone (no timestamps), so deterministic tiles have stable bytes.
 *
 * GeoTIFFs go through the project's own writer (model/geo/write.ts; geotiff.js's `writeArrayBuffer` copies
 * every sample through a fresh DataView: about 6 s for one 2048 px RGB tile here). A generated tile has no
 * place on Earth, so its CRS is a user-defined projected frame in metres with the tile's top-left corner at
 * (0, extent): the pixel size is what GIS tools measure with.
 *
 * @module
 */
import type { Image } from "imagescript";
import { encodeJpeg, encodePng, type Raster8 } from "../model/images.ts";
import {
  encodeGeoTiff as encodeGeoTiffImage,
  type GeoTiffPlacement,
  northUpGeoTransform,
} from "../model/geo/write.ts";

/** An encoded response body. */
export interface Encoded {
  body: Uint8Array;
  contentType: string;
  /** File extension for Content-Disposition. */
  extension: string;
}

/** Formats a single tile can be encoded in. */
export type TileFormat = "png" | "jpeg" | "tiff";

/**
 * Encode one tile; `metresPerPixel` sets the GeoTIFF pixel size (1 when unknown) in the local frame, unless
 * `place` puts it somewhere on Earth (a projected GeoTIFF's geotransform and CRS).
 */
export async function encodeTile(
  raster: Raster8,
  format: TileFormat,
  metresPerPixel?: number | null,
  place?: GeoTiffPlacement,
): Promise<Encoded> {
  if (format === "tiff") {
    return {
      body: place
        ? await encodePlacedGeoTiff(raster, place)
        : await encodeGeoTiff(raster, metresPerPixel ?? 1),
      contentType: "image/tiff",
      extension: "tif",
    };
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

/** The GeoKeys of a generated tile: a user-defined projected frame in metres (it has no place on Earth). */
const LOCAL_METRIC_FRAME = {
  GTModelTypeGeoKey: 1, // projected
  GTRasterTypeGeoKey: 1, // PixelIsArea
  GTCitationGeoKey: "sgan-ts generated tile: local metric frame (no geographic location)",
  ProjectedCSTypeGeoKey: 32767, // user-defined
  ProjLinearUnitsGeoKey: 9001, // metre
};

/**
 * A GeoTIFF of an 8-bit raster with square pixels of `metresPerPixel` metres (all bands kept: RGB when 3 or
 * more, grey otherwise), its top-left corner at (0, extent) in a local metric frame.
 */
export async function encodeGeoTiff(raster: Raster8, metresPerPixel: number): Promise<Uint8Array> {
  const { width, height, channels, data } = raster;
  if (data.length !== width * height * channels) throw new RangeError("raster data does not match its shape");
  return await encodeGeoTiffImage({
    width,
    height,
    bands: channels,
    data,
    geo: {
      geoTransform: northUpGeoTransform([0, height * metresPerPixel], metresPerPixel),
      crs: { geoKeys: LOCAL_METRIC_FRAME },
    },
  });
}

/** A GeoTIFF of an 8-bit raster at a given place (a projected target's corner, pixel size and GeoKeys). */
export async function encodePlacedGeoTiff(raster: Raster8, place: GeoTiffPlacement): Promise<Uint8Array> {
  const { width, height, channels, data } = raster;
  if (data.length !== width * height * channels) throw new RangeError("raster data does not match its shape");
  return await encodeGeoTiffImage({ width, height, bands: channels, data, geo: place });
}
