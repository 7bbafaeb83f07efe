/**
 * Land-use labels of a dataset (`dataset.labels`): each image's class, from the folder holding it (UC Merced's
 * `images/<class>/<file>`) or from a CSV column (model/data/label_csv.ts). The classes are sorted by name, so
 * the same data always gives the same indexes. A labelled dataset has at least two classes and, for the
 * minibatch standard deviation of D, at least a group's worth of images in each.
 *
 * Labels are not stored in the tile cache: they are worked out from the files on every load (reading a CSV
 * or the folder names is instant), so a cache written by an unlabelled run serves a labelled one, and an
 * edited CSV takes effect at once.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import { DatasetError } from "./errors.ts";

/** Each file's class index and the class names, indexed by label. */
export interface DatasetLabels {
  classNames: string[];
  /** One label per file, in the files' order. */
  labels: Int32Array;
}

/** Where labels come from: the `dataset.labels`, `label_csv`, `label_column` and `label_file_column` keys. */
export type LabelSource =
  | { kind: "folder" }
  | {
    kind: "csv";
    /** The CSV file (relative paths are taken from the working directory, as dataset.img_dir). */
    csv: string;
    /** The column holding the class name. */
    classColumn: string;
    /** The column holding the image (a path relative to the CSV's folder, an absolute path, or a file name). */
    fileColumn: string;
  };

/** The name of the folder holding each file. */
export function folderClasses(files: readonly string[]): string[] {
  return files.map((f) => basename(dirname(f)));
}

/**
 * Class names (one per file) to labels: the distinct names sorted, each file's index into them.
 * @param source what the names came from, for the message when there are fewer than two classes.
 * @throws DatasetError when all files have one class.
 */
export function indexLabels(classOf: readonly string[], source: string): DatasetLabels {
  const classNames = [...new Set(classOf)].sort();
  if (classNames.length < 2) {
    throw new DatasetError(
      `labels need at least two classes; ${source} gives ${
        classNames.length ? `one class (${classNames[0]}) to all ${classOf.length} image(s)` : "no images"
      }`,
    );
  }
  const index = new Map(classNames.map((name, i) => [name, i]));
  return { classNames, labels: Int32Array.from(classOf, (c) => index.get(c)!) };
}

/** Labels from the folder holding each file; at least two classes, or it is not a labelled dataset. */
export function folderLabels(files: readonly string[]): DatasetLabels {
  const classOf = folderClasses(files);
  if (new Set(classOf).size < 2) {
    const where = files.length ? dirname(files[0]) : "the dataset";
    throw new DatasetError(
      `labels from folders (dataset.labels: folder) need at least two class folders; every image lies in ` +
        `${where} (one class)`,
    );
  }
  return indexLabels(classOf, "the folders");
}

/**
 * Refuse a class with fewer than `minPerClass` images, naming each such class and its count (a class of the
 * names with no image at all counts 0).
 */
export function checkClassSizes({ classNames, labels }: DatasetLabels, minPerClass: number): void {
  const counts = new Array<number>(classNames.length).fill(0);
  for (const label of labels) counts[label]++;
  const small = classNames.map((name, i) => ({ name, count: counts[i] })).filter((c) =>
    c.count < minPerClass
  );
  if (small.length === 0) return;
  throw new DatasetError(
    `every class needs at least ${minPerClass} usable image(s) (the minibatch standard deviation group, ` +
      `model.dis.mbstd_group_size, of the largest minibatch); ` +
      small.map((c) => `class ${c.name} has ${c.count}`).join(", ") +
      `; add images, merge classes or lower model.dis.mbstd_group_size`,
  );
}
