/** Dataset sources: folder walks, list files, clear errors for missing paths, and the hold-out guard. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatasetError, findHeldOutFiles, listImageFiles } from "../../../model/data/sources.ts";
import { FULL_UCMERCED_DIR, ignoreWithoutData, UCMERCED_DIR } from "../../support/paths.ts";
import { withTempDir, writeFile } from "./helpers.ts";

Deno.test("dataset sources", async (t) => {
  await t.step("a folder is walked recursively, sorted, extensions matched in any case", async () => {
    await withTempDir(async (dir) => {
      for (
        const name of ["b.png", "a.JPG", "sub/deeper/c.tiff", "sub/d.jpeg", "sub/e.TIF", "notes.txt", "x.gif"]
      ) {
        await writeFile(join(dir, name), "x");
      }
      await writeFile(join(dir, ".hidden/f.png"), "x");
      await writeFile(join(dir, "._g.png"), "x");
      const files = await listImageFiles({ img_dir: dir, folder: true });
      assert.deepEqual(
        files,
        ["a.JPG", "b.png", "sub/d.jpeg", "sub/deeper/c.tiff", "sub/e.TIF"].map((f) => join(dir, f)),
      );
    });
  });

  await t.step(
    "a list file: paths relative to it, comments and blank lines ignored, duplicates once",
    async () => {
      await withTempDir(async (dir) => {
        await writeFile(
          join(dir, "lists/mine.txt"),
          "# my tiles\n\n../img/z.jpg\r\n  ../img/a.png  \n# ../img/skipped.png\n/abs/path/q.tif\n../img/a.png\n",
        );
        const files = await listImageFiles({ img_dir: join(dir, "lists/mine.txt"), folder: false });
        assert.deepEqual(files, ["/abs/path/q.tif", join(dir, "img/a.png"), join(dir, "img/z.jpg")]);
      });
    },
  );

  await t.step("missing, wrong-kind and empty sources are DatasetErrors naming the path", async () => {
    await withTempDir(async (dir) => {
      const missing = join(dir, "nope");
      await assert.rejects(listImageFiles({ img_dir: missing, folder: true }), (e: Error) => {
        return e instanceof DatasetError && e.message.includes(missing) && e.message.includes("not found");
      });
      await assert.rejects(
        listImageFiles({ img_dir: `${missing}.txt`, folder: false }),
        /list file not found: .*nope\.txt/,
      );
      await writeFile(join(dir, "empty/readme.md"), "no images here");
      await assert.rejects(
        listImageFiles({ img_dir: join(dir, "empty"), folder: true }),
        (e: Error) =>
          e instanceof DatasetError && e.message.includes(`no images found under ${join(dir, "empty")}`),
      );
      await writeFile(join(dir, "only-comments.txt"), "# nothing\n\n");
      await assert.rejects(
        listImageFiles({ img_dir: join(dir, "only-comments.txt"), folder: false }),
        /names no images/,
      );
      await assert.rejects(listImageFiles({ img_dir: dir, folder: false }), /is a folder.*folder: true/);
      await assert.rejects(
        listImageFiles({ img_dir: join(dir, "only-comments.txt"), folder: true }),
        /is a file.*folder: false/,
      );
    });
  });

  await t.step("hold-out guard on a synthetic split", async () => {
    await withTempDir(async (dir) => {
      for (const name of ["a.png", "b.png", "c.png", "d.png"]) {
        await writeFile(join(dir, "images", name), "x");
      }
      await writeFile(join(dir, "train.txt"), "images/a.png\nimages/b.png\nimages/c.png\n");
      await writeFile(join(dir, "holdout.txt"), "# evaluation only\nimages/d.png\n");
      await writeFile(join(dir, "sneaky.txt"), "images/a.png\nimages/d.png\n");

      assert.equal((await listImageFiles({ img_dir: join(dir, "train.txt"), folder: false })).length, 3);
      await assert.rejects(
        listImageFiles({ img_dir: join(dir, "holdout.txt"), folder: false }),
        (e: Error) =>
          e instanceof DatasetError && /refusing to train on .*holdout\.txt.*allowHoldout/.test(e.message),
      );
      await assert.rejects(
        listImageFiles({ img_dir: join(dir, "sneaky.txt"), folder: false }),
        (e: Error) =>
          e instanceof DatasetError && e.message.includes("1 held-out image(s)") &&
          e.message.includes("images/d.png"),
      );
      // The image folder sits below the split folder: the nearest split above it applies.
      await assert.rejects(listImageFiles({ img_dir: join(dir, "images"), folder: true }), /held-out image/);
      // allowHoldout lets a user do it on purpose.
      assert.equal(
        (await listImageFiles({ img_dir: join(dir, "images"), folder: true }, { allowHoldout: true })).length,
        4,
      );
      assert.equal(
        (await listImageFiles({ img_dir: join(dir, "holdout.txt"), folder: false }, { allowHoldout: true }))
          .length,
        1,
      );
      const found = await findHeldOutFiles(
        [join(dir, "images/a.png"), join(dir, "images/d.png")],
        join(dir, "images"),
        true,
      );
      assert.deepEqual(found, { list: join(dir, "holdout.txt"), files: [join(dir, "images/d.png")] });
    });
  });

  await t.step(
    "the UC Merced sample: train.txt is accepted, the whole image folder and holdout.txt are refused",
    () => checkUcMercedSplit(UCMERCED_DIR, 47, 21, "ucmerced_sample"),
  );
});

Deno.test({
  name: "the full UC Merced dataset: 1,890 training tiles accepted, the 105 held-out ones refused",
  ignore: ignoreWithoutData(FULL_UCMERCED_DIR),
  fn: () => checkUcMercedSplit(FULL_UCMERCED_DIR, 1890, 105, "ucmerced_landuse"),
});

/** A UC Merced folder's split: `train` tiles listed, the folder and the hold-out list refused. */
async function checkUcMercedSplit(
  dir: string,
  train: number,
  heldOut: number,
  folder: string,
): Promise<void> {
  const files = await listImageFiles({ img_dir: join(dir, "train.txt"), folder: false });
  assert.equal(files.length, train);
  assert.ok(files.every((f) => f.startsWith(join(dir, "images/"))));
  await assert.rejects(
    listImageFiles({ img_dir: join(dir, "images"), folder: true }),
    new RegExp(`refusing to train on ${heldOut} held-out image\\(s\\) listed in .*${folder}/holdout\\.txt`),
  );
  await assert.rejects(
    listImageFiles({ img_dir: join(dir, "holdout.txt"), folder: false }),
    /evaluation split/,
  );
}
