/** The CLI helper's own rule: Deno's lines are dropped from stderr, the program's kept. */
import assert from "node:assert/strict";
import { programStderr } from "./cli.ts";

Deno.test("programStderr drops Deno's Download and Warning lines, keeps the program's own", () => {
  const stderr = "\x1b[32mDownload\x1b[0m https://registry.npmjs.org/@tensorflow%2ftfjs-node\n" +
    "Warning The following packages contained npm lifecycle scripts\n" +
    "error: backend 'tensorflow' is not available\n";
  assert.equal(programStderr(stderr), "error: backend 'tensorflow' is not available\n");
  assert.equal(programStderr("error: Download failed for x\n"), "error: Download failed for x\n");
});
