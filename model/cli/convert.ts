/**
 * `deno task convert --in G.safetensors [--noise noise_const.safetensors] --gsd 0.3 --name NAME --out FILE`
 *
 * Import a StyleGAN.pytorch generator `state_dict` (saved with safetensors) into this project's
 * checkpoint format: architecture inferred from the shapes, constant noise maps merged, config and
 * ground sample distance written into the header. A checkpoint of this project keeps its own header
 * entries (kimg, training config, normalization) unless a flag replaces them: this is also how a
 * trained generator is packaged as an embedded model.
 */
import { initBackend } from "../backend/select.ts";
import { processRuntime } from "../runtime.ts";
import { loadGenerator, saveNetwork } from "../checkpoint/checkpoint.ts";
import { numberFlag, parseFlags, runCommand, UsageError } from "./common.ts";

const USAGE =
  "usage: deno task convert --in G.safetensors [--noise NOISE.safetensors] --gsd METRES --name NAME --out FILE [--description TEXT]";

await runCommand(async () => {
  const { values } = parseFlags(Deno.args, {
    in: { type: "string" },
    noise: { type: "string" },
    gsd: { type: "string" },
    name: { type: "string" },
    out: { type: "string" },
    description: { type: "string" },
    backend: { type: "string" },
  }, USAGE);
  if (!values.in || !values.out || !values.name) {
    throw new UsageError(`--in, --name and --out are required\n${USAGE}`);
  }
  const runtime = processRuntime({ backend: values.backend });
  await initBackend(runtime);
  const { network, metadata } = await loadGenerator(values.in, values.noise ? [values.noise] : []);
  const gsd = numberFlag("gsd", values.gsd) ?? (Number(metadata.gsd_m) || undefined);
  if (gsd === undefined || gsd <= 0) {
    throw new UsageError(
      `--gsd (metres per pixel at full resolution) must be a positive number; ${values.in} records none`,
    );
  }
  // A checkpoint of this project keeps its own header (kimg, training config, normalization) unless a
  // flag replaces an entry: this is how a trained generator is packaged as an embedded model.
  const { config: _config, network: _network, format: _format, ...kept } = metadata;
  await saveNetwork(values.out, network, {
    ...kept,
    name: values.name,
    gsd_m: String(gsd),
    kimg: kept.kimg ?? "0",
    description: values.description ?? kept.description ?? "",
    source: values.in.split("/").pop() ?? values.in,
  });
  console.log(
    `wrote ${values.out} (${network.options.resolution} px, ${network.params.countTrainable()} parameters)`,
  );
});
