/**
 * Loading only loads: loadGenerator gives a generator on the tfjs layers whatever the backend, and
 * loadGeneratorForInference (inferenceEngine) is where the own WebGPU pipelines are chosen, from the runtime
 * (here with SGAN_WEBGPU_SYNTHESIS=1, since `auto` keeps them off on a software rasteriser; =0 keeps the layers).
 */
import assert from "node:assert/strict";
import { loadGenerator } from "../../model/checkpoint/checkpoint.ts";
import { inferenceEngine, loadGeneratorForInference } from "../../model/serving.ts";
import { runtimeFromEnv } from "../../model/runtime.ts";
import { ownSynthesisEngine } from "../../model/webgpu/accelerator.ts";
import { useBackend } from "../support/backends.ts";
import { REFERENCE_MODEL } from "../../model/pretrained/registry.ts";

Deno.test("loadGenerator only loads; loadGeneratorForInference chooses the WebGPU engine", async () => {
  await useBackend("webgpu");
  const { network: loaded } = await loadGenerator(REFERENCE_MODEL.file);
  assert.equal(loaded.gSynthesis.accelerator, undefined, "loadGenerator attached an engine");
  const off = await inferenceEngine(loaded, runtimeFromEnv({ SGAN_WEBGPU_SYNTHESIS: "0" }));
  assert.deepEqual(off, { enabled: false, reason: "SGAN_WEBGPU_SYNTHESIS=0" });
  assert.equal(loaded.gSynthesis.accelerator, undefined, "SGAN_WEBGPU_SYNTHESIS=0 attached an engine");
  loaded.dispose();
  const runtime = runtimeFromEnv({ SGAN_WEBGPU_SYNTHESIS: "1" });
  const { network: served } = await loadGeneratorForInference(REFERENCE_MODEL.file, runtime);
  assert.ok(ownSynthesisEngine(served), "the served generator runs on the own pipelines");
  served.dispose();
});
