/**
 * Where a dataset's images are: `dataset.img_dir` is either a folder searched recursively
 * (`dataset.folder: true`) or a list file with one image path per line (`dataset.folder: false`).
 * Either way the result is a sorted list of absolute paths, so the same data always gives the same order
 * (and so the same cache key and the same seeded shuffles).
 *
 * The hold-out guard lives here too, because it is a rule about which files may be listed: evaluation
 * images must never be trained on, and the mistake is easy to make by pointing a run at the wrong list
 * or at the whole image folder.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { assertInsideRoot, isInsideFolder, readTextFileInside } from "./confine.ts";
import { DatasetError } from "./errors.ts";

export { DatasetError } from "./errors.ts";

/** File extensions a folder walk picks up (compared case-insensitively). */
export const IMAGE_EXTENSIONS: readonly string[] = [".png", ".jpg", ".jpeg", ".tif", ".tiff"];

/** The split file that names evaluation-only images, and the training list that must sit beside it. */
export const HOLDOUT_LIST = "holdout.txt";
const TRAIN_LIST = "train.txt";

/** The `dataset` config fields that say where the images are (names as in the YAML config). */
export interface DatasetSource {
  /** A folder of images (`folder: true`) or a list file of image paths (`folder: false`). */
  img_dir: string;
  /** true: walk `img_dir` recursively for images; false: read `img_dir` as a list file. */
  folder: boolean;
}

/** Options of {@link listImageFiles}. */
export interface ListOptions {
  /** Accept held-out images (see {@link findHeldOutFiles}); off by default so a slip cannot happen silently. */
  allowHoldout?: boolean;
  /**
   * The data root (a real path): the list file is read only when it lies under it, and a folder walk does not
   * follow links out of it (the images themselves are checked again when opened; see confine.ts).
   */
  root?: string;
}

/** Whether a file name has one of the {@link IMAGE_EXTENSIONS}. */
export function isImagePath(path: string): boolean {
  const name = basename(path).toLowerCase();
  return IMAGE_EXTENSIONS.some((extension) => name.endsWith(extension));
}

/**
 * The images of a dataset source, as sorted absolute paths without duplicates.
 *
 * - Folder: every file below `img_dir` whose extension is in {@link IMAGE_EXTENSIONS}, any letter case.
 *   Names starting with "." are skipped (hidden folders, macOS `._name.jpg` resource forks).
 * - List file: one path per line, relative to the list file's folder (absolute paths are kept); blank lines
 *   and lines starting with `#` are ignored. Listed files are taken whatever their extension: the decoder
 *   recognises the format from the content.
 *
 * Unless `allowHoldout` is set, the result is checked against the hold-out split (see
 * {@link findHeldOutFiles}).
 * @throws DatasetError naming the path when it is missing, of the wrong kind, or yields no images, or when
 *   held-out images would be used.
 */
export async function listImageFiles(source: DatasetSource, options: ListOptions = {}): Promise<string[]> {
  const root = resolve(source.img_dir);
  const info = await statOrUndefined(root);
  let files: string[];
  if (source.folder) {
    if (!info) throw new DatasetError(`dataset folder not found: ${root} (dataset.img_dir)`);
    if (!info.isDirectory) {
      throw new DatasetError(
        `dataset.img_dir ${root} is a file, not a folder; set dataset.folder: false to read it as a list of images`,
      );
    }
    await assertInsideRoot(root, options.root);
    files = await walkImages(root, options.root);
    if (files.length === 0) {
      throw new DatasetError(
        `no images found under ${root}: looked recursively for ${IMAGE_EXTENSIONS.join(" ")} files`,
      );
    }
  } else {
    if (!info) throw new DatasetError(`dataset list file not found: ${root} (dataset.img_dir)`);
    if (info.isDirectory) {
      throw new DatasetError(
        `dataset.img_dir ${root} is a folder, not a list file; set dataset.folder: true to search it for images`,
      );
    }
    files = await readListFile(root, options.root);
    if (files.length === 0) throw new DatasetError(`the list file ${root} names no images`);
  }
  files = [...new Set(files)].sort();
  if (!options.allowHoldout) {
    if (!source.folder && basename(root) === HOLDOUT_LIST) {
      throw new DatasetError(
        `refusing to train on ${root}: ${HOLDOUT_LIST} is the evaluation split. ` +
          `Use the training list (${TRAIN_LIST}), or set allowHoldout to train on it anyway.`,
      );
    }
    const heldOut = await findHeldOutFiles(files, root, source.folder);
    if (heldOut && heldOut.files.length > 0) {
      throw new DatasetError(
        `refusing to train on ${heldOut.files.length} held-out image(s) listed in ${heldOut.list} ` +
          `(first: ${heldOut.files[0]}); the hold-out split is for evaluation only. Train on ${
            join(dirname(heldOut.list), TRAIN_LIST)
          } instead, or set allowHoldout to use them anyway.`,
      );
    }
  }
  return files;
}

/**
 * The paths of a list file: one per line, relative to the list file's folder; blank lines and lines
 * starting with `#` are ignored (a `#` later in a line is part of the path, since file names may hold one).
 * @throws DatasetError naming the list file when it cannot be read.
 */
export async function readListFile(listPath: string, dataRoot?: string): Promise<string[]> {
  let text: string;
  try {
    text = await readTextFileInside(listPath, dataRoot);
  } catch (error) {
    if (error instanceof DatasetError) throw error; // outside the root: refused unread
    throw new DatasetError(`cannot read the list file ${listPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const base = dirname(listPath);
  const paths: string[] = [];
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim(); // also drops the \r of Windows line ends
    if (line === "" || line.startsWith("#")) continue;
    paths.push(resolve(base, line));
  }
  return paths;
}

/** Held-out files found among a dataset's files, and the `holdout.txt` that names them. */
export interface HeldOutFiles {
  /** Absolute path of the `holdout.txt` consulted. */
  list: string;
  /** The dataset's files that it lists, sorted. */
  files: string[];
}

/**
 * The hold-out rule. A split is a folder holding both `train.txt` and `holdout.txt` (as
 * `/work/shared/data/ucmerced_landuse` does). The nearest such folder at or above the source (the list
 * file's folder, or the image folder itself) defines the split; any dataset file listed in its
 * `holdout.txt` (same list syntax) is held out. Returns undefined when no split folder is found.
 * @param files absolute paths of the dataset's images.
 * @param sourcePath the resolved `img_dir`.
 * @param folder whether `sourcePath` is an image folder (else a list file).
 */
export async function findHeldOutFiles(
  files: readonly string[],
  sourcePath: string,
  folder: boolean,
): Promise<HeldOutFiles | undefined> {
  const splitDir = await findSplitFolder(folder ? sourcePath : dirname(sourcePath));
  if (!splitDir) return undefined;
  const list = join(splitDir, HOLDOUT_LIST);
  const heldOut = new Set(await readListFile(list));
  return { list, files: files.filter((file) => heldOut.has(file)).sort() };
}

/** The nearest folder at or above `start` that holds both split lists. */
async function findSplitFolder(start: string): Promise<string | undefined> {
  for (let dir = start;; dir = dirname(dir)) {
    const [holdout, train] = await Promise.all([
      statOrUndefined(join(dir, HOLDOUT_LIST)),
      statOrUndefined(join(dir, TRAIN_LIST)),
    ]);
    if (holdout?.isFile && train?.isFile) return dir;
    if (dirname(dir) === dir) return undefined; // reached the file-system root
  }
}

/**
 * Image files below `root`, following symbolic links but visiting each real folder once (no cycles); with a
 * `dataRoot`, folders whose real path leaves it are not entered.
 */
async function walkImages(root: string, dataRoot?: string): Promise<string[]> {
  const found: string[] = [];
  const visited = new Set<string>();
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const real = await Deno.realPath(dir);
    if (visited.has(real) || (dataRoot !== undefined && !isInsideFolder(dataRoot, real))) continue;
    visited.add(real);
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      let isDirectory = entry.isDirectory;
      let isFile = entry.isFile;
      if (entry.isSymlink) {
        const target = await statOrUndefined(path); // a dangling link is simply not an image
        isDirectory = target?.isDirectory ?? false;
        isFile = target?.isFile ?? false;
      }
      if (isDirectory) pending.push(path);
      else if (isFile && isImagePath(entry.name)) found.push(path);
    }
  }
  return found;
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) return undefined;
    throw new DatasetError(`cannot access ${path}: ${(error as Error).message}`, { cause: error });
  }
}
