/// <reference lib="dom" />
/**
 * `<sgan-mixer src="730,904" dst="387,190" ranges="0-3,4-7" src-psi="-0.5" dst-psi="0.7">`: the
 * depth-mixing figure (first row the sources, first column the destinations, each cell the destination with
 * its row's style layers taken from the source), with inputs for seeds and ψ, a control per row for the
 * layer range labelled in style layers and in ground resolution, and downloads of the figure (PNG) and of its
 * settings (JSON) for a report's appendix. On a conditional model, `src-class` and `dst-class` pick the land use of
 * the sources and of the destinations (two menus offer the model's classes), so that a row can take, say, the
 * layout of a forest into the texture of a dense residential tile.
 *
 * @module
 */
import { css, html, LitElement, nothing, type PropertyValues, type TemplateResult } from "lit";
import { live } from "lit/directives/live.js";
import { styleMap } from "lit/directives/style-map.js";
import { Task, TaskStatus } from "@lit/task";
import {
  apiUrl,
  fetchImage,
  fetchJson,
  fetchServerLimits,
  problemField,
  type QueryValues,
  type ServerLimits,
} from "./api.ts";
import { absoluteUrl, safeFilename, saveBlob } from "./download.ts";
import { classSelectTemplate, RANDOM_CLASS } from "./class_select.ts";
import { FigureController, type FigureRequest, problemOf } from "./figure_controller.ts";
import { depthAlignedRanges, formatPsi, modelClasses, type ModelInfo, rangeLabel } from "./model_info.ts";
import { modelInfoTask } from "./model_task.ts";
import {
  compactList,
  fitRanges,
  formatLayers,
  listConverter,
  numericConverter,
  parseClassName,
  parseDepth,
  parseModelName,
  parsePsi,
  parseSeedList,
  parseStyleLayersHeader,
  parseView,
  resolveRange,
  resolveRanges,
  SettingError,
  settingLabel,
  splitRanges,
} from "./params.ts";
import { baseStyles, plateStyles } from "./styles.ts";
import {
  ERROR_ID,
  generatedMarker,
  invalidFor,
  placeholderTemplate,
  problemTemplate,
  statusTemplate,
  viewNote,
} from "./templates.ts";
import { SettingsChangeEvents } from "./change_events.ts";
import { whenSettled } from "./ready.ts";

/** Smallest tile side of the downloaded figure, so that its drawn labels are legible in a report. */
export const DOWNLOAD_TILE = 128;

/** The settings of an `<sgan-mixer>` (the `sgan-change` event's detail, and the core of the JSON download). */
export interface MixerSettings {
  widget: "sgan-mixer";
  api: string;
  model: string | null;
  src: string | null;
  dst: string | null;
  ranges: string | null;
  src_psi: number | string | null;
  dst_psi: number | string | null;
  depth: number | string | null;
  view: string | null;
  /** Land use of the sources (`src-class`), null for the server's default (random). */
  src_class: string | null;
  /** Land use of the destinations (`dst-class`), null for the server's default (random). */
  dst_class: string | null;
  /** The figure URL these settings ask for (null while a setting is invalid). */
  url: string | null;
}

interface MixerMeta {
  raw: boolean;
  src: number[];
  dst: number[];
  srcPsi: number;
  dstPsi: number;
  /** The range of each destination row, as written. */
  ranges: string[];
  srcClass: string | undefined;
  dstClass: string | undefined;
}

const SETTINGS = [
  "api",
  "model",
  "src",
  "dst",
  "ranges",
  "srcPsi",
  "dstPsi",
  "depth",
  "view",
  "srcClass",
  "dstClass",
] as const;

/** The depth-mixing figure with its controls. */
export class SganMixer extends LitElement {
  static override properties = {
    api: { type: String, reflect: true },
    src: { converter: listConverter, reflect: true },
    dst: { converter: listConverter, reflect: true },
    ranges: { converter: listConverter, reflect: true },
    srcPsi: { attribute: "src-psi", converter: numericConverter, reflect: true },
    dstPsi: { attribute: "dst-psi", converter: numericConverter, reflect: true },
    model: { type: String, reflect: true },
    depth: { converter: numericConverter, reflect: true },
    view: { type: String, reflect: true },
    srcClass: { attribute: "src-class", type: String, reflect: true },
    dstClass: { attribute: "dst-class", type: String, reflect: true },
    _saving: { state: true },
    _saveProblem: { state: true },
  };

  /** Server address (origin, optionally with a path prefix); unset: this page's origin. */
  declare api: string | undefined;
  /** Source seeds, the first row: whose styles are copied (required). */
  declare src: string | readonly number[] | undefined;
  /** Destination seeds, the first column: which receive them (required). */
  declare dst: string | readonly number[] | undefined;
  /** Style layers each destination row takes: one range per row or one for all, as layers or metres (required). */
  declare ranges: string | readonly string[] | undefined;
  /** Truncation ψ of the sources (default 1). */
  declare srcPsi: number | string | undefined;
  /** Truncation ψ of the destinations (default 1). */
  declare dstPsi: number | string | undefined;
  /** Model name (default: the server's default model). */
  declare model: string | undefined;
  /** Depth to render (0 = 4 px; default: full resolution): the tiles as seen at that depth's ground resolution. */
  declare depth: number | string | undefined;
  /** `ground` (default) or `raw`: each depth's own to_rgb head, for research (labelled as such). */
  declare view: string | undefined;
  /** Land use of the sources on a conditional model: one of its classes, or `random` (default: from each seed). */
  declare srcClass: string | undefined;
  /** Land use of the destinations on a conditional model: one of its classes, or `random` (the default). */
  declare dstClass: string | undefined;
  declare _saving: "png" | "json" | null;
  declare _saveProblem: unknown;

  static override styles = [
    baseStyles,
    plateStyles,
    css`
      fieldset {
        border: 1px solid var(--sgan-border-color, #8c959f);
        border-radius: var(--sgan-radius, 4px);
        padding: 0.4em 0.75em 0.6em;
        margin: 0;
        display: grid;
        gap: 0.4em;
        /* A fieldset is as wide as its widest option by default; on a phone it must fit the column. */
        min-inline-size: 0;
        max-width: 100%;
      }
      .field {
        min-width: 0;
        max-width: 100%;
      }
      input[type="number"] {
        width: 6em;
      }
      input[type="text"] {
        width: 12em;
        max-width: 100%;
      }
      select {
        width: 100%;
        max-width: 100%;
        text-overflow: ellipsis;
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5em;
        align-items: center;
      }
      @media print {
        fieldset {
          display: none;
        }
      }
    `,
  ];

  readonly #model = modelInfoTask(this, () => [this.api, this.model]);
  readonly #limits = new Task(this, {
    args: () => [this.api] as [string | undefined],
    task: async ([api], { signal }) => await fetchServerLimits(api, signal),
  });
  readonly #figure = new FigureController<MixerMeta>(this, () => this.#request());
  #changes = new SettingsChangeEvents(this, SETTINGS);

  /**
   * Resolves when the figure for the current settings is shown and decoded, or its error is (never rejects):
   * `await el.ready` before printing or taking a screenshot.
   */
  get ready(): Promise<void> {
    return whenSettled(this, () => [this.#figure.task, this.#model, this.#limits as unknown as Task]);
  }

  constructor() {
    super();
    this._saving = null;
    this._saveProblem = undefined;
  }

  /** The current settings, as JSON-ready data. */
  get settings(): MixerSettings {
    const text = (value: unknown) => (value === undefined || value === null ? null : listText(value));
    return {
      widget: "sgan-mixer",
      api: this.api ?? "",
      model: this.model ?? null,
      src: text(this.src),
      dst: text(this.dst),
      ranges: text(this.ranges),
      src_psi: this.srcPsi ?? null,
      dst_psi: this.dstPsi ?? null,
      depth: this.depth ?? null,
      view: this.view ?? null,
      src_class: this.srcClass ?? null,
      dst_class: this.dstClass ?? null,
      url: this.#request().url || null,
    };
  }

  override render(): TemplateResult {
    const problem = this.#figure.problem;
    return html`
      <div class="container" part="container">
        ${this.#renderSeedControls()} ${this.#renderRangeControls()}
        ${problem === undefined ? this.#renderFigure() : nothing}
        ${statusTemplate(this.#figure.loading)}
        ${problemTemplate(problem, () => this.#figure.retry())}
        ${this.#renderActions()}
      </div>
    `;
  }

  protected override updated(changed: PropertyValues<this>): void {
    this.#changes.updated(changed);
  }

  #renderSeedControls(): TemplateResult {
    const field = problemField(this.#figure.problem);
    return html`
      <div class="controls" part="controls">
        <div class="field">
          <label for="src" part="label">Source seeds (first row)</label>
          <input id="src" part="input" type="text" spellcheck="false" autocomplete="off"
            .value=${live(listText(this.src))} aria-describedby="seed-hint"
            aria-invalid=${invalidFor(field, "src")} aria-errormessage=${ERROR_ID}
            @change=${(e: Event) => (this.src = inputValue(e))}>
        </div>
        <div class="field">
          <label for="dst" part="label">Destination seeds (first column)</label>
          <input id="dst" part="input" type="text" spellcheck="false" autocomplete="off"
            .value=${live(listText(this.dst))} aria-describedby="seed-hint" @change=${this.#onDestinations}
            aria-invalid=${invalidFor(field, "dst")} aria-errormessage=${ERROR_ID}>
        </div>
        <div class="field">
          <label for="src-psi" part="label">Source ψ</label>
          <input id="src-psi" part="input" type="number" min="-2" max="2" step="0.1"
            .value=${live(String(this.srcPsi ?? 1))} @input=${(e: Event) => this.#onPsi(e, "srcPsi")}
            aria-invalid=${invalidFor(field, "src-psi", "src_psi")} aria-errormessage=${ERROR_ID}>
        </div>
        <div class="field">
          <label for="dst-psi" part="label">Destination ψ</label>
          <input id="dst-psi" part="input" type="number" min="-2" max="2" step="0.1"
            .value=${live(String(this.dstPsi ?? 1))} @input=${(e: Event) => this.#onPsi(e, "dstPsi")}
            aria-invalid=${invalidFor(field, "dst-psi", "dst_psi")} aria-errormessage=${ERROR_ID}>
        </div>
        ${this.#renderClassControls(field)}
        <p id="seed-hint"
          class="caption">Seeds: comma-separated, ranges as low-high (e.g. 730,904 or 0-3); Enter applies.</p>
      </div>
    `;
  }

  /** The two class menus, on a conditional model only. */
  #renderClassControls(field: string | null): TemplateResult {
    const classes = modelClasses(this.#model.value);
    return html`
      ${classSelectTemplate({
        id: "src-class",
        label: "Source class (first row)",
        classes,
        current: parseClassName(this.srcClass),
        invalid: invalidFor(field, "src-class", "src_class"),
        choose: (value) => (this.srcClass = value),
      })}
      ${classSelectTemplate({
        id: "dst-class",
        label: "Destination class (first column)",
        classes,
        current: parseClassName(this.dstClass),
        invalid: invalidFor(field, "dst-class", "dst_class"),
        choose: (value) => (this.dstClass = value),
      })}
    `;
  }

  #renderRangeControls(): TemplateResult {
    const info = this.#model.value;
    const field = problemField(this.#figure.problem);
    const items = tryOr(() => splitRanges(this.ranges), [] as string[]);
    // One menu per destination, but only for a destination list within the server's limit: "0-40" must not
    // draw 41 menus before the server refuses it (the error state says why instead).
    const dst = tryOr(() => parseSeedList(this.dst, "dst", this.#maxSeeds()), [] as number[]);
    const rows = Math.min(
      Math.max(dst.length, items.length === 1 ? 1 : items.length, 1),
      this.#maxSeeds(),
    );
    return html`
      <fieldset part="controls">
        <legend part="label">Style layers each destination takes from the sources</legend>
        ${Array.from({ length: rows }, (_, row) => {
          const current = items.length === 1 ? items[0] : items[row] ?? "";
          const who = dst[row] === undefined ? "" : ` · destination ${dst[row]}`;
          return html`
            <div class="field">
              <label for=${`range-${row}`} part="label">Row ${row + 1}${who}</label>
              <select id=${`range-${row}`} part="select" ?disabled=${!info}
                aria-invalid=${invalidFor(field, "ranges")} aria-errormessage=${ERROR_ID}
                @change=${(e: Event) => this.#onRange(row, rows, (e.target as HTMLSelectElement).value)}>
                ${rangeOptions(current, info)}
              </select>
            </div>
          `;
        })}
      </fieldset>
    `;
  }

  #renderFigure(): TemplateResult {
    const figure = this.#figure.figure;
    const info = this.#model.value;
    const meta = figure?.meta ?? this.#request().meta;
    const layers = parseStyleLayersHeader(figure?.headers.styleLayers ?? null);
    const grid = styleMap({
      "--columns": String(meta.src.length + 1),
      "--rows": String(meta.dst.length + 1),
    });
    const rowWords = meta.dst.map((_, row) => describeRow(meta.ranges[row], layers?.[row], info));
    const raw = meta.raw
      ? viewNote(figure?.headers.depth ?? tryOr(() => parseDepth(this.depth), undefined))
      : "";
    const alt =
      `Generated depth-mixing figure: sources ${meta.src.join(", ")} (first row, ψ ${formatPsi(meta.srcPsi)}${
        classWords(meta.srcClass, ", class ")
      }), ` +
      `destinations ${meta.dst.join(", ")} (first column, ψ ${formatPsi(meta.dstPsi)}${
        classWords(meta.dstClass, ", class ")
      }); ` +
      meta.dst.map((seed, row) => `row ${row + 1}, destination ${seed}, takes ${rowWords[row]}`).join("; ");
    return html`
      <figure part="figure" aria-busy=${this.#figure.loading ? "true" : "false"}>
        <div class="plate" style=${grid}>
          <div class="column-labels" aria-hidden="true">
            <span part="column-label"></span>
            ${meta.src.map((seed) =>
              html`<span part="column-label">source ${seed}<br><small>ψ ${formatPsi(meta.srcPsi)}${
                classWords(meta.srcClass, " · ")
              }</small></span>`
            )}
          </div>
          <div class="row-labels" aria-hidden="true">
            <span part="row-label">sources</span>
            ${meta.dst.map((seed, row) =>
              html`
                <span part="row-label"
                  class="row-label">destination ${seed} · ψ ${formatPsi(
                    meta.dstPsi,
                  )}${classWords(meta.dstClass, " · ")}<small>${rowWords[row]}</small></span>
              `
            )}
          </div>
          ${figure
            ? html`<img part="image" src=${figure.src} alt=${alt}>`
            : placeholderTemplate(this.#placeholderWords())} ${generatedMarker()}
        </div>
        <figcaption part="legend">
          Each cell is its row's destination with that row's style layers taken from its column's source: coarse
          layers carry the layout, fine layers the texture.
          ${raw ? html`<br><strong part="view-note">${raw}</strong>` : nothing}
        </figcaption>
      </figure>
    `;
  }

  #renderActions(): TemplateResult {
    const ready = this.#figure.figure !== undefined && this.#figure.problem === undefined;
    return html`
      <div class="actions" part="controls">
        <button id="save-png" type="button" part="button" ?disabled=${!ready || this._saving !== null}
          @click=${this.#savePng}>
          ${this._saving === "png" ? "Preparing PNG…" : "Download figure (PNG)"}
        </button>
        <button id="save-json" type="button" part="button" ?disabled=${!ready || this._saving !== null}
          @click=${this.#saveJson}>
          ${this._saving === "json" ? "Preparing JSON…" : "Download settings (JSON)"}
        </button>
      </div>
      ${problemTemplate(this._saveProblem, () => (this._saveProblem = undefined), "Dismiss")}
    `;
  }

  #onDestinations(event: Event): void {
    const value = inputValue(event);
    this.dst = value;
    // Keep one range per destination row when the rows change (a single range still applies to all).
    const rows = tryOr(() => parseSeedList(value).length, 0);
    const items = tryOr(() => splitRanges(this.ranges), null);
    if (rows > 0 && items) this.ranges = fitRanges(items, rows).join(",");
  }

  #onPsi(event: Event, key: "srcPsi" | "dstPsi"): void {
    const input = event.target as HTMLInputElement;
    // Half-typed numbers ("-", "0.") read as "" and wait; out-of-range ones are applied, and explained.
    if (input.value !== "") this[key] = Number(input.value);
  }

  #onRange(row: number, rows: number, value: string): void {
    const items = tryOr(() => splitRanges(this.ranges), [] as string[]);
    const perRow = items.length === 1 ? Array(rows).fill(items[0]) : fitRanges(items, rows);
    while (perRow.length < rows) perRow.push(value);
    perRow[row] = value;
    this.ranges = perRow.join(",");
  }

  async #savePng(): Promise<void> {
    await this.#save("png", async (request) => {
      const tile = Math.max(DOWNLOAD_TILE, this.#figure.figure?.headers.tilePixels ?? 0);
      const { blob } = await fetchImage(apiUrl(this.api, "/mixing", { ...request.query, labels: 1, tile }));
      saveBlob(blob, `${this.#fileStem(request.meta)}.png`);
    });
  }

  async #saveJson(): Promise<void> {
    await this.#save("json", async (request) => {
      const description = await fetchJson(apiUrl(this.api, "/mixing", { ...request.query, format: "json" }));
      const info = this.#model.value;
      const layers = parseStyleLayersHeader(this.#figure.figure?.headers.styleLayers ?? null);
      const settings = this.settings;
      const appendix = {
        ...settings,
        url: absoluteUrl(request.url),
        labelled_figure_url: absoluteUrl(apiUrl(this.api, "/mixing", { ...request.query, labels: 1 })),
        rows: request.meta.dst.map((seed, row) => ({
          row: row + 1,
          dst_seed: seed,
          range: request.meta.ranges[row],
          label: describeRow(request.meta.ranges[row], layers?.[row], info),
        })),
        server: description,
        generated: "Synthetic imagery made by a StyleGAN model, not photographs of real places.",
        saved_at: new Date().toISOString(),
      };
      const blob = new Blob([JSON.stringify(appendix, null, 2) + "\n"], { type: "application/json" });
      saveBlob(blob, `${this.#fileStem(request.meta)}.json`);
    });
  }

  async #save(kind: "png" | "json", work: (request: MixerRequest) => Promise<void>): Promise<void> {
    const request = this.#request();
    if (request.problem || !request.url) return;
    this._saving = kind;
    this._saveProblem = undefined;
    try {
      await work(request);
    } catch (e) {
      this._saveProblem = e;
    } finally {
      this._saving = null;
    }
  }

  #fileStem(meta: MixerMeta): string {
    const model = this.#model.value?.name ?? this.model ?? "sgan";
    const src = `src${meta.src.join(",")}${classWords(meta.srcClass, "-")}`;
    const dst = `dst${meta.dst.join(",")}${classWords(meta.dstClass, "-")}`;
    return safeFilename(`${model}-mixing-${src}-${dst}`);
  }

  /** The server's seeds-per-list limit (until it is known, the most any control list may hold). */
  #maxSeeds(): number {
    return this.#limitsValue()?.max_seeds ?? MAX_ROWS_BEFORE_LIMITS;
  }

  #limitsPending(): boolean {
    return this.#limits.status === TaskStatus.INITIAL || this.#limits.status === TaskStatus.PENDING;
  }

  #limitsValue(): ServerLimits | null {
    return this.#limits.status === TaskStatus.COMPLETE ? this.#limits.value ?? null : null;
  }

  /** What the placeholder says (and prints) while the figure is not there: the settings it will show. */
  #placeholderWords(): string {
    return `Generated depth-mixing figure not loaded yet: sources ${listText(this.src) || "?"} (ψ ${
      this.srcPsi ?? 1
    }), destinations ${listText(this.dst) || "?"} (ψ ${this.dstPsi ?? 1}), style layers ${
      listText(this.ranges) || "?"
    }${this.depth === undefined ? "" : `, depth ${this.depth}`}${
      this.srcClass ? `, source class ${this.srcClass}` : ""
    }${this.dstClass ? `, destination class ${this.dstClass}` : ""}`;
  }

  #request(): MixerRequest {
    try {
      const limits = this.#limitsValue();
      const src = parseSeedList(this.src, "src", this.#maxSeeds());
      const dst = parseSeedList(this.dst, "dst", this.#maxSeeds());
      if (limits) checkCells(src.length, dst.length, limits.max_cells);
      const items = splitRanges(this.ranges);
      // With the model's scale table, ranges are checked as the server would; until then, their count.
      const info = this.#model.value;
      const ranges = info
        ? resolveRanges(items.join(","), dst.length, info.scale).map((r) => r.text)
        : checkRangeCount(items, dst.length);
      const view = parseView(this.view);
      const meta: MixerMeta = {
        raw: view === "raw",
        src,
        dst,
        srcPsi: parsePsi(this.srcPsi, "src-psi"),
        dstPsi: parsePsi(this.dstPsi, "dst-psi"),
        ranges,
        srcClass: parseClassName(this.srcClass),
        dstClass: parseClassName(this.dstClass),
      };
      const query: QueryValues = {
        src: compactList(this.src),
        dst: compactList(this.dst),
        ranges: items.join(","),
        src_psi: meta.srcPsi,
        dst_psi: meta.dstPsi,
        model: parseModelName(this.model),
        depth: parseDepth(this.depth),
        view,
        src_class: meta.srcClass,
        dst_class: meta.dstClass,
      };
      // Until the server's limits are known the figure's size cannot be checked: wait rather than ask.
      const waiting = this.#limitsPending();
      return { url: apiUrl(this.api, "/mixing", query), problem: null, meta, query, waiting };
    } catch (e) {
      if (!(e instanceof SettingError)) throw e;
      return {
        url: "",
        problem: problemOf(e),
        meta: {
          raw: false,
          src: [],
          dst: [],
          srcPsi: 1,
          dstPsi: 1,
          ranges: [],
          srcClass: undefined,
          dstClass: undefined,
        },
        query: {},
      };
    }
  }
}

interface MixerRequest extends FigureRequest<MixerMeta> {
  query: QueryValues;
}

/** The options of a range control: whole-depth runs, coarse to fine, plus the current value if it is another. */
function rangeOptions(current: string, info: ModelInfo | undefined): TemplateResult[] {
  if (!info) return [html`<option value=${current} selected>${current || "(no range)"}</option>`];
  const options = depthAlignedRanges(info.scale).map((range) => ({
    value: range.text,
    label: rangeLabel(range, info.scale),
  }));
  const match = options.find((o) =>
    o.value === current || o.value === tryOr(() => layerText(current, info), "")
  );
  if (!match) {
    let label: string;
    try {
      const resolved = resolveRange(current, info.scale);
      label = `${current}: ${rangeLabel(resolved, info.scale)}`;
    } catch (e) {
      label = `${current} (${(e as Error).message})`;
    }
    options.unshift({ value: current, label });
  }
  const selected = match?.value ?? current;
  return options.map((o) =>
    html`<option value=${o.value} ?selected=${o.value === selected}>${o.label}</option>`
  );
}

/** A range (layers or metres) as the layer text the options use, e.g. "256m-32m" → "0-5". */
function layerText(range: string, info: ModelInfo): string {
  return formatLayers(resolveRange(range, info.scale).layers).replace(/^(\d+)$/, "$1-$1");
}

/** What a destination row takes, in both vocabularies: from the server's header when it sent one. */
function describeRow(
  range: string | undefined,
  layers: [number, number] | undefined,
  info: ModelInfo | undefined,
): string {
  if (layers && info) return rangeLabel({ layers, depths: [layers[0] >> 1, layers[1] >> 1] }, info.scale);
  if (range && info) return tryOr(() => rangeLabel(resolveRange(range, info.scale), info.scale), range);
  return layers ? `layers ${formatLayers(layers)}` : range ?? "";
}

/**
 * Most destination rows drawn before the server's limits have arrived: the server's default seed limit
 * (SGAN_MAX_SEEDS); the real limit replaces it within one request.
 */
const MAX_ROWS_BEFORE_LIMITS = 32;

/** The figure's tile count against the server's limit, with the server's words (server/plans.ts). */
function checkCells(sources: number, destinations: number, maxCells: number): void {
  const cells = (sources + 1) * (destinations + 1);
  if (cells > maxCells) {
    throw new SettingError(
      "dst",
      `${
        settingLabel("dst")
      }: the figure would have (${sources} + 1) × (${destinations} + 1) = ${cells} tiles, more than the limit of ${maxCells}`,
      `(sources + 1) × (destinations + 1) ≤ ${maxCells}`,
    );
  }
}

function checkRangeCount(items: string[], rows: number): string[] {
  if (items.length === 1) return Array(rows).fill(items[0]);
  if (items.length !== rows) {
    throw new SettingError(
      "ranges",
      `${
        settingLabel("ranges")
      }: ${items.length} ranges for ${rows} destinations: give one range per destination row, or one for all`,
      `1 or ${rows} comma-separated ranges`,
    );
  }
  return items;
}

/** A named class after `prefix` ("· forest"), or nothing for the server's default (random). */
function classWords(name: string | undefined, prefix: string): string {
  return name && name !== RANDOM_CLASS ? `${prefix}${name}` : "";
}

function listText(value: unknown): string {
  if (value === undefined || value === null) return "";
  return Array.isArray(value) ? value.join(",") : String(value);
}

function inputValue(event: Event): string {
  return (event.target as HTMLInputElement).value.trim();
}

function tryOr<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

if (!customElements.get("sgan-mixer")) customElements.define("sgan-mixer", SganMixer);

declare global {
  interface HTMLElementTagNameMap {
    "sgan-mixer": SganMixer;
  }
}
