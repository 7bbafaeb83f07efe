/// <reference lib="dom" />
/**
 * `<sgan-projector>` in chromium against the real server (`server/main.ts`, the small reference model, its
 * projections in a fresh folder and database): choose a real tile, watch the reconstruction arrive from the
 * projection's events, move ψ, mix in a seed, download PNG and JSON. Skipped only where chromium is missing.
 */
import assert from "node:assert/strict";
import type { Browser } from "puppeteer-core";
import { join } from "node:path";
import { buildWidgets } from "../../components/build.ts";
import type { ProjectorSettings } from "../../components/sgan_projector.ts";
import { decodeImage } from "../../model/data/decode.ts";
import { openGeoTiff } from "../../model/geo/read.ts";
import { writeGeoTiff } from "../../model/geo/write.ts";
import { UCMERCED_DIR } from "../support/paths.ts";
import { findChromium, inShadow, launchChromium, type ServerProcess, startServer } from "./support.ts";

const chromium = findChromium();
const HOST = "#demo-projector";

Deno.test({
  name: "<sgan-projector> in chromium: upload, converge, ψ, mixing, downloads",
  ignore: !chromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await buildWidgets();
    const dir = await Deno.makeTempDir({ prefix: "sgan-projector-" });
    const downloads = join(dir, "downloads");
    await Deno.mkdir(downloads);
    let server: ServerProcess | undefined;
    let browser: Browser | undefined;
    try {
      server = await startServer({
        SGAN_DEFAULT_MODEL: "reference-r32",
        SGAN_PROJECTIONS_DIR: join(dir, "projections"),
        SGAN_DATABASE: join(dir, "sgan.sqlite"),
      });
      browser = await launchChromium(chromium!, downloads);
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${server.url}/`, { waitUntil: "load" });
      // Few steps: the test is about the widget, not the projection.
      await page.$eval(HOST, (el) => el.setAttribute("steps", "20"));

      const text = (selector: string) =>
        page.evaluate(
          (h, s) =>
            document.querySelector(h)?.shadowRoot?.querySelector(s)?.textContent?.replace(/\s+/g, " "),
          HOST,
          selector,
        );
      const imageSrc = (selector: string) =>
        page.evaluate(
          (h, s) => {
            const img = document.querySelector(h)?.shadowRoot?.querySelector<HTMLImageElement>(s);
            return img && img.complete && img.naturalWidth > 0 ? img.src : null;
          },
          HOST,
          selector,
        );

      await t.step("choosing a tile posts it and the reconstruction converges from the events", async () => {
        // Record every image the widget shows while it projects.
        await page.evaluate((h) => {
          const seen: string[] = [];
          (window as unknown as { __shown: string[] }).__shown = seen;
          const root = document.querySelector(h)!.shadowRoot!;
          const note = () => {
            const src = root.querySelector<HTMLImageElement>("#reconstruction")?.getAttribute("src");
            if (src && seen.at(-1) !== src) seen.push(src);
          };
          new MutationObserver(note).observe(root, { subtree: true, childList: true, attributes: true });
        }, HOST);
        const input = await inShadow(page, HOST, "#file");
        await (input.asElement() as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(
          `${UCMERCED_DIR}/images/agricultural/agricultural00.jpg`,
        );
        await page.waitForFunction(
          (h) => /Projected in 20 steps: PSNR/.test(document.querySelector(h)?.shadowRoot?.textContent ?? ""),
          { timeout: 60_000, polling: 100 },
          HOST,
        ).catch(async (e) => {
          throw new Error(
            `${e}; the widget says: ${await text(".container")}\n${server!.output().slice(-2000)}`,
          );
        });
        const id = await page.$eval(HOST, (el) => el.getAttribute("projection"));
        assert.match(id ?? "", /^p\d{8}-\d{6}-[0-9a-f]{4}$/);
        assert.match(await text("[part~=caption]") ?? "", /256 → 32 px/);
        await page.waitForFunction(
          (h) => {
            const img = document.querySelector(h)?.shadowRoot?.querySelector<HTMLImageElement>(
              "#reconstruction",
            );
            return img?.complete && img.naturalWidth === 32 && img.src.includes("/generate?seed=w%3A");
          },
          { timeout: 20_000 },
          HOST,
        );
        // On the way it showed the previews of the event stream (every 10 steps), then the projected tile.
        const shown = await page.evaluate(() => (window as unknown as { __shown: string[] }).__shown);
        assert.ok(
          shown.some((src) =>
            /\/api\/projections\/p[\d-]+[0-9a-f]+\/reconstruction\.png\?step=10$/.test(src)
          ),
          shown.join("\n"),
        );
        assert.match(shown.at(-1)!, /\/generate\?seed=w%3Ap/);
        // The server's status names the latest preview.
        const status = await (await fetch(`${server!.url}/api/projections/${id}`)).json();
        assert.equal(status.latest_reconstruction, `/api/projections/${id}/reconstruction.png?step=20`);
      });

      await t.step("the ψ slider edits the projected tile (its URL and image change)", async () => {
        const before = await imageSrc("#reconstruction");
        await page.evaluate((h) => {
          const slider = document.querySelector(h)!.shadowRoot!.querySelector<HTMLInputElement>("#psi")!;
          slider.value = "0.5";
          slider.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
        }, HOST);
        await page.waitForFunction(
          (h) => {
            const img = document.querySelector(h)?.shadowRoot?.querySelector<HTMLImageElement>(
              "#reconstruction",
            );
            return img?.complete && img.naturalWidth > 0 && img.src.includes("psi=0.5");
          },
          { timeout: 20_000 },
          HOST,
        );
        assert.notEqual(await imageSrc("#reconstruction"), before);
        assert.equal(await page.$eval(HOST, (el) => el.getAttribute("psi")), "0.5");
      });

      await t.step("mixing in a seed shows the mixing figure of the projected tile", async () => {
        await page.evaluate((h) => {
          const input = document.querySelector(h)!.shadowRoot!.querySelector<HTMLInputElement>(
            "#mix-source",
          )!;
          input.value = "730";
          input.dispatchEvent(new Event("change", { bubbles: true, composed: true }));
        }, HOST);
        await page.waitForFunction(
          (h) => {
            const img = document.querySelector(h)?.shadowRoot?.querySelector<HTMLImageElement>("#mixing");
            return img?.complete && img.naturalWidth === 64 ? img.src : null;
          },
          { timeout: 20_000 },
          HOST,
        );
        const src = await imageSrc("#mixing");
        assert.match(src!, /\/mixing\?src=730&dst=w%3Ap.*&ranges=0-3/);
        // A JPEG has no place on the ground: no GeoTIFF download.
        assert.equal(await text("#download-tiff"), undefined);
      });

      await t.step("downloads: the settings as JSON and the edit as PNG", async () => {
        await page.evaluate(
          (h) => document.querySelector(h)!.shadowRoot!.querySelector<HTMLElement>("#download-json")!.click(),
          HOST,
        );
        await page.evaluate(
          (h) => document.querySelector(h)!.shadowRoot!.querySelector<HTMLElement>("#download-png")!.click(),
          HOST,
        );
        const files = await waitForFiles(downloads, 2);
        const json = files.find((f) => f.endsWith(".json"))!;
        const settings = JSON.parse(await Deno.readTextFile(join(downloads, json))) as ProjectorSettings;
        assert.equal(settings.widget, "sgan-projector");
        assert.equal(settings.psi, 0.5);
        assert.equal(settings.mix_source, "730");
        assert.equal(settings.source, `w:${settings.projection}`);
        assert.equal(settings.geotiff_url, null);
        const pngFile = files.find((f) => f.endsWith(".png"))!;
        const bytes = await Deno.readFile(join(downloads, pngFile));
        assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
      });
      await t.step("a GeoTIFF tile: the edit downloads as a GeoTIFF on the source's ground", async () => {
        const tif = join(dir, "site.tif");
        const site = await decodeImage(
          await Deno.readFile(`${UCMERCED_DIR}/images/agricultural/agricultural00.jpg`),
          "site",
        );
        const data = new Uint8Array(100 * 100 * 3);
        for (let y = 0; y < 100; y++) {
          data.set(site.data.subarray(y * site.width * 3, (y * site.width + 100) * 3), y * 300);
        }
        await writeGeoTiff(tif, {
          width: 100,
          height: 100,
          bands: 3,
          data,
          geo: { geoTransform: [486_540, 1, 0, 5_208_607, 0, -1], crs: { epsg: 26914 } },
        });
        const before = await page.$eval(HOST, (el) => el.getAttribute("projection"));
        const input = await inShadow(page, HOST, "#file");
        await (input.asElement() as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(tif);
        await page.waitForFunction(
          (h, old) => {
            const el = document.querySelector(h);
            return el?.getAttribute("projection") !== old &&
              /Projected in 20 steps/.test(el?.shadowRoot?.textContent ?? "") &&
              el?.shadowRoot?.querySelector("#download-tiff");
          },
          { timeout: 25_000, polling: 100 },
          HOST,
          before,
        );
        await page.evaluate(
          (h) => document.querySelector(h)!.shadowRoot!.querySelector<HTMLElement>("#download-tiff")!.click(),
          HOST,
        );
        const files = await waitForFiles(downloads, 3);
        const name = files.find((f) => f.endsWith(".tif"))!;
        const file = await openGeoTiff(join(downloads, name));
        try {
          assert.equal(file.info.geo?.crs.epsg, 26914);
          const [x0, , , y0] = file.info.geo!.geoTransform;
          // The tile is cut from the site's centre: its corner lies inside the site.
          assert.ok(x0 > 486_540 && x0 < 486_640 && y0 < 5_208_607 && y0 > 5_208_507, `${x0}, ${y0}`);
        } finally {
          await file.close();
        }
      });
      assert.deepEqual(errors, []);
    } finally {
      await browser?.close();
      await server?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/** Wait until `dir` holds `count` finished downloads (no .crdownload). */
async function waitForFiles(dir: string, count: number): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => !n.endsWith(".crdownload"));
    if (files.length >= count) return files;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${count} downloads did not arrive in ${dir}`);
}
