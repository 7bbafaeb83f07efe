/**
 * Class labels of a dataset from its folders (UC Merced's `images/<class>/<file>`): each file's class is the
 * name of the folder holding it, the classes sorted by name, so the same folders always give the same indexes.
 */
import { basename, dirname } from "node:path";
import { DatasetError } from "./errors.ts";

/** Each file's class index and the class names, indexed by label. */
export interface DatasetLabels {
  classNames: string[];
  /** One label per file, in the files' order. */
  labels: Int32Array;
}

/** Labels from the folder holding each file; at least two classes, or it is not a labelled dataset. */
export function folderLabels(files: string[]): DatasetLabels {
  const classOf = files.map((f) => basename(dirname(f)));
  const classNames = [...new Set(classOf)].sort();
  if (classNames.length < 2) {
    const where = files.length ? dirname(files[0]) : "the dataset";
    throw new DatasetError(
      `labels from folders need at least two class folders; every image lies in ${where} (one class)`,
    );
  }
  const index = new Map(classNames.map((name, i) => [name, i]));
  return { classNames, labels: Int32Array.from(classOf, (c) => index.get(c)!) };
}
