/** SGAN_TFJS_FLAGS: TensorFlow.js flags set from the runtime, bad entries refused with a clear message. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { applyFlagOverrides, BackendError, initBackend } from "../../../model/backend/select.ts";
import { defaultRuntime, runtimeFromEnv } from "../../../model/runtime.ts";

/** The runtime's flags for `SGAN_TFJS_FLAGS=text`. */
const flags = (text: string) => runtimeFromEnv({ SGAN_TFJS_FLAGS: text }).tfjsFlags;

Deno.test("SGAN_TFJS_FLAGS sets registered flags and refuses anything else", async () => {
  await initBackend("cpu", { quiet: true });
  const before = tf.env().get("DEPRECATION_WARNINGS_ENABLED");
  const before2 = tf.env().get("TENSORLIKE_CHECK_SHAPE_CONSISTENCY");
  try {
    applyFlagOverrides(
      flags(" DEPRECATION_WARNINGS_ENABLED=false , TENSORLIKE_CHECK_SHAPE_CONSISTENCY=false "),
    );
    assert.equal(tf.env().get("DEPRECATION_WARNINGS_ENABLED"), false);
    assert.equal(tf.env().get("TENSORLIKE_CHECK_SHAPE_CONSISTENCY"), false);
    assert.throws(() => applyFlagOverrides(flags("NO_SUCH_FLAG=1")), (e: Error) => {
      assert.ok(e instanceof BackendError);
      assert.match(e.message, /unknown flag 'NO_SUCH_FLAG'; known: .*DEPRECATION_WARNINGS_ENABLED/);
      return true;
    });
    assert.throws(() => flags("DEPRECATION_WARNINGS_ENABLED"), /is not NAME=value/);
    assert.deepEqual(flags(""), []); // unset or empty: nothing happens
    applyFlagOverrides(flags(""));
  } finally {
    tf.env().set("DEPRECATION_WARNINGS_ENABLED", before);
    tf.env().set("TENSORLIKE_CHECK_SHAPE_CONSISTENCY", before2);
  }
});

Deno.test("initBackend sets the runtime's TensorFlow.js flags once the backend is up", async () => {
  const before = tf.env().get("DEPRECATION_WARNINGS_ENABLED");
  try {
    await initBackend({
      ...defaultRuntime(),
      backend: "cpu",
      tfjsFlags: flags("DEPRECATION_WARNINGS_ENABLED=false"),
    }, {
      quiet: true,
    });
    assert.equal(tf.env().get("DEPRECATION_WARNINGS_ENABLED"), false);
    await assert.rejects(
      initBackend({ ...defaultRuntime(), backend: "cpu", tfjsFlags: flags("NO_SUCH_FLAG=1") }, {
        quiet: true,
      }),
      /SGAN_TFJS_FLAGS: unknown flag 'NO_SUCH_FLAG'/,
    );
  } finally {
    tf.env().set("DEPRECATION_WARNINGS_ENABLED", before);
  }
});
