/// <reference lib="dom" />
/**
 * The class menu of a conditional model (issue 18): "random" and each class the model's description
 * (`/api/models/{name}`: `classes`) lists, or nothing at all for an unconditional model. One module, so that
 * `<sgan-image>`, `<sgan-truncation>` and both menus of `<sgan-mixer>` offer the same choices in the same words.
 *
 * @module
 */
import { html, nothing, type TemplateResult } from "lit";
import { ERROR_ID } from "./templates.ts";

/** The class the server draws from each tile's seed when none is named (its default). */
export const RANDOM_CLASS = "random";

/** One option of a class menu. */
export interface ClassOption {
  value: string;
  label: string;
  selected: boolean;
}

/**
 * The options of a class menu: "random" first, then the model's classes in label order. A `current` value the
 * model does not list stays selectable (and selected), marked as such, so that the menu shows what the attribute
 * says while the error state gives the server's answer. Empty for a model without classes.
 */
export function classOptions(classes: readonly string[], current: string | undefined): ClassOption[] {
  if (classes.length === 0) return [];
  const chosen = current ?? RANDOM_CLASS;
  const options = [
    { value: RANDOM_CLASS, label: "random (drawn from each seed)" },
    ...classes.map((name) => ({ value: name, label: name })),
  ];
  if (!options.some((o) => o.value === chosen)) {
    options.unshift({ value: chosen, label: `${chosen} (not a class of this model)` });
  }
  return options.map((o) => ({ ...o, selected: o.value === chosen }));
}

/** What a class menu needs from its widget. */
export interface ClassSelectOptions {
  /** The `<select>`'s id (and the attribute it sets, for tests and `aria-invalid`). */
  id: string;
  /** Its visible label. */
  label: string;
  /** The model's classes (empty: no menu). */
  classes: readonly string[];
  /** The attribute's value (undefined: the server's default, random). */
  current: string | undefined;
  /** `aria-invalid` ("true" when the current problem is about this class). */
  invalid: "true" | "false";
  /** Called with the chosen value. */
  choose: (value: string) => void;
}

/** A labelled class menu, or nothing for a model without classes (an unconditional model shows no menu). */
export function classSelectTemplate(o: ClassSelectOptions): TemplateResult | typeof nothing {
  const options = classOptions(o.classes, o.current);
  if (options.length === 0) return nothing;
  return html`
    <div class="field">
      <label for=${o.id} part="label">${o.label}</label>
      <select id=${o.id} part="select" aria-invalid=${o.invalid} aria-errormessage=${ERROR_ID}
        @change=${(e: Event) => o.choose((e.target as HTMLSelectElement).value)}>
        ${options.map((c) => html`<option value=${c.value} .selected=${c.selected}>${c.label}</option>`)}
      </select>
    </div>
  `;
}
