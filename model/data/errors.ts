/**
 * The one error type of the dataset modules. Its messages are written for the user of `deno task train`:
 * they name the file or folder at fault and, where there is one, the fix.
 *
 * @module
 */

/** A dataset that cannot be used as asked: missing or empty source, unreadable images, held-out files. */
export class DatasetError extends Error {
  override name = "DatasetError";
}

/** The message of anything thrown, for wrapping into a DatasetError (some decoders throw bare values). */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (error === undefined || error === null) return "unknown error";
  return String(error);
}
