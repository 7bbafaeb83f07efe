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

/**
 * Hex SHA-256 of a file's bytes: the fingerprint that names a checkpoint's contents (the server's ETags, and
 * the check a synthesis worker makes that it loads the file the server loaded).
 */
export async function fileFingerprint(file: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(file)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
