/**
 * The widgets and the server agree on seed lists and style ranges: the same inputs are accepted with the same
 * values and refused with the same words (the widget puts the label users see in front of the server's
 * message). The server side is the real app (`/mixing?format=json` on the 32 px reference model); the widget
 * side is `components/params.ts` against the scale table that app's `/api/models` serves.
 */
import assert from "node:assert/strict";
import type { ModelInfo } from "../../components/model_info.ts";
import { parseSeedList, resolveRanges, SettingError } from "../../components/params.ts";
import { request, startServer } from "../server/helpers.ts";

/** Seed lists: good ones, and every kind of bad one. */
const SEED_LISTS = [
  "730,904",
  " 91 , 388 ",
  "0-3,10",
  "5 - 6",
  "7,7",
  "0-31",
  "0-32",
  "1,,2",
  "1,x",
  "-3",
  "9-2",
  "1.5",
  "4294967295",
  "4294967296",
  "0-4294967295",
  "abc",
];

/** Style ranges for one destination row (or two, where the list says so), against a 32 px, 2.4384 m/px model. */
const RANGES: [ranges: string, rows: number][] = [
  ["0-3", 1],
  ["6", 1],
  ["5-7", 1],
  ["0-7", 1],
  ["20m-10m", 1],
  ["2.4m", 1],
  ["10m-20m", 1],
  ["0.02km-4.9m", 1],
  ["0-3,4-7", 2],
  ["4-7", 2],
  ["5-10", 1],
  ["8", 1],
  ["5-2", 1],
  ["256m-32m", 1],
  ["1m", 1],
  ["0-1,2-3,4-5", 2],
  ["fine", 1],
  ["0-3-5", 1],
];

type Verdict = { ok: true; value: unknown } | { ok: false; message: string };

/** The message without the setting's name in front ("src: …", "Source seeds: …"). */
function withoutName(message: string, names: string[]): string {
  for (const name of names) if (message.startsWith(`${name}: `)) return message.slice(name.length + 2);
  return message;
}

Deno.test("widgets and server agree on seed lists and style ranges", async (t) => {
  const server = await startServer();
  try {
    const list = (await request(`${server.url}/api/models`)).json as {
      models: ModelInfo[];
      limits: { max_seeds: number };
    };
    const info = list.models[0];
    const maxSeeds = list.limits.max_seeds;

    await t.step("seed lists", async () => {
      for (const text of SEED_LISTS) {
        const res = await request(
          `${server.url}/mixing?format=json&dst=1&ranges=0-1&src=${encodeURIComponent(text)}`,
        );
        const body = res.json as { src_seeds?: number[]; error?: string };
        const fromServer: Verdict = res.status === 200
          ? { ok: true, value: body.src_seeds }
          : { ok: false, message: withoutName(body.error!, ["src"]) };
        let fromWidget: Verdict;
        try {
          fromWidget = { ok: true, value: parseSeedList(text, "src", maxSeeds) };
        } catch (e) {
          assert.ok(e instanceof SettingError);
          assert.equal(e.field, "src");
          fromWidget = { ok: false, message: withoutName(e.message, ["Source seeds"]) };
        }
        assert.deepEqual(fromWidget, fromServer, `"${text}" (server answered ${res.status})`);
      }
    });

    await t.step("style ranges", async () => {
      for (const [ranges, rows] of RANGES) {
        const dst = rows === 1 ? "2" : "2,3";
        const res = await request(
          `${server.url}/mixing?format=json&src=1&dst=${dst}&ranges=${encodeURIComponent(ranges)}`,
        );
        const body = res.json as { rows?: { layers: number[] }[]; error?: string };
        let fromWidget: Verdict;
        try {
          fromWidget = { ok: true, value: resolveRanges(ranges, rows, info.scale).map((r) => r.layers) };
        } catch (e) {
          assert.ok(e instanceof SettingError);
          fromWidget = { ok: false, message: withoutName(e.message, ["Style layers"]) };
        }
        if (res.status === 200) {
          assert.deepEqual(fromWidget, { ok: true, value: body.rows!.map((r) => r.layers) }, `"${ranges}"`);
          continue;
        }
        assert.equal(res.status, 400, `"${ranges}"`);
        assert.equal(fromWidget.ok, false, `"${ranges}": the server refuses it, so must the widget`);
        const message = withoutName(body.error!, ["ranges"]);
        // Malformed items are refused by the server's query schema (server/validation.ts) in its own general
        // words; everything that depends on the model is refused in the same words on both sides.
        if (!message.startsWith("each item must be")) {
          assert.equal((fromWidget as { message: string }).message, message, `"${ranges}"`);
        }
      }
    });
  } finally {
    await server.close();
  }
});
