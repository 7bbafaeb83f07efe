/**
 * The projection worker: `deno run -A server/projection/worker.ts DIR` projects the upload in DIR (as
 * `request.json` describes it) and prints one JSON event per line on stdout, as `deno task train --events`
 * does for training jobs. The server runs it as its own process (see `jobs.ts`), so a projection never
 * blocks generation and a server restart can tell a finished projection from one that was cut short.
 *
 * It projects the target the server has already decoded and resampled (`target.json`, `target.raw`: see
 * `target_file.ts`), so the upload is decoded once, by the server, which refused it if it could not be used.
 *
 * Events: `{type: "target", description}`, `{type: "progress", step, steps, learning_rate, losses}` after every
 * step, `{type: "preview", step, file}` when a preview PNG has been written (`previews/step-N.png`, atomically),
 * `{type: "done", psnr_db, final_losses, seconds, files}` once `result/` holds w.json, the reconstruction(s)
 * and report.json.
 *
 * @module
 */
import { basename, join } from "node:path";
import { initBackend } from "../../model/backend/select.ts";
import { processRuntime } from "../../model/runtime.ts";
import { loadDiscriminator, loadGenerator } from "../../model/checkpoint/checkpoint.ts";
import { writeFileAtomic } from "../../model/files.ts";
import { encodePng } from "../../model/images.ts";
import { LOSS_PRESETS, type ProjectionLossName } from "../../model/projection/losses.ts";
import { writeProjection } from "../../model/projection/outputs.ts";
import { project } from "../../model/projection/project.ts";
import { targetTensor } from "../../model/projection/target.ts";
import { readTargetFiles } from "./target_file.ts";

/** What the server asks for (`DIR/request.json`). */
export interface ProjectionWorkerRequest {
  /** The uploaded file's name (for report.json; its pixels are DIR/target.raw). */
  uploadName: string;
  checkpoint: string;
  backend: string;
  steps: number;
  seed: number;
  wPlus: boolean;
  loss: ProjectionLossName;
  /** The discriminator checkpoint, for a loss that uses D's features (the route found it beside the model). */
  discriminator?: string;
  /** Mapped samples for the W spread (projector.py: 10,000). */
  wAvgSamples?: number;
  /** The target's class (label index), for a conditional generator. */
  label?: number;
  previewEvery: number;
}

/** One line of the worker's stdout. */
export type ProjectionWorkerEvent =
  | { type: "target"; description: string }
  | { type: "progress"; step: number; steps: number; learning_rate: number; losses: Record<string, number> }
  | { type: "preview"; step: number; file: string }
  | {
    type: "done";
    psnr_db: number;
    final_losses: Record<string, number>;
    seconds: number;
    files: string[];
  };

function emit(event: ProjectionWorkerEvent): void {
  console.log(JSON.stringify(event));
}

async function main(dir: string): Promise<number> {
  const request = JSON.parse(await Deno.readTextFile(join(dir, "request.json"))) as ProjectionWorkerRequest;
  // The entry point of its own process: its runtime is the environment the server gave it.
  await initBackend(processRuntime({ backend: request.backend }), { quiet: true });
  const { network: G } = await loadGenerator(request.checkpoint);
  const D = request.discriminator ? (await loadDiscriminator(request.discriminator)).network : undefined;
  const target = await readTargetFiles(dir, {
    resolution: G.options.resolution,
    channels: G.options.num_channels,
  });
  emit({ type: "target", description: target.description });

  const previews = join(dir, "previews");
  await Deno.mkdir(previews, { recursive: true });
  const targetImages = targetTensor(target.raster);
  const loss = LOSS_PRESETS[request.loss];
  let result;
  try {
    result = await project(G, targetImages, {
      steps: request.steps,
      seed: request.seed,
      wPlus: request.wPlus,
      loss,
      previewEvery: request.previewEvery,
      ...(request.wAvgSamples ? { wAvgSamples: request.wAvgSamples } : {}),
      ...(request.label !== undefined ? { label: request.label } : {}),
    }, async (p) => {
      emit({
        type: "progress",
        step: p.step,
        steps: p.steps,
        learning_rate: p.learningRate,
        losses: p.losses,
      });
      if (p.preview) {
        const file = `step-${p.step}.png`;
        await writeFileAtomic(join(previews, file), await encodePng(p.preview));
        emit({ type: "preview", step: p.step, file });
      }
    }, D);
  } finally {
    targetImages.dispose();
  }
  const written = await writeProjection(join(dir, "result"), target, result, {
    image: request.uploadName,
    checkpoint: request.checkpoint,
    backend: request.backend,
    loss: request.loss,
    loss_weights: loss,
    discriminator: request.discriminator ? basename(request.discriminator) : null,
    seed: request.seed,
  });
  result.reconstruction.dispose();
  emit({
    type: "done",
    psnr_db: written.psnr,
    final_losses: result.finalLosses,
    seconds: result.seconds,
    files: written.files,
  });
  G.dispose();
  D?.dispose();
  return 0;
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir) {
    console.error("usage: deno run -A server/projection/worker.ts DIR");
    Deno.exit(64);
  }
  try {
    Deno.exit(await main(dir));
  } catch (error) {
    console.error(`projection failed: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
