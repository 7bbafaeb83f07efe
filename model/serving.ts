/**
 * A generator ready to serve images: loaded from its checkpoint, then given the inference engine the active
 * backend allows (the project's own WebGPU pipelines where they apply and pass their self-check, else the
 * tfjs layers). Loading itself only loads (model/checkpoint/checkpoint.ts), so `convert` and the training
 * tools never pay for the GPU self-check.
 *
 * @module
 */
import { type Loaded, loadGenerator } from "./checkpoint/checkpoint.ts";
import type { Generator } from "./networks/generator.ts";
import { type AcceleratorStatus, useWebGpuSynthesis } from "./webgpu/accelerator.ts";

/**
 * Choose how `generator` runs inference: the own WebGPU pipelines when the webgpu backend is active and they
 * take this network, else the tfjs layers. A failed self-check keeps the tfjs layers and is worth a warning
 * naming `source`.
 */
export async function chooseInferenceEngine(
  generator: Generator,
  source: string,
): Promise<AcceleratorStatus> {
  const status = await useWebGpuSynthesis(generator);
  if (status.selfCheckFailed) console.error(`warning: ${source}: ${status.reason}`);
  return status;
}

/** {@link loadGenerator}, then {@link chooseInferenceEngine}: a generator to generate images with. */
export async function loadGeneratorForInference(
  file: string,
  extraFiles: string[] = [],
): Promise<Loaded<Generator>> {
  const loaded = await loadGenerator(file, extraFiles);
  try {
    await chooseInferenceEngine(loaded.network, file);
  } catch (e) {
    loaded.network.dispose();
    throw e;
  }
  return loaded;
}
