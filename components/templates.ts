/**
 * Pieces of template every widget renders the same way: the loading line and the error state. Pure functions
 * of their arguments.
 *
 * @module
 */
import { html, nothing, type TemplateResult } from "lit";
import { explainProblem, isRetryable } from "./api.ts";

/** The polite live region that says a figure is being generated (empty otherwise, so it is announced). */
export function statusTemplate(loading: boolean, what = "figure"): TemplateResult {
  return html`<p class="status" part="status" role="status" aria-live="polite">${
    loading ? `Generating the ${what}…` : ""
  }</p>`;
}

/** The id of the error state's element, for the inputs' `aria-errormessage`. */
export const ERROR_ID = "sgan-error";

/**
 * The error state: what went wrong in words, what would be accepted, and "Try again" only where asking again
 * can help (a server that failed, was busy or could not be reached). `dismiss` instead offers a button that
 * always shows (to clear a failed download).
 */
export function problemTemplate(
  problem: unknown,
  retry: () => void,
  dismissLabel?: string,
): TemplateResult | typeof nothing {
  if (problem === undefined) return nothing;
  const words = explainProblem(problem);
  const label = dismissLabel ?? (isRetryable(problem) ? "Try again" : null);
  return html`<div class="error" part="error" role="alert" id=${dismissLabel ? nothing : ERROR_ID}>
    <p class="headline">${words.headline}</p>
    ${words.detail ? html`<p class="detail">${words.detail}</p>` : nothing}
    ${label ? html`<button type="button" part="button" @click=${retry}>${label}</button>` : nothing}
  </div>`;
}

/** `aria-invalid` for an input: "true" when the current problem is about one of its `fields`. */
export function invalidFor(problemField: string | null, ...fields: string[]): "true" | "false" {
  return problemField !== null && fields.includes(problemField) ? "true" : "false";
}

/**
 * The always-visible marker that the imagery is synthetic: on screen, in prints and in screenshots (downloaded
 * PNGs carry the server's own "generated" line).
 */
export function generatedMarker(): TemplateResult {
  return html`
    <span class="generated" part="generated" title="Synthetic imagery made by a StyleGAN model, not a photograph"
    >generated</span>
  `;
}

/**
 * The figure's place while it is not there: on screen a quiet "…", in print the settings it will show (so a
 * report printed too early says what belongs there instead of printing an empty box).
 */
export function placeholderTemplate(words: string): TemplateResult {
  return html`<div class="placeholder" part="placeholder"><span aria-hidden="true" class="screen-only">…</span
    ><span class="print-only">${words} (live figure: needs the sgan server)</span></div>`;
}

/** The label of a raw to_rgb head, so that it is never mistaken for the ground view. */
export function viewNote(depth: number | null | undefined): string {
  return `Raw to_rgb head of depth ${depth ?? "?"} (research view, not the tile at that ground resolution)`;
}
