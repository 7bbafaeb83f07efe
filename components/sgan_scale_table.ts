/// <reference lib="dom" />
/**
 * `<sgan-scale-table>`: a model's depth ↔ ground-resolution table (pixels, metres per pixel, style layers,
 * smallest feature, what that scale holds), straight from `/api/models`.
 *
 * @module
 */
import { css, html, LitElement, nothing, type PropertyValues, type TemplateResult } from "lit";
import { formatMetres, type ModelInfo } from "./model_info.ts";
import { modelInfoTask } from "./model_task.ts";
import { problemTemplate, statusTemplate } from "./templates.ts";
import { baseStyles } from "./styles.ts";
import { TaskStatus } from "@lit/task";
import { SettingsChangeEvents } from "./change_events.ts";
import { whenSettled } from "./ready.ts";

/** The settings of an `<sgan-scale-table>` (the `sgan-change` event's detail). */
export interface ScaleTableSettings {
  widget: "sgan-scale-table";
  api: string;
  model: string | null;
}

/** A model's scale table. */
export class SganScaleTable extends LitElement {
  static override properties = {
    api: { type: String, reflect: true },
    model: { type: String, reflect: true },
  };

  /** Server address (origin, optionally with a path prefix); unset: this page's origin. */
  declare api: string | undefined;
  /** Model name (default: the server's default model). */
  declare model: string | undefined;

  static override styles = [
    baseStyles,
    css`
      /* On a phone the table scrolls inside itself; the page does not get wider. */
      .table-scroll {
        max-width: 100%;
        overflow-x: auto;
      }
      table {
        border-collapse: collapse;
        font-variant-numeric: tabular-nums;
      }
      caption {
        text-align: start;
        font-weight: 600;
        padding-bottom: 0.35em;
      }
      th,
      td {
        border-bottom: 1px solid var(--sgan-border-color, #8c959f);
        padding: 0.25em 0.75em 0.25em 0;
        text-align: start;
        vertical-align: top;
      }
      td.number {
        text-align: end;
      }
      /* Numbers stay on one line and the descriptions keep a readable width: a narrow column scrolls. */
      th,
      td.number {
        white-space: nowrap;
      }
      td.holds {
        min-width: 16em;
      }
      thead th {
        border-bottom-width: 2px;
      }
    `,
  ];

  readonly #model = modelInfoTask(this, () => [this.api, this.model]);
  #changes = new SettingsChangeEvents(this, ["api", "model"]);

  /** Resolves when the table (or its error) is shown; never rejects. */
  get ready(): Promise<void> {
    return whenSettled(this, () => [this.#model]);
  }

  /** The current settings, as JSON-ready data. */
  get settings(): ScaleTableSettings {
    return { widget: "sgan-scale-table", api: this.api ?? "", model: this.model ?? null };
  }

  override render(): TemplateResult {
    const info = this.#model.status === TaskStatus.COMPLETE ? this.#model.value : undefined;
    const problem = this.#model.status === TaskStatus.ERROR ? this.#model.error : undefined;
    return html`
      <div class="container" part="container">
        ${info ? this.#renderTable(info) : nothing}
        ${statusTemplate(this.#model.status === TaskStatus.PENDING, "scale table")}
        ${problemTemplate(problem, () => this.#model.run())}
      </div>
    `;
  }

  protected override updated(changed: PropertyValues<this>): void {
    this.#changes.updated(changed);
  }

  #renderTable(info: ModelInfo): TemplateResult {
    const extent = info.tile_extent_m === null ? "" : `, ${formatMetres(info.tile_extent_m)} across`;
    const metres = (m: number | null) => (m === null ? "—" : formatMetres(m));
    return html`
      <div class="table-scroll" part="table-scroll" tabindex="0" role="region" aria-label="Scale table">
        <table part="table">
          <caption>
          Model ${info.name}: ${info
            .resolution} px tiles${extent}; each depth doubles the pixels and halves the
          metres per pixel
        </caption>
          <thead>
            <tr>
              <th scope="col">Depth</th>
              <th scope="col">Tile</th>
              <th scope="col">Ground resolution</th>
              <th scope="col">Style layers</th>
              <th scope="col">Smallest feature</th>
              <th scope="col">What that scale holds</th>
            </tr>
          </thead>
          <tbody>
          ${info.scale.map((row) =>
            html`
              <tr>
                <th scope="row">${row.depth}</th>
                <td class="number">${row.pixels} px</td>
                <td class="number">${row.metres_per_pixel === null
                  ? "—"
                  : `${metres(row.metres_per_pixel)}/px`}</td>
                <td class="number">${row.style_layers[0]}–${row.style_layers[1]}</td>
                <td class="number">${metres(row.smallest_feature_m)}</td>
                <td class="holds">${row.holds ?? "—"}</td>
              </tr>
            `
          )}
        </tbody>
        </table>
      </div>
    `;
  }
}

if (!customElements.get("sgan-scale-table")) customElements.define("sgan-scale-table", SganScaleTable);

declare global {
  interface HTMLElementTagNameMap {
    "sgan-scale-table": SganScaleTable;
  }
}
