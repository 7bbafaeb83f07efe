/**
 * `deno task project --image FILE [--steps N] [--class C] [--checkpoint G] [--discriminator D] [--wplus]
 *   [--noise-reg] [--loss l2|l1|laplacian|mix|mix+d] [--gsd M] [--seed S] [--backend B] --out DIR`
 *
 * Projects a real tile (PNG, JPEG or GeoTIFF) into the model's W space (model/projection) and writes into DIR:
 * w.json (the w, or W+), reconstruction.png (+ reconstruction.tif at the same place for a GeoTIFF target),
 * target.png (the target as the model saw it) and report.json; one line on stdout. Every flag and the target
 * are checked before anything is written.
 */
import cliProgress from "cli-progress";
import { initBackend } from "../backend/select.ts";
import { processRuntime } from "../runtime.ts";
import {
  classNamesFromMetadata,
  discriminatorFileOf,
  loadDiscriminator,
  loadGenerator,
} from "../checkpoint/checkpoint.ts";
import { DEFAULT_MODEL } from "../pretrained/registry.ts";
import {
  defaultProjectionLoss,
  LOSS_PRESETS,
  PROJECTION_LOSS_NAMES,
  projectionLossSchema,
} from "../projection/losses.ts";
import { writeProjection } from "../projection/outputs.ts";
import { project, PROJECTION_DEFAULTS } from "../projection/project.ts";
import { loadTarget, TargetError, targetTensor } from "../projection/target.ts";
import { integerFlag, numberFlag, parseFlags, runCommand, UsageError } from "./common.ts";

const USAGE =
  "usage: deno task project --image FILE [--steps 500] [--class C] [--checkpoint G] [--discriminator D] " +
  "[--wplus] [--noise-reg] [--loss " + PROJECTION_LOSS_NAMES.join("|") +
  "] [--gsd M_PER_PX] [--seed 0] " +
  "[--backend auto|tensorflow|webgpu|wasm|cpu] --out DIR";

await runCommand(async () => {
  const { values } = parseFlags(Deno.args, {
    image: { type: "string" },
    steps: { type: "string" },
    class: { type: "string" },
    checkpoint: { type: "string" },
    discriminator: { type: "string" },
    wplus: { type: "boolean" },
    "noise-reg": { type: "boolean" },
    loss: { type: "string" },
    gsd: { type: "string" },
    seed: { type: "string" },
    backend: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.image) throw new UsageError(`--image is required\n${USAGE}`);
  if (!values.out) throw new UsageError(`--out is required\n${USAGE}`);
  const steps = integerFlag("steps", values.steps, 1, 100_000) ?? PROJECTION_DEFAULTS.steps;
  const seed = integerFlag("seed", values.seed, 0, 0xffffffff) ?? 0;
  const sourceGsdM = numberFlag("gsd", values.gsd);
  if (sourceGsdM !== undefined && !(sourceGsdM > 0)) {
    throw new UsageError(`--gsd must be a positive ground resolution in m/px, got '${values.gsd}'`);
  }
  const checkpoint = values.checkpoint ?? DEFAULT_MODEL.file;
  // Without --discriminator, the model's own beside its generator (NAME.discriminator.safetensors), if it ships one.
  const beside = discriminatorFileOf(checkpoint);
  const discriminatorFile = values.discriminator ?? (await isFile(beside) ? beside : undefined);
  const parsedLoss = projectionLossSchema.safeParse(
    values.loss ?? defaultProjectionLoss(!!discriminatorFile),
  );
  if (!parsedLoss.success) {
    throw new UsageError(`--loss ${parsedLoss.error.issues[0].message}, got '${values.loss}'`);
  }
  const lossName = parsedLoss.data;
  const loss = LOSS_PRESETS[lossName];
  if (loss.discriminator && !discriminatorFile) {
    throw new UsageError(
      `--loss ${lossName} needs --discriminator FILE: ${checkpoint} has no ${
        beside.split("/").pop()
      } beside it`,
    );
  }

  const runtime = processRuntime({ backend: values.backend });
  const backend = await initBackend(runtime);
  const { network: G, metadata } = await loadGenerator(checkpoint);
  const D = loss.discriminator ? (await loadDiscriminator(discriminatorFile!)).network : undefined;
  if (
    D && (D.options.resolution !== G.options.resolution || D.options.num_channels !== G.options.num_channels)
  ) {
    throw new UsageError(
      `--discriminator ${discriminatorFile} is for ${D.options.resolution} px, ${D.options.num_channels}-channel ` +
        `images; the generator makes ${G.options.resolution} px, ${G.options.num_channels}-channel ones`,
    );
  }
  // A conditional model projects a tile of a named class: it starts at that class's centre of W.
  const classes = classNamesFromMetadata(metadata, G.classCount, checkpoint);
  let label: number | undefined;
  if (G.classCount > 0) {
    if (values.class === undefined) {
      throw new UsageError(
        `${checkpoint} is conditional: give the tile's class with --class (${classes.join(", ")})`,
      );
    }
    label = classes.indexOf(values.class);
    if (label < 0) {
      throw new UsageError(`--class must be one of ${classes.join(", ")}, got '${values.class}'`);
    }
  } else if (values.class !== undefined) {
    throw new UsageError(`--class: ${checkpoint} is unconditional; it has no classes`);
  }
  const gsd = Number(metadata.gsd_m);
  let target;
  try {
    target = await loadTarget(values.image, {
      resolution: G.options.resolution,
      channels: G.options.num_channels,
      modelGsdM: gsd > 0 ? gsd : undefined,
      sourceGsdM,
    });
  } catch (error) {
    if (error instanceof TargetError) throw new UsageError(error.message);
    throw error;
  }
  console.error(`target: ${target.description}`);

  const tty = Deno.stderr.isTerminal();
  const bar = tty
    ? new cliProgress.SingleBar({
      format: "projecting |{bar}| {value}/{total} steps · loss {loss} · lr {lr} · ETA {eta_formatted}",
      hideCursor: true,
      clearOnComplete: true,
    }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(steps, 0, { loss: "-", lr: "-" });
  const targetImages = targetTensor(target.raster);
  let result;
  try {
    result = await project(
      G,
      targetImages,
      {
        steps,
        seed,
        loss,
        wPlus: values.wplus ?? false,
        optimizeNoise: values["noise-reg"] ?? false,
        label,
      },
      (p) => bar?.update(p.step, { loss: p.losses.total.toPrecision(4), lr: p.learningRate.toPrecision(3) }),
      D,
    );
  } finally {
    bar?.stop();
    targetImages.dispose();
  }
  const written = await writeProjection(values.out, target, result, {
    image: values.image,
    checkpoint,
    discriminator: D ? discriminatorFile! : null,
    backend: backend.name,
    loss: lossName,
    loss_weights: loss,
    noise_reg: values["noise-reg"] ?? false,
    seed,
    class: values.class ?? null,
  });
  result.reconstruction.dispose();
  const losses = Object.entries(result.finalLosses).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(", ");
  console.log(
    `projected ${values.image} (${target.description}): ${steps} steps in ${
      result.seconds.toFixed(1)
    } s on ` +
      `${backend.name}, PSNR ${written.psnr.toFixed(2)} dB, ${losses} → ${values.out}/ (${
        written.files.join(", ")
      })`,
  );
  G.dispose();
  D?.dispose();
});

/** Whether `path` is a file (false when it does not exist). */
async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
