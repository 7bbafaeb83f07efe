/// <reference lib="dom" />
/**
 * `<sgan-projector>`: project a real tile into the model's W and edit it. Drop or choose a PNG, JPEG or GeoTIFF;
 * it is posted to `POST /api/projections` and the reconstruction converges on screen from the projection's
 * Server-Sent Events; then a ψ slider truncates the projected tile toward the average landscape and a mixing
 * control takes a range of style layers from another tile (a seed, or another projection's `w:<id>`).
 * Downloads: the shown edit as PNG, as a GeoTIFF on the source's ground when the tile was a GeoTIFF, and the
 * settings as JSON. Talks to the server over HTTP only.
 *
 * ```html
 * <sgan-projector api="http://host:8000" steps="200"></sgan-projector>
 * <sgan-projector projection="p20250101-120000-3fa9" psi="0.5" mix-source="730" mix-layers="4-7"></sgan-projector>
 * ```
 *
 * @module
 */
import { css, html, LitElement, nothing, type PropertyValues, type TemplateResult } from "lit";
import { apiUrl, explainProblem, problemFromResponse } from "./api.ts";
import { safeFilename, saveBlob } from "./download.ts";
import { baseStyles } from "./styles.ts";
import { generatedMarker } from "./templates.ts";

/** What the server says about a projection (the part read here; see /openapi.json, Projection). */
interface ProjectionStatus {
  id: string;
  model: string;
  state: "queued" | "running" | "done" | "failed" | "cancelled" | "interrupted";
  step: number;
  steps: number;
  losses: Record<string, number> | null;
  latest_reconstruction: string | null;
  reconstruction_url: string | null;
  geotiff_url: string | null;
  psnr_db: number | null;
  target: { name: string; georeferenced: boolean; resampling: string | null };
  error: string | null;
}

/** The settings of an `<sgan-projector>` (the `sgan-change` event's detail, and the JSON download). */
export interface ProjectorSettings {
  widget: "sgan-projector";
  api: string;
  model: string | null;
  projection: string | null;
  source: string | null;
  psi: number;
  mix_source: string | null;
  mix_layers: string | null;
  /** The image URL of the edit shown (null before the projection is done). */
  url: string | null;
  /** The same edit as a GeoTIFF on the source's ground (null unless the source was a GeoTIFF). */
  geotiff_url: string | null;
  generated: string;
}

const FINISHED = ["done", "failed", "cancelled", "interrupted"];

/** A problem in the words the other widgets use (headline and what to do). */
function words(error: unknown): string {
  const { headline, detail } = explainProblem(error);
  return detail ? `${headline} ${detail}` : headline;
}

/** Project a real tile, watch it converge, edit it. */
export class SganProjector extends LitElement {
  static override properties = {
    api: { type: String, reflect: true },
    model: { type: String, reflect: true },
    steps: { type: Number, reflect: true },
    projection: { type: String, reflect: true },
    psi: { type: Number, reflect: true },
    mixSource: { type: String, reflect: true, attribute: "mix-source" },
    mixLayers: { type: String, reflect: true, attribute: "mix-layers" },
    _status: { state: true },
    _problem: { state: true },
    _busy: { state: true },
    _styleLayers: { state: true },
  };

  /** Server address (origin, optionally with a path prefix); unset: this page's origin. */
  declare api: string | undefined;
  /** Model to project into (default: the server's default model). */
  declare model: string | undefined;
  /** Optimisation steps of a new projection (default 200). */
  declare steps: number | undefined;
  /** The projection shown: set by an upload, or given to show an earlier one. */
  declare projection: string | undefined;
  /** Truncation ψ of the projected tile (default 1: as projected). */
  declare psi: number | undefined;
  /** A tile to mix in: a seed or `w:<id>` (default none). */
  declare mixSource: string | undefined;
  /** Style layers taken from `mix-source`, e.g. `0-3` (coarse layout) or `4-7` (texture). */
  declare mixLayers: string | undefined;
  declare _status: ProjectionStatus | undefined;
  declare _problem: string | undefined;
  declare _busy: boolean;
  declare _styleLayers: number | undefined;

  static override styles = [
    baseStyles,
    css`
      .drop {
        border: 2px dashed var(--sgan-border-color, #8c959f);
        border-radius: var(--sgan-radius, 4px);
        padding: 0.8em;
        text-align: center;
      }
      .drop input[type="file"] {
        display: block;
        max-width: 100%;
        margin: 0.3em auto 0;
      }
      .drop.over {
        border-color: var(--sgan-accent-color, #0a5cad);
      }
      .frame {
        position: relative;
        width: min(var(--sgan-tile-size, 256px), 100%);
        aspect-ratio: 1;
      }
      .frame img {
        width: 100%;
        height: 100%;
        image-rendering: pixelated;
      }
      .mixing img {
        width: min(calc(2 * var(--sgan-tile-size, 256px)), 100%);
        image-rendering: pixelated;
      }
      .controls {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5em 1em;
        align-items: center;
        margin: 0.5em 0;
      }
      .error {
        color: var(--sgan-error-color, #a40e26);
        background: var(--sgan-error-background, #fff0f0);
        padding: 0.3em 0.5em;
      }
      @media print {
        .drop,
        .controls,
        button {
          display: none;
        }
      }
    `,
  ];

  #events?: EventSource;
  /** The projection whose events are (or were last) followed. */
  #following?: string;
  #settled = Promise.withResolvers<void>();

  constructor() {
    super();
    this._busy = false;
    this.#settled.resolve();
  }

  /** Resolves once no projection is running and the shown images are decoded (never rejects). */
  get ready(): Promise<void> {
    return (async () => {
      await this.updateComplete; // a projection attribute starts following in the update
      await this.#settled.promise;
      await this.updateComplete;
      const images = [...(this.renderRoot?.querySelectorAll("img") ?? [])] as HTMLImageElement[];
      await Promise.all(images.map((img) => img.decode().catch(() => {})));
    })();
  }

  /** The current settings, as JSON-ready data. */
  get settings(): ProjectorSettings {
    const done = this._status?.state === "done";
    return {
      widget: "sgan-projector",
      api: this.api ?? "",
      model: this._status?.model ?? this.model ?? null,
      projection: this.projection ?? null,
      source: this.projection ? `w:${this.projection}` : null,
      psi: this.#psi(),
      mix_source: this.mixSource || null,
      mix_layers: this.mixSource ? this.#mixLayers() : null,
      url: done ? this.#editUrl("png") : null,
      geotiff_url: done && this._status?.target.georeferenced ? this.#editUrl("tiff") : null,
      generated: "Edits of a projection are generated by a StyleGAN model: not photographs",
    };
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#events?.close();
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has("projection") && this.projection && this.projection !== this.#following) {
      this.#follow(this.projection);
    }
    if (
      changed.has("psi") || changed.has("mixSource") || changed.has("mixLayers") || changed.has("projection")
    ) {
      this.dispatchEvent(
        new CustomEvent("sgan-change", { detail: this.settings, bubbles: true, composed: true }),
      );
    }
  }

  override render(): TemplateResult {
    const s = this._status;
    return html`
      <div class="container" part="container">
        <div class="drop" part="drop" @dragover=${this.#dragOver} @dragleave=${this.#dragLeave} @drop=${this
          .#dropped}>
          <label part="label">Choose or drop a tile (PNG, JPEG or GeoTIFF):
            <input id="file" part="input" type="file" accept="image/png,image/jpeg,image/tiff,.tif,.tiff"
              @change=${this.#chosen} ?disabled=${this._busy}>
          </label>
        </div>
        ${this._problem ? html`<p class="error" part="error" role="alert">${this._problem}</p>` : nothing}
        ${s ? this.#renderProjection(s) : nothing}
      </div>
    `;
  }

  #renderProjection(s: ProjectionStatus): TemplateResult {
    const done = s.state === "done";
    const image = done ? this.#tileUrl("png") : s.latest_reconstruction && this.#url(s.latest_reconstruction);
    const progress = done
      ? `Projected in ${s.steps} steps: PSNR ${s.psnr_db?.toFixed(1)} dB`
      : FINISHED.includes(s.state)
      ? `Projection ${s.state}${s.error ? `: ${s.error}` : ""}`
      : `${s.state === "queued" ? "Queued" : "Projecting"}: step ${s.step} of ${s.steps}${
        s.losses ? `, loss ${s.losses.total.toPrecision(3)}` : ""
      }`;
    return html`
      <p part="status" id="progress" role="status">${progress}</p>
      ${!done && !FINISHED.includes(s.state)
        ? html`<progress part="progress" max=${s.steps} value=${s.step}></progress>`
        : nothing}
      ${s.target.resampling ? html`<p part="caption">${s.target.name}: ${s.target.resampling}</p>` : nothing}
      <figure part="figure">
        <div class="frame">
          ${image
            ? html`<img id="reconstruction" part="image" src=${image} alt=${`Generated reconstruction of ${s.target.name}${
              done ? `, ψ ${this.#psi()}` : `, step ${s.step}`
            }`}>`
            : nothing}
          ${generatedMarker()}
        </div>
        <figcaption part="caption">w:${s.id}${done ? ` · ψ ${this.#psi()}` : ""}</figcaption>
      </figure>
      ${done ? this.#renderEdits(s) : nothing}
    `;
  }

  #renderEdits(s: ProjectionStatus): TemplateResult {
    const layers = this._styleLayers ?? 8;
    const half = Math.max(1, Math.floor(layers / 2));
    const options = [`0-${half - 1}`, `${half}-${layers - 1}`, `0-${layers - 1}`];
    return html`
      <div class="controls" part="controls">
        <label part="label">ψ <input id="psi" part="slider" type="range" min="-1" max="1.5" step="0.05"
          .value=${String(this.#psi())} @input=${(e: Event) =>
            this.psi = Number((e.target as HTMLInputElement).value)}>
          <output>${this.#psi()}</output></label>
        <label part="label">Mix in (seed or w:id) <input id="mix-source" part="input" size="12"
          .value=${this.mixSource ?? ""} @change=${(e: Event) =>
            this.mixSource = (e.target as HTMLInputElement).value.trim() || undefined}></label>
        <label part="label">layers <select id="mix-layers" part="select" @change=${(e: Event) =>
          this.mixLayers = (e.target as HTMLSelectElement).value}>
          ${options.map((o) => html`<option value=${o} ?selected=${o === this.#mixLayers()}>${o}</option>`)}
        </select></label>
      </div>
      ${this.mixSource
        ? html`<figure class="mixing" part="figure"><img id="mixing" part="image" src=${
          this.#mixingUrl("png")
        }
          alt=${`Generated depth-mixing figure: layers ${this.#mixLayers()} of ${this.mixSource} into w:${s.id}`}>
          <figcaption part="caption">Sources in the first row, the projected tile in the first column, the
          mixed tile beside it.</figcaption></figure>`
        : nothing}
      <div class="controls" part="controls">
        <button id="download-png" part="button" @click=${() => this.#download("png")}>Download PNG</button>
        ${s.target.georeferenced
          ? html`<button id="download-tiff" part="button" @click=${() => this.#download("tiff")}>
            Download GeoTIFF</button>`
          : nothing}
        <button id="download-json" part="button" @click=${this
          .#downloadJson}>Download settings (JSON)</button>
      </div>
    `;
  }

  #psi(): number {
    const psi = Number(this.psi ?? 1);
    return Number.isFinite(psi) ? psi : 1;
  }

  #mixLayers(): string {
    const layers = this._styleLayers ?? 8;
    return this.mixLayers ?? `0-${Math.max(1, Math.floor(layers / 2)) - 1}`;
  }

  #url(path: string): string {
    return apiUrl(
      this.api,
      path.split("?")[0],
      Object.fromEntries(new URLSearchParams(path.split("?")[1] ?? "")),
    );
  }

  /** The projected tile truncated with ψ. */
  #tileUrl(format: "png" | "tiff"): string {
    return apiUrl(this.api, "/generate", { seed: `w:${this.projection}`, psi: this.#psi(), format });
  }

  /**
   * What the downloads give: the truncated tile, or with a mix source the mixing figure (PNG) and its one mixed
   * tile (GeoTIFF, on the projected tile's ground).
   */
  #editUrl(format: "png" | "tiff"): string {
    return this.mixSource ? this.#mixingUrl(format) : this.#tileUrl(format);
  }

  #mixingUrl(format: "png" | "tiff"): string {
    return apiUrl(this.api, "/mixing", {
      src: this.mixSource,
      dst: `w:${this.projection}`,
      ranges: this.#mixLayers(),
      dst_psi: this.#psi(),
      format,
    });
  }

  #dragOver(e: DragEvent): void {
    e.preventDefault();
    (e.currentTarget as HTMLElement).classList.add("over");
  }

  #dragLeave(e: DragEvent): void {
    (e.currentTarget as HTMLElement).classList.remove("over");
  }

  #dropped(e: DragEvent): void {
    e.preventDefault();
    (e.currentTarget as HTMLElement).classList.remove("over");
    const file = e.dataTransfer?.files[0];
    if (file) this.#upload(file);
  }

  #chosen(e: Event): void {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) this.#upload(file);
  }

  /** Post the tile; on 202 follow the new projection. */
  async #upload(file: File): Promise<void> {
    this._problem = undefined;
    this._busy = true;
    const form = new FormData();
    form.append("image", file, file.name);
    const url = apiUrl(this.api, "/api/projections", { steps: this.steps ?? 200, model: this.model });
    try {
      const response = await fetch(url, { method: "POST", body: form });
      if (response.status !== 202) throw await problemFromResponse(response);
      const status = await response.json() as ProjectionStatus;
      this._status = status;
      this.projection = status.id;
    } catch (error) {
      this._problem = words(error);
      this._busy = false;
    }
  }

  /** Follow a projection's events until it has finished, then read its model's style layers. */
  #follow(id: string): void {
    this.#events?.close();
    this.#following = id;
    this.#settled = Promise.withResolvers<void>();
    this._busy = true;
    const source = new EventSource(apiUrl(this.api, `/api/projections/${id}/events`));
    this.#events = source;
    const finish = async () => {
      source.close();
      this._busy = false;
      await this.#loadStyleLayers();
      this.#settled.resolve();
    };
    source.addEventListener("status", (e) => {
      this._status = JSON.parse((e as MessageEvent).data) as ProjectionStatus;
      if (FINISHED.includes(this._status.state)) finish();
    });
    source.addEventListener("progress", (e) => {
      const p = JSON.parse((e as MessageEvent).data);
      if (this._status) this._status = { ...this._status, state: "running", step: p.step, losses: p.losses };
    });
    source.addEventListener("target", (e) => {
      const t = JSON.parse((e as MessageEvent).data);
      if (this._status) {
        this._status = { ...this._status, target: { ...this._status.target, resampling: t.resampling } };
      }
    });
    source.addEventListener("reconstruction", (e) => {
      const r = JSON.parse((e as MessageEvent).data);
      if (this._status) this._status = { ...this._status, latest_reconstruction: r.url };
    });
    source.addEventListener("state", async (e) => {
      const data = JSON.parse((e as MessageEvent).data);
      if (!FINISHED.includes(data.state)) return;
      // The final status (PSNR, URLs) from GET; the stream ends here.
      try {
        const response = await fetch(apiUrl(this.api, `/api/projections/${id}`));
        if (!response.ok) throw await problemFromResponse(response);
        this._status = await response.json() as ProjectionStatus;
      } catch (error) {
        this._problem = words(error);
      }
      await finish();
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED || !this._busy) return;
      source.close();
      this._problem = `Lost the projection's progress from the server (${apiUrl(this.api, "/")}); try again`;
      this._busy = false;
      this.#settled.resolve();
    };
  }

  async #loadStyleLayers(): Promise<void> {
    const model = this._status?.model;
    if (!model) return;
    try {
      const response = await fetch(apiUrl(this.api, `/api/models/${encodeURIComponent(model)}`));
      if (response.ok) this._styleLayers = (await response.json()).style_layers;
    } catch {
      // the default of 8 style layers stays; the server refuses ranges the model lacks in words
    }
  }

  async #download(format: "png" | "tiff"): Promise<void> {
    try {
      const response = await fetch(this.#editUrl(format));
      if (!response.ok) throw await problemFromResponse(response);
      const name = safeFilename(
        `projection-${this.projection}-psi${this.#psi()}${this.mixSource ? "-mixed" : ""}`,
      );
      saveBlob(await response.blob(), `${name}.${format === "tiff" ? "tif" : "png"}`);
    } catch (error) {
      this._problem = words(error);
    }
  }

  #downloadJson(): void {
    const blob = new Blob([JSON.stringify(this.settings, null, 2) + "\n"], { type: "application/json" });
    saveBlob(blob, safeFilename(`projection-${this.projection}-settings`) + ".json");
  }
}

if (!customElements.get("sgan-projector")) customElements.define("sgan-projector", SganProjector);

declare global {
  interface HTMLElementTagNameMap {
    "sgan-projector": SganProjector;
  }
}
