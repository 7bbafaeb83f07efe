/** SGAN_TFJS_FLAGS: TensorFlow.js flags set from the environment, bad entries refused with a clear message. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { applyFlagOverrides, BackendError, initBackend } from "../../../model/backend/select.ts";

Deno.test("SGAN_TFJS_FLAGS sets registered flags and refuses anything else", async () => {
  await initBackend("cpu", { quiet: true });
  const before = tf.env().get("DEPRECATION_WARNINGS_ENABLED");
  const before2 = tf.env().get("TENSORLIKE_CHECK_SHAPE_CONSISTENCY");
  try {
    applyFlagOverrides(" DEPRECATION_WARNINGS_ENABLED=false , TENSORLIKE_CHECK_SHAPE_CONSISTENCY=false ");
    assert.equal(tf.env().get("DEPRECATION_WARNINGS_ENABLED"), false);
    assert.equal(tf.env().get("TENSORLIKE_CHECK_SHAPE_CONSISTENCY"), false);
    assert.throws(() => applyFlagOverrides("NO_SUCH_FLAG=1"), (e: Error) => {
      assert.ok(e instanceof BackendError);
      assert.match(e.message, /unknown flag 'NO_SUCH_FLAG'; known: .*DEPRECATION_WARNINGS_ENABLED/);
      return true;
    });
    assert.throws(() => applyFlagOverrides("DEPRECATION_WARNINGS_ENABLED"), /is not NAME=value/);
    applyFlagOverrides(""); // unset or empty: nothing happens
  } finally {
    tf.env().set("DEPRECATION_WARNINGS_ENABLED", before);
    tf.env().set("TENSORLIKE_CHECK_SHAPE_CONSISTENCY", before2);
  }
});
