/**
 * The data root, enforced by the process that opens the training files. The API checks a dataset when a job is
 * posted, but a file can be swapped for a symbolic link to anything afterwards, so the check that counts is the
 * one made on the file actually opened: open it, resolve its path, and require that the real path lies under the
 * root and names the very file (device and inode) that was opened. A swap between the open and the check shows
 * as a different file and is refused too. A refused file is never read, and its messages hold paths only, never
 * its bytes.
 *
 * The root comes in as an argument (the training CLI's `--data-root`), never from the environment.
 *
 * @module
 */
import { isAbsolute, relative, resolve, sep } from "node:path";
import { DatasetError } from "./errors.ts";

/** A dataset file whose real path lies outside the data root (it was not read). */
export class OutsideRootError extends DatasetError {
  override name = "OutsideRootError";
}

/** Whether `path` is `root` or lies below it (both absolute and normalised). */
export function isInsideFolder(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** The real path of a data root (resolved once per process by the callers that hold it). */
export async function realRoot(root: string): Promise<string> {
  try {
    return await Deno.realPath(root);
  } catch (error) {
    throw new DatasetError(`the data root ${root} cannot be resolved: ${(error as Error).message}`);
  }
}

/**
 * Throw {@link OutsideRootError} unless `path`'s real path (links followed) lies under `root` (a real path).
 * A missing file passes: opening it reports it missing.
 */
export async function assertInsideRoot(path: string, root: string | undefined): Promise<void> {
  if (root === undefined) return;
  let real: string;
  try {
    real = await Deno.realPath(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (!isInsideFolder(root, real)) throw outside(path);
}

/**
 * The bytes of `path`, read through a handle whose file is proven to lie under `root` (a real path); without a
 * root, simply the file. Throws {@link OutsideRootError} (nothing read) for a file outside the root, and the
 * file system's own errors (NotFound, ...) as they come.
 */
export async function readFileInside(path: string, root: string | undefined): Promise<Uint8Array> {
  if (root === undefined) return await Deno.readFile(path);
  const file = await Deno.open(path, { read: true });
  try {
    const opened = await file.stat();
    await assertSameFileInside(path, opened, root);
    const bytes = new Uint8Array(opened.size);
    let got = 0;
    while (got < bytes.length) {
      const n = await file.read(bytes.subarray(got));
      if (n === null) break;
      got += n;
    }
    return got === bytes.length ? bytes : bytes.subarray(0, got);
  } finally {
    file.close();
  }
}

/**
 * Run `use(path)` for a reader that opens `path` itself (geotiff's `fromFile`), with the root checked on a handle
 * held open around it: before, the held file must be the one the path names and lie under the root; after, the
 * path must still name that file. A swap out and back again within the read is not seen (the handle cannot be
 * given to geotiff), which is why plain images, the common case, go through {@link readFileInside}.
 */
export async function withFileInside<T>(
  path: string,
  root: string | undefined,
  use: (path: string) => Promise<T>,
): Promise<T> {
  if (root === undefined) return await use(path);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return await use(path); // missing or unreadable: the reader reports it in its words
  }
  try {
    const opened = await file.stat();
    await assertSameFileInside(path, opened, root);
    const result = await use(path);
    await assertSameFileInside(path, opened, root);
    return result;
  } finally {
    file.close();
  }
}

/** The text of `path` under the same rule as {@link readFileInside}. */
export async function readTextFileInside(path: string, root: string | undefined): Promise<string> {
  return new TextDecoder().decode(await readFileInside(path, root));
}

/** The opened file must be the one `path` resolves to now, and that must lie under the root. */
async function assertSameFileInside(path: string, opened: Deno.FileInfo, root: string): Promise<void> {
  let real: string;
  let named: Deno.FileInfo;
  try {
    real = await Deno.realPath(path);
    named = await Deno.stat(real);
  } catch {
    throw outside(path); // the path changed under the open handle: treated like a swap
  }
  if (!isInsideFolder(root, real)) throw outside(path);
  if (opened.dev !== named.dev || opened.ino !== named.ino || opened.ino === null) throw outside(path);
}

function outside(path: string): OutsideRootError {
  return new OutsideRootError(
    `${
      resolve(path)
    } is refused: its real path lies outside the data root (a symbolic link?); it was not read`,
  );
}
