/**
 * Styles every widget shares. Themable through custom properties (set them on the element or any ancestor):
 *
 * | property | meaning | default |
 * | --- | --- | --- |
 * | `--sgan-font-family` | text font | inherit (the report's font) |
 * | `--sgan-font-size` | base text size | inherit (the report's size) |
 * | `--sgan-color` | text colour | #1f2328 |
 * | `--sgan-muted-color` | captions and hints | #57606a |
 * | `--sgan-background` | panel background | transparent |
 * | `--sgan-border-color` | control and panel borders | #8c959f |
 * | `--sgan-accent-color` | buttons, slider | #0a5cad |
 * | `--sgan-focus-color` | keyboard focus ring | #d4560d |
 * | `--sgan-error-color` / `--sgan-error-background` | error state | #a40e26 / #fff0f0 |
 * | `--sgan-tile-size` | shown side of one tile | 96px (sgan-image: 256px) |
 * | `--sgan-radius` | corner radius | 4px |
 * | `--sgan-generated-color` / `--sgan-generated-background` | the "generated" marker | #fff / rgb(0 0 0 / 0.7) |
 *
 * Parts for `::part()`: `container`, `controls`, `label`, `input`, `slider`, `select`, `button`, `figure`,
 * `image`, `caption`, `legend`, `scale-bar`, `column-label`, `row-label`, `status`, `error`, `table`, `generated`, `placeholder`, `view-note`.
 *
 * @module
 */
import { css } from "lit";

/** The base every widget's `static styles` starts with. */
export const baseStyles = css`
  :host {
    display: block;
    box-sizing: border-box;
    /* The report's own font unless themed. */
    font-family: var(--sgan-font-family, inherit);
    font-size: var(--sgan-font-size, inherit);
    line-height: 1.4;
    /* Never wider than the report's column (phones): figures scale down, tables scroll inside. */
    max-width: 100%;
    color: var(--sgan-color, #1f2328);
    background: var(--sgan-background, transparent);
    /* A figure and its caption stay on one page in a PDF. */
    break-inside: avoid;
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  .container {
    display: grid;
    grid-template-columns: minmax(0, 1fr);
    gap: 0.6em;
    justify-items: start;
  }
  .container > * {
    max-width: 100%;
    min-width: 0;
  }
  figure {
    margin: 0;
    display: grid;
    gap: 0.35em;
    justify-items: start;
    position: relative;
  }
  .generated {
    position: absolute;
    top: 0.3em;
    left: 0.3em;
    z-index: 1;
    padding: 0 0.35em;
    border-radius: var(--sgan-radius, 4px);
    font-size: 0.75em;
    font-weight: 600;
    letter-spacing: 0.04em;
    text-transform: uppercase;
    color: var(--sgan-generated-color, #fff);
    background: var(--sgan-generated-background, rgb(0 0 0 / 0.7));
    pointer-events: none;
  }
  .print-only {
    display: none;
  }
  img {
    display: block;
    /* Generated tiles are small: show their pixels, not a blur. */
    image-rendering: pixelated;
    transition: opacity 0.15s;
  }
  [aria-busy="true"] img {
    opacity: 0.55;
  }
  .caption,
  figcaption {
    color: var(--sgan-muted-color, #57606a);
    max-width: 80ch;
  }
  .controls {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5em 1.25em;
    align-items: end;
  }
  .field {
    display: grid;
    gap: 0.2em;
  }
  label,
  legend {
    font-weight: 600;
  }
  input,
  select,
  button {
    font: inherit;
    color: inherit;
    border: 1px solid var(--sgan-border-color, #8c959f);
    border-radius: var(--sgan-radius, 4px);
    padding: 0.25em 0.45em;
    background: #fff;
  }
  input[type="range"] {
    padding: 0;
    border: none;
    accent-color: var(--sgan-accent-color, #0a5cad);
    background: transparent;
  }
  button {
    cursor: pointer;
    background: var(--sgan-accent-color, #0a5cad);
    border-color: var(--sgan-accent-color, #0a5cad);
    color: #fff;
  }
  button:disabled {
    opacity: 0.5;
    cursor: default;
  }
  /* Keyboard focus is always visible, also on the themable parts. */
  :focus-visible {
    outline: 3px solid var(--sgan-focus-color, #d4560d);
    outline-offset: 2px;
  }
  p {
    margin: 0;
  }
  .status {
    color: var(--sgan-muted-color, #57606a);
  }
  .status:empty {
    display: none;
  }
  .error {
    color: var(--sgan-error-color, #a40e26);
    background: var(--sgan-error-background, #fff0f0);
    border: 1px solid currentColor;
    border-radius: var(--sgan-radius, 4px);
    padding: 0.4em 0.6em;
    max-width: 60ch;
  }
  .error p {
    margin: 0 0 0.25em;
  }
  .error .headline {
    font-weight: 600;
  }
  .placeholder {
    display: grid;
    place-items: center;
    text-align: center;
    padding: 0.5em;
    overflow: hidden;
    color: var(--sgan-muted-color, #57606a);
    border: 1px dashed var(--sgan-border-color, #8c959f);
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  @media print {
    /* Reports go to PDF: the figure, its labels and its caption; no controls, no loading hints. */
    .controls,
    .actions,
    .status,
    button,
    fieldset,
    input,
    select,
    .screen-only {
      display: none !important;
    }
    .print-only {
      display: block;
    }
    .generated {
      print-color-adjust: exact;
      -webkit-print-color-adjust: exact;
    }
    :host {
      color: #000;
      background: none;
    }
    [aria-busy="true"] img {
      opacity: 1;
    }
    img {
      print-color-adjust: exact;
      -webkit-print-color-adjust: exact;
    }
  }
`;

/** A figure with column labels above and row labels to its left, aligned with the image's equal cells. */
export const plateStyles = css`
  .plate {
    display: grid;
    /* The image column shrinks below its natural width when the container is narrower (phones). */
    grid-template-columns: auto minmax(0, calc(var(--columns) * var(--sgan-tile-size, 96px)));
    grid-template-rows: auto auto;
    gap: 0.25em 0.5em;
    align-items: stretch;
    max-width: 100%;
    position: relative;
  }
  .plate .generated {
    grid-column: 2;
    grid-row: 2;
    position: relative;
    top: auto;
    left: auto;
    align-self: start;
    justify-self: start;
    margin: 0.3em;
  }
  .column-labels {
    grid-column: 2;
    display: grid;
    grid-template-columns: repeat(var(--columns), 1fr);
    column-gap: 0.25em;
    align-items: end;
    text-align: center;
    font-variant-numeric: tabular-nums;
  }
  .row-labels {
    grid-column: 1;
    grid-row: 2;
    display: grid;
    grid-template-rows: repeat(var(--rows), 1fr);
    align-items: center;
    text-align: end;
    max-width: 22ch;
    font-variant-numeric: tabular-nums;
  }
  .plate img,
  .plate .placeholder {
    grid-column: 2;
    grid-row: 2;
    width: 100%;
    height: auto;
    aspect-ratio: var(--columns) / var(--rows);
  }
  .column-labels,
  .row-labels {
    min-width: 0;
    overflow-wrap: anywhere;
  }
  @media (max-width: 480px) {
    .row-labels {
      max-width: 11ch;
      font-size: 0.85em;
    }
  }
  .row-label small {
    display: block;
    color: var(--sgan-muted-color, #57606a);
  }
`;
