/**
 * Image dimensions from the first bytes of a PNG or JPEG, read before anything is decoded, so that a
 * decompression bomb (a tiny file announcing 30,000 × 30,000 pixels) is refused by its header. TIFF headers
 * are read through geotiff (model/geo/read.ts), which likewise decodes no pixels to learn the size.
 *
 * @module
 */

/** Width and height a header announces, or undefined when the header is cut short or malformed. */
export function pngDimensions(bytes: Uint8Array): { width: number; height: number } | undefined {
  // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4): the PNG spec puts IHDR first.
  if (bytes.length < 24) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") return undefined;
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** The frame size of a JPEG from its first start-of-frame marker (SOF0–SOF15 except DHT, JPG, DAC). */
export function jpegDimensions(bytes: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 2; // after SOI
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2; // markers without a length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan data or the end before any frame
    const length = view.getUint16(at + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (at + 9 > bytes.length) return undefined;
      return { width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
    }
    at += 2 + length;
  }
  return undefined;
}
