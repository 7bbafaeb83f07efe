/**
 * The data root holds when a dataset file is swapped for a symbolic link after the job was accepted (issue 23,
 * item 1): the training process checks every file it opens, so a link to a text file outside the root never has
 * its bytes in the event stream, the job's status or the list of jobs, and a real image outside the root is not
 * trained on.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { request, startServer } from "./helpers.ts";
import {
  AUTH,
  copyRealImages,
  postJob,
  readAllEvents,
  tinyConfig,
  TOKEN,
  waitForJob,
} from "./train_support.ts";

/** Text that must never reach a client: it is only in a file outside the data root. */
const SECRET = "root:x:0:0:not-for-clients-7f3a";

Deno.test("a dataset file swapped for a link out of the data root after POST is refused unread", async () => {
  const base = await Deno.makeTempDir({ prefix: "sgan-confine-" });
  const root = join(base, "data");
  const outside = join(base, "outside");
  await Deno.mkdir(outside, { recursive: true });
  await copyRealImages(root, 24);
  await Deno.writeTextFile(join(outside, "passwd"), `${SECRET}\n`.repeat(20));
  // A real, decodable image outside the root: were it read, the job would train on 23 images, not 22.
  await Deno.copyFile(join(root, "images", "tile00.jpg"), join(outside, "real.jpg"));
  const server = await startServer({ config: { token: TOKEN, dataRoot: root, runsDir: join(base, "runs") } });
  try {
    const res = await postJob(server, tinyConfig("list.txt", [1, 1, 1]));
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const { id } = res.json as { id: string };
    // The swap, after validation: the training process is still starting (Deno, tfjs) and has opened nothing.
    for (const [name, target] of [["tile03.jpg", "passwd"], ["tile05.jpg", "real.jpg"]]) {
      await Deno.remove(join(root, "images", name));
      await Deno.symlink(join(outside, target), join(root, "images", name));
    }
    const { events, raw } = await readAllEvents(server.url, id);
    const job = await waitForJob(server.url, id, (j) => j.state === "done" || j.state === "failed");
    const list = await request(`${server.url}/api/train`, { headers: AUTH });
    for (
      const [what, text] of [["events", raw], ["status", JSON.stringify(job)], [
        "list",
        new TextDecoder().decode(list.body),
      ]]
    ) {
      assert.ok(!text.includes("root:x"), `${what} hold bytes of a file outside the root`);
      assert.ok(!text.includes("not-for-clients"), `${what} hold bytes of a file outside the root`);
    }
    assert.equal(job.state, "done", JSON.stringify(job));
    // Dataset warnings travel as log lines of the training process ("warning: dataset: skipping ...").
    const warnings = events.filter((e) => e.event === "log").map((e) => String(e.data.line));
    for (const name of ["tile03.jpg", "tile05.jpg"]) {
      assert.ok(
        warnings.some((w) =>
          w.includes(`$SGAN_DATA_ROOT/images/${name} is refused: its real path lies outside the data root`)
        ),
        `no refusal of ${name} in ${JSON.stringify(warnings)}`,
      );
    }
    const logs = events.filter((e) => e.event === "log").map((e) => String(e.data.line));
    assert.ok(logs.some((l) => /^dataset: 22 images at 16 px/.test(l)), JSON.stringify(logs));
    // Paths are shown relative to the root's name, never the server's folders.
    assert.ok(!raw.includes(base), "the event stream names server folders");
  } finally {
    await server.close();
    await Deno.remove(base, { recursive: true });
  }
});
