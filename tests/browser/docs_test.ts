/**
 * /docs in chromium: Swagger UI renders every operation of /openapi.json from files this server serves, and the
 * page asks no other host for anything (these machines, and many users, have no internet).
 */
import assert from "node:assert/strict";
import type { Browser } from "puppeteer-core";
import { findChromium, launchChromium, type ServerProcess, startServer } from "./support.ts";

const chromium = findChromium();

Deno.test({
  name: "/docs renders the whole document offline (Swagger UI from the npm package)",
  ignore: !chromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let server: ServerProcess | undefined;
    let browser: Browser | undefined;
    try {
      server = await startServer({ SGAN_DEFAULT_MODEL: "reference-r32" });
      const base = server.url;
      const doc = await (await fetch(`${base}/openapi.json`)).json() as {
        paths: Record<string, Record<string, unknown>>;
      };
      const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
      browser = await launchChromium(chromium!);
      const page = await browser.newPage();
      const elsewhere: string[] = [];
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.setRequestInterception(true);
      page.on("request", (r) => {
        const url = r.url();
        if (url.startsWith(base) || url.startsWith("data:")) return void r.continue();
        elsewhere.push(url);
        void r.abort();
      });
      await page.goto(`${base}/docs`, { waitUntil: "load" });
      await page.waitForFunction(
        (n) => document.querySelectorAll(".opblock").length >= n,
        { timeout: 30_000 },
        operations,
      );
      const shown = await page.$$eval(
        ".opblock-summary-path",
        (els) => els.map((e) => e.textContent?.trim()),
      );
      for (const path of ["/generate", "/mixing", "/api/train/{id}/events", "/api/models/{name}"]) {
        assert.ok(
          shown.some((s) => s?.replace(/\u200b/g, "") === path),
          `${path} is shown: ${shown.join(" ")}`,
        );
      }
      assert.deepEqual(elsewhere, [], "no request leaves the server");
      assert.deepEqual(errors, []);
    } finally {
      await browser?.close();
      await server?.stop();
    }
  },
});
