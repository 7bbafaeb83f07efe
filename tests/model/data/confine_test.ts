/**
 * The data root as the opening process enforces it (model/data/confine.ts): real files under the root are read,
 * links within the root are followed, and a link out of it is refused without reading, by the image decoder, the
 * list-file reader and the folder walk alike; messages name paths, never bytes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { OutsideRootError, readFileInside, withFileInside } from "../../../model/data/confine.ts";
import { decodeImageFile } from "../../../model/data/decode.ts";
import { listImageFiles } from "../../../model/data/sources.ts";
import { UCMERCED_DIR } from "../../support/paths.ts";

const SECRET = "top-secret-line-4b1d";

async function withRoot(fn: (root: string, outside: string) => Promise<void>): Promise<void> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "sgan-confine-unit-" }));
  const root = join(base, "root");
  const outside = join(base, "outside");
  await Deno.mkdir(join(root, "sub"), { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(outside, "secret.txt"), SECRET);
  await Deno.writeTextFile(join(outside, "list.txt"), `${SECRET}\n`);
  const first = (await Deno.readTextFile(`${UCMERCED_DIR}/train.txt`)).split("\n")[0];
  await Deno.copyFile(`${UCMERCED_DIR}/${first}`, join(root, "sub", "a.jpg"));
  await Deno.copyFile(`${UCMERCED_DIR}/${first}`, join(outside, "b.jpg"));
  try {
    await fn(root, outside);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

const refused = (e: unknown) =>
  e instanceof OutsideRootError && /lies outside the data root/.test(e.message) &&
  !e.message.includes(SECRET);

Deno.test("readFileInside: files and links inside the root are read, links out of it refused unread", async () => {
  await withRoot(async (root, outside) => {
    const inside = join(root, "sub", "a.jpg");
    assert.deepEqual(await readFileInside(inside, root), await Deno.readFile(inside));
    await Deno.symlink(inside, join(root, "alias.jpg"));
    assert.deepEqual(await readFileInside(join(root, "alias.jpg"), root), await Deno.readFile(inside));
    await Deno.symlink(join(outside, "secret.txt"), join(root, "escape.txt"));
    await assert.rejects(readFileInside(join(root, "escape.txt"), root), refused);
    // Without a root nothing is confined (the CLI on a user's own files).
    assert.equal(new TextDecoder().decode(await readFileInside(join(root, "escape.txt"), undefined)), SECRET);
    await assert.rejects(readFileInside(join(root, "missing.jpg"), root), Deno.errors.NotFound);
    let used = false;
    await assert.rejects(
      withFileInside(join(root, "escape.txt"), root, () => Promise.resolve(used = true)),
      refused,
    );
    assert.equal(used, false, "the reader ran on a file outside the root");
  });
});

Deno.test("decoder, list file and folder walk keep to the root", async () => {
  await withRoot(async (root, outside) => {
    await Deno.symlink(join(outside, "b.jpg"), join(root, "sub", "b.jpg"));
    await assert.rejects(decodeImageFile(join(root, "sub", "b.jpg"), { root }), refused);
    assert.equal((await decodeImageFile(join(root, "sub", "a.jpg"), { root })).width, 256);
    // A list file that is a link out of the root: its lines (the outside file's text) are never used as paths.
    await Deno.symlink(join(outside, "list.txt"), join(root, "list.txt"));
    await assert.rejects(
      listImageFiles({ img_dir: join(root, "list.txt"), folder: false }, { root }),
      refused,
    );
    // A folder walk does not enter a linked folder outside the root; the root's own files are found.
    await Deno.symlink(outside, join(root, "sub", "elsewhere"));
    const files = await listImageFiles({ img_dir: root, folder: true }, { root });
    assert.deepEqual(files, [join(root, "sub", "a.jpg"), join(root, "sub", "b.jpg")]);
  });
});
