/** Writing files so that they are never seen half-written. */
import { basename, dirname, join } from "node:path";

/**
 * Write `parts` (concatenated) to `path` atomically: into a temporary file in the same folder (so the
 * rename never crosses file systems; `*.tmp` is ignored by git), fsynced, then renamed over `path`. On any
 * failure the temporary file is removed and an existing `path` is left as it was.
 */
export async function writeFileAtomic(
  path: string,
  parts: Uint8Array | readonly Uint8Array[],
): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(temporary, { write: true, createNew: true });
    for (const part of parts instanceof Uint8Array ? [parts] : parts) {
      for (let written = 0; written < part.length;) written += await file.write(part.subarray(written));
    }
    await file.sync(); // the data must be on disk before the rename makes it the file
    file.close();
    file = undefined;
    await Deno.rename(temporary, path);
  } catch (error) {
    try {
      file?.close();
    } catch { /* already closed */ }
    await Deno.remove(temporary).catch(() => {/* never created, or already gone */});
    throw error;
  }
}
