/**
 * Land-use labels from a CSV file (`dataset.labels: csv`): a header row, then one row per image with the
 * image in `dataset.label_file_column` (default `file`) and its class in `dataset.label_column` (default
 * `class`). UC Merced's manifest.csv is one (`--set dataset.label_file_column=path --set dataset.label_column=cls`).
 *
 * How a row names its image:
 * - a value with a `/` is a path, relative to the CSV's folder (or absolute), compared with the image's path
 *   after both are resolved (`images/forest/forest01.tif` beside the CSV);
 * - a value without one is a file name, compared with the image's base name (`forest01.tif`); it must name
 *   one image of the dataset, not two in different folders.
 * Rows for images that are not in the dataset (a hold-out split, say) are allowed and not used; every image of
 * the dataset needs a row, and every row a file and a class.
 *
 * Parsing is csv-parse's (quotes, embedded commas and newlines, a byte-order mark), not hand-written.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import { CsvError, parse } from "csv-parse/sync";
import { readTextFileInside } from "./confine.ts";
import { DatasetError, messageOf } from "./errors.ts";

/** The columns to read. */
export interface LabelCsvColumns {
  /** The column holding the class name (dataset.label_column). */
  classColumn: string;
  /** The column naming the image (dataset.label_file_column). */
  fileColumn: string;
}

/** How many images without a row are named in the message before the rest are counted. */
const MAX_NAMED = 3;

/**
 * The class name of each file, in the files' order, from the CSV at `csvPath`.
 * @param files the dataset's images, absolute paths.
 * @param root the real data root (the CSV must lie under it), or undefined.
 * @throws DatasetError naming the CSV and the key, column, row or image at fault.
 */
export async function csvClasses(
  files: readonly string[],
  csvPath: string,
  { classColumn, fileColumn }: LabelCsvColumns,
  root?: string,
): Promise<string[]> {
  const csv = resolve(csvPath);
  const rows = await readRows(csv, root);
  if (rows.length === 0) throw new DatasetError(`the label CSV ${csv} (dataset.label_csv) is empty`);
  const header = rows[0].record.map((name) => name.trim());
  const column = (name: string, key: string) => {
    const at = header.indexOf(name);
    if (at < 0) {
      throw new DatasetError(
        `the label CSV ${csv} has no column "${name}" (${key}); its columns: ${header.join(", ")}`,
      );
    }
    return at;
  };
  const fileAt = column(fileColumn, "dataset.label_file_column");
  const classAt = column(classColumn, "dataset.label_column");

  // Rows by resolved path and by base name; a second row for the same image must agree with the first.
  const byPath = new Map<string, { name: string; line: number }>();
  const byName = new Map<string, { name: string; line: number }>();
  const here = dirname(csv);
  for (const { record, info } of rows.slice(1)) {
    const file = (record[fileAt] ?? "").trim();
    const name = (record[classAt] ?? "").trim();
    const where = `the label CSV ${csv}, line ${info.lines}`;
    if (!file) throw new DatasetError(`${where}: the file (column "${fileColumn}") is empty`);
    if (!name) throw new DatasetError(`${where}: the class (column "${classColumn}") of ${file} is empty`);
    const isPath = file.includes("/");
    const table = isPath ? byPath : byName;
    const key = isPath ? resolve(here, file) : file;
    const earlier = table.get(key);
    if (earlier && earlier.name !== name) {
      throw new DatasetError(
        `${where}: ${file} has class ${name}, but line ${earlier.line} gave it class ${earlier.name}`,
      );
    }
    table.set(key, { name, line: info.lines });
  }

  // Each image's class; a file name must not stand for two images.
  const nameUsers = new Map<string, string>();
  const missing: string[] = [];
  const classes = files.map((file) => {
    const row = byPath.get(file);
    if (row) return row.name;
    const name = basename(file);
    const named = byName.get(name);
    if (!named) {
      missing.push(file);
      return "";
    }
    const other = nameUsers.get(name);
    if (other !== undefined) {
      throw new DatasetError(
        `the label CSV ${csv}, line ${named.line}, names the file ${name}, which is two images of the ` +
          `dataset (${other} and ${file}); name it by its path relative to the CSV's folder`,
      );
    }
    nameUsers.set(name, file);
    return named.name;
  });
  if (missing.length > 0) {
    const more = missing.length - MAX_NAMED;
    throw new DatasetError(
      `${missing.length} image(s) of the dataset have no row in the label CSV ${csv} (column "${fileColumn}"): ` +
        missing.slice(0, MAX_NAMED).join(", ") + (more > 0 ? ` and ${more} more` : "") +
        `; a row names its image by a path relative to the CSV's folder, an absolute path or a file name`,
    );
  }
  return classes;
}

/** A parsed CSV row and the line it ends on. */
interface CsvRow {
  record: string[];
  info: { lines: number };
}

async function readRows(csv: string, root: string | undefined): Promise<CsvRow[]> {
  let text: string;
  try {
    text = await readTextFileInside(csv, root);
  } catch (error) {
    if (error instanceof DatasetError) throw error; // outside the data root: its own message
    const why = error instanceof Deno.errors.NotFound ? "not found" : `cannot be read: ${messageOf(error)}`;
    throw new DatasetError(`the label CSV ${csv} (dataset.label_csv) ${why}`, { cause: error });
  }
  try {
    return parse(text, { bom: true, skip_empty_lines: true, info: true }) as unknown as CsvRow[];
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    throw new DatasetError(`the label CSV ${csv} is not valid CSV: ${error.message}`, { cause: error });
  }
}
