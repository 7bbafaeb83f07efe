/**
 * `deno task build:widgets`: bundle the Lit widgets (components/widgets.ts and everything it imports, Lit
 * included) into one browser ES module, `static/widgets/sgan-widgets.js`, which the server serves at
 * `/widgets/sgan-widgets.js`. `deno task serve` runs it first, so a fresh checkout serves a current bundle.
 *
 * The bundle is written beside its final name and renamed into place, so a running server never serves half
 * a file.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root. */
const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The bundle's entry module. */
export const WIDGETS_ENTRY: string = join(ROOT, "components", "widgets.ts");

/** Where the bundle goes by default. */
export const WIDGETS_BUNDLE: string = join(ROOT, "static", "widgets", "sgan-widgets.js");

/** Options of {@link buildWidgets}. */
export interface BuildOptions {
  /** Output file (default {@link WIDGETS_BUNDLE}). */
  output?: string;
  /** Minify (default true). */
  minify?: boolean;
}

/** What a build wrote. */
export interface BuildResult {
  output: string;
  bytes: number;
  ms: number;
}

/** Bundle the widgets with `deno bundle --platform browser`. Throws with deno's own message on failure. */
export async function buildWidgets(options: BuildOptions = {}): Promise<BuildResult> {
  const output = options.output ?? WIDGETS_BUNDLE;
  const started = performance.now();
  await Deno.mkdir(dirname(output), { recursive: true });
  const partial = `${output}.${Deno.pid}.partial.js`;
  const args = ["bundle", "--quiet", "--platform", "browser", "--format", "esm", "--output", partial];
  if (options.minify ?? true) args.push("--minify");
  args.push(WIDGETS_ENTRY);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    await Deno.remove(partial).catch(() => {});
    throw new Error(`deno bundle failed (exit ${code}):\n${new TextDecoder().decode(stderr).trim()}`);
  }
  await Deno.rename(partial, output);
  const { size } = await Deno.stat(output);
  return { output, bytes: size, ms: Math.round(performance.now() - started) };
}

if (import.meta.main) {
  try {
    const { output, bytes, ms } = await buildWidgets();
    console.log(`widgets: ${output.slice(ROOT.length)} (${(bytes / 1024).toFixed(1)} KiB, ${ms} ms)`);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
