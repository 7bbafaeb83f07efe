/// <reference lib="dom" />
/**
 * Saving what a widget made (its figure, its settings) as a file, from a click or key press.
 *
 * @module
 */

/** Offer `blob` as a download named `filename`. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  link.click();
  // The download has started from the URL by the time the click returns; release it a little later.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** A file name from free text: letters, digits, dot, comma, hyphen and underscore only. */
export function safeFilename(text: string): string {
  return text.replace(/[^A-Za-z0-9.,_-]+/g, "_").replace(/_+/g, "_").slice(0, 150);
}

/** A URL made absolute against the page, for settings that must make sense outside it. */
export function absoluteUrl(url: string): string {
  try {
    return new URL(url, location.href).href;
  } catch {
    return url;
  }
}
