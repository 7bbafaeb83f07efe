/// <reference lib="dom" />
/**
 * The class menus in a real browser (issue 18, item 3, widget side): Debian's chromium against the real server,
 * which serves a tiny conditional model (tests/support/conditional_model.ts, classes forest, freeway, river) beside
 * the unconditional reference model. A menu lists the model's classes, choosing one changes the request and the
 * image, the downloads record it, an unconditional model shows no menu, and a class the model lacks shows the
 * server's 400 in the widget. Skipped, saying why, only where chromium is not installed.
 */
import assert from "node:assert/strict";
import type { Browser, ElementHandle, Page } from "puppeteer-core";
import { buildWidgets } from "../../components/build.ts";
import { useWasm } from "../server/helpers.ts";
import { CONDITIONAL_CLASSES, writeConditionalModel } from "../support/conditional_model.ts";
import {
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
    "SKIPPED tests/browser/classes_test.ts: no chromium at /usr/bin/chromium (apt-get install -y chromium) or CHROMIUM_PATH",
  );
}

/** Every `sgan-change` detail, by widget id, recorded from the first render on. */
const CHANGE_LOG = `
  window.__changes = [];
  document.addEventListener("sgan-change", (e) => window.__changes.push({ id: e.target.id, detail: e.detail }));
`;

async function shadowHandle(page: Page, host: string, selector: string): Promise<ElementHandle<Element>> {
  return (await inShadow(page, host, selector)).asElement() as ElementHandle<Element>;
}

/** The values and the selected value of a menu in a widget's shadow root. */
function menu(
  page: Page,
  host: string,
  id: string,
): Promise<{ values: string[]; labels: string[]; selected: string }> {
  return page.$eval(host, (el, i) => {
    const select = el.shadowRoot!.getElementById(i) as HTMLSelectElement;
    return {
      values: [...select.options].map((o) => o.value),
      labels: [...select.options].map((o) => o.textContent!.trim()),
      selected: select.value,
    };
  }, id);
}

function hasElement(page: Page, host: string, selector: string): Promise<boolean> {
  return page.$eval(host, (el, s) => el.shadowRoot!.querySelector(s) !== null, selector);
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

async function waitForFile(folder: string, extension: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.isFile && entry.name.endsWith(extension)) return `${folder}/${entry.name}`;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${extension} file was downloaded into ${folder}`);
}

Deno.test({
  name: "class menus in chromium against a conditional and an unconditional model",
  ignore: !chromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await buildWidgets();
    await useWasm();
    const models = await Deno.makeTempDir({ prefix: "sgan-class-models-" });
    const downloads = await Deno.makeTempDir({ prefix: "sgan-class-downloads-" });
    const { generator } = await writeConditionalModel(`${models}/landuse.safetensors`);
    generator.dispose();

    let server: ServerProcess | undefined;
    let browser: Browser | undefined;
    let report: Deno.HttpServer<Deno.NetAddr> | undefined;
    try {
      server = await startServer({
        SGAN_CORS_ORIGINS: "*",
        SGAN_DEFAULT_MODEL: "reference-r32",
        SGAN_MODELS_DIR: models,
      });
      const base = server.url;
      // A report on its own origin, as a user's would be.
      const body = `<!doctype html><title>classes</title>
        <script type="module" src="${base}/widgets/sgan-widgets.js"></script>
        <sgan-image id="tile" api="${base}" model="landuse" seed="12" psi="0.5" tile-class="forest"></sgan-image>
        <sgan-image id="plain" api="${base}" seed="730" psi="0.7"></sgan-image>
        <sgan-truncation id="trunc" api="${base}" model="landuse" seeds="1,2" psis="0,1"></sgan-truncation>
        <sgan-truncation id="plain-trunc" api="${base}" seeds="1" psis="0,1"></sgan-truncation>
        <sgan-mixer id="mixer" api="${base}" model="landuse" src="1,2" dst="3" ranges="0-3"></sgan-mixer>
        <sgan-mixer id="plain-mixer" api="${base}" src="1" dst="2" ranges="0-3"></sgan-mixer>`;
      report = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        () => new Response(body, { headers: { "content-type": "text/html; charset=utf-8" } }),
      );
      browser = await launchChromium(chromium!, downloads);
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      const requested: string[] = [];
      page.on("request", (r) => requested.push(r.url()));
      await page.evaluateOnNewDocument(CHANGE_LOG);
      await page.setViewport({ width: 1100, height: 1400 });
      await page.goto(`http://127.0.0.1:${report.addr.port}/`, { waitUntil: "load" });
      const sentFor = (path: string, after: number) =>
        requested.slice(after).filter((u) => u.startsWith(`${base}${path}?`));

      await t.step(
        "the menu lists random and the model's classes; choosing one changes the URL and the image",
        async () => {
          const first = await waitForImage(page, "#tile");
          assert.ok(
            sentFor("/generate", 0).some((u) => u.endsWith("seed=12&psi=0.5&model=landuse&class=forest")),
          );
          await shadowHandle(page, "#tile", "select#tile-class");
          const listed = await menu(page, "#tile", "tile-class");
          assert.deepEqual(listed.values, ["random", ...CONDITIONAL_CLASSES]);
          assert.equal(listed.selected, "forest", "the attribute's class is the one selected");
          const forest = await imagePixels(page, "#tile");

          const before = requested.length;
          await (await shadowHandle(page, "#tile", "select#tile-class") as ElementHandle<HTMLSelectElement>)
            .select("river");
          await waitForAttribute(page, "#tile", "tile-class", "river");
          await waitForImage(page, "#tile", first);
          const sent = sentFor("/generate", before);
          assert.equal(sent.length, 1, sent.join(" "));
          assert.match(sent[0], /[?&]class=river(&|$)/);
          assert.notEqual(await imagePixels(page, "#tile"), forest, "another class, another tile");
          const caption = await page.$eval(
            "#tile",
            (el) => el.shadowRoot!.querySelector("figcaption")!.textContent!,
          );
          assert.match(caption, /Seed 12 · ψ 0\.5 · river/);
          const changes = await page.evaluate(() =>
            (window as unknown as { __changes: { id: string; detail: Record<string, unknown> }[] }).__changes
          );
          const last = changes.filter((c) => c.id === "tile").at(-1)!;
          assert.equal(last.detail.class, "river");
          assert.match(String(last.detail.url), /class=river/);

          // Set from script, the attribute selects the menu item and asks for that class.
          const shown = await waitForImage(page, "#tile");
          const scripted = requested.length;
          await page.$eval("#tile", (el) => el.setAttribute("tile-class", "freeway"));
          await waitForImage(page, "#tile", shown);
          assert.equal((await menu(page, "#tile", "tile-class")).selected, "freeway");
          assert.match(sentFor("/generate", scripted).at(-1)!, /[?&]class=freeway(&|$)/);
        },
      );

      await t.step("an unconditional model shows no class menu and sends no class", async () => {
        await waitForImage(page, "#plain");
        await waitForImage(page, "#plain-trunc");
        await waitForImage(page, "#plain-mixer");
        await waitForImage(page, "#mixer"); // its model (conditional) has arrived too: the menus are drawn
        assert.equal(await hasElement(page, "#plain", "select"), false);
        assert.equal(await hasElement(page, "#plain-trunc", "#tile-class"), false);
        assert.equal(await hasElement(page, "#plain-mixer", "#src-class"), false);
        assert.equal(await hasElement(page, "#plain-mixer", "#dst-class"), false);
        assert.equal(await hasElement(page, "#mixer", "#src-class"), true);
        const plain = requested.filter((u) =>
          /\/(generate|truncation|mixing)\?/.test(u) && !u.includes("landuse")
        );
        assert.ok(plain.length >= 3, plain.join(" "));
        for (const url of plain) assert.doesNotMatch(url, /class=/);
      });

      await t.step(
        "a class the model lacks shows the server's 400; choosing a listed class recovers",
        async () => {
          await page.evaluate((b) => {
            document.body.insertAdjacentHTML(
              "beforeend",
              `<sgan-image id="unknown" api="${b}" model="landuse" seed="1" tile-class="harbor"></sgan-image>
             <sgan-image id="on-plain" api="${b}" seed="1" tile-class="forest"></sgan-image>`,
            );
          }, base);
          const words = await waitForError(page, "#unknown");
          assert.match(words, /^Class: model 'landuse' has no class 'harbor'/, words);
          assert.match(words, /Allowed: forest, freeway, river, random\./, words);
          assert.doesNotMatch(words, /Try again/, "a 400 answers the same every time");
          await shadowHandle(page, "#unknown", "select#tile-class");
          const listed = await menu(page, "#unknown", "tile-class");
          assert.equal(listed.selected, "harbor");
          assert.equal(listed.labels[0], "harbor (not a class of this model)");
          const invalid = await page.$eval(
            "#unknown",
            (el) => el.shadowRoot!.getElementById("tile-class")!.getAttribute("aria-invalid"),
          );
          assert.equal(invalid, "true");
          const plain = await waitForError(page, "#on-plain");
          assert.match(plain, /Class: model 'reference-r32' is unconditional: it has no classes/, plain);

          await (await shadowHandle(page, "#unknown", "select#tile-class") as ElementHandle<
            HTMLSelectElement
          >)
            .select("freeway");
          await waitForAttribute(page, "#unknown", "tile-class", "freeway");
          await waitForImage(page, "#unknown");
          assert.equal(await hasElement(page, "#unknown", '[part~="error"]'), false);
        },
      );

      await t.step("the truncation figure's menu sends class= and its legend names the class", async () => {
        const first = await waitForImage(page, "#trunc");
        const before = await imagePixels(page, "#trunc");
        const listed = await menu(page, "#trunc", "tile-class");
        assert.deepEqual(listed.values, ["random", ...CONDITIONAL_CLASSES]);
        assert.equal(listed.selected, "random", "no attribute: the server's default, random");
        const legendOf = () =>
          page.$eval(
            "#trunc",
            (el) => el.shadowRoot!.querySelector('[part~="legend"]')!.textContent!.replace(/\s+/g, " "),
          );
        assert.match(
          await legendOf(),
          /ψ → 0 is the average landscape of each tile's class \(drawn from its seed\)/,
        );
        const sent = requested.length;
        await (await shadowHandle(page, "#trunc", "select#tile-class") as ElementHandle<HTMLSelectElement>)
          .select("freeway");
        await waitForAttribute(page, "#trunc", "tile-class", "freeway");
        await waitForImage(page, "#trunc", first);
        const urls = sentFor("/truncation", sent);
        assert.equal(urls.length, 1, urls.join(" "));
        assert.match(urls[0], /[?&]class=freeway(&|$)/);
        assert.notEqual(await imagePixels(page, "#trunc"), before);
        assert.match(
          await legendOf(),
          /ψ → 0 is the average landscape of class freeway in the training data/,
        );
      });

      await t.step(
        "the mixer's two menus set src_class and dst_class; both downloads record them",
        async () => {
          const first = await waitForImage(page, "#mixer");
          const before = await imagePixels(page, "#mixer");
          for (const id of ["src-class", "dst-class"]) {
            assert.deepEqual((await menu(page, "#mixer", id)).values, ["random", ...CONDITIONAL_CLASSES], id);
          }
          const sent = requested.length;
          await (await shadowHandle(page, "#mixer", "select#src-class") as ElementHandle<HTMLSelectElement>)
            .select("forest");
          await (await shadowHandle(page, "#mixer", "select#dst-class") as ElementHandle<HTMLSelectElement>)
            .select("river");
          await waitForAttribute(page, "#mixer", "src-class", "forest");
          await waitForAttribute(page, "#mixer", "dst-class", "river");
          await page.waitForFunction(
            () => !document.querySelector("#mixer")!.shadowRoot!.querySelector('[aria-busy="true"]'),
            { timeout: 20_000 },
          );
          await waitForImage(page, "#mixer", first);
          const last = sentFor("/mixing", sent).at(-1)!;
          assert.match(last, /[?&]src_class=forest&dst_class=river(&|$)/, last);
          assert.notEqual(await imagePixels(page, "#mixer"), before);
          const labels = await page.$eval(
            "#mixer",
            (el) =>
              [...el.shadowRoot!.querySelectorAll('[part~="row-label"], [part~="column-label"]')]
                .map((l) => l.textContent!.replace(/\s+/g, " ").trim()),
          );
          assert.ok(labels.some((l) => /^destination 3 · ψ 1 · river/.test(l)), labels.join(" | "));
          assert.ok(labels.some((l) => /^source 1\s*ψ 1 · forest$/.test(l)), labels.join(" | "));
          const changes = await page.evaluate(() =>
            (window as unknown as { __changes: { id: string; detail: Record<string, unknown> }[] }).__changes
              .filter((c) => c.id === "mixer").map((c) => c.detail)
          );
          assert.equal(changes.at(-1)!.src_class, "forest");
          assert.equal(changes.at(-1)!.dst_class, "river");

          const saving = requested.length;
          await (await shadowHandle(page, "#mixer", "#save-json")).click();
          const json = JSON.parse(await Deno.readTextFile(await waitForFile(downloads, ".json")));
          assert.equal(json.src_class, "forest");
          assert.equal(json.dst_class, "river");
          assert.match(json.url, /src_class=forest&dst_class=river/);
          assert.match(json.labelled_figure_url, /src_class=forest&dst_class=river/);
          await (await shadowHandle(page, "#mixer", "#save-png")).click();
          const png = await waitForFile(downloads, ".png");
          assert.match(png, /src1,2-forest-dst3-river\.png$/, png);
          const bytes = await Deno.readFile(png);
          assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
          const fetched = sentFor("/mixing", saving);
          assert.ok(
            fetched.some((u) => u.includes("labels=1") && /src_class=forest&dst_class=river/.test(u)),
            fetched.join(" "),
          );
        },
      );

      assert.deepEqual(pageErrors, [], "the page threw");
    } finally {
      await browser?.close();
      await report?.shutdown();
      await server?.stop();
      await Deno.remove(models, { recursive: true }).catch(() => {});
      await Deno.remove(downloads, { recursive: true }).catch(() => {});
    }
  },
});
