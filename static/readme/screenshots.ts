/**
 * Screenshots of the demo page for the docs, at a desktop (1280 px) and a phone (390 px) width, taken with
 * Debian's chromium once every widget is ready (`sganWidgets.ready()`):
 *
 *   deno run -A static/readme/screenshots.ts            # writes static/readme/demo-1280.png, demo-390.png
 *
 * It also prints each page's width against the viewport's, so a phone layout that overflows shows at once.
 *
 * @module
 */
import { findChromium, launchChromium, startServer } from "../../tests/browser/support.ts";
import { buildWidgets } from "../../components/build.ts";

const OUT = new URL(".", import.meta.url).pathname;

if (import.meta.main) {
  const chromium = findChromium();
  if (!chromium) {
    console.error("error: no chromium (apt-get install -y chromium, or set CHROMIUM_PATH)");
    Deno.exit(1);
  }
  await buildWidgets();
  const server = await startServer();
  const browser = await launchChromium(chromium);
  try {
    for (const width of [1280, 390]) {
      const page = await browser.newPage();
      await page.setViewport({ width, height: 900, deviceScaleFactor: 1 });
      await page.goto(`${server.url}/`, { waitUntil: "load" });
      await page.evaluate(() =>
        (globalThis as unknown as { sganWidgets: { ready(): Promise<void> } }).sganWidgets.ready()
      );
      const [scroll, client] = await page.evaluate(() => [
        document.documentElement.scrollWidth,
        document.documentElement.clientWidth,
      ]);
      const path = `${OUT}demo-${width}.png`;
      await page.screenshot({ path, fullPage: true });
      console.log(`${path}: page ${scroll} px wide in a ${client} px viewport`);
      await page.close();
    }
  } finally {
    await browser.close();
    await server.stop();
  }
}
