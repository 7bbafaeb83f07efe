/// <reference lib="dom" />
/**
 * The widgets bundle (`static/widgets/sgan-widgets.js`, built by `deno task build:widgets`): importing it
 * defines `<sgan-image>`, `<sgan-truncation>`, `<sgan-mixer>`, `<sgan-scale-table>` and `<sgan-projector>`.
 *
 * ```html
 * <script type="module" src="http://host:8000/widgets/sgan-widgets.js"></script>
 * <sgan-mixer api="http://host:8000" src="730,904" dst="387,190" ranges="0-3,4-7" src-psi="-0.5" dst-psi="0.7">
 * </sgan-mixer>
 * ```
 *
 * Print pipelines and screenshots wait for {@link whenWidgetsReady} (also `window.sganWidgets.ready()`, for
 * scripts that do not import the bundle): it resolves once every widget on the page shows its figure or its
 * error.
 *
 * @module
 */
export { SganImage } from "./sgan_image.ts";
export { SganTruncation } from "./sgan_truncation.ts";
export { SganMixer } from "./sgan_mixer.ts";
export { SganScaleTable } from "./sgan_scale_table.ts";
export { SganProjector } from "./sgan_projector.ts";

/** The widgets' tag names. */
export const WIDGET_TAGS = [
  "sgan-image",
  "sgan-truncation",
  "sgan-mixer",
  "sgan-scale-table",
  "sgan-projector",
] as const;

/**
 * Resolves when every widget under `root` (the document by default) has settled: figures shown and decoded,
 * or an error shown. Widgets added while it waits are waited for too. Never rejects.
 */
export async function whenWidgetsReady(root: ParentNode = document): Promise<void> {
  const done = new Set<Element>();
  for (let round = 0; round < 10; round++) {
    const pending = [...root.querySelectorAll(WIDGET_TAGS.join(","))].filter((el) => !done.has(el));
    if (pending.length === 0) return;
    await Promise.all(pending.map(async (el) => {
      await (el as unknown as { ready?: Promise<void> }).ready;
      done.add(el);
    }));
  }
}

(globalThis as { sganWidgets?: unknown }).sganWidgets = { ready: whenWidgetsReady };
