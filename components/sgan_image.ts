/// <reference lib="dom" />
/**
 * `<sgan-image seed="730" psi="0.7">`: one generated tile with its ground scale in a caption (metres per
 * pixel, tile extent), a scale bar drawn over it and a "generated" marker that is always shown. `depth` shows
 * the tile at that depth's ground resolution; `view="raw"` shows that depth's own to_rgb head instead, labelled
 * as such (for research). On a conditional model, `tile-class` picks the land use (a menu offers the model's
 * classes; none is shown for an unconditional model).
 *
 * @module
 */
import { css, html, LitElement, nothing, type PropertyValues, type TemplateResult } from "lit";
import { styleMap } from "lit/directives/style-map.js";
import { apiUrl, problemField } from "./api.ts";
import { classSelectTemplate } from "./class_select.ts";
import { FigureController, type FigureRequest, problemOf } from "./figure_controller.ts";
import {
  formatMetres,
  formatPsi,
  groundCaption,
  modelClasses,
  scaleBarFor,
  scaleRowAt,
} from "./model_info.ts";
import { modelInfoTask } from "./model_task.ts";
import {
  type NoiseMode,
  numericConverter,
  parseClassName,
  parseDepth,
  parseModelName,
  parseNoise,
  parsePsi,
  parseSeed,
  parseView,
  SettingError,
  type View,
} from "./params.ts";
import { baseStyles } from "./styles.ts";
import {
  generatedMarker,
  invalidFor,
  placeholderTemplate,
  problemTemplate,
  statusTemplate,
  viewNote,
} from "./templates.ts";
import { SettingsChangeEvents } from "./change_events.ts";
import { whenSettled } from "./ready.ts";

/** The settings of an `<sgan-image>` (the `sgan-change` event's detail). */
export interface ImageSettings {
  widget: "sgan-image";
  api: string;
  model: string | null;
  seed: number | string | null;
  psi: number | string | null;
  depth: number | string | null;
  view: string | null;
  noise: string | null;
  /** The land use asked for (`tile-class`; the server's `class`), null for the server's default (random). */
  class: string | null;
  /** The image URL these settings ask for (null while a setting is invalid). */
  url: string | null;
}

interface ImageMeta {
  seed: number;
  psi: number;
  depth: number | undefined;
  view: View | undefined;
  noise: NoiseMode | undefined;
  tileClass: string | undefined;
}

const SETTINGS = ["api", "model", "seed", "psi", "depth", "view", "noise", "tileClass"] as const;

/** One generated tile with its ground scale. */
export class SganImage extends LitElement {
  static override properties = {
    api: { type: String, reflect: true },
    seed: { converter: numericConverter, reflect: true },
    psi: { converter: numericConverter, reflect: true },
    model: { type: String, reflect: true },
    depth: { converter: numericConverter, reflect: true },
    view: { type: String, reflect: true },
    noise: { type: String, reflect: true },
    tileClass: { attribute: "tile-class", type: String, reflect: true },
  };

  /** Server address (origin, optionally with a path prefix); unset: this page's origin. */
  declare api: string | undefined;
  /** numpy RandomState seed of the latent (required). */
  declare seed: number | string | undefined;
  /** Truncation ψ (default 1: none). */
  declare psi: number | string | undefined;
  /** Model name (default: the server's default model). */
  declare model: string | undefined;
  /** Depth to render (0 = 4 px; default: full resolution): the tile as seen at that depth's ground resolution. */
  declare depth: number | string | undefined;
  /** `ground` (default) or `raw`: the depth's own to_rgb head, for research (labelled as such). */
  declare view: string | undefined;
  /** Noise inputs: const (default), random or none. */
  declare noise: string | undefined;
  /**
   * Land use of a conditional model (the server's `class`): one of the model's classes, or `random` (the
   * default: drawn from the seed). Not `class`, which is HTML's own CSS class attribute.
   */
  declare tileClass: string | undefined;

  static override styles = [
    baseStyles,
    css`
      .frame {
        position: relative;
        /* Never wider than the report's column: the tile scales down on a phone. */
        width: min(var(--sgan-tile-size, 256px), 100%);
        aspect-ratio: 1;
      }
      figure {
        max-width: 100%;
      }
      figcaption {
        max-width: max(var(--sgan-tile-size, 256px), 16em);
      }
      .frame img,
      .frame .placeholder {
        width: 100%;
        height: 100%;
      }
      .scale-bar {
        position: absolute;
        left: 6%;
        bottom: 6%;
        height: 0.45em;
        min-width: 2px;
        background: var(--sgan-scale-bar-color, #fff);
        border: 1px solid #000;
        box-shadow: 0 0 0 1px rgb(255 255 255 / 0.6);
      }
      .scale-bar span {
        position: absolute;
        left: 0;
        bottom: 0.7em;
        white-space: nowrap;
        font-weight: 600;
        color: #fff;
        text-shadow: 0 0 2px #000, 0 0 2px #000, 0 0 3px #000;
      }
      @media print {
        .scale-bar {
          print-color-adjust: exact;
          -webkit-print-color-adjust: exact;
        }
      }
    `,
  ];

  readonly #model = modelInfoTask(this, () => [this.api, this.model]);
  readonly #figure = new FigureController<ImageMeta>(this, () => this.#request());
  #changes = new SettingsChangeEvents(this, SETTINGS);

  /**
   * Resolves when the tile for the current settings is shown and decoded, or its error is (never rejects):
   * `await el.ready` before printing or taking a screenshot.
   */
  get ready(): Promise<void> {
    return whenSettled(this, () => [this.#figure.task, this.#model]);
  }

  /** The current settings, as JSON-ready data. */
  get settings(): ImageSettings {
    const request = this.#request();
    return {
      widget: "sgan-image",
      api: this.api ?? "",
      model: this.model ?? null,
      seed: this.seed ?? null,
      psi: this.psi ?? null,
      depth: this.depth ?? null,
      view: this.view ?? null,
      noise: this.noise ?? null,
      class: this.tileClass ?? null,
      url: request.url || null,
    };
  }

  override render(): TemplateResult {
    const problem = this.#figure.problem;
    return html`
      <div class="container" part="container">
        ${this.#renderClassControl()}
        ${problem === undefined ? this.#renderFigure() : nothing}
        ${statusTemplate(this.#figure.loading, "tile")}
        ${problemTemplate(problem, () => this.#figure.retry())}
      </div>
    `;
  }

  protected override updated(changed: PropertyValues<this>): void {
    this.#changes.updated(changed);
  }

  /** The class menu, on a conditional model only (nothing until its description has arrived). */
  #renderClassControl(): TemplateResult | typeof nothing {
    const classes = modelClasses(this.#model.value);
    if (classes.length === 0) return nothing;
    return html`
      <div class="controls" part="controls">
        ${classSelectTemplate({
          id: "tile-class",
          label: "Class",
          classes,
          current: parseClassName(this.tileClass),
          invalid: invalidFor(problemField(this.#figure.problem), "class", "tile-class"),
          choose: (value) => (this.tileClass = value),
        })}
      </div>
    `;
  }

  #renderFigure(): TemplateResult {
    const figure = this.#figure.figure;
    const info = this.#model.value;
    const meta = figure?.meta;
    const depth = figure?.headers.depth ?? meta?.depth;
    const row = info ? scaleRowAt(info.scale, depth) : undefined;
    const bar = row ? scaleBarFor(row.tile_extent_m) : null;
    const extent = row?.tile_extent_m ? `, ${formatMetres(row.tile_extent_m)} across` : "";
    const named = meta?.tileClass && meta.tileClass !== "random" ? meta.tileClass : null;
    const alt = meta
      ? `Generated tile, seed ${meta.seed}, ψ ${formatPsi(meta.psi)}${
        named ? `, class ${named}` : ""
      }${extent}`
      : "";
    const what = meta ? `Seed ${meta.seed} · ψ ${formatPsi(meta.psi)}${named ? ` · ${named}` : ""}` : "";
    const scale = row ? groundCaption(row, figure?.headers.tilePixels ?? row.pixels) : "";
    const model = info ? ` · ${info.name}` : "";
    const raw = meta?.view === "raw" ? viewNote(depth) : "";
    return html`
      <figure part="figure" aria-busy=${this.#figure.loading ? "true" : "false"}>
        <div class="frame">
          ${figure
            ? html`<img part="image" src=${figure.src} alt=${`${alt}${raw ? `; ${raw}` : ""}`}>`
            : placeholderTemplate(this.#placeholderWords())}
          ${generatedMarker()}
          ${figure && bar
            ? html`
              <div class="scale-bar" part="scale-bar" style=${styleMap({ width: `${bar.fraction * 100}%` })}
                role="img" aria-label=${`scale bar: ${bar.label}`}><span aria-hidden="true">${bar
                  .label}</span></div>
            `
            : nothing}
        </div>
        <figcaption part="caption">${what}${what && scale ? " — " : ""}${scale}${figure ? model : ""}${raw
          ? html`<br><strong part="view-note">${raw}</strong>`
          : nothing}</figcaption>
      </figure>
    `;
  }

  /** What the placeholder says (and prints) while the tile is not there: the settings it will show. */
  #placeholderWords(): string {
    const parts = [`seed ${this.seed ?? "?"}`, `ψ ${this.psi ?? 1}`];
    if (this.depth !== undefined) {
      parts.push(`depth ${this.depth}${this.view === "raw" ? " (raw head)" : ""}`);
    }
    if (this.tileClass) parts.push(`class ${this.tileClass}`);
    if (this.model) parts.push(`model ${this.model}`);
    return `Generated tile not loaded yet: ${parts.join(", ")}`;
  }

  #request(): FigureRequest<ImageMeta> {
    try {
      const meta: ImageMeta = {
        seed: parseSeed(this.seed),
        psi: parsePsi(this.psi),
        depth: parseDepth(this.depth),
        view: parseView(this.view),
        noise: parseNoise(this.noise),
        tileClass: parseClassName(this.tileClass),
      };
      const url = apiUrl(this.api, "/generate", {
        seed: meta.seed,
        psi: meta.psi,
        model: parseModelName(this.model),
        depth: meta.depth,
        view: meta.view,
        noise: meta.noise,
        class: meta.tileClass,
      });
      return { url, problem: null, meta };
    } catch (e) {
      if (!(e instanceof SettingError)) throw e;
      return {
        url: "",
        problem: problemOf(e),
        meta: { seed: 0, psi: 1, depth: undefined, view: undefined, noise: undefined, tileClass: undefined },
      };
    }
  }
}

if (!customElements.get("sgan-image")) customElements.define("sgan-image", SganImage);

declare global {
  interface HTMLElementTagNameMap {
    "sgan-image": SganImage;
  }
}
