/**
 * The training data of a labelled run (dataset.labels): each batch's labels are the classes of the files whose
 * pixels are in it, they resume with the sampler, and the per-class minimum follows the mbstd group.
 *
 * The images are solid colours, one colour per file, so a tile's pixels name its file whatever the loader's
 * resizing and the flips and rotations do: the truth needs no decoder.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../../model/config.ts";
import { DatasetError } from "../../../model/data/errors.ts";
import { openTrainingData } from "../../../model/train/data_adapter.ts";
import type { TrainingData } from "../../../model/train/loop.ts";
import { RunDir } from "../../../model/train/run_dir.ts";
import { solidPng, withTempDir, writeFile } from "../data/helpers.ts";
import { TINY_NETWORK, tinySchedule } from "../../support/tiny_training.ts";
import { useBackend } from "../../support/backends.ts";

const RESOLUTION = 16; // TINY_NETWORK's
const TILE = RESOLUTION * RESOLUTION * 3;

/** Colour k's red channel; green and blue are fixed. */
const redOf = (k: number) => 20 + 10 * k;

/** images/<class>/<class><i>.png, solid colour k each; returns the class of each colour k. */
async function writeClasses(dir: string, sizes: Record<string, number>): Promise<string[]> {
  const classOfColour: string[] = [];
  for (const [name, count] of Object.entries(sizes)) {
    for (let i = 0; i < count; i++) {
      const k = classOfColour.length;
      classOfColour.push(name);
      await writeFile(join(dir, "images", name, `${name}${i}.png`), await solidPng(8, [redOf(k), 90, 160]));
    }
  }
  return classOfColour;
}

async function open(
  dir: string,
  sets: string[],
  batch = 4,
): Promise<{ data: TrainingData; run: RunDir; lines: string[] }> {
  const config = await loadConfig(undefined, [
    ...TINY_NETWORK,
    ...tinySchedule([1, 1, 1], batch),
    `dataset.img_dir=${join(dir, "images")}`,
    `output_dir=${join(dir, "run")}`,
    ...sets,
  ]);
  const run = new RunDir(config.output_dir);
  await run.prepare(config);
  const lines: string[] = [];
  return { data: await openTrainingData(config, run, (line) => lines.push(line)), run, lines };
}

/** A batch's labels and each tile's colour index, read from its pixels (every pixel of a tile must agree). */
async function drawBatch(data: TrainingData, size: number) {
  await useBackend("cpu");
  const { images, labels } = data.nextBatch(size);
  const pixels = await images.data();
  images.dispose();
  const colours = Array.from({ length: size }, (_, i) => {
    const tile = pixels.subarray(i * TILE, (i + 1) * TILE);
    const red = Math.round((tile[0] + 1) * 127.5);
    for (let p = 0; p < TILE; p += 3) assert.equal(Math.round((tile[p] + 1) * 127.5), red, "a solid tile");
    return (red - 20) / 10;
  });
  return { labels, colours, pixels };
}

Deno.test("a labelled batch's labels are the classes of the files whose pixels it holds, epoch after epoch", async () => {
  await withTempDir(async (dir) => {
    const classOfColour = await writeClasses(dir, { river: 4, forest: 5, beach: 4 });
    const { data, lines } = await open(dir, ["dataset.labels=folder"]);
    assert.deepEqual(data.classNames, ["beach", "forest", "river"]);
    assert.ok(lines.includes("dataset: 3 classes from the folders (4 to 5 images each)"), lines.join("\n"));
    assert.equal(data.count, 13);
    const seen = new Set<number>();
    for (let b = 0; b < 9; b++) { // 3 batches of 4 per epoch: 3 epochs, augmented
      const { labels, colours } = await drawBatch(data, 4);
      assert.ok(labels instanceof Int32Array && labels.length === 4);
      colours.forEach((k, i) => {
        assert.ok(Number.isInteger(k) && k >= 0 && k < 13, `colour ${k}`);
        assert.equal(data.classNames![labels[i]], classOfColour[k], `batch ${b}, image ${i}`);
        seen.add(k);
      });
    }
    assert.ok(seen.size >= 10, `the shuffles reach most files (${seen.size})`);
  });
});

Deno.test("labels resume with the sampler: setState gives the same images with the same labels", async () => {
  await withTempDir(async (dir) => {
    await writeClasses(dir, { river: 4, forest: 5, beach: 4 });
    const { data: first } = await open(dir, ["dataset.labels=folder"]);
    for (let b = 0; b < 4; b++) await drawBatch(first, 4); // into the second epoch
    const state = JSON.parse(JSON.stringify(first.getState()));
    const expected = [];
    for (let b = 0; b < 4; b++) expected.push(await drawBatch(first, 4));

    const { data: resumed } = await open(dir, ["dataset.labels=folder"]); // the dataset from the run's cache
    resumed.setState(state);
    for (const want of expected) {
      const got = await drawBatch(resumed, 4);
      assert.deepEqual(got.labels, want.labels);
      assert.deepEqual(got.colours, want.colours);
      assert.deepEqual(got.pixels, want.pixels); // bitwise, augmentation included
    }
  });
});

Deno.test("an unlabelled run's batches have no labels and its data no class names", async () => {
  await withTempDir(async (dir) => {
    await writeClasses(dir, { river: 4, forest: 4 });
    const { data } = await open(dir, []);
    await useBackend("cpu");
    assert.equal(data.classNames, undefined);
    const batch = data.nextBatch(4);
    assert.equal(batch.labels, undefined);
    batch.images.dispose();
  });
});

Deno.test("each class needs one mbstd group of images (the group cut to the largest minibatch); nothing cached", async () => {
  await withTempDir(async (dir) => {
    await writeClasses(dir, { river: 5, forest: 2, beach: 3 });
    const refused = async (sets: string[], batch: number, message: RegExp) => {
      await assert.rejects(open(dir, ["dataset.labels=folder", ...sets], batch), (e: Error) => {
        assert.ok(e instanceof DatasetError, `${e.name}: ${e.message}`);
        assert.match(e.message, message);
        return true;
      });
      assert.deepEqual([...Deno.readDirSync(join(dir, "run", "cache"))], [], "no cache written");
      await Deno.remove(join(dir, "run"), { recursive: true });
    };
    // Default group 4 with minibatch 4: forest (2) and beach (3) are short, both named with their counts.
    await refused([], 4, /at least 4 usable image\(s\).*class beach has 3, class forest has 2;/);
    await refused(["model.dis.mbstd_group_size=3"], 4, /at least 3 usable.*; class forest has 2;/);
    // Group 2, or a minibatch of 2 (the group is cut to it): every class is large enough.
    const { data: byGroup } = await open(dir, ["dataset.labels=folder", "model.dis.mbstd_group_size=2"]);
    assert.equal(byGroup.classNames!.length, 3);
    await Deno.remove(join(dir, "run"), { recursive: true });
    const { data: byBatch } = await open(dir, ["dataset.labels=folder"], 2);
    assert.equal(byBatch.classNames!.length, 3);
  });
});

Deno.test("label settings: csv needs label_csv, label_csv needs csv, unknown sources are refused", async () => {
  const fails = async (sets: string[], key: string, message: RegExp) => {
    await assert.rejects(loadConfig(undefined, ["dataset.img_dir=x", ...sets]), (e: Error) => {
      assert.ok(e instanceof ConfigError, `${e.name}: ${e.message}`);
      assert.equal(e.key, key);
      assert.match(e.message, message);
      return true;
    });
  };
  await fails(["dataset.labels=csv"], "dataset.label_csv", /labels csv needs dataset\.label_csv/);
  await fails(
    ["dataset.labels=folder", "dataset.label_csv=l.csv"],
    "dataset.label_csv",
    /label_csv is for labels csv \(labels is folder\)/,
  );
  await fails(["dataset.labels=manifest"], "dataset.labels", /none.*folder.*csv/);
  await fails(
    ["dataset.labels=csv", "dataset.label_csv=l.csv", "dataset.label_column="],
    "dataset.label_column",
    /./,
  );
  const config = await loadConfig(undefined, ["dataset.img_dir=x"]);
  assert.equal(config.dataset.labels, "none");
  assert.equal(config.dataset.label_column, "class");
  assert.equal(config.dataset.label_file_column, "file");
});
