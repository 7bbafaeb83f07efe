/**
 * Helpers of the training-job tests that run real jobs against the app: a tiny configuration, a data root of real
 * UC Merced JPEGs, posting, polling and reading a job's Server-Sent Events.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { TrainingJobStatus } from "../../server/training/jobs.ts";
import { UCMERCED_DIR } from "../support/paths.ts";
import { request, type TestServer } from "./helpers.ts";

export const TOKEN = "s3cret";
export const AUTH = { Authorization: `Bearer ${TOKEN}` };

/** A configuration that trains 4 → 16 px in seconds (the training tests' TINY settings). */
export function tinyConfig(imgDir: string, epochs = [1, 1, 2]): Record<string, unknown> {
  return {
    backend: "wasm",
    dataset: { img_dir: imgDir, folder: false, resolution: 16 },
    model: {
      gen: {
        latent_size: 16,
        dlatent_size: 16,
        mapping_fmaps: 16,
        mapping_layers: 2,
        fmap_base: 64,
        fmap_max: 16,
      },
      dis: { fmap_base: 64, fmap_max: 16 },
    },
    sched: { epochs, batch_sizes: [8, 8, 8], fade_in_percentage: [50, 50, 50] },
    log_every: 1,
    sample_every: 2,
  };
}

/** `count` real UC Merced JPEGs copied to `<root>/images/` and listed in `<root>/list.txt`; their names. */
export async function copyRealImages(root: string, count = 24): Promise<string[]> {
  await Deno.mkdir(join(root, "images"), { recursive: true });
  const lines = (await Deno.readTextFile(`${UCMERCED_DIR}/train.txt`)).split("\n").filter(Boolean);
  const step = Math.floor(lines.length / count);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `tile${String(i).padStart(2, "0")}.jpg`;
    await Deno.copyFile(`${UCMERCED_DIR}/${lines[i * step]}`, join(root, "images", name));
    names.push(`images/${name}`);
  }
  await Deno.writeTextFile(join(root, "list.txt"), names.join("\n") + "\n");
  return names;
}

export function postJob(server: TestServer, body: unknown, headers: Record<string, string> = AUTH) {
  return request(`${server.url}/api/train`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export async function getJob(url: string, id: string): Promise<TrainingJobStatus> {
  const res = await request(`${url}/api/train/${id}`, { headers: AUTH });
  assert.equal(res.status, 200, `GET /api/train/${id}: ${res.status}`);
  return res.json as TrainingJobStatus;
}

/** Poll a job until `ready` holds (or fail after `timeoutMs`). */
export async function waitForJob(
  url: string,
  id: string,
  ready: (job: TrainingJobStatus) => boolean,
  timeoutMs = 90_000,
): Promise<TrainingJobStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(url, id);
    if (ready(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} never got there: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One Server-Sent Event, with its raw text as sent. */
export interface SseEvent {
  event: string;
  id?: string;
  data: Record<string, unknown>;
}

/** Read a job's event stream to its end; also returns every byte of it as text. */
export async function readAllEvents(url: string, id: string): Promise<{ events: SseEvent[]; raw: string }> {
  const res = await fetch(`${url}/api/train/${id}/events`, { headers: AUTH });
  assert.equal(res.status, 200);
  const raw = await res.text();
  const events: SseEvent[] = [];
  for (const block of raw.split("\n\n")) {
    const event = parseSseBlock(block);
    if (event) events.push(event);
  }
  return { events, raw };
}

/** One Server-Sent Events block (`event:`, `id:`, `data:` lines) as an event with JSON data; undefined without `event:`. */
export function parseSseBlock(block: string): SseEvent | undefined {
  const event: Partial<SseEvent> & { lines: string[] } = { lines: [] };
  for (const line of block.split("\n")) {
    if (line.startsWith("event: ")) event.event = line.slice(7);
    else if (line.startsWith("id: ")) event.id = line.slice(4);
    else if (line.startsWith("data: ")) event.lines.push(line.slice(6));
  }
  if (!event.event) return undefined;
  return { event: event.event, id: event.id, data: JSON.parse(event.lines.join("\n")) };
}
