/**
 * How much each style range changes a destination tile in the served default model: for every run of whole
 * depths (layers 0-1, 0-3, 2-5, …), the mean absolute pixel change (0–255, over every pixel and channel)
 * between each destination and the same destination with that range taken from a source, through the real
 * `/mixing` route. The demo page's and README's default ranges are picked from these numbers: a range whose
 * change is small shows "almost no effect".
 *
 *   deno run -A bench/mixing_effect.ts [--src=0-7] [--dst=8-15] [--psi=0.7] [--model=NAME]
 *
 * Prints one line per range, largest change first, and the demo's own seeds separately.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Image } from "imagescript";
import { initBackend } from "../model/backend/select.ts";
import { processRuntime } from "../model/runtime.ts";
import { createApp } from "../server/app.ts";
import { createServices } from "../server/services.ts";

interface Effect {
  range: string;
  /** Mean |mixed − destination|, 0–255. */
  change: number;
  /** Mean |mixed − source|, 0–255: how far the cell still is from the source. */
  fromSource: number;
}

/** The mean absolute change of each range over the given seeds, from the app's `/mixing` PNGs. */
export async function mixingEffects(
  fetchFn: (url: string) => Promise<Response>,
  ranges: string[],
  query: { src: string; dst: string; srcPsi: number; dstPsi: number; model?: string },
): Promise<Effect[]> {
  const out: Effect[] = [];
  for (const range of ranges) {
    const params = new URLSearchParams({
      src: query.src,
      dst: query.dst,
      ranges: range,
      src_psi: String(query.srcPsi),
      dst_psi: String(query.dstPsi),
    });
    if (query.model) params.set("model", query.model);
    const response = await fetchFn(`/mixing?${params}`);
    if (!response.ok) throw new Error(`/mixing?${params}: ${response.status} ${await response.text()}`);
    const figure = await Image.decode(new Uint8Array(await response.arrayBuffer())) as Image;
    const cols = query.src.split(",").length + 1;
    const rows = query.dst.split(",").length + 1;
    const tile = figure.width / cols;
    // Figure layout: row 0 the sources (from column 1), column 0 the destinations (from row 1).
    const cell = (row: number, col: number) => figure.clone().crop(col * tile, row * tile, tile, tile).bitmap;
    let change = 0, fromSource = 0, n = 0;
    for (let r = 1; r < rows; r++) {
      const dst = cell(r, 0);
      for (let c = 1; c < cols; c++) {
        const src = cell(0, c), mixed = cell(r, c);
        for (let i = 0; i < mixed.length; i++) {
          if (i % 4 === 3) continue; // alpha
          change += Math.abs(mixed[i] - dst[i]);
          fromSource += Math.abs(mixed[i] - src[i]);
          n++;
        }
      }
    }
    out.push({ range, change: change / n, fromSource: fromSource / n });
  }
  return out;
}

/** Every run of whole depths of a model with `depths` depths, as layer ranges ("0-1", "0-3", …). */
export function depthRuns(depths: number): string[] {
  const out: string[] = [];
  for (let first = 0; first < depths; first++) {
    for (let last = first; last < depths; last++) out.push(`${2 * first}-${2 * last + 1}`);
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      src: { type: "string", default: "0-7" },
      dst: { type: "string", default: "8-15" },
      psi: { type: "string", default: "0.7" },
      model: { type: "string" },
    },
  });
  await initBackend(processRuntime({ backend: "wasm" }), { quiet: true });
  const services = await createServices({ font: null });
  const app = createApp(services);
  const fetchFn = (url: string) => Promise.resolve(app.fetch(new Request(`http://bench${url}`)));
  try {
    const list = await (await fetchFn("/api/models")).json();
    const name = values.model ?? list.default;
    const info = list.models.find((m: { name: string }) => m.name === name);
    const expand = (text: string) => {
      const [a, b] = text.split("-").map(Number);
      return b === undefined ? text : Array.from({ length: b - a + 1 }, (_, i) => a + i).join(",");
    };
    const psi = Number(values.psi);
    for (
      const [label, src, dst] of [
        [`seeds ${values.src} × ${values.dst}`, expand(values.src!), expand(values.dst!)],
        ["the demo's seeds 730,904 × 387,190", "730,904", "387,190"],
      ]
    ) {
      const effects = await mixingEffects(fetchFn, depthRuns(info.depths), {
        src,
        dst,
        srcPsi: psi,
        dstPsi: psi,
        model: name,
      });
      console.log(`model ${name} (${info.resolution} px, ${info.depths} depths), ψ ${psi}, ${label}:`);
      for (const e of effects.sort((a, b) => b.change - a.change)) {
        const row = info.scale[Number(e.range.split("-")[0]) >> 1];
        const fine = info.scale[Number(e.range.split("-")[1]) >> 1];
        console.log(
          `  layers ${e.range.padEnd(5)} (${row.metres_per_pixel.toFixed(1)}–${
            fine.metres_per_pixel.toFixed(1)
          } m/px)` +
            `  change ${e.change.toFixed(1).padStart(5)}  still from source ${
              e.fromSource.toFixed(1).padStart(5)
            }`,
        );
      }
    }
  } finally {
    await services.close();
    await services.models.dispose();
  }
}
