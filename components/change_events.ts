/**
 * `sgan-change` for every widget: fired with the widget's settings when one of them changes after the
 * first render (the attributes a page was written with are not a change). One place, so that every widget
 * reports changes the same way.
 */
export class SettingsChangeEvents {
  #rendered = false;

  constructor(
    private readonly host: HTMLElement & { readonly settings: unknown },
    private readonly keys: readonly string[],
  ) {}

  /** Call from the host's `updated(changed)`. */
  updated(changed: ReadonlyMap<PropertyKey, unknown>): void {
    if (this.#rendered && this.keys.some((key) => changed.has(key))) {
      this.host.dispatchEvent(
        new CustomEvent("sgan-change", { detail: this.host.settings, bubbles: true, composed: true }),
      );
    }
    this.#rendered = true;
  }
}
