/// <reference lib="dom" />
/**
 * `<sgan-truncation seeds="91,388" psis="-1,-0.5,0,0.5,1">`: the truncation figure (rows = seeds,
 * columns = ψ) with ψ labels, a one-line legend, a metre scale bar for one tile, a "generated" marker, and a
 * slider for the largest |ψ| that scales every column and regenerates the figure live. On a conditional model,
 * `tile-class` picks the land use, and ψ → 0 is then that class's own average tile (a menu offers the classes).
 *
 * @module
 */
import { css, html, LitElement, nothing, type PropertyValues, type TemplateResult } from "lit";
import { styleMap } from "lit/directives/style-map.js";
import { Task, TaskStatus } from "@lit/task";
import { apiUrl, fetchServerLimits, problemField, type ServerLimits } from "./api.ts";
import { FigureController, type FigureRequest, problemOf } from "./figure_controller.ts";
import { formatMetres, formatPsi, modelClasses, scaleBarFor, scaleRowAt } from "./model_info.ts";
import { classSelectTemplate, RANDOM_CLASS } from "./class_select.ts";
import { modelInfoTask } from "./model_task.ts";
import { whenSettled } from "./ready.ts";
import {
  compactList,
  formatList,
  listConverter,
  numericConverter,
  parseClassName,
  parseDepth,
  parseModelName,
  parsePsiList,
  parseSeedList,
  parseView,
  psiExtent,
  scalePsis,
  SettingError,
  settingLabel,
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

/** The columns when `psis` is not set: from the opposite of the average landscape to no truncation. */
export const DEFAULT_PSIS = "-1,-0.5,0,0.5,1";

/** The slider's bounds and step for the largest |ψ|. */
export const EXTENT_SLIDER = { min: 0.1, max: 2, step: 0.1 } as const;

/** The settings of an `<sgan-truncation>` (the `sgan-change` event's detail). */
export interface TruncationSettings {
  widget: "sgan-truncation";
  api: string;
  model: string | null;
  seeds: string | null;
  psis: string;
  depth: number | string | null;
  view: string | null;
  /** The land use asked for (`tile-class`; the server's `class`), null for the server's default (random). */
  class: string | null;
  /** The figure URL these settings ask for (null while a setting is invalid). */
  url: string | null;
}

interface TruncationMeta {
  seeds: number[];
  psis: number[];
  raw: boolean;
  tileClass: string | undefined;
}

const SETTINGS = ["api", "model", "seeds", "psis", "depth", "view", "tileClass"] as const;

/** The truncation figure with a live ψ slider. */
export class SganTruncation extends LitElement {
  static override properties = {
    api: { type: String, reflect: true },
    seeds: { converter: listConverter, reflect: true },
    psis: { converter: listConverter, reflect: true },
    model: { type: String, reflect: true },
    depth: { converter: numericConverter, reflect: true },
    view: { type: String, reflect: true },
    tileClass: { attribute: "tile-class", type: String, reflect: true },
  };

  /** Server address (origin, optionally with a path prefix); unset: this page's origin. */
  declare api: string | undefined;
  /** Seeds, one per row ("91,388", "0-3"; required). */
  declare seeds: string | readonly number[] | undefined;
  /** ψ of each column (default {@link DEFAULT_PSIS}). */
  declare psis: string | readonly number[] | undefined;
  /** Model name (default: the server's default model). */
  declare model: string | undefined;
  /** Depth to render (0 = 4 px; default: full resolution): the tiles as seen at that depth's ground resolution. */
  declare depth: number | string | undefined;
  /** `ground` (default) or `raw`: each depth's own to_rgb head, for research (labelled as such). */
  declare view: string | undefined;
  /**
   * Land use of a conditional model (the server's `class`): one of the model's classes, or `random` (the
   * default: drawn from each seed). Not `class`, which is HTML's own CSS class attribute.
   */
  declare tileClass: string | undefined;

  static override styles = [
    baseStyles,
    plateStyles,
    css`
      .scale-line {
        grid-column: 2;
        grid-row: 3;
        display: grid;
        gap: 0.15em;
        font-variant-numeric: tabular-nums;
      }
      .scale-line .bar {
        height: 0.45em;
        min-width: 2px;
        background: var(--sgan-color, #1f2328);
        print-color-adjust: exact;
        -webkit-print-color-adjust: exact;
      }
    `,
  ];

  readonly #model = modelInfoTask(this, () => [this.api, this.model]);
  readonly #limits = new Task(this, {
    args: () => [this.api] as [string | undefined],
    task: async ([api], { signal }) => await fetchServerLimits(api, signal),
  });
  readonly #figure = new FigureController<TruncationMeta>(this, () => this.#request());
  #changes = new SettingsChangeEvents(this, SETTINGS);

  /**
   * Resolves when the figure for the current settings is shown and decoded, or its error is (never rejects):
   * `await el.ready` before printing or taking a screenshot.
   */
  get ready(): Promise<void> {
    return whenSettled(this, () => [this.#figure.task, this.#model, this.#limits as unknown as Task]);
  }

  /** The current settings, as JSON-ready data. */
  get settings(): TruncationSettings {
    return {
      widget: "sgan-truncation",
      api: this.api ?? "",
      model: this.model ?? null,
      seeds: this.seeds === undefined ? null : String(this.seeds),
      psis: String(this.psis ?? DEFAULT_PSIS),
      depth: this.depth ?? null,
      view: this.view ?? null,
      class: this.tileClass ?? null,
      url: this.#request().url || null,
    };
  }

  override render(): TemplateResult {
    const problem = this.#figure.problem;
    return html`
      <div class="container" part="container">
        ${this.#renderSlider()}
        ${problem === undefined ? this.#renderFigure() : nothing}
        ${statusTemplate(this.#figure.loading)}
        ${problemTemplate(problem, () => this.#figure.retry())}
      </div>
    `;
  }

  protected override updated(changed: PropertyValues<this>): void {
    this.#changes.updated(changed);
  }

  #renderSlider(): TemplateResult {
    const psis = this.#psisOrNull();
    const extent = psis ? psiExtent(psis) : 1;
    const columns = psis ? psis.map(formatPsi).join(", ") : "";
    return html`
      <div class="controls" part="controls">
        <div class="field">
          <label for="extent" part="label">ψ range (largest |ψ|)</label>
          <input
            id="extent"
            part="slider"
            type="range"
            min=${EXTENT_SLIDER.min}
            max=${EXTENT_SLIDER.max}
            step=${EXTENT_SLIDER.step}
            .value=${String(extent)}
            ?disabled=${psis === null}
            aria-invalid=${invalidFor(problemField(this.#figure.problem), "psis")}
            aria-errormessage=${ERROR_ID}
            aria-valuetext=${`largest |ψ| ${extent}; columns ψ = ${columns}`}
            aria-describedby="columns"
            @input=${this.#onSlide}
          >
        </div>
        <output id="columns" for="extent" part="output">ψ = ${columns}</output>
        ${classSelectTemplate({
          id: "tile-class",
          label: "Class",
          classes: modelClasses(this.#model.value),
          current: parseClassName(this.tileClass),
          invalid: invalidFor(problemField(this.#figure.problem), "class", "tile-class"),
          choose: (value) => (this.tileClass = value),
        })}
      </div>
    `;
  }

  #renderFigure(): TemplateResult {
    const figure = this.#figure.figure;
    // Labels belong to the figure on screen; before the first one, to what was asked for.
    const meta = figure?.meta ?? this.#request().meta;
    const grid = styleMap({
      "--columns": String(meta.psis.length || 1),
      "--rows": String(meta.seeds.length || 1),
    });
    const alt = `Generated truncation figure: seeds ${meta.seeds.join(", ")} (rows) at ψ ${
      meta.psis.map(formatPsi).join(", ")
    } (columns)${meta.tileClass && meta.tileClass !== RANDOM_CLASS ? `, class ${meta.tileClass}` : ""}`;
    const info = this.#model.value;
    const depth = figure?.headers.depth ?? tryOr(() => parseDepth(this.depth), undefined);
    const row = info ? scaleRowAt(info.scale, depth) : undefined;
    const bar = row ? scaleBarFor(row.tile_extent_m) : null;
    const raw = meta.raw ? viewNote(depth) : "";
    return html`
      <figure part="figure" aria-busy=${this.#figure.loading ? "true" : "false"}>
        <div class="plate" style=${grid}>
          <div class="column-labels" aria-hidden="true">
            ${meta.psis.map((psi) => html`<span part="column-label">ψ = ${formatPsi(psi)}</span>`)}
          </div>
          <div class="row-labels" aria-hidden="true">
            ${meta.seeds.map((seed) => html`<span part="row-label">seed ${seed}</span>`)}
          </div>
          ${figure
            ? html`<img part="image" src=${figure.src} alt=${alt}>`
            : placeholderTemplate(this.#placeholderWords())} ${generatedMarker()}
          ${bar && row
            ? html`
              <div class="scale-line" part="scale-bar">
                <div class="bar" style=${styleMap({ width: `calc(100% / var(--columns) * ${bar.fraction})` })}
                  role="img" aria-label=${`scale bar: ${bar.label}`}></div>
                <span aria-hidden="true">${bar.label} · each tile ${formatMetres(
                  row.tile_extent_m!,
                )} across at ${formatMetres(
                  row.tile_extent_m! / (figure?.headers.tilePixels ?? row.pixels),
                )}/px</span>
              </div>
            `
            : nothing}
        </div>
        <figcaption part="legend">
          ${this.#legendWords(meta.tileClass)}
          ${raw ? html`<br><strong part="view-note">${raw}</strong>` : nothing}
        </figcaption>
      </figure>
    `;
  }

  /**
   * What ψ means for these tiles: the server pulls a named class toward its own centre of W, and on a
   * conditional model each tile of a random class toward the centre of the class its seed drew.
   */
  #legendWords(tileClass: string | undefined): string {
    const rest = "ψ < 0 its opposite; ψ = 1 is untruncated.";
    if (tileClass && tileClass !== RANDOM_CLASS) {
      return `ψ → 0 is the average landscape of class ${tileClass} in the training data; ${rest}`;
    }
    if (modelClasses(this.#model.value).length > 0) {
      return `ψ → 0 is the average landscape of each tile's class (drawn from its seed) in the training data; ${rest}`;
    }
    return `ψ → 0 is the average landscape of the training data; ${rest}`;
  }

  #onSlide(event: Event): void {
    const psis = this.#psisOrNull();
    if (!psis) return;
    const extent = Number((event.target as HTMLInputElement).value);
    this.psis = formatList(scalePsis(psis, extent));
  }

  /** What the placeholder says (and prints) while the figure is not there: the settings it will show. */
  #placeholderWords(): string {
    return `Generated truncation figure not loaded yet: seeds ${this.seeds ?? "?"}, ψ ${
      String(this.psis ?? DEFAULT_PSIS)
    }${this.depth === undefined ? "" : `, depth ${this.depth}`}${
      this.tileClass ? `, class ${this.tileClass}` : ""
    }`;
  }

  #psisOrNull(): number[] | null {
    try {
      return parsePsiList(this.psis ?? DEFAULT_PSIS);
    } catch {
      return null;
    }
  }

  #request(): FigureRequest<TruncationMeta> {
    try {
      const view = parseView(this.view);
      const limits = this.#limits.status === TaskStatus.COMPLETE ? this.#limits.value ?? null : null;
      const meta = {
        seeds: parseSeedList(this.seeds, "seeds", limits?.max_seeds),
        psis: parsePsiList(this.psis ?? DEFAULT_PSIS),
        raw: view === "raw",
        tileClass: parseClassName(this.tileClass),
      };
      if (limits) checkFigureSize(meta.seeds.length, meta.psis.length, limits);
      const url = apiUrl(this.api, "/truncation", {
        seeds: compactList(this.seeds),
        psis: formatList(meta.psis),
        model: parseModelName(this.model),
        depth: parseDepth(this.depth),
        view,
        class: meta.tileClass,
      });
      // Until the server's limits are known the figure's size cannot be checked: wait rather than ask.
      const waiting = this.#limits.status === TaskStatus.INITIAL ||
        this.#limits.status === TaskStatus.PENDING;
      return { url, problem: null, meta, waiting };
    } catch (e) {
      if (!(e instanceof SettingError)) throw e;
      return {
        url: "",
        problem: problemOf(e),
        meta: { seeds: [], psis: [], raw: false, tileClass: undefined },
      };
    }
  }
}

/** ψ columns and tiles against the server's limits, in the server's words (server/validation.ts, plans.ts). */
function checkFigureSize(seeds: number, psis: number, limits: ServerLimits): void {
  if (psis > limits.max_psis) {
    throw new SettingError(
      "psis",
      `${settingLabel("psis")}: at most ${limits.max_psis} values are allowed, got ${psis}`,
      `1 to ${limits.max_psis} comma-separated numbers`,
    );
  }
  const cells = seeds * psis;
  if (cells > limits.max_cells) {
    throw new SettingError(
      "psis",
      `${
        settingLabel("psis")
      }: the figure would have ${seeds} × ${psis} = ${cells} tiles, more than the limit of ${limits.max_cells}`,
      `seeds × psis ≤ ${limits.max_cells}`,
    );
  }
}

function tryOr<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

if (!customElements.get("sgan-truncation")) customElements.define("sgan-truncation", SganTruncation);

declare global {
  interface HTMLElementTagNameMap {
    "sgan-truncation": SganTruncation;
  }
}
