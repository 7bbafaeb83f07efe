/**
 * `deno task generate --checkpoint FILE --seeds 730,904 --psi 0.7 [--cutoff 8] [--noise const|random|none]
 *   [--depth D] [--backend B] --out DIR`
 *
 * Writes DIR/seed0730.png, ... (8-bit, StyleGAN's rounding). Every argument is checked and the model
 * loaded before anything is written; each PNG is written atomically.
 */
import { initBackend, requestedBackend } from "../backend/select.ts";
import { loadGenerator } from "../checkpoint/checkpoint.ts";
import { generateRasters, validateTileRequest } from "../generate.ts";
import { encodePng } from "../images.ts";
import { NOISE_MODES, type NoiseMode } from "../layers/noise_layer.ts";
import { DEFAULT_MODEL } from "../pretrained/registry.ts";
import { parseSeeds } from "../seeds.ts";
import { groundResolutionAt } from "../scale.ts";
import { integerFlag, numberFlag, parseFlags, runCommand, UsageError } from "./common.ts";
import { writeFileAtomic } from "./files.ts";

const USAGE = "usage: deno task generate [--checkpoint FILE] --seeds 730,904|0-99 [--psi 0.7] [--cutoff 8] " +
  "[--noise const|random|none] [--depth D] [--batch 8] [--backend auto|tensorflow|webgpu|wasm|cpu] --out DIR";

await runCommand(async () => {
  const { values } = parseFlags(Deno.args, {
    checkpoint: { type: "string" },
    seeds: { type: "string" },
    psi: { type: "string" },
    cutoff: { type: "string" },
    noise: { type: "string" },
    depth: { type: "string" },
    batch: { type: "string" },
    backend: { type: "string" },
    out: { type: "string" },
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
  const backend = await initBackend(requestedBackend(values.backend));
  const checkpoint = values.checkpoint ?? DEFAULT_MODEL.file;
  const { network: G, metadata } = await loadGenerator(checkpoint);
  const cutoff = integerFlag("cutoff", values.cutoff, 0, G.numLayers);
  const depth = integerFlag("depth", values.depth, 0, G.depthCount - 1);
  const request = { seeds, psi, cutoff, noise, depth };
  try {
    validateTileRequest(G, request);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }

  const started = performance.now();
  const rasters = await generateRasters(G, request, batch);
  const seconds = (performance.now() - started) / 1000;
  await Deno.mkdir(values.out, { recursive: true });
  for (let i = 0; i < seeds.length; i++) {
    const name = `seed${String(seeds[i]).padStart(4, "0")}.png`;
    await writeFileAtomic(`${values.out}/${name}`, await encodePng(rasters[i]));
  }
  const d = depth ?? G.depthCount - 1;
  const gsd = Number(metadata.gsd_m);
  const scale = Number.isFinite(gsd) && gsd > 0
    ? `, ${groundResolutionAt(d, G.options.resolution, gsd).toPrecision(3)} m/px`
    : "";
  console.log(
    `wrote ${seeds.length} tile(s) of ${rasters[0].width} px${scale} to ${values.out} ` +
      `(${(seeds.length / seconds).toFixed(1)} img/s on ${backend.name})`,
  );
  G.dispose();
});
