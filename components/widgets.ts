/**
 * The widgets bundle (`static/widgets/sgan-widgets.js`, built by `deno task build:widgets`): importing it
 * defines `<sgan-image>`, `<sgan-truncation>`, `<sgan-mixer>` and `<sgan-scale-table>`.
 *
 * ```html
 * <script type="module" src="http://host:8000/widgets/sgan-widgets.js"></script>
 * <sgan-mixer api="http://host:8000" src="730,904" dst="387,190" ranges="0-3,4-7" src-psi="-0.5" dst-psi="0.7">
 * </sgan-mixer>
 * ```
 *
 * @module
 */
export { SganImage } from "./sgan_image.ts";
export { SganTruncation } from "./sgan_truncation.ts";
export { SganMixer } from "./sgan_mixer.ts";
export { SganScaleTable } from "./sgan_scale_table.ts";
