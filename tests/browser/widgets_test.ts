/// <reference lib="dom" />
/**
 * The widgets in a real browser against the real server: Debian's chromium, headless, driven by
 * puppeteer-core (which never downloads a browser), and `server/main.ts` on a free loopback port with the
 * wasm backend. Skipped, saying why, only where chromium is not installed (`.ci/run` installs it).
 *
 * One browser and one server for all steps, so the whole file takes seconds.
 */
import assert from "node:assert/strict";
import type { Browser, ElementHandle, Page } from "puppeteer-core";
import { buildWidgets } from "../../components/build.ts";
import type { SganImage, SganMixer, SganTruncation } from "../../components/widgets.ts";
import { formatMetres } from "../../components/model_info.ts";
import {
  ARTIFACTS_DIR,
  findChromium,
  imagePixels,
  inShadow,
  launchChromium,
  type ServerProcess,
  startServer,
  waitForError,
  waitForImage,
} from "./support.ts";

const chromium = findChromium();
if (!chromium) {
  console.warn(
    "SKIPPED tests/browser: no chromium found at /usr/bin/chromium (apt-get install -y chromium) or CHROMIUM_PATH",
  );
}

/** Every fetch the page makes, recorded (with its abort signal) before any widget loads. */
const FETCH_LOG = `
  window.__fetches = [];
  window.__fetchDelayMs = 0;
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init = {}) => {
    const entry = { url: String(input), signal: init.signal ?? null };
    window.__fetches.push(entry);
    if (window.__fetchDelayMs > 0 && entry.url.includes(window.__fetchDelayPath ?? "")) {
      // A slow network, so that a request is still in flight when the next one supersedes it.
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, window.__fetchDelayMs);
        init.signal?.addEventListener("abort", () => { clearTimeout(timer); reject(init.signal.reason); });
      });
    }
    return realFetch(input, init);
  };
`;

/**
 * The demo page's mixer ranges (0-7,8-9) are chosen for the served 64 px model; the 32 px test model has style
 * layers 0-7 only, so its pages get the ranges these steps were written for, set as the element is parsed
 * (before the bundle, a deferred module, first renders it).
 */
const SMALL_MODEL_DEMO = `
  new MutationObserver((_, observer) => {
    const mixer = document.getElementById("demo-mixer");
    if (mixer) {
      mixer.setAttribute("ranges", "0-3,4-7");
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
`;

interface FetchRecord {
  url: string;
  aborted: boolean;
}

function fetchesOf(page: Page, path: string): Promise<FetchRecord[]> {
  return page.evaluate(
    (p) =>
      (window as unknown as { __fetches: { url: string; signal: AbortSignal | null }[] }).__fetches
        .filter((f) => f.url.includes(p))
        .map((f) => ({ url: f.url, aborted: f.signal?.aborted ?? false })),
    path,
  );
}

async function shadowHandle(page: Page, host: string, selector: string): Promise<ElementHandle<Element>> {
  return (await inShadow(page, host, selector)).asElement() as ElementHandle<Element>;
}

/** The element that has keyboard focus, looking into shadow roots: `host#id > inner#id`. */
function deepFocus(page: Page): Promise<string> {
  return page.evaluate(() => {
    let el: Element | null = document.activeElement;
    const path: string[] = [];
    while (el) {
      path.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}`);
      el = el.shadowRoot?.activeElement ?? null;
    }
    return path.join(" > ");
  });
}

/** Press Tab until the focused element (through shadow roots) ends with `target`. */
async function tabTo(page: Page, target: string, maxPresses = 40): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < maxPresses; i++) {
    await page.keyboard.press("Tab");
    const focused = await deepFocus(page);
    seen.push(focused);
    if (focused.endsWith(target)) return;
  }
  assert.fail(`Tab never reached ${target}; focus went through:\n${seen.join("\n")}`);
}

async function attribute(page: Page, host: string, name: string): Promise<string | null> {
  return await page.$eval(host, (el, n) => el.getAttribute(n), name);
}

async function waitForAttribute(page: Page, host: string, name: string, value: string): Promise<void> {
  await page.waitForFunction(
    (h, n, v) => document.querySelector(h)?.getAttribute(n) === v,
    { timeout: 10_000 },
    host,
    name,
    value,
  );
}

Deno.test({
  name: "widgets in chromium against the real server",
  ignore: !chromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const built = await buildWidgets();
    assert.ok(built.bytes > 10_000, `the bundle is suspiciously small (${built.bytes} bytes)`);

    let server: ServerProcess | undefined;
    let browser: Browser | undefined;
    const downloads = await Deno.makeTempDir({ prefix: "sgan-downloads-" });
    try {
      // Reports live on other origins (or in files): the server lets any origin embed the widgets.
      // The small reference network: fast, and the expectations below are about its 32 px, 8 style layers.
      server = await startServer({ SGAN_CORS_ORIGINS: "*", SGAN_DEFAULT_MODEL: "reference-r32" });
      browser = await launchChromium(chromium!, downloads);
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      await page.evaluateOnNewDocument(FETCH_LOG);
      await page.evaluateOnNewDocument(SMALL_MODEL_DEMO);
      await page.setViewport({ width: 1100, height: 900 });
      const base = server.url;
      const model = await (await fetch(`${base}/api/models`)).json();
      const info = model.models.find((m: { name: string }) => m.name === model.default);

      await page.goto(`${base}/`, { waitUntil: "load" });

      await t.step(
        "the demo page renders an image in every widget, with ground scale from the server",
        async () => {
          for (const host of ["#demo-image", "sgan-image[depth='2']", "#demo-truncation", "#demo-mixer"]) {
            assert.match(await waitForImage(page, host), /^blob:/, host);
          }
          const caption = await (await shadowHandle(page, "#demo-image", "figcaption"))
            .evaluate((el) => el.textContent!.replace(/\s+/g, " "));
          // The metres come from /api/models, never typed in.
          const extent = formatMetres(info.tile_extent_m);
          assert.ok(caption.includes(`tile ${extent} × ${extent}`), caption);
          assert.ok(caption.includes(`${formatMetres(info.scale.at(-1).metres_per_pixel)}/px`), caption);
          await shadowHandle(page, "#demo-image", '[part~="scale-bar"]');
          const rows = await page.waitForFunction(
            (n) => {
              const count = document.querySelector("sgan-scale-table")?.shadowRoot?.querySelectorAll(
                "tbody tr",
              ).length;
              return count === n ? count : null;
            },
            { timeout: 10_000 },
            info.depths,
          );
          assert.equal(await rows.jsonValue(), info.depths);
          const snippet = await page.$eval("#snippet", (el) => el.textContent!);
          assert.ok(snippet.includes(`src="${base}/widgets/sgan-widgets.js"`), snippet);
          const legend = await (await shadowHandle(page, "#demo-truncation", '[part~="legend"]'))
            .evaluate((el) => el.textContent!);
          assert.match(legend, /ψ → 0 is the average landscape of the training data; ψ < 0 its opposite/);
          await Deno.mkdir(ARTIFACTS_DIR, { recursive: true });
          await page.screenshot({ path: `${ARTIFACTS_DIR}/demo-page.png`, fullPage: true });
          assert.ok((await Deno.stat(`${ARTIFACTS_DIR}/demo-page.png`)).size > 10_000);
        },
      );

      await t.step(
        "moving the ψ slider fetches and shows a new figure; a superseded request is aborted",
        async () => {
          const host = "#demo-truncation";
          const before = await waitForImage(page, host);
          const slider = await shadowHandle(page, host, "#extent");
          const slide = (value: string) =>
            slider.evaluate((el, v) => {
              const input = el as HTMLInputElement;
              input.value = v;
              input.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
            }, value);
          await page.evaluate(() => {
            const w = window as unknown as { __fetchDelayMs: number; __fetchDelayPath: string };
            w.__fetchDelayMs = 1500;
            w.__fetchDelayPath = "/truncation";
          });
          const sent = (await fetchesOf(page, "/truncation")).length;
          await slide("0.6");
          await page.waitForFunction(
            (n) =>
              (window as unknown as { __fetches: { url: string }[] }).__fetches.filter((f) =>
                f.url.includes("/truncation")
              ).length > n,
            { timeout: 10_000 },
            sent,
          );
          await slide("0.4");
          await page.evaluate(() => ((window as unknown as { __fetchDelayMs: number }).__fetchDelayMs = 0));
          const after = await waitForImage(page, host, before);
          assert.notEqual(after, before);
          const requests = (await fetchesOf(page, "/truncation")).slice(sent);
          assert.equal(requests.length, 2, JSON.stringify(requests));
          assert.ok(requests[0].aborted, "the request for ψ ±0.6 was superseded and should be aborted");
          assert.ok(requests[1].url.includes("psis=-0.4%2C-0.2%2C0%2C0.2%2C0.4"), requests[1].url);
          assert.equal(await attribute(page, host, "psis"), "-0.4,-0.2,0,0.2,0.4");
          const labels = await page.$eval(
            host,
            (el) =>
              [...el.shadowRoot!.querySelectorAll('[part~="column-label"]')].map((l) =>
                l.textContent!.trim()
              ),
          );
          assert.deepEqual(labels, ["ψ = −0.4", "ψ = −0.2", "ψ = 0", "ψ = 0.2", "ψ = 0.4"]);

          // Rapid moves are debounced into one request.
          const burst = (await fetchesOf(page, "/truncation")).length;
          for (const v of ["0.5", "0.6", "0.7", "0.8", "0.9"]) {
            await slide(v);
          }
          await waitForImage(page, host, after);
          await waitForAttribute(page, host, "psis", "-0.9,-0.45,0,0.45,0.9");
          const burstRequests = await fetchesOf(page, "/truncation");
          assert.equal(burstRequests.length - burst, 1, JSON.stringify(burstRequests.slice(burst)));
        },
      );

      await t.step("changing a mixing range changes the image and its labels", async () => {
        const host = "#demo-mixer";
        const src = await waitForImage(page, host);
        const before = await imagePixels(page, host);
        const select = await shadowHandle(page, host, "#range-1");
        const options = await select.evaluate((el) =>
          [...(el as HTMLSelectElement).options].map((o) => o.value)
        );
        assert.ok(options.includes("6-7"), options.join(" "));
        await select.select("6-7");
        await waitForAttribute(page, host, "ranges", "0-3,6-7");
        await waitForImage(page, host, src);
        assert.notEqual(await imagePixels(page, host), before, "the figure's pixels should change");
        const labels = await page.$eval(
          host,
          (el) =>
            [...el.shadowRoot!.querySelectorAll('[part~="row-label"]')].map((l) =>
              l.textContent!.replace(/\s+/g, " ")
            ),
        );
        const fine = formatMetres(info.scale[3].metres_per_pixel);
        assert.ok(labels[2].includes(`layers 6–7 · ${fine}/px`), labels.join(" | "));
        const optionLabel = await select.evaluate((el) =>
          (el as HTMLSelectElement).selectedOptions[0].textContent
        );
        assert.match(optionLabel!, /^layers 6–7 · .+ m\/px: .+/);
      });

      await t.step(
        "a server 400 shows its message in the error state; local and network errors too",
        async () => {
          await page.evaluate((origin) => {
            document.body.insertAdjacentHTML(
              "beforeend",
              `<sgan-truncation id="too-many" seeds="0-40"></sgan-truncation>
             <sgan-image id="too-deep" seed="1" depth="9"></sgan-image>
             <sgan-image id="unknown-model" seed="1" model="no-such-model"></sgan-image>
             <sgan-mixer id="bad-range" src="1" dst="2,3" ranges="0-5,5-10"></sgan-mixer>
             <sgan-image id="bad-seed" seed="abc"></sgan-image>
             <sgan-image id="unreachable" seed="1" api="http://127.0.0.1:9"></sgan-image>`,
            );
            return origin;
          }, base);
          const tooMany = await waitForError(page, "#too-many");
          assert.match(tooMany, /^Seeds: .*more than 32 seeds/, tooMany);
          assert.doesNotMatch(tooMany, /Try again/, "a 400 answers the same every time: no retry offered");
          const tooDeep = await waitForError(page, "#too-deep");
          assert.match(tooDeep, /depth 9 does not exist in the 32 px model/i, tooDeep);
          assert.match(tooDeep, /Allowed: an integer from 0 to 3/, tooDeep);
          assert.doesNotMatch(tooDeep, /Try again/);
          const unknown = await waitForError(page, "#unknown-model");
          assert.match(unknown, /unknown model .no-such-model./i);
          assert.doesNotMatch(unknown, /Try again/, "a 404 cannot be fixed by retrying");
          assert.match(await waitForError(page, "#bad-range"), /"5-10" goes past the last style layer 7/i);
          assert.match(await waitForError(page, "#bad-seed"), /seed "abc" is not a whole number/i);
          const unreachable = await waitForError(page, "#unreachable");
          assert.match(unreachable, /cannot be reached/i);
          assert.match(unreachable, /Try again/, "a network failure may pass: retry offered");
          const images = await page.$eval("#too-many", (el) => el.shadowRoot!.querySelectorAll("img").length);
          assert.equal(images, 0, "no figure is shown in the error state");
          // Fixing the attribute recovers.
          await page.$eval("#too-many", (el) => el.setAttribute("seeds", "0-1"));
          await waitForImage(page, "#too-many");
        },
      );

      await t.step(
        "attributes and properties reflect each other; sgan-change carries the settings",
        async () => {
          const host = "#demo-truncation";
          const previous = await waitForImage(page, host);
          const result = await page.evaluate(async (h) => {
            const truncation = document.querySelector(h) as SganTruncation;
            const events: Record<string, unknown>[] = [];
            truncation.addEventListener("sgan-change", (e) => events.push((e as CustomEvent).detail));
            truncation.psis = [-0.5, 0, 0.5];
            await truncation.updateComplete;
            const psisAttribute = truncation.getAttribute("psis");
            truncation.setAttribute("depth", "2");
            await truncation.updateComplete;
            const image = document.querySelector("#demo-image") as SganImage;
            image.seed = 731;
            await image.updateComplete;
            const mixer = document.querySelector("#demo-mixer") as SganMixer;
            mixer.setAttribute("src-psi", "-0.25");
            await mixer.updateComplete;
            return {
              psisAttribute,
              depthProperty: truncation.depth,
              seedAttribute: image.getAttribute("seed"),
              srcPsiProperty: mixer.srcPsi,
              events,
            };
          }, host);
          assert.equal(result.psisAttribute, "-0.5,0,0.5");
          assert.equal(result.depthProperty, 2);
          assert.equal(result.seedAttribute, "731");
          assert.equal(result.srcPsiProperty, -0.25);
          assert.equal(result.events.length, 2, JSON.stringify(result.events));
          assert.equal(result.events[1].widget, "sgan-truncation");
          assert.equal(result.events[1].psis, "-0.5,0,0.5");
          assert.match(
            String(result.events[1].url),
            /^\/truncation\?seeds=91%2C388&psis=-0.5%2C0%2C0.5&depth=2$/,
          );
          await waitForImage(page, host, previous);
          // Three columns of depth-2 (16 px) tiles: the new settings reached the server.
          const size = await page.$eval(host, (el) => {
            const img = el.shadowRoot!.querySelector("img")!;
            return [img.naturalWidth, img.naturalHeight];
          });
          assert.deepEqual(size, [3 * 16, 2 * 16]);
        },
      );

      await t.step(
        "a report on another origin embeds a live figure with one script tag and one element",
        async () => {
          const snippet = (await page.$eval("#snippet", (el) => el.textContent!))
            .replace('ranges="0-7,8-9"', 'ranges="0-3,4-7"');
          const report = Deno.serve(
            { hostname: "127.0.0.1", port: 0, onListen: () => {} },
            () =>
              new Response(`<!doctype html><title>report</title><h1>Appendix</h1>${snippet}`, {
                headers: { "content-type": "text/html; charset=utf-8" },
              }),
          );
          try {
            const reportPage = await browser!.newPage();
            await reportPage.goto(`http://127.0.0.1:${report.addr.port}/`, { waitUntil: "load" });
            assert.notEqual(new URL(reportPage.url()).origin, base);
            await waitForImage(reportPage, "sgan-mixer");
            // The row labels come from the server's X-Style-Layers header, readable across origins.
            const labels = await reportPage.$eval(
              "sgan-mixer",
              (el) =>
                [...el.shadowRoot!.querySelectorAll('[part~="row-label"]')].map((l) =>
                  l.textContent!.replace(/\s+/g, " ")
                ),
            );
            assert.match(labels[1], /layers 0–3 · .+ m\/px/);
            await reportPage.close();
          } finally {
            await report.shutdown();
          }
        },
      );

      await t.step(
        "errors use the labels users see and mark the input invalid; limits are checked before drawing",
        async () => {
          await page.evaluate(() => {
            document.body.insertAdjacentHTML(
              "beforeend",
              `<sgan-mixer id="bad-psi" src="1" dst="2" ranges="0-3" src-psi="5"></sgan-mixer>
               <sgan-mixer id="many-dst" src="1" dst="0-40" ranges="0-3"></sgan-mixer>
               <sgan-mixer id="many-cells" src="0-9" dst="0-29" ranges="0-3"></sgan-mixer>`,
            );
          });
          const psi = await waitForError(page, "#bad-psi");
          assert.match(psi, /^Source ψ 5 is outside -2 to 2/, psi);
          assert.doesNotMatch(psi, /src-psi|Src-psi/);
          const invalid = (host: string) =>
            page.$eval(host, (el) =>
              Object.fromEntries(
                [...el.shadowRoot!.querySelectorAll("input, select")].map((i) => [
                  i.id,
                  i.getAttribute("aria-invalid"),
                ]),
              ));
          const psiState = await invalid("#bad-psi");
          assert.equal(psiState["src-psi"], "true", JSON.stringify(psiState));
          assert.equal(psiState["dst-psi"], "false");
          assert.equal(psiState["src"], "false");
          const many = await waitForError(page, "#many-dst");
          assert.match(many, /^Destination seeds: seed list "0-40" expands to more than 32 seeds/, many);
          const menus = await page.$eval(
            "#many-dst",
            (el) => el.shadowRoot!.querySelectorAll("select").length,
          );
          assert.ok(menus <= 1, `0-40 destinations must not draw 41 menus (drew ${menus})`);
          assert.equal((await invalid("#many-dst"))["dst"], "true");
          // 10 sources × 30 destinations: 341 tiles, over the server's 256, refused before asking.
          const cells = await waitForError(page, "#many-cells");
          assert.match(cells, /\(10 \+ 1\) × \(30 \+ 1\) = 341 tiles, more than the limit of 256/, cells);
          const sent = await fetchesOf(page, "src=0-9");
          assert.equal(sent.length, 0, "the too-large figure was never requested");
          await page.evaluate(() => {
            for (const id of ["bad-psi", "many-dst", "many-cells"]) document.getElementById(id)!.remove();
          });
        },
      );

      await t.step("depth shows the ground view; view=raw is the head itself, labelled as such", async () => {
        await page.evaluate(() => {
          document.body.insertAdjacentHTML(
            "beforeend",
            `<sgan-image id="ground-1" seed="730" psi="0.7" depth="1"></sgan-image>
             <sgan-image id="raw-1" seed="730" psi="0.7" depth="1" view="raw"></sgan-image>`,
          );
        });
        await waitForImage(page, "#ground-1");
        await waitForImage(page, "#raw-1");
        const fetched = (await fetchesOf(page, "seed=730&psi=0.7&depth=1")).map((f) => f.url);
        assert.ok(fetched.some((u) => u.endsWith("depth=1")), fetched.join(" "));
        assert.ok(fetched.some((u) => u.endsWith("depth=1&view=raw")), fetched.join(" "));
        const caption = (host: string) =>
          page.$eval(
            host,
            (el) => el.shadowRoot!.querySelector("figcaption")!.textContent!.replace(/\s+/g, " "),
          );
        assert.doesNotMatch(await caption("#ground-1"), /Raw/);
        assert.match(await caption("#raw-1"), /Raw to_rgb head of depth 1 \(research view/);
        assert.notEqual(await imagePixels(page, "#raw-1"), await imagePixels(page, "#ground-1"));
        await page.evaluate(() => {
          for (const id of ["ground-1", "raw-1"]) document.getElementById(id)!.remove();
        });
      });

      await t.step("every figure carries an always-visible 'generated' marker", async () => {
        for (const host of ["#demo-image", "#demo-truncation", "#demo-mixer"]) {
          const marker = await shadowHandle(page, host, '[part~="generated"]');
          const [text, visible] = await marker.evaluate((el) => {
            const box = el.getBoundingClientRect();
            return [
              el.textContent!.trim(),
              box.width > 0 && box.height > 0 && getComputedStyle(el).display !== "none",
            ];
          });
          assert.equal(String(text).toLowerCase(), "generated", host);
          assert.ok(visible, `${host}: the marker is visible`);
        }
        const header = await page.$eval("header", (el) => el.textContent!.replace(/\s+/g, " "));
        assert.match(header, /Every image on this page is generated/);
        assert.match(header, /StyleGAN is/);
        assert.match(header, /ψ \(psi\)/);
        assert.match(header, /Truncation is/);
      });

      await t.step(
        "at 390 px (a phone) nothing overflows: figures scale down, tables scroll inside",
        async () => {
          const phone = await browser!.newPage();
          await phone.evaluateOnNewDocument(SMALL_MODEL_DEMO);
          try {
            await phone.setViewport({ width: 390, height: 844 });
            await phone.goto(`${base}/`, { waitUntil: "load" });
            await phone.evaluate(() =>
              (globalThis as unknown as { sganWidgets: { ready(): Promise<void> } }).sganWidgets.ready()
            );
            const widths = await phone.evaluate(() => ({
              scroll: document.documentElement.scrollWidth,
              client: document.documentElement.clientWidth,
              widest: [
                ...document.querySelectorAll("sgan-image, sgan-truncation, sgan-mixer, sgan-scale-table"),
              ]
                .map((el) => `${el.tagName.toLowerCase()} ${Math.round(el.getBoundingClientRect().right)}`),
            }));
            assert.ok(
              widths.scroll <= widths.client,
              `page ${widths.scroll} px in ${widths.client}: ${widths.widest}`,
            );
            for (const entry of widths.widest) {
              assert.ok(
                Number(entry.split(" ")[1]) <= widths.client,
                `${entry} reaches past ${widths.client}`,
              );
            }
            const images = await phone.evaluate(() =>
              [...document.querySelectorAll("sgan-truncation, sgan-mixer")].map((el) => {
                const img = el.shadowRoot!.querySelector("img")!;
                return [img.getBoundingClientRect().width, img.naturalWidth];
              })
            );
            for (const [shown, natural] of images) assert.ok(shown > 0 && natural > 0);
            await phone.screenshot({ path: `${ARTIFACTS_DIR}/demo-page-390.png`, fullPage: true });
          } finally {
            await phone.close();
          }
        },
      );

      await t.step("printed after the ready signal, the PDF holds every image and no controls", async () => {
        const printPage = await browser!.newPage();
        await printPage.evaluateOnNewDocument(SMALL_MODEL_DEMO);
        try {
          await printPage.setViewport({ width: 1100, height: 900 });
          await printPage.goto(`${base}/`, { waitUntil: "load" });
          await printPage.evaluate(() =>
            (globalThis as unknown as { sganWidgets: { ready(): Promise<void> } }).sganWidgets.ready()
          );
          const shown = await printPage.evaluate(() =>
            [...document.querySelectorAll("sgan-image, sgan-truncation, sgan-mixer")].map((el) => {
              const img = el.shadowRoot!.querySelector<HTMLImageElement>('img[part~="image"]');
              return img !== null && img.complete && img.naturalWidth > 0
                ? `${img.naturalWidth}x${img.naturalHeight}`
                : "missing";
            })
          );
          assert.equal(shown.length, 4);
          assert.ok(!shown.includes("missing"), `every figure is there once ready resolves: ${shown}`);
          await printPage.emulateMediaType("print");
          const controls = await printPage.evaluate(() =>
            [...document.querySelectorAll("sgan-truncation, sgan-mixer")].flatMap((el) =>
              [...el.shadowRoot!.querySelectorAll("input, select, button, fieldset")]
                .filter((c) => getComputedStyle(c).display !== "none")
                .map((c) => `${el.tagName} ${c.tagName}#${c.id}`)
            )
          );
          assert.deepEqual(controls, [], "no control is printed");
          const pdf = await printPage.pdf({ format: "A4", printBackground: true });
          const pdfPath = `${ARTIFACTS_DIR}/demo-page.pdf`;
          await Deno.writeFile(pdfPath, pdf);
          // Every figure is one colour image in the PDF, at its own pixel size (chromium draws text and box
          // shadows as grey images too; those are left out).
          const text = new TextDecoder("latin1").decode(pdf);
          const imageDicts =
            /\/Subtype\s*\/Image\s*\/Width\s+(\d+)\s*\/Height\s+(\d+)\s*\/ColorSpace\s*([^\n]*)/g;
          const inPdf = [...text.matchAll(imageDicts)]
            .filter((m) => !m[3].includes("DeviceGray"))
            .map((m) => `${m[1]}x${m[2]}`);
          assert.deepEqual(inPdf.sort(), [...shown].sort(), "the PDF's colour images are the figures");
          const words = await pdfText(pdfPath);
          if (words !== null) {
            assert.doesNotMatch(
              words,
              /Download figure|Try again|Copy snippet/,
              "no control text in the PDF",
            );
            assert.match(words, /GENERATED|generated/);
          }
        } finally {
          await printPage.close();
        }
      });

      await t.step(
        "printed before the figures arrive, each placeholder says which figure belongs there",
        async () => {
          const early = await browser!.newPage();
          await early.evaluateOnNewDocument(SMALL_MODEL_DEMO);
          try {
            // The figures never arrive: every image request waits forever.
            await early.setRequestInterception(true);
            early.on("request", (r) => {
              if (/\/(generate|truncation|mixing)\?/.test(r.url())) return; // left hanging
              r.continue();
            });
            await early.goto(`${base}/`, { waitUntil: "load" });
            await early.waitForFunction(() => customElements.get("sgan-mixer") !== undefined);
            await early.emulateMediaType("print");
            const placeholder = await early.waitForFunction(
              () => {
                const el = document.querySelector("#demo-mixer")?.shadowRoot?.querySelector(
                  '[part~="placeholder"] .print-only',
                );
                return el && getComputedStyle(el).display !== "none" ? el.textContent : null;
              },
              { timeout: 10_000 },
            );
            const words = String(await placeholder.jsonValue());
            assert.match(
              words,
              /sources 730,904 \(ψ -0\.5\), destinations 387,190 \(ψ 0\.7\), style layers 0-3,4-7/,
              words,
            );
          } finally {
            await early.close();
          }
        },
      );

      await t.step(
        "a report elsewhere loads the bundle without the API's CORS setting, says why the data is missing, and " +
          "shows its fallback text when the script cannot load",
        async () => {
          const strict = await startServer({ SGAN_DEFAULT_MODEL: "reference-r32" });
          const report = Deno.serve(
            { hostname: "127.0.0.1", port: 0, onListen: () => {} },
            (request) => {
              const server = new URL(request.url).searchParams.get("server")!;
              return new Response(
                `<!doctype html><title>report</title><script type="module" src="${server}/widgets/sgan-widgets.js"></script>
                 <sgan-image id="tile" api="${server}" seed="730" psi="0.7">Live figure: needs the sgan server</sgan-image>`,
                { headers: { "content-type": "text/html; charset=utf-8" } },
              );
            },
          );
          const reportPage = await browser!.newPage();
          try {
            const origin = `http://127.0.0.1:${report.addr.port}`;
            await reportPage.goto(`${origin}/?server=${encodeURIComponent(strict.url)}`, {
              waitUntil: "load",
            });
            await reportPage.waitForFunction(() => customElements.get("sgan-image") !== undefined, {
              timeout: 10_000,
            });
            const why = await waitForError(reportPage, "#tile");
            assert.match(why, /cannot be reached/, why);
            assert.match(why, /SGAN_CORS_ORIGINS/, why);

            // With the API's CORS setting (the main server allows any origin), the same report shows the tile.
            await reportPage.goto(`${origin}/?server=${encodeURIComponent(base)}`, { waitUntil: "load" });
            await waitForImage(reportPage, "#tile");

            // A script that cannot load leaves the element's own text on the page.
            await reportPage.goto(`${origin}/?server=${encodeURIComponent("http://127.0.0.1:9")}`, {
              waitUntil: "load",
            });
            const fallback = await reportPage.$eval("#tile", (el) => [
              (el as HTMLElement).innerText.trim(),
              customElements.get("sgan-image") === undefined,
            ]);
            assert.deepEqual(fallback, ["Live figure: needs the sgan server", true]);
          } finally {
            await reportPage.close();
            await report.shutdown();
            await strict.stop();
          }

          // A report opened from a file (origin "null"): the bundle loads, and with SGAN_CORS_ORIGINS=* the data too.
          const folder = await Deno.makeTempDir({ prefix: "sgan-report-" });
          const filePage = await browser!.newPage();
          try {
            const file = `${folder}/report.html`;
            await Deno.writeTextFile(
              file,
              `<!doctype html><title>report</title><script type="module" src="${base}/widgets/sgan-widgets.js"></script>
               <sgan-mixer api="${base}" src="730,904" dst="387,190" ranges="0-3,4-7">Live figure: needs the sgan server</sgan-mixer>`,
            );
            await filePage.goto(`file://${file}`, { waitUntil: "load" });
            await waitForImage(filePage, "sgan-mixer");
          } finally {
            await filePage.close();
            await Deno.remove(folder, { recursive: true });
          }
        },
      );

      await t.step("keyboard alone operates the controls, with visible focus", async () => {
        await page.goto(`${base}/`, { waitUntil: "load" });
        await waitForImage(page, "#demo-truncation");
        const before = await waitForImage(page, "#demo-mixer");

        await tabTo(page, "sgan-truncation#demo-truncation > input#extent");
        const outline = await (await shadowHandle(page, "#demo-truncation", "#extent"))
          .evaluate((el) => getComputedStyle(el).outlineStyle);
        assert.equal(outline, "solid", "keyboard focus must be visible");
        const figure = await waitForImage(page, "#demo-truncation");
        await page.keyboard.press("ArrowLeft");
        await waitForAttribute(page, "#demo-truncation", "psis", "-0.9,-0.45,0,0.45,0.9");
        await waitForImage(page, "#demo-truncation", figure);

        await tabTo(page, "sgan-mixer#demo-mixer > input#src");
        await page.keyboard.down("Control");
        await page.keyboard.press("KeyA");
        await page.keyboard.up("Control");
        await page.keyboard.type("730,905");
        await page.keyboard.press("Enter");
        await waitForAttribute(page, "#demo-mixer", "src", "730,905");
        const afterSeeds = await waitForImage(page, "#demo-mixer", before);

        await tabTo(page, "sgan-mixer#demo-mixer > input#dst-psi");
        await page.keyboard.press("ArrowUp");
        await waitForAttribute(page, "#demo-mixer", "dst-psi", "0.8");
        const afterPsi = await waitForImage(page, "#demo-mixer", afterSeeds);

        await tabTo(page, "sgan-mixer#demo-mixer > select#range-0");
        await page.keyboard.press("ArrowDown");
        await page.waitForFunction(() =>
          document.querySelector("#demo-mixer")!.getAttribute("ranges") !== "0-3,4-7"
        );
        await waitForImage(page, "#demo-mixer", afterPsi);

        await tabTo(page, "sgan-mixer#demo-mixer > button#save-json");
        await page.keyboard.press("Enter");
        const saved = await waitForFile(downloads, ".json");
        const settings = JSON.parse(await Deno.readTextFile(saved));
        assert.equal(settings.widget, "sgan-mixer");
        assert.equal(settings.src, "730,905");
        assert.equal(settings.dst_psi, 0.8);
        assert.equal(settings.server.src_seeds.join(","), "730,905");
        assert.equal(settings.rows.length, 2);
        assert.match(settings.rows[0].label, /^layers \d–\d · .+ m\/px/);
      });

      assert.deepEqual(pageErrors, [], "the page threw");
    } finally {
      await browser?.close();
      await server?.stop();
      await Deno.remove(downloads, { recursive: true }).catch(() => {});
    }
  },
});

/** The PDF's text through poppler's pdftotext, or null where it is not installed. */
async function pdfText(path: string): Promise<string | null> {
  try {
    const { code, stdout } = await new Deno.Command("pdftotext", {
      args: [path, "-"],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    return code === 0 ? new TextDecoder().decode(stdout) : null;
  } catch {
    return null;
  }
}

async function waitForFile(folder: string, extension: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.isFile && entry.name.endsWith(extension)) return `${folder}/${entry.name}`;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${extension} file was downloaded into ${folder}`);
}
