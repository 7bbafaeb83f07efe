/**
 * `deno task eval --real DIR|LIST [--checkpoint FILE | --fake DIR|LIST] ...`
 *
 * PGGAN's multi-scale sliced Wasserstein distance (model/metrics/swd.ts) per Laplacian pyramid level, with
 * the ground resolution of each level in metres, and the average. Two modes:
 * - generator vs reals: N tiles from seeds seed-start .. seed-start+N−1 (ψ as given, constant noise);
 * - set vs set (`--fake`): two image sets, optionally with a built-in transform of the second
 *   (`--fake-transform blur16`: box-average to 16 px, enlarge back bilinearly: the "blurry" reference).
 * Real and fake images are centre-cropped and box-downscaled to the compared size.
 */
import { initBackend } from "../backend/select.ts";
import { processRuntime } from "../runtime.ts";
import { loadGeneratorForInference } from "../serving.ts";
import { classNamesOf } from "../checkpoint/checkpoint.ts";
import { loadClassifier } from "../metrics/landuse.ts";
import { formatLandUseCheck, type LandUseCheck, landUseCheck } from "../metrics/landuse_check.ts";
import { generateRasters } from "../generate.ts";
import { DEFAULT_MODEL } from "../pretrained/registry.ts";
import { MAX_SEED } from "../seeds.ts";
import {
  FAKE_TRANSFORMS,
  firstImageSide,
  ImageSetError,
  listImageSet,
  readImageSet,
} from "../metrics/image_sets.ts";
import { formatSWDTable, swdReport } from "../metrics/report.ts";
import { type ClassifiedImages, formatPerClassTable, perClassSWD } from "../metrics/per_class.ts";
import { folderClasses } from "../data/labels.ts";
import { type ByteImage, projectDescriptors, SlicedWassersteinMetric, SWD_DEFAULTS } from "../metrics/swd.ts";
import { tfProjector } from "../metrics/tf_projection.ts";
import { integerFlag, numberFlag, parseFlags, runCommand, UsageError } from "./common.ts";

/** UC Merced's ground resolution (1 ft), assumed when neither the checkpoint nor --gsd gives one. */
const DEFAULT_GSD_M = 0.3048;

const USAGE =
  "usage: deno task eval --real DIR|LIST [--checkpoint FILE] [--n N] [--psi 1] [--seed-start 0] " +
  "[--batch 8] [--backend auto|tensorflow|webgpu|wasm|cpu] [--gsd M] [--swd-seed 0] [--classifier FILE] [--per-class] [--json]\n" +
  "       deno task eval --real DIR|LIST --fake DIR|LIST [--fake-transform blur16] [--n N] [--resolution R] " +
  "[--gsd M] [--per-class] [--json]\n" +
  "  DIR: every PNG/JPEG/TIFF below it; LIST: one path per line, relative to the list's folder. " +
  "--n: generated tiles (default: as many as reals) or, with --fake, that many fakes spread evenly over the set. " +
  "blur16: box-average to 16 px, enlarge back bilinearly. " +
  "--gsd: m/px at the compared resolution (default: the checkpoint's gsd_m; with --fake, 0.3048 m/px at the reals' own size). " +
  "--classifier: a land-use classifier (deno task landuse) that says which land use each generated tile looks like; " +
  "a conditional model's tiles are generated for its classes in turn. " +
  "--per-class: MS-SWD of each land use on its own, reals by their folder name, fakes by the class they were " +
  "generated for (a conditional model) or by their folder (--fake).";

const HELP_HINT = "run `deno task eval --help` for usage";

const EVAL_FLAGS = {
  checkpoint: { type: "string" },
  real: { type: "string" },
  fake: { type: "string" },
  "fake-transform": { type: "string" },
  n: { type: "string" },
  psi: { type: "string" },
  "seed-start": { type: "string" },
  resolution: { type: "string" },
  gsd: { type: "string" },
  "swd-seed": { type: "string" },
  batch: { type: "string" },
  backend: { type: "string" },
  classifier: { type: "string" },
  "per-class": { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Problems with the user's image sets are usage errors: one line, exit 2. */
async function userErrors<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof ImageSetError) throw new UsageError(e.message);
    throw e;
  }
}

/** Flags parsed with common.ts, its usage text folded into the one-line error this command promises. */
function parseEvalFlags(args: string[]) {
  try {
    return parseFlags(args, EVAL_FLAGS, HELP_HINT);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(e.message.replace(/\s*\n\s*/g, "; "));
    throw e;
  }
}

await runCommand(async () => {
  const { values } = parseEvalFlags(Deno.args);
  if (values.help) {
    console.log(USAGE);
    return;
  }

  // Arguments, all checked before any work.
  if (!values.real) throw new UsageError(`--real is required; ${HELP_HINT}`);
  if (values.fake && values.checkpoint) throw new UsageError("give either --checkpoint or --fake, not both");
  const setMode = values.fake !== undefined;
  const count = integerFlag("n", values.n, 1, 1_000_000);
  const psi = numberFlag("psi", values.psi, 1)!;
  const seedStart = integerFlag("seed-start", values["seed-start"], 0, MAX_SEED) ?? 0;
  const swdSeed = integerFlag("swd-seed", values["swd-seed"], 0, MAX_SEED) ?? SWD_DEFAULTS.seed;
  const batch = integerFlag("batch", values.batch, 1, 256) ?? 8;
  const requestedResolution = integerFlag(
    "resolution",
    values.resolution,
    SWD_DEFAULTS.min_resolution,
    65536,
  );
  if (requestedResolution !== undefined && !Number.isInteger(Math.log2(requestedResolution))) {
    throw new UsageError(`--resolution must be a power of two, got '${values.resolution}'`);
  }
  const gsdFlag = numberFlag("gsd", values.gsd);
  if (gsdFlag !== undefined && gsdFlag <= 0) {
    throw new UsageError(`--gsd must be positive metres per pixel, got '${values.gsd}'`);
  }
  const transformName = values["fake-transform"];
  const transform = transformName === undefined ? undefined : FAKE_TRANSFORMS[transformName];
  if (transformName !== undefined && !transform) {
    throw new UsageError(
      `--fake-transform must be one of ${Object.keys(FAKE_TRANSFORMS).join(", ")}, got '${transformName}'`,
    );
  }
  if (!setMode && values.resolution !== undefined) {
    throw new UsageError("--resolution is for --fake; a checkpoint has its own resolution");
  }
  if (setMode && (values.psi !== undefined || values["seed-start"] !== undefined)) {
    throw new UsageError("--psi and --seed-start are for --checkpoint (generated tiles), not --fake");
  }
  if (values.classifier && setMode) {
    throw new UsageError("--classifier is for --checkpoint (generated tiles)");
  }
  const notes: string[] = [];
  const started = performance.now();
  // Missing folders and empty lists fail here, before the backend and the model load.
  await userErrors(() => listImageSet(values.real!));
  if (setMode) await userErrors(() => listImageSet(values.fake!));
  const readSet = (source: string, size: number, n?: number) =>
    userErrors(() => readImageSet(source, size, n));

  // The backend runs the generator and the metric's projections (plain JS on the slow cpu backend).
  const runtime = processRuntime({ backend: values.backend });
  const backend = await initBackend(runtime, { quiet: true });
  const project = backend.name === "cpu" ? projectDescriptors : tfProjector;

  let resolution: number;
  let gsd: number;
  let channels: number;
  let reals: ByteImage[];
  let fakes: ByteImage[];
  let fakeSource: Record<string, unknown>;
  let landuse: LandUseCheck | undefined;
  /** The class of each fake, for --per-class. */
  let fakeClasses: string[] | undefined;
  let realPaths: string[];
  if (setMode) {
    const side = await userErrors(() => firstImageSide(values.real!));
    resolution = requestedResolution ?? 2 ** Math.floor(Math.log2(side));
    if (requestedResolution === undefined && resolution !== side) {
      notes.push(
        `comparing at ${resolution} px (the largest power of two within the reals' ${side} px); set --resolution`,
      );
    }
    if (resolution < SWD_DEFAULTS.min_resolution) {
      throw new UsageError(
        `the real images are ${side} px; the metric needs at least ${SWD_DEFAULTS.min_resolution} px`,
      );
    }
    // Downscaling side → resolution coarsens the ground resolution by the same factor.
    gsd = gsdFlag ?? DEFAULT_GSD_M * side / resolution;
    if (gsdFlag === undefined) {
      const shown = +gsd.toPrecision(4);
      notes.push(
        `assuming the reals are ${DEFAULT_GSD_M} m/px at their ${side} px (UC Merced), so ${shown} m/px ` +
          `at ${resolution} px; set --gsd (m/px at --resolution)`,
      );
    }
    const realSet = await readSet(values.real, resolution);
    reals = realSet.images;
    realPaths = realSet.paths;
    const fakeSet = await readSet(values.fake!, resolution, count);
    fakes = fakeSet.images;
    fakeClasses = folderClasses(fakeSet.paths);
    channels = 3;
    fakeSource = { source: values.fake, count: fakes.length, transform: transformName ?? null };
  } else {
    const checkpoint = values.checkpoint ?? DEFAULT_MODEL.file;
    const { network: G, metadata } = await loadGeneratorForInference(checkpoint, runtime);
    try {
      resolution = G.options.resolution;
      channels = G.options.num_channels;
      if (resolution < SWD_DEFAULTS.min_resolution) {
        throw new UsageError(
          `the model makes ${resolution} px tiles; the metric needs at least ${SWD_DEFAULTS.min_resolution} px`,
        );
      }
      const fromModel = Number(metadata.gsd_m);
      gsd = gsdFlag ?? (Number.isFinite(fromModel) && fromModel > 0 ? fromModel : DEFAULT_GSD_M);
      if (gsdFlag === undefined && !(Number.isFinite(fromModel) && fromModel > 0)) {
        notes.push(`the checkpoint has no gsd_m; assuming ${DEFAULT_GSD_M} m/px (UC Merced); set --gsd`);
      }
      const realSet = await readSet(values.real, resolution);
      reals = realSet.images;
      realPaths = realSet.paths;
      const n = count ?? reals.length;
      if (seedStart + n - 1 > MAX_SEED) {
        throw new UsageError(`seeds past ${MAX_SEED}: lower --seed-start or --n`);
      }
      const seeds = Array.from({ length: n }, (_, i) => seedStart + i);
      // A conditional model: its classes in turn, so every land use is generated about equally often.
      const classNames = classNamesOf({ network: G, metadata, inferred: false }, checkpoint);
      const labels = classNames.length ? seeds.map((_, i) => i % classNames.length) : undefined;
      if (values["per-class"] && !labels) {
        throw new UsageError(
          `--per-class needs a conditional model; ${checkpoint} is unconditional (compare sets with --fake instead)`,
        );
      }
      fakeClasses = labels?.map((l) => classNames[l]);
      fakes = await generateRasters(G, { seeds, psi, noise: "const", labels }, batch);
      if (values.classifier) {
        const classifier = await loadClassifier(values.classifier);
        try {
          landuse = landUseCheck(classifier, fakes, labels?.map((l) => classNames[l]));
        } catch (e) {
          if (e instanceof RangeError) {
            throw new UsageError(`--classifier ${values.classifier}: ${e.message}`);
          }
          throw e;
        } finally {
          classifier.dispose();
        }
      }
      fakeSource = {
        checkpoint,
        count: n,
        psi,
        seed_start: seedStart,
        noise: "const",
        transform: transformName ?? null,
      };
    } finally {
      G.dispose();
    }
  }
  if (transform) fakes = fakes.map(transform);
  if (reals[0].channels !== channels) {
    throw new UsageError(`the model makes ${channels}-channel tiles but the real images are RGB`);
  }

  // The metric.
  const metric = new SlicedWassersteinMetric(resolution, channels, { seed: swdSeed }, project);
  const swd = metric.distance(metric.describe(reals), metric.describe(fakes));
  const report = swdReport(swd, resolution, gsd, metric.options);
  let perClass;
  if (values["per-class"]) {
    const realSet: ClassifiedImages = { images: reals, classes: folderClasses(realPaths) };
    try {
      perClass = perClassSWD(metric, realSet, { images: fakes, classes: fakeClasses! }, gsd);
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(`--per-class: ${e.message}`);
      throw e;
    }
  }
  const seconds = (performance.now() - started) / 1000;

  if (values.json) {
    console.log(JSON.stringify({
      ...report,
      real: { source: values.real, count: reals.length },
      fake: fakeSource,
      ...(landuse ? { landuse } : {}),
      ...(perClass ? { per_class: perClass } : {}),
      backend: backend.name,
      seconds,
      notes,
    }));
    return;
  }
  for (const note of notes) console.error(`note: ${note}`);
  const what = setMode
    ? `${values.fake}${transformName ? ` (${transformName})` : ""}`
    : `${fakeSource.checkpoint}`;
  console.log(
    `SWD ${reals.length} real (${values.real}) vs ${fakes.length} fake (${what}) at ${resolution} px, ` +
      `${gsd} m/px; seed ${swdSeed}; ${seconds.toFixed(1)} s on ${backend.name}`,
  );
  console.log(formatSWDTable(report));
  if (perClass) console.log(`\nper class (SWD×1e3; n = real/fake):\n${formatPerClassTable(perClass)}`);
  if (landuse) console.log(formatLandUseCheck(landuse));
});
