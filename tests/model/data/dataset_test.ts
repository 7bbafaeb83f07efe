/** Loading datasets: tiles, the cache (reuse, staleness, corruption), bad files, and worker/main-thread parity. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ImageDataset, loadDataset } from "../../../model/data/dataset.ts";
import { DatasetError } from "../../../model/data/errors.ts";
import { UCMERCED_DIR } from "../../support/paths.ts";
import { recordingLog, solidImage, solidPng, withTempDir, writeFile } from "./helpers.ts";

const UC_IMAGES = join(UCMERCED_DIR, "images");

/** Six solid 32 px images in nested folders, PNG and JPEG, with a capitalised extension among them. */
async function makeFolder(dir: string): Promise<[number, number, number][]> {
  const colours: [number, number, number][] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30], [
    200,
    100,
    50,
  ], [7, 7, 7]];
  await writeFile(join(dir, "a.png"), await solidPng(32, colours[0]));
  await writeFile(join(dir, "b.PNG"), await solidPng(32, colours[1]));
  await writeFile(join(dir, "c/c.png"), await solidPng(32, colours[2]));
  await writeFile(join(dir, "c/d/d.png"), await solidPng(32, colours[3]));
  await writeFile(join(dir, "e.png"), await solidPng(32, colours[4]));
  await writeFile(join(dir, "f.png"), await solidImage(48, 32, colours[5]).encode(1)); // not square: cropped
  return colours;
}

function tile(dataset: ImageDataset, index: number): Uint8Array {
  const size = dataset.resolution * dataset.resolution * dataset.channels;
  return dataset.data.subarray(index * size, (index + 1) * size);
}

Deno.test("dataset loading", async (t) => {
  await t.step(
    "a folder → sorted tiles of the resolution; the second load comes from the cache",
    async () => {
      await withTempDir(async (dir) => {
        const colours = await makeFolder(join(dir, "images"));
        const cacheDir = join(dir, "run");
        const log = recordingLog();
        const progress: number[] = [];
        const options = { img_dir: join(dir, "images"), folder: true, resolution: 16, cacheDir, log };
        const first = await loadDataset({
          ...options,
          onProgress: (done, total) => progress.push(done / total),
        });
        assert.equal(first.count, 6);
        assert.equal(first.fromCache, false);
        assert.equal(first.decoded, 6);
        assert.deepEqual(first.skipped, []);
        assert.equal(first.data.length, 6 * 16 * 16 * 3);
        assert.deepEqual(first.files.map((f) => f.slice(dir.length + 8)), [
          "a.png",
          "b.PNG",
          "c/c.png",
          "c/d/d.png",
          "e.png",
          "f.png",
        ]);
        first.files.forEach((_, i) => {
          const pixels = tile(first, i);
          for (let p = 0; p < 256; p++) {
            assert.deepEqual(Array.from(pixels.subarray(3 * p, 3 * p + 3)), colours[i]);
          }
        });
        assert.equal(progress.length, 6);
        assert.equal(progress.at(-1), 1);
        assert.deepEqual(log.warnings, []);
        assert.match(first.cachePath!, /\/run\/dataset-16px-3ch-[0-9a-f]{16}\.bin$/);

        const second = await loadDataset({
          ...options,
          onProgress: (done, total) => progress.push(done / total),
        });
        assert.equal(second.fromCache, true);
        assert.equal(second.decoded, 0);
        assert.equal(second.cachePath, first.cachePath);
        assert.deepEqual(second.data, first.data);
        assert.deepEqual(second.files, first.files);
        assert.equal(progress.at(-1), 1);
        assert.match(log.infos.at(-1)!, /6 images at 16 px from the cache/);
        // Other resolutions get their own cache file beside it.
        const other = await loadDataset({ ...options, resolution: 8 });
        assert.equal(other.fromCache, false);
        assert.notEqual(other.cachePath, first.cachePath);
        assert.equal([...Deno.readDirSync(cacheDir)].length, 2);
      });
    },
  );

  await t.step("a changed source file gives a new cache key and a fresh decode", async () => {
    await withTempDir(async (dir) => {
      await makeFolder(join(dir, "images"));
      const options = {
        img_dir: join(dir, "images"),
        folder: true,
        resolution: 8,
        cacheDir: join(dir, "run"),
        log: recordingLog(),
      };
      const first = await loadDataset(options);
      await writeFile(join(dir, "images/a.png"), await solidPng(16, [1, 2, 3]));
      const second = await loadDataset(options);
      assert.equal(second.fromCache, false);
      assert.notEqual(second.cachePath, first.cachePath);
      assert.deepEqual(Array.from(tile(second, 0).subarray(0, 3)), [1, 2, 3]);
    });
  });

  await t.step("a corrupt or truncated cache is rebuilt with a log line, never trusted", async () => {
    await withTempDir(async (dir) => {
      await makeFolder(join(dir, "images"));
      const log = recordingLog();
      const options = {
        img_dir: join(dir, "images"),
        folder: true,
        resolution: 8,
        cacheDir: join(dir, "run"),
        log,
      };
      const reference = await loadDataset(options);
      const path = reference.cachePath!;
      const pristine = await Deno.readFile(path);
      const damages: [string, (bytes: Uint8Array) => Uint8Array, RegExp][] = [
        [
          "one flipped data byte",
          (b) => b.map((v, i) => i === b.length - 5 ? v ^ 1 : v),
          /does not match its checksum/,
        ],
        ["a truncated file", (b) => b.subarray(0, b.length - 100), /bytes where its header implies/],
        ["a damaged header", (b) => b.map((v, i) => i === 20 ? 0x7b : v), /header/],
        ["bad magic bytes", (b) => b.map((v, i) => i === 0 ? 0 : v), /not a dataset cache/],
        ["an empty file", () => new Uint8Array(0), /not a dataset cache/],
      ];
      for (const [what, damage, problem] of damages) {
        await Deno.writeFile(path, damage(pristine.slice()));
        const rebuilt = await loadDataset(options);
        assert.equal(rebuilt.fromCache, false, what);
        assert.deepEqual(rebuilt.data, reference.data, what);
        const line = log.warnings.at(-1)!;
        assert.ok(
          line.includes(path) && line.includes("rebuilding") && problem.test(line),
          `${what}: ${line}`,
        );
        assert.equal(
          (await loadDataset(options)).fromCache,
          true,
          `${what}: the rebuilt cache is used next time`,
        );
      }
      // No temporary files are left behind.
      assert.deepEqual([...Deno.readDirSync(join(dir, "run"))].map((e) => e.name), [path.split("/").at(-1)]);
    });
  });

  await t.step("one bad file among many: a warning naming it, a count, and the rest load", async () => {
    await withTempDir(async (dir) => {
      await makeFolder(join(dir, "images"));
      await writeFile(join(dir, "images/notes.png"), "just some text, not a picture\n");
      const jpeg = await Deno.readFile(join(UC_IMAGES, "forest/forest10.jpg"));
      await writeFile(join(dir, "images/c/cut.jpg"), jpeg.subarray(0, 4000));
      const log = recordingLog();
      const options = {
        img_dir: join(dir, "images"),
        folder: true,
        resolution: 8,
        cacheDir: join(dir, "run"),
        log,
      };
      const dataset = await loadDataset(options);
      assert.equal(dataset.count, 6);
      assert.deepEqual(dataset.skipped.map((s) => s.file), [
        join(dir, "images/c/cut.jpg"),
        join(dir, "images/notes.png"),
      ]);
      assert.ok(dataset.skipped[0].reason.includes("cannot decode JPEG"));
      assert.ok(dataset.skipped[1].reason.includes("is not a PNG, JPEG or TIFF image"));
      assert.equal(log.warnings.length, 3);
      assert.ok(log.warnings[0].includes("cut.jpg") && log.warnings[1].includes("notes.png"));
      assert.match(log.warnings[2], /skipped 2 of 8 files/);
      // The cache remembers the skipped files and says so again.
      const again = await loadDataset(options);
      assert.equal(again.fromCache, true);
      assert.deepEqual(again.skipped, dataset.skipped);
      assert.match(log.warnings.at(-1)!, /skipped 2 of 8 files/);
    });
  });

  await t.step("a list naming a missing file: skipped as 'file not found'", async () => {
    await withTempDir(async (dir) => {
      await makeFolder(join(dir, "images"));
      await writeFile(join(dir, "list.txt"), "images/a.png\nimages/b.PNG\nimages/e.png\nimages/gone.png\n");
      const log = recordingLog();
      const dataset = await loadDataset({
        img_dir: join(dir, "list.txt"),
        folder: false,
        resolution: 4,
        log,
      });
      assert.equal(dataset.count, 3);
      assert.match(dataset.skipped[0].reason, /gone\.png: file not found/);
    });
  });

  await t.step("all bad, or more than half bad: a DatasetError naming a file", async () => {
    await withTempDir(async (dir) => {
      for (const name of ["x.png", "y.jpg", "z.tif"]) {
        await writeFile(join(dir, "bad", name), `${name} is text`);
      }
      await assert.rejects(
        loadDataset({ img_dir: join(dir, "bad"), folder: true, resolution: 8, log: recordingLog() }),
        (e: Error) => {
          return e instanceof DatasetError && e.message.startsWith("none of the 3 image(s) could be used") &&
            e.message.includes(join(dir, "bad/x.png"));
        },
      );
      await writeFile(join(dir, "bad/good.png"), await solidPng(8, [1, 1, 1]));
      await assert.rejects(
        loadDataset({ img_dir: join(dir, "bad"), folder: true, resolution: 8, log: recordingLog() }),
        (e: Error) =>
          e instanceof DatasetError &&
          /more than half of the 4 images could not be used.*x\.png/.test(e.message),
      );
    });
  });

  await t.step("fewer usable images than minImages (the batch size): a DatasetError", async () => {
    await withTempDir(async (dir) => {
      await makeFolder(join(dir, "images"));
      const options = { img_dir: join(dir, "images"), folder: true, resolution: 8, log: recordingLog() };
      const tooFew = (e: Error) =>
        e instanceof DatasetError && /has 6 usable image\(s\) but at least 16 are needed/.test(e.message);
      await assert.rejects(loadDataset({ ...options, minImages: 16 }), tooFew);
      // Also when the tiles come from a cache written with a smaller minibatch.
      const cacheDir = join(dir, "run");
      assert.equal((await loadDataset({ ...options, cacheDir, minImages: 4 })).count, 6);
      await assert.rejects(loadDataset({ ...options, cacheDir, minImages: 16 }), tooFew);
    });
  });

  await t.step("small images are upscaled with a warning; bad settings are refused", async () => {
    await withTempDir(async (dir) => {
      await makeFolder(join(dir, "images"));
      const log = recordingLog();
      const dataset = await loadDataset({ img_dir: join(dir, "images"), folder: true, resolution: 64, log });
      assert.equal(dataset.count, 6);
      assert.match(log.warnings[0], /6 image\(s\) smaller than 64 px were upscaled/);
      await assert.rejects(
        loadDataset({ img_dir: join(dir, "images"), folder: true, resolution: 0 }),
        /resolution must be a positive integer/,
      );
    });
  });

  await t.step("allowHoldout: held-out images are loaded, with a warning saying how many", async () => {
    await withTempDir(async (dir) => {
      await makeFolder(join(dir, "images"));
      await writeFile(join(dir, "train.txt"), "images/a.png\nimages/b.PNG\n");
      await writeFile(join(dir, "holdout.txt"), "images/e.png\n");
      const options = { img_dir: join(dir, "images"), folder: true, resolution: 4 };
      await assert.rejects(loadDataset({ ...options, log: recordingLog() }), /held-out image/);
      const log = recordingLog();
      assert.equal((await loadDataset({ ...options, log, allowHoldout: true })).count, 6);
      assert.match(
        log.warnings[0],
        /allowHoldout is set: training includes 1 held-out image\(s\) from .*holdout\.txt/,
      );
    });
  });

  await t.step("worker threads and the main thread give the same bytes (real UC Merced tiles)", async () => {
    await withTempDir(async (dir) => {
      const names = [
        "agricultural/agricultural00.jpg",
        "beach/beach10.jpg",
        "harbor/harbor20.jpg",
        "river/river30.jpg",
      ];
      await writeFile(join(dir, "some.txt"), names.map((n) => join(UC_IMAGES, n)).join("\n"));
      const options = { img_dir: join(dir, "some.txt"), folder: false, resolution: 32, log: recordingLog() };
      const inThread = await loadDataset({ ...options, workers: 0 });
      const inWorkers = await loadDataset({ ...options, workers: 2 });
      assert.equal(inWorkers.count, 4);
      assert.deepEqual(inWorkers.data, inThread.data);
    });
  });
});
