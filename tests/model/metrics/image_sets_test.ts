/** The metric's image-set reader: folders, list files, centre crop + box downscale, the blur16 transform. */
import assert from "node:assert/strict";
import { Image } from "imagescript";
import {
  blurThrough,
  centreCropResize,
  decodeImageFile,
  FAKE_TRANSFORMS,
  ImageSetError,
  listImageSet,
  readImageSet,
  spreadSubset,
} from "../../../model/metrics/image_sets.ts";
import type { ByteImage } from "../../../model/metrics/swd.ts";
import { UCMERCED_DIR } from "../../support/paths.ts";

async function writePng(
  path: string,
  width: number,
  height: number,
  rgb: (x: number, y: number) => number[],
) {
  const image = new Image(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = rgb(x, y);
      image.setPixelAt(x + 1, y + 1, Image.rgbaToColor(r, g, b, 255));
    }
  }
  await Deno.writeFile(path, await image.encode());
}

Deno.test("image sets: folders and list files", async (t) => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/set/b`, { recursive: true });
  await Deno.mkdir(`${dir}/set/.hidden`, { recursive: true });
  await writePng(`${dir}/set/b/two.png`, 4, 4, () => [10, 20, 30]);
  await writePng(`${dir}/set/one.PNG`, 4, 4, () => [40, 50, 60]);
  await writePng(`${dir}/set/.hidden/skip.png`, 4, 4, () => [0, 0, 0]);
  await Deno.writeTextFile(`${dir}/set/README.md`, "not an image");

  await t.step("a folder: every image below it, sorted, hidden entries and other files skipped", async () => {
    assert.deepEqual(await listImageSet(`${dir}/set`), [`${dir}/set/b/two.png`, `${dir}/set/one.PNG`]);
  });

  await t.step("a list: paths relative to the list's folder, comments and blank lines skipped", async () => {
    await Deno.writeTextFile(
      `${dir}/list.txt`,
      `# reals\nset/one.PNG\n\n  set/b/two.png  \n${dir}/set/one.PNG\n`,
    );
    const set = await readImageSet(`${dir}/list.txt`, 2);
    assert.deepEqual(set.paths, [`${dir}/set/one.PNG`, `${dir}/set/b/two.png`, `${dir}/set/one.PNG`]);
    assert.deepEqual([...set.images[0].data.subarray(0, 3)], [40, 50, 60]);
    assert.deepEqual(set.images.map((im) => [im.width, im.height, im.channels]), [[2, 2, 3], [2, 2, 3], [
      2,
      2,
      3,
    ]]);
  });

  await t.step("problems name the file", async () => {
    await Deno.writeTextFile(`${dir}/empty.txt`, "# nothing\n\n");
    await Deno.writeTextFile(`${dir}/bad.txt`, "set/README.md\n");
    await Deno.writeFile(`${dir}/binary.lst`, new Uint8Array([0, 1, 2, 255]));
    await Deno.mkdir(`${dir}/none`);
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => listImageSet(`${dir}/missing`), /'.*missing' does not exist/],
      [() => listImageSet(`${dir}/empty.txt`), /names no images/],
      [() => listImageSet(`${dir}/none`), /holds no images/],
      [() => listImageSet(`${dir}/binary.lst`), /neither a folder nor a text list/],
      [() => listImageSet(`${dir}/set/one.PNG`), /is an image; give its folder/],
      [() => readImageSet(`${dir}/bad.txt`, 2), /README\.md' is not a readable PNG, JPEG or TIFF/],
      [() => readImageSet(`${dir}/set`, 8), /smaller than the 8 px/],
      [() => readImageSet(`${dir}/set`, 2, 3), /asked for 3 images but the set holds only 2/],
    ];
    for (const [run, pattern] of cases) {
      await assert.rejects(run, (e: Error) => e instanceof ImageSetError && pattern.test(e.message));
    }
  });

  await Deno.remove(dir, { recursive: true });
});

Deno.test("spreadSubset picks evenly over a class-sorted list", () => {
  assert.deepEqual(spreadSubset([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5), [0, 2, 4, 6, 8]);
  assert.deepEqual(spreadSubset([0, 1, 2], 3), [0, 1, 2]);
});

Deno.test("centre crop + box downscale: exact block means, rounded half to even", () => {
  // 6×4 grey-ish image; the centred 4×4 square starts at x = 1.
  const width = 6;
  const height = 4;
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = i * 10;
  const image: ByteImage = { width, height, channels: 1, data };
  const out = centreCropResize(image, 2);
  const block = (x0: number, y0: number) =>
    (data[y0 * width + x0] + data[y0 * width + x0 + 1] + data[(y0 + 1) * width + x0] +
      data[(y0 + 1) * width + x0 + 1]) / 4;
  assert.deepEqual([...out.data], [block(1, 0), block(3, 0), block(1, 2), block(3, 2)]);
  // Block means of .5 go to the even neighbour, as numpy's round in PGGAN's downscale.
  const mean = (
    values: number[],
  ) => [...centreCropResize({ width: 2, height: 2, channels: 1, data: Uint8Array.from(values) }, 1).data];
  assert.deepEqual(mean([3, 4, 3, 4]), [4]); // 3.5 → 4
  assert.deepEqual(mean([2, 3, 2, 3]), [2]); // 2.5 → 2, where Math.round would give 3
  assert.deepEqual(mean([1, 2, 1, 1]), [1]); // 1.25 → 1
});

Deno.test("blur16: box down to 16 px and bilinear back", () => {
  // Identity at 16 px, constant stays constant, fine detail is gone while the 16 px means survive.
  const tile: ByteImage = {
    width: 16,
    height: 16,
    channels: 3,
    data: Uint8Array.from({ length: 768 }, (_, i) => (i * 37) % 256),
  };
  assert.deepEqual(blurThrough(tile, 16).data, tile.data);
  const flat: ByteImage = { width: 64, height: 64, channels: 3, data: new Uint8Array(64 * 64 * 3).fill(123) };
  assert.ok(FAKE_TRANSFORMS.blur16(flat).data.every((v) => v === 123));
  const checker: ByteImage = {
    width: 64,
    height: 64,
    channels: 1,
    data: Uint8Array.from({ length: 4096 }, (_, i) => ((i % 64) + Math.floor(i / 64)) % 2 ? 200 : 0),
  };
  assert.ok(blurThrough(checker, 16).data.every((v) => v === 100));
  // A horizontal ramp stays a ramp: monotone across the image.
  const ramp: ByteImage = {
    width: 64,
    height: 64,
    channels: 1,
    data: Uint8Array.from({ length: 4096 }, (_, i) => (i % 64) * 4),
  };
  const row = blurThrough(ramp, 16).data.subarray(64 * 10, 64 * 11);
  for (let x = 1; x < 64; x++) assert.ok(row[x] >= row[x - 1]);
});

Deno.test("UC Merced JPEGs decode to 256 px RGB", async () => {
  const image = await decodeImageFile(`${UCMERCED_DIR}/images/forest/forest00.jpg`);
  assert.deepEqual([image.width, image.height, image.channels], [256, 256, 3]);
  const small = centreCropResize(image, 64);
  assert.equal(small.data.length, 64 * 64 * 3);
});
