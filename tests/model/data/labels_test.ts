/**
 * Land-use labels in the dataset loader: folder names and CSV columns, the cache (labels are worked out from the
 * files on every load), GeoTIFF kinds, and every bad input (one clear DatasetError, no cache written).
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { type ImageDataset, loadDataset, loadTrainingDataset } from "../../../model/data/dataset.ts";
import { DatasetError } from "../../../model/data/errors.ts";
import type { LabelSource } from "../../../model/data/labels.ts";
import { GEOTIFF_DIR, UCMERCED_DIR } from "../../support/paths.ts";
import { recordingLog, solidPng, withTempDir, writeFile } from "./helpers.ts";

const TRAIN_LIST = join(UCMERCED_DIR, "train.txt");

/** The sample's train.txt loaded at 8 px with these labels. */
function loadSample(labels: LabelSource, cacheDir?: string, minPerClass?: number): Promise<ImageDataset> {
  return loadDataset({
    img_dir: TRAIN_LIST,
    folder: false,
    resolution: 8,
    labels,
    minPerClass,
    cacheDir,
    log: recordingLog(),
  });
}

/** The class of each tile as a name. */
const namesOf = (d: { classNames?: string[]; labels?: Int32Array }) =>
  Array.from(d.labels!, (label) => d.classNames![label]);

/** Files in a folder (none when it does not exist). */
async function filesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names;
}

/** A flat folder of solid PNGs, one colour each: `names[i]` gets colour i. */
async function writeImages(dir: string, names: string[]): Promise<void> {
  for (const [i, name] of names.entries()) {
    await writeFile(join(dir, name), await solidPng(4, [20 + 10 * i, 100, 200 - 5 * i]));
  }
}

Deno.test("folder labels on the UC Merced sample: the 21 folder names, the counts of train.txt", async () => {
  const dataset = await loadSample({ kind: "folder" });
  // The truth, worked out apart from the loader: the folders under images/, and train.txt's lines per folder.
  const folders = (await filesIn(join(UCMERCED_DIR, "images"))).sort();
  assert.equal(folders.length, 21);
  assert.deepEqual(dataset.classNames, folders);
  const lines = (await Deno.readTextFile(TRAIN_LIST)).split("\n").filter((l) => l.trim());
  const expected = new Map<string, number>();
  for (const line of lines) {
    const folder = line.split("/")[1]; // images/<class>/<file>
    expected.set(folder, (expected.get(folder) ?? 0) + 1);
  }
  const counted = new Map<string, number>();
  for (const name of namesOf(dataset)) counted.set(name, (counted.get(name) ?? 0) + 1);
  assert.deepEqual(counted, expected);
  assert.equal(dataset.labels!.length, dataset.count);
  // Each tile's label is its own file's folder.
  dataset.files.forEach((file, i) =>
    assert.equal(dataset.classNames![dataset.labels![i]], basename(join(file, "..")))
  );
});

Deno.test("CSV labels: the sample's manifest.csv (path, cls) gives the folder labels; rows of hold-out files are not used", async () => {
  const fromCsv = await loadSample({
    kind: "csv",
    csv: join(UCMERCED_DIR, "manifest.csv"),
    classColumn: "cls",
    fileColumn: "path",
  });
  const fromFolders = await loadSample({ kind: "folder" });
  assert.deepEqual(fromCsv.classNames, fromFolders.classNames);
  assert.deepEqual(fromCsv.labels, fromFolders.labels);
});

Deno.test("CSV labels by file name and by path, quoted fields, a byte-order mark, duplicate rows that agree", async () => {
  await withTempDir(async (dir) => {
    await writeImages(join(dir, "tiles"), ["a.png", "b.png", "c.png", "d.png"]);
    await writeImages(join(dir, "tiles", "sub"), ["e.png"]);
    const csv = join(dir, "labels.csv");
    await writeFile(
      csv,
      "\ufeffid,file,class\n" +
        '1,a.png,"forest, dense"\n' +
        "2,tiles/b.png,river\n" + // a path relative to the CSV's folder
        `3,${join(dir, "tiles", "c.png")},river\n` + // an absolute path
        "4,d.png,forest\n" +
        "5,sub/e.png,river\n" + // relative to the CSV's folder: not an image of the dataset, ignored
        "6,e.png,forest\n" +
        '7,a.png,"forest, dense"\n' + // the same again: fine
        "8,unknown.png,beach\n", // no such image: ignored
    );
    const dataset = await loadDataset({
      img_dir: join(dir, "tiles"),
      folder: true,
      resolution: 4,
      labels: { kind: "csv", csv, classColumn: "class", fileColumn: "file" },
      log: recordingLog(),
    });
    // Files sorted: tiles/a, b, c, d, sub/e.
    assert.deepEqual(dataset.files.map((f) => basename(f)), ["a.png", "b.png", "c.png", "d.png", "e.png"]);
    assert.deepEqual(dataset.classNames, ["forest", "forest, dense", "river"]);
    assert.deepEqual(namesOf(dataset), ["forest, dense", "river", "river", "forest", "forest"]);
  });
});

Deno.test("labels come from the files on every load: a cache written without labels serves labelled loads", async () => {
  await withTempDir(async (dir) => {
    const cache = join(dir, "cache");
    const plain = await loadDataset({
      img_dir: TRAIN_LIST,
      folder: false,
      resolution: 8,
      cacheDir: cache,
      log: recordingLog(),
    });
    assert.equal(plain.fromCache, false);
    assert.equal(plain.labels, undefined);
    assert.equal(plain.classNames, undefined);
    const labelled = await loadSample({ kind: "folder" }, cache);
    assert.equal(labelled.fromCache, true);
    assert.deepEqual(labelled.data, plain.data);
    assert.deepEqual(labelled.classNames, (await filesIn(join(UCMERCED_DIR, "images"))).sort());
    assert.deepEqual(
      namesOf(labelled),
      labelled.files.map((f) => basename(join(f, ".."))),
    );
    // An unlabelled load from the same cache has no labels, and one cache file serves all three.
    const again = await loadDataset({ img_dir: TRAIN_LIST, folder: false, resolution: 8, cacheDir: cache });
    assert.equal(again.fromCache, true);
    assert.equal(again.labels, undefined);
    assert.equal((await filesIn(cache)).length, 1);

    // An edited CSV takes effect at once from the same cache: every image "a", except the airplanes "b".
    const csv = join(dir, "labels.csv");
    const rows = labelled.files.map((f) => `${f},${f.includes("/airplane/") ? "b" : "a"}`);
    await writeFile(csv, ["file,class", ...rows].join("\n"));
    const relabelled = await loadSample(
      { kind: "csv", csv, classColumn: "class", fileColumn: "file" },
      cache,
    );
    assert.equal(relabelled.fromCache, true);
    assert.deepEqual(relabelled.classNames, ["a", "b"]);
    assert.deepEqual(namesOf(relabelled), labelled.files.map((f) => f.includes("/airplane/") ? "b" : "a"));
  });
});

Deno.test("labels on GeoTIFF kinds: folder labels on multiband NAIP, CSV labels on elevation", async () => {
  await withTempDir(async (dir) => {
    const naip = [...Deno.readDirSync(join(GEOTIFF_DIR, "naip"))].map((e) => e.name).sort();
    for (const [folder, source] of [["crops", naip[0]], ["wetland", naip[1]]]) {
      for (const copy of ["1.tif", "2.tif"]) {
        await Deno.mkdir(join(dir, "naip", folder), { recursive: true });
        await Deno.copyFile(join(GEOTIFF_DIR, "naip", source), join(dir, "naip", folder, copy));
      }
    }
    const bands = await loadTrainingDataset({
      img_dir: join(dir, "naip"),
      folder: true,
      resolution: 8,
      channels: 4,
      kind: "multiband",
      labels: { kind: "folder" },
      minPerClass: 2,
      log: recordingLog(),
    });
    assert.deepEqual(bands.classNames, ["crops", "wetland"]);
    assert.deepEqual(namesOf(bands), ["crops", "crops", "wetland", "wetland"]);
    // The copies of one file are one tile: the label travels with its own tile.
    const tile = 8 * 8 * 4;
    assert.deepEqual(bands.data.subarray(0, tile), bands.data.subarray(tile, 2 * tile));
    assert.notDeepEqual(bands.data.subarray(0, tile), bands.data.subarray(2 * tile, 3 * tile));

    const csv = join(dir, "elevation.csv");
    await writeFile(csv, "name,cover\ndsm.tif,built\ndtm.tif,bare\nhag.tif,built\n");
    const heights = await loadTrainingDataset({
      img_dir: join(GEOTIFF_DIR, "elevation"),
      folder: true,
      resolution: 8,
      channels: 1,
      kind: "elevation",
      labels: { kind: "csv", csv, classColumn: "cover", fileColumn: "name" },
      log: recordingLog(),
    });
    assert.ok(heights.data instanceof Float32Array);
    assert.deepEqual(heights.files.map((f) => basename(f)), ["dsm.tif", "dtm.tif", "hag.tif"]);
    assert.deepEqual(namesOf(heights), ["built", "bare", "built"]);
  });
});

/** Expect a DatasetError matching `message`, and no cache file. */
async function refused(
  load: (cacheDir: string) => Promise<unknown>,
  message: RegExp,
  dir: string,
): Promise<void> {
  const cache = join(dir, "cache");
  await assert.rejects(load(cache), (e: Error) => {
    assert.ok(e instanceof DatasetError, `${e.name}: ${e.message}`);
    assert.match(e.message, message);
    return true;
  });
  assert.deepEqual(await filesIn(cache), [], "nothing may be written");
}

Deno.test("bad labels: one clear DatasetError naming the file, column, line, image or class; no cache written", async () => {
  await withTempDir(async (dir) => {
    const tiles = join(dir, "tiles");
    await writeImages(tiles, ["a.png", "b.png", "c.png", "d.png"]);
    const csv = join(dir, "labels.csv");
    const byCsv =
      (text: string | undefined, columns = { classColumn: "class", fileColumn: "file" }) =>
      async (cacheDir: string) => {
        if (text !== undefined) await writeFile(csv, text);
        else await Deno.remove(csv).catch(() => {});
        return await loadDataset({
          img_dir: tiles,
          folder: true,
          resolution: 4,
          cacheDir,
          labels: { kind: "csv", csv, ...columns },
          log: recordingLog(),
        });
      };
    const all = "file,class\na.png,x\nb.png,x\nc.png,y\nd.png,y\n";

    // Folders: every image in one folder.
    await refused(
      (cacheDir) =>
        loadDataset({ img_dir: tiles, folder: true, resolution: 4, cacheDir, labels: { kind: "folder" } }),
      /at least two class folders; every image lies in .*\/tiles \(one class\)/,
      dir,
    );
    // The CSV: missing, empty, not CSV, without the columns.
    await refused(byCsv(undefined), new RegExp(`label CSV ${csv} \\(dataset\\.label_csv\\) not found`), dir);
    await refused(byCsv(""), /label CSV .*labels\.csv \(dataset\.label_csv\) is empty/, dir);
    await refused(byCsv("file,class\na.png\n"), /labels\.csv is not valid CSV: .*line 2/, dir);
    await refused(
      byCsv(all, { classColumn: "label", fileColumn: "file" }),
      /labels\.csv has no column "label" \(dataset\.label_column\); its columns: file, class/,
      dir,
    );
    await refused(
      byCsv(all, { classColumn: "class", fileColumn: "path" }),
      /has no column "path" \(dataset\.label_file_column\)/,
      dir,
    );
    // Under a data root, the CSV must lie inside it too.
    await refused(
      async (cacheDir) => {
        await writeFile(csv, all);
        return await loadDataset({
          img_dir: tiles,
          folder: true,
          resolution: 4,
          cacheDir,
          dataRoot: tiles,
          labels: { kind: "csv", csv, classColumn: "class", fileColumn: "file" },
        });
      },
      /labels\.csv is refused: its real path lies outside the data root/,
      dir,
    );
    // Rows: an image without one, an empty class, an empty file, two rows that disagree.
    await refused(
      byCsv("file,class\na.png,x\nc.png,y\n"),
      /2 image\(s\) of the dataset have no row in the label CSV .*labels\.csv \(column "file"\): .*tiles\/b\.png, .*tiles\/d\.png/,
      dir,
    );
    await refused(
      byCsv("file,class\na.png,x\nb.png,\nc.png,y\nd.png,y\n"),
      /labels\.csv, line 3: the class \(column "class"\) of b\.png is empty/,
      dir,
    );
    await refused(byCsv("file,class\n,x\n"), /line 2: the file \(column "file"\) is empty/, dir);
    await refused(
      byCsv(all + "c.png,x\n"),
      /line 6: c\.png has class x, but line 4 gave it class y/,
      dir,
    );
    // Classes: only one; one too small.
    await refused(
      byCsv("file,class\na.png,x\nb.png,x\nc.png,x\nd.png,x\n"),
      /at least two classes; the label CSV .* gives one class \(x\) to all 4 image\(s\)/,
      dir,
    );
    await refused(
      async (cacheDir) => {
        await writeFile(csv, "file,class\na.png,x\nb.png,x\nc.png,x\nd.png,y\n");
        return await loadDataset({
          img_dir: tiles,
          folder: true,
          resolution: 4,
          cacheDir,
          minPerClass: 2,
          labels: { kind: "csv", csv, classColumn: "class", fileColumn: "file" },
        });
      },
      /at least 2 usable image\(s\) .*mbstd_group_size.*; class y has 1;/,
      dir,
    );
  });
});

Deno.test("bad labels: a file name that is two images, and a class left short by a bad file (refused before caching)", async () => {
  await withTempDir(async (dir) => {
    const tiles = join(dir, "tiles");
    await writeImages(join(tiles, "x"), ["same.png", "x2.png"]);
    await writeImages(join(tiles, "y"), ["same.png", "y2.png"]);
    const csv = join(dir, "labels.csv");
    await writeFile(csv, "file,class\nsame.png,x\nx2.png,x\ny2.png,y\n");
    const labels: LabelSource = { kind: "csv", csv, classColumn: "class", fileColumn: "file" };
    await refused(
      (cacheDir) => loadDataset({ img_dir: tiles, folder: true, resolution: 4, cacheDir, labels }),
      /line 2, names the file same\.png, which is two images of the dataset \(.*x\/same\.png and .*y\/same\.png\)/,
      dir,
    );

    // Folder y: two images, one of them not an image at all; two per class are needed.
    await writeFile(join(tiles, "y", "y2.png"), "not a png");
    const log = recordingLog();
    await refused(
      (cacheDir) =>
        loadDataset({
          img_dir: tiles,
          folder: true,
          resolution: 4,
          cacheDir,
          labels: { kind: "folder" },
          minPerClass: 2,
          log,
        }),
      /class y has 1/,
      dir,
    );
    assert.ok(log.warnings.some((w) => w.includes("y2.png")), log.warnings.join("\n"));
  });
});
