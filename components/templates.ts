/**
 * Pieces of template every widget renders the same way: the loading line and the error state. Pure functions
 * of their arguments.
 *
 * @module
 */
import { html, nothing, type TemplateResult } from "lit";
import { explainProblem } from "./api.ts";

/** The polite live region that says a figure is being generated (empty otherwise, so it is announced). */
export function statusTemplate(loading: boolean, what = "figure"): TemplateResult {
  return html`<p class="status" part="status" role="status" aria-live="polite">${
    loading ? `Generating the ${what}…` : ""
  }</p>`;
}

/** The error state: what went wrong in words, what would be accepted, and a retry (or dismiss) button. */
export function problemTemplate(
  problem: unknown,
  retry: () => void,
  retryLabel = "Try again",
): TemplateResult | typeof nothing {
  if (problem === undefined) return nothing;
  const words = explainProblem(problem);
  const isSetting = (problem as { kind?: string }).kind === "setting" ||
    (problem as { name?: string }).name === "SettingError";
  return html`<div class="error" part="error" role="alert">
    <p class="headline">${words.headline}</p>
    ${words.detail ? html`<p class="detail">${words.detail}</p>` : nothing}
    ${isSetting ? nothing : html`<button type="button" part="button" @click=${retry}>${retryLabel}</button>`}
  </div>`;
}
