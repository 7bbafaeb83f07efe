/** Shared float memory between processes: what one mapping writes another reads; bad sizes are errors. */
import assert from "node:assert/strict";
import { SharedFloats } from "../../../model/pool/shared_memory.ts";

const supported = Deno.build.os === "linux" || Deno.build.os === "darwin";

Deno.test({
  name: "a second mapping of the file sees the first one's writes, both ways, until unmapped",
  ignore: !supported,
  fn: async () => {
    const created = await SharedFloats.create(1000);
    let opened: SharedFloats | undefined;
    try {
      assert.equal(created.floats.length, 1000);
      assert.ok(created.floats.every((v) => v === 0), "a new file is zeros");
      assert.equal((await Deno.stat(created.path)).size, 4000, "reserved in full");
      opened = SharedFloats.open(created.path, 1000);
      created.floats.set([1.5, -2, 3e-8], 10);
      assert.deepEqual([...opened.floats.subarray(10, 13)], [1.5, -2, Math.fround(3e-8)]);
      opened.floats[999] = 7;
      assert.equal(created.floats[999], 7);
      // The name can go once both have mapped it: the memory stays shared.
      await created.unlink();
      await assert.rejects(Deno.stat(created.path), Deno.errors.NotFound);
      opened.floats[0] = 42;
      assert.equal(created.floats[0], 42);
    } finally {
      opened?.close();
      created.close();
      await created.unlink();
    }
  },
});

Deno.test({
  name: "mapping more than the file holds, or a file that is not there, is an error naming it",
  ignore: !supported,
  fn: async () => {
    const created = await SharedFloats.create(10);
    try {
      assert.throws(
        () => SharedFloats.open(created.path, 11),
        (e: Error) => e.message === `shared memory ${created.path} holds fewer than 44 bytes`,
      );
      const gone = `${created.path}.missing`;
      assert.throws(() => SharedFloats.open(gone, 10), (e: Error) => e.message.includes(gone));
    } finally {
      created.close();
      await created.unlink();
    }
  },
});
