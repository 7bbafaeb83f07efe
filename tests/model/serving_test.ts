/**
 * Loading only loads: loadGenerator gives a generator on the tfjs layers whatever the backend, and
 * loadGeneratorForInference is where the own WebGPU pipelines are chosen (here forced on with
 * SGAN_WEBGPU_SYNTHESIS=1, since `auto` keeps them off on a software rasteriser).
 */
import assert from "node:assert/strict";
import { loadGenerator } from "../../model/checkpoint/checkpoint.ts";
import { loadGeneratorForInference } from "../../model/serving.ts";
import { ownSynthesisEngine } from "../../model/webgpu/accelerator.ts";
import { useBackend } from "../support/backends.ts";
import { REFERENCE_MODEL } from "../../model/pretrained/registry.ts";

Deno.test("loadGenerator only loads; loadGeneratorForInference chooses the WebGPU engine", async () => {
  await useBackend("webgpu");
  const before = Deno.env.get("SGAN_WEBGPU_SYNTHESIS");
  Deno.env.set("SGAN_WEBGPU_SYNTHESIS", "1");
  try {
    const { network: loaded } = await loadGenerator(REFERENCE_MODEL.file);
    assert.equal(loaded.gSynthesis.accelerator, undefined, "loadGenerator attached an engine");
    loaded.dispose();
    const { network: served } = await loadGeneratorForInference(REFERENCE_MODEL.file);
    assert.ok(ownSynthesisEngine(served), "the served generator runs on the own pipelines");
    served.dispose();
  } finally {
    if (before === undefined) Deno.env.delete("SGAN_WEBGPU_SYNTHESIS");
    else Deno.env.set("SGAN_WEBGPU_SYNTHESIS", before);
  }
});
