/**
 * `deno task scale [--checkpoint FILE] [--gsd M] [--json]`
 *
 * The depth ↔ pixels ↔ metres per pixel ↔ style layers ↔ feature size table of a generator checkpoint
 * (default: the embedded model), computed from its header: gsd(depth) = gsd_full · 2^(max_depth − depth).
 */
import { checkpointScale, formatScaleTable } from "../geo/scale_report.ts";
import { DEFAULT_MODEL } from "../pretrained/registry.ts";
import { numberFlag, parseFlags, runCommand, UsageError } from "./common.ts";

const USAGE = "usage: deno task scale [--checkpoint FILE] [--gsd METRES_PER_PIXEL] [--json]";

await runCommand(async () => {
  const { values } = parseFlags(Deno.args, {
    checkpoint: { type: "string" },
    gsd: { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const gsd = numberFlag("gsd", values.gsd);
  if (gsd !== undefined && !(gsd > 0)) {
    throw new UsageError(`--gsd must be a positive number of metres, got '${values.gsd}'`);
  }
  const scale = await checkpointScale(values.checkpoint ?? DEFAULT_MODEL.file, gsd);
  if (values.json) console.log(JSON.stringify(scale, null, 1));
  else console.log(formatScaleTable(scale).trimEnd());
});
