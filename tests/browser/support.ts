/// <reference lib="dom" />
/**
 * What the browser tests need: Debian's chromium (never a downloaded browser), the real server as a
 * subprocess on a free loopback port, and small helpers to read the widgets' shadow DOM.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

/** Repository root. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** Where test artefacts (screenshots) go; gitignored. */
export const ARTIFACTS_DIR = `${ROOT}/tests/artifacts`;

/** Flags for headless chromium on a machine without a GPU, a sandbox or a network. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--force-color-profile=srgb",
  "--hide-scrollbars",
];

/** The chromium binary: `CHROMIUM_PATH` if set, else Debian's; undefined when there is none. */
export function findChromium(): string | undefined {
  const candidates = [
    Deno.env.get("CHROMIUM_PATH"),
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/lib/chromium/chromium",
  ];
  for (const path of candidates) {
    if (!path) continue;
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** A running server subprocess. */
export interface ServerProcess {
  /** e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Everything it printed (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Start `server/main.ts` on 127.0.0.1 with port 0 (the server picks a free one and prints it) and the wasm
 * backend, and wait until it answers.
 */
export async function startServer(
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "server/main.ts", "--port", "0", "--host", "127.0.0.1"],
    cwd: ROOT,
    env: { SGAN_BACKEND: "wasm", NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const collecting = Promise.all([collect(child.stdout), collect(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => !exited && child.kill("SIGKILL"), 5_000);
      await status;
      clearTimeout(timer);
    }
    await collecting;
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = /on http:\/\/[^:/]+:(\d+)\//.exec(text);
    if (match) {
      const url = `http://127.0.0.1:${match[1]}`;
      try {
        const response = await fetch(`${url}/api/models`);
        await response.body?.cancel();
        if (response.ok) return { url, output: () => text, stop };
      } catch {
        // not answering yet
      }
    }
    if (exited) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`the server did not start:\n${text}`);
}

/** Launch chromium headless with a throwaway profile; downloads (a widget's files) go to `downloadPath`. */
export async function launchChromium(executablePath: string, downloadPath?: string): Promise<Browser> {
  return await puppeteer.launch({
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    userDataDir: await Deno.makeTempDir({ prefix: "sgan-chromium-" }),
    protocolTimeout: 30_000,
    downloadBehavior: downloadPath ? { policy: "allow", downloadPath } : undefined,
  });
}

/** A shadow-DOM query: `selector` inside the shadow root of the first element matching `host`. */
export function inShadow(page: Page, host: string, selector: string) {
  return page.waitForFunction(
    (h, s) => document.querySelector(h)?.shadowRoot?.querySelector(s) ?? null,
    { timeout: 20_000 },
    host,
    selector,
  );
}

/** Wait until the widget `host` shows a loaded image and is not loading; returns the image's object URL. */
export async function waitForImage(page: Page, host: string, notSrc?: string): Promise<string> {
  const handle = await page.waitForFunction(
    (h, previous) => {
      const root = document.querySelector(h)?.shadowRoot;
      const img = root?.querySelector<HTMLImageElement>('img[part~="image"]');
      const busy = root?.querySelector('[aria-busy="true"]');
      if (!img || busy || !img.complete || img.naturalWidth === 0 || img.src === previous) return null;
      return img.src;
    },
    { timeout: 20_000, polling: 50 },
    host,
    notSrc ?? "",
  );
  return (await handle.jsonValue()) as string;
}

/** The text of the widget's error state, once it shows one. */
export async function waitForError(page: Page, host: string): Promise<string> {
  const handle = await page.waitForFunction(
    (h) => document.querySelector(h)?.shadowRoot?.querySelector('[part~="error"]')?.textContent ?? null,
    { timeout: 20_000, polling: 50 },
    host,
  );
  return ((await handle.jsonValue()) as string).replace(/\s+/g, " ").trim();
}

/** The pixels of the widget's image as a data URL (to compare two figures). */
export async function imagePixels(page: Page, host: string): Promise<string> {
  return await page.evaluate((h) => {
    const img = document.querySelector(h)!.shadowRoot!.querySelector<HTMLImageElement>('img[part~="image"]')!;
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    canvas.getContext("2d")!.drawImage(img, 0, 0);
    return canvas.toDataURL("image/png");
  }, host);
}
