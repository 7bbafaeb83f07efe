/**
 * Hillshade of an elevation raster by Horn's method (Horn 1981), as GDAL's `gdaldem hillshade` and ArcGIS
 * compute it: slopes from the 3 × 3 neighbourhood with weights 1-2-1, lit from `azimuth` (degrees clockwise
 * from north, default 315: north-west) at `altitude` (degrees above the horizon, default 45).
 *
 *   dz/dx = ((c + 2f + i) − (a + 2d + g)) / (8 · cellX),   dz/dy = ((g + 2h + i) − (a + 2b + c)) / (8 · cellY)
 *   slope = atan(√(dz/dx² + dz/dy²)),   aspect = atan2(dz/dy, −dz/dx)
 *   shade = 255 · (cos(zenith) · cos(slope) + sin(zenith) · sin(slope) · cos(azimuth_math − aspect))
 *
 * with zenith = 90° − altitude and azimuth_math = 450° − azimuth (ESRI's "How Hillshade works").
 * A flat cell shades as 255 · sin(altitude) (180 at 45°); slopes facing the light are brighter.
 * Edge pixels reuse their nearest neighbour (edges replicated), so the output has the input's size.
 *
 * @module
 */

/** Options of {@link hillshade}. */
export interface HillshadeOptions {
  /** Light direction, degrees clockwise from north (default 315). */
  azimuth?: number;
  /** Light elevation above the horizon, degrees (default 45). */
  altitude?: number;
  /** Vertical exaggeration (default 1). */
  zFactor?: number;
}

/**
 * Hillshade bytes (0 … 255, one per pixel) of a `width` × `height` elevation grid whose cells are
 * `cellSizeX` × `cellSizeY` in the elevation's unit (metres and metres). NaN cells shade as 0.
 */
export function hillshade(
  elevation: ArrayLike<number>,
  width: number,
  height: number,
  cellSizeX: number,
  cellSizeY: number = cellSizeX,
  options: HillshadeOptions = {},
): Uint8Array {
  const { azimuth = 315, altitude = 45, zFactor = 1 } = options;
  const zenith = ((90 - altitude) * Math.PI) / 180;
  // Compass azimuth → the mathematical angle (counter-clockwise from east), as ESRI's formula.
  let azimuthMath = 360 - azimuth + 90;
  if (azimuthMath >= 360) azimuthMath -= 360;
  const azimuthRad = (azimuthMath * Math.PI) / 180;
  const cosZenith = Math.cos(zenith);
  const sinZenith = Math.sin(zenith);

  const at = (x: number, y: number) =>
    elevation[Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))];
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // a b c / d e f / g h i, row y − 1 on top (north up).
      const a = at(x - 1, y - 1), b = at(x, y - 1), c = at(x + 1, y - 1);
      const d = at(x - 1, y), f = at(x + 1, y);
      const g = at(x - 1, y + 1), h = at(x, y + 1), i = at(x + 1, y + 1);
      const dzdx = (((c + 2 * f + i) - (a + 2 * d + g)) / (8 * cellSizeX)) * zFactor;
      const dzdy = (((g + 2 * h + i) - (a + 2 * b + c)) / (8 * cellSizeY)) * zFactor;
      if (!Number.isFinite(dzdx) || !Number.isFinite(dzdy)) continue; // NaN neighbourhood: 0
      const slope = Math.atan(Math.hypot(dzdx, dzdy));
      let aspect = 0;
      if (dzdx !== 0) {
        aspect = Math.atan2(dzdy, -dzdx);
        if (aspect < 0) aspect += 2 * Math.PI;
      } else if (dzdy > 0) aspect = Math.PI / 2;
      else if (dzdy < 0) aspect = 2 * Math.PI - Math.PI / 2;
      const shade = 255 *
        (cosZenith * Math.cos(slope) + sinZenith * Math.sin(slope) * Math.cos(azimuthRad - aspect));
      out[y * width + x] = Math.max(0, Math.min(255, Math.round(shade)));
    }
  }
  return out;
}
