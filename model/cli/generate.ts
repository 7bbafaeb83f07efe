/**
 * `deno task generate --checkpoint FILE --seeds 730,904 --psi 0.7 [--cutoff 8] [--noise const|random|none]
 *   [--depth D] [--backend B] [--workers auto|N] --out DIR`
 *
 * Writes DIR/seed0730.png, ... (8-bit, StyleGAN's rounding), or with `--format geotiff` DIR/seed0730.tif
 * (pixel size of the output depth; metres for elevation models, a palette for land cover) plus a PNG
 * preview. Every argument is checked and the model loaded before anything is written; each file is
 * written atomically. PNG tiles of more than one batch are synthesized on worker processes, one per core on
 * the CPU backends (`--workers`, see model/pool); `--workers 0` keeps everything in this process.
 */
import { initBackend } from "../backend/select.ts";
import { processRuntime, type Runtime } from "../runtime.ts";
import { loadGeneratorForInference } from "../serving.ts";
import { classNamesOf } from "../checkpoint/checkpoint.ts";
import { randomClassOf } from "../networks/labels.ts";
import { generateImages, generateRasters, latentBatch, validateTileRequest } from "../generate.ts";
import { writeGeneratedTiles } from "../geo/outputs.ts";
import { normalizationOf } from "../geo/normalization.ts";
import { encodePng, type Raster8 } from "../images.ts";
import type { Generator } from "../networks/generator.ts";
import { fileFingerprint, SynthesisPool } from "../pool/synthesis_pool.ts";
import { NOISE_MODES, type NoiseMode } from "../layers/noise_layer.ts";
import { DEFAULT_MODEL } from "../pretrained/registry.ts";
import { parseSeeds } from "../seeds.ts";
import { groundResolutionAt } from "../scale.ts";
import {
  integerFlag,
  numberFlag,
  parseFlags,
  runCommand,
  UsageError,
  workerCount,
  workersFlag,
} from "./common.ts";
import { writeFileAtomic } from "../files.ts";

const USAGE =
  "usage: deno task generate [--checkpoint FILE] --seeds 730,904|0-99 [--class NAME|random] [--psi 0.7] [--cutoff 8] " +
  "[--noise const|random|none] [--depth D] [--batch 8] [--backend auto|tensorflow|webgpu|wasm|cpu] " +
  "[--format png|geotiff] [--origin X,Y --epsg N] [--workers auto|N] --out DIR";

await runCommand(async () => {
  const { values } = parseFlags(Deno.args, {
    checkpoint: { type: "string" },
    seeds: { type: "string" },
    class: { type: "string" },
    psi: { type: "string" },
    cutoff: { type: "string" },
    noise: { type: "string" },
    depth: { type: "string" },
    batch: { type: "string" },
    backend: { type: "string" },
    out: { type: "string" },
    format: { type: "string" },
    origin: { type: "string" },
    epsg: { type: "string" },
    workers: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.seeds) throw new UsageError(`--seeds is required\n${USAGE}`);
  if (!values.out) throw new UsageError(`--out is required\n${USAGE}`);
  let seeds: number[];
  try {
    seeds = parseSeeds(values.seeds);
  } catch (e) {
    throw new UsageError(`--seeds: ${(e as Error).message}`);
  }
  const psi = numberFlag("psi", values.psi, 1)!;
  const noise = (values.noise ?? "const") as NoiseMode;
  if (!NOISE_MODES.includes(noise)) {
    throw new UsageError(`--noise must be one of ${NOISE_MODES.join(", ")}, got '${values.noise}'`);
  }
  const batch = integerFlag("batch", values.batch, 1, 256) ?? 8;
  const format = values.format ?? "png";
  if (format !== "png" && format !== "geotiff") {
    throw new UsageError(`--format must be png or geotiff, got '${format}'`);
  }
  const origin = values.origin?.split(",").map(Number);
  if (origin && (origin.length !== 2 || !origin.every(Number.isFinite))) {
    throw new UsageError(
      `--origin must be two numbers X,Y (map coordinates of the upper-left corner), got '${values.origin}'`,
    );
  }
  const epsg = integerFlag("epsg", values.epsg, 1024, 999999);
  const workers = workersFlag(values.workers);
  const runtime = processRuntime({ backend: values.backend });
  const backend = await initBackend(runtime);
  const checkpoint = values.checkpoint ?? DEFAULT_MODEL.file;
  const { network: G, metadata } = await loadGeneratorForInference(checkpoint, runtime);
  const cutoff = integerFlag("cutoff", values.cutoff, 0, G.numLayers);
  const depth = integerFlag("depth", values.depth, 0, G.depthCount - 1);
  const labels = classLabels(G, metadata, checkpoint, values.class, seeds);
  const request = { seeds, psi, cutoff, noise, depth, labels };
  try {
    validateTileRequest(G, request);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }

  const started = performance.now();
  const names = seeds.map((seed) => `seed${String(seed).padStart(4, "0")}`);
  let width: number;
  let where = backend.name;
  if (format === "geotiff") {
    const gsdM = Number(metadata.gsd_m);
    if (!(gsdM > 0)) {
      throw new UsageError(`${checkpoint} records no ground sample distance (gsd_m); GeoTIFF needs one`);
    }
    const normalization = normalizationOf(metadata, G.options.num_channels, checkpoint);
    const images = generateImages(G, request);
    try {
      width = images.shape[2];
      await writeGeneratedTiles(images, names, normalization, {
        resolution: G.options.resolution,
        gsdM,
        depth,
        origin: origin as [number, number] | undefined,
        crs: epsg ? { epsg } : undefined,
      }, values.out);
    } finally {
      images.dispose();
    }
  } else {
    const processes = seeds.length <= batch ? 0 : workerCount(workers, backend.name);
    const rasters = processes > 0
      ? await rastersOnPool(G, checkpoint, request, batch, processes, runtime, backend.name)
      : await generateRasters(G, request, batch);
    if (processes > 0) where += `, ${processes} worker processes`;
    width = rasters[0].width;
    await Deno.mkdir(values.out, { recursive: true });
    for (let i = 0; i < seeds.length; i++) {
      await writeFileAtomic(`${values.out}/${names[i]}.png`, await encodePng(rasters[i]));
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const d = depth ?? G.depthCount - 1;
  const gsd = Number(metadata.gsd_m);
  const scale = Number.isFinite(gsd) && gsd > 0
    ? `, ${groundResolutionAt(d, G.options.resolution, gsd).toPrecision(3)} m/px`
    : "";
  console.log(
    `wrote ${seeds.length} tile(s) of ${width} px${scale} to ${values.out} ` +
      `(${(seeds.length / seconds).toFixed(1)} img/s on ${where})`,
  );
  G.dispose();
});

/** The request's tiles, `batch` seeds per request to `workers` synthesis processes (mapping stays here). */
async function rastersOnPool(
  G: Generator,
  checkpoint: string,
  request: {
    seeds: number[];
    psi: number;
    cutoff?: number;
    noise: NoiseMode;
    depth?: number;
    labels?: number[];
  },
  batch: number,
  workers: number,
  runtime: Runtime,
  backend: string,
): Promise<Raster8[]> {
  const model = { file: checkpoint, fingerprint: await fileFingerprint(checkpoint) };
  const pool = await SynthesisPool.start({ workers, backend, runtime });
  try {
    const chunks: Promise<Raster8[]>[] = [];
    for (let i = 0; i < request.seeds.length; i += batch) {
      const z = latentBatch(G, request.seeds.slice(i, i + batch));
      const w = G.mapping(z, request.psi, request.cutoff, request.labels?.slice(i, i + batch));
      const values = await w.data() as Float32Array;
      const shape = w.shape;
      z.dispose();
      w.dispose();
      chunks.push(pool.synthesize(model, values, shape, {
        depth: request.depth ?? G.depthCount - 1,
        noise: request.noise,
      }));
    }
    return (await Promise.all(chunks)).flat();
  } finally {
    await pool.close();
  }
}

/**
 * One label per seed from `--class` (a class name, or random: drawn from each seed), for a conditional model;
 * undefined for an unconditional one, where `--class` is a usage error.
 */
function classLabels(
  G: Generator,
  metadata: Record<string, string>,
  checkpoint: string,
  name: string | undefined,
  seeds: number[],
): number[] | undefined {
  const classes = classNamesOf({ network: G, metadata, inferred: false }, checkpoint);
  if (classes.length === 0) {
    if (name !== undefined) {
      throw new UsageError(`--class: ${checkpoint} is unconditional: it has no classes`);
    }
    return undefined;
  }
  if (name === undefined || name === "random") {
    return seeds.map((seed) => randomClassOf(seed, classes.length));
  }
  const index = classes.indexOf(name);
  if (index < 0) {
    throw new UsageError(`--class: ${checkpoint} has no class '${name}' (${classes.join(", ")}, random)`);
  }
  return seeds.map(() => index);
}
