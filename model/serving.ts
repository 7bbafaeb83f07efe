/**
 * A generator ready to serve images: loaded from its checkpoint, then given the inference engine that the
 * runtime and the active backend allow (the project's own WebGPU pipelines where they apply and pass their
 * self-check, else the tfjs layers). Loading itself only loads (model/checkpoint/checkpoint.ts), so `convert`
 * and the training tools never pay for the GPU self-check.
 *
 * @module
 */
import { type Loaded, loadGenerator } from "./checkpoint/checkpoint.ts";
import type { Generator } from "./networks/generator.ts";
import type { Runtime } from "./runtime.ts";
import { type AcceleratorStatus, useWebGpuSynthesis } from "./webgpu/accelerator.ts";

/**
 * Choose how `generator` runs inference under `runtime`: the own WebGPU pipelines when the webgpu backend is
 * active, the runtime's `SGAN_WEBGPU_SYNTHESIS` allows them and they take this network (after a self-check
 * against the tfjs layers), else the tfjs layers. A failed self-check keeps the tfjs layers and is worth a
 * warning naming `source` (printed through `warn`).
 */
export async function inferenceEngine(
  generator: Generator,
  runtime: Pick<Runtime, "webgpu">,
  source = "generator",
  warn: (message: string) => void = console.error,
): Promise<AcceleratorStatus> {
  const status = await useWebGpuSynthesis(generator, runtime.webgpu);
  if (status.selfCheckFailed) warn(`warning: ${source}: ${status.reason}`);
  return status;
}

/** {@link loadGenerator}, then {@link inferenceEngine}: a generator to generate images with. */
export async function loadGeneratorForInference(
  file: string,
  runtime: Pick<Runtime, "webgpu">,
  extraFiles: string[] = [],
): Promise<Loaded<Generator>> {
  const loaded = await loadGenerator(file, extraFiles);
  try {
    await inferenceEngine(loaded.network, runtime, file);
  } catch (e) {
    loaded.network.dispose();
    throw e;
  }
  return loaded;
}
