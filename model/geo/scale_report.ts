/**
 * The depth ↔ pixels ↔ metres per pixel ↔ style layers ↔ feature size table of a checkpoint, computed
 * from its header (resolution from the generator config, ground sample distance from `gsd_m`) with
 * model/scale.ts: gsd(depth) = gsd_full · 2^(max_depth − depth). Never typed in.
 *
 * @module
 */
import { readSafetensors } from "../checkpoint/safetensors.ts";
import { CONFIG_KEY } from "../checkpoint/checkpoint.ts";
import { maxDepthOf, type ScaleRow, scaleTable } from "../scale.ts";
import { NORMALIZATION_KEY, parseNormalization } from "./normalization.ts";

/** What a checkpoint says about scale. */
export interface CheckpointScale {
  file: string;
  /** The model's name (header `name`), when it has one. */
  name: string | null;
  resolution: number;
  channels: number;
  /** The data kind (rgb, multiband, elevation, landcover) from the normalization, else rgb/multiband by channels. */
  kind: string;
  /** Full-resolution ground sample distance, m/px; null when the checkpoint has none and none was given. */
  gsdM: number | null;
  /** Where gsdM came from. */
  gsdFrom: "checkpoint" | "override" | null;
  /** One row per depth; null without a ground sample distance. */
  rows: ScaleRow[] | null;
}

/**
 * Read the scale of a checkpoint.
 * @param gsdOverride use this ground sample distance (m/px) instead of the checkpoint's.
 * @throws CheckpointError naming the file when it cannot be read; Error when its header has no resolution.
 */
export async function checkpointScale(file: string, gsdOverride?: number): Promise<CheckpointScale> {
  const { metadata } = await readSafetensors(file);
  let config: { resolution?: number; num_channels?: number } = {};
  try {
    config = JSON.parse(metadata[CONFIG_KEY] ?? "{}");
  } catch (error) {
    throw new Error(
      `${file}: header metadata '${CONFIG_KEY}' is not valid JSON (${(error as Error).message})`,
    );
  }
  const resolution = Number(config.resolution);
  if (!Number.isInteger(resolution)) {
    throw new Error(
      `${file}: the header has no generator resolution (metadata '${CONFIG_KEY}'); is it a generator?`,
    );
  }
  maxDepthOf(resolution); // validates
  const channels = Number(config.num_channels ?? 3);
  const kind = metadata[NORMALIZATION_KEY]
    ? parseNormalization(metadata[NORMALIZATION_KEY], file).kind
    : channels === 3
    ? "rgb"
    : "multiband";
  const stored = Number(metadata.gsd_m);
  const gsdM = gsdOverride ?? (Number.isFinite(stored) && stored > 0 ? stored : null);
  return {
    file,
    name: metadata.name ?? null,
    resolution,
    channels,
    kind,
    gsdM,
    gsdFrom: gsdOverride !== undefined ? "override" : gsdM !== null ? "checkpoint" : null,
    rows: gsdM === null ? null : scaleTable(resolution, gsdM),
  };
}

/** The table as aligned text for a terminal. */
export function formatScaleTable(scale: CheckpointScale): string {
  const { resolution, gsdM } = scale;
  const maxDepth = maxDepthOf(resolution);
  const title = `${scale.name ?? scale.file}: ${resolution} px, ${scale.channels} channel(s) (${scale.kind})`;
  if (gsdM === null || scale.rows === null) {
    return `${title}\nno ground sample distance in the checkpoint (metadata gsd_m); give one with --gsd M\n`;
  }
  const lines = [
    `${title}, ${metres(gsdM)}/px at full resolution` +
    (scale.gsdFrom === "override" ? " (--gsd)" : "") +
    `; every depth covers the same ${metres(resolution * gsdM)} tile`,
    `gsd(depth) = ${+gsdM.toPrecision(6)} m × 2^(${maxDepth} − depth)`,
    "",
  ];
  const header = ["depth", "px", "m/px", "style layers", "smallest feature", "what it holds"];
  const body = scale.rows.map((r) => [
    String(r.depth),
    String(r.pixels),
    metres(r.metres_per_pixel),
    `${r.style_layers[0]}–${r.style_layers[1]}`,
    metres(r.smallest_feature_m),
    r.holds,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : i <= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ");
  lines.push(line(header), ...body.map(line));
  return lines.join("\n") + "\n";
}

/** Three significant figures (the precision of a scale table: 19.5, 9.75, 4.88 m), km from 1000 m. */
function metres(m: number): string {
  return m >= 1000 ? `${+(m / 1000).toPrecision(3)} km` : `${+m.toPrecision(3)} m`;
}
