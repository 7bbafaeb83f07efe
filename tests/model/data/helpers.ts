/** Shared fixtures of the dataset tests: temporary folders, synthetic images, a recording log. */
import { Image } from "imagescript";
import { dirname } from "node:path";
import type { DatasetLog } from "../../../model/data/dataset.ts";

/** A temporary folder under /tmp, removed after `body` whatever happens. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "sgan-data-test-" });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Write bytes, creating parent folders. */
export async function writeFile(path: string, bytes: Uint8Array | string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  if (typeof bytes === "string") await Deno.writeTextFile(path, bytes);
  else await Deno.writeFile(path, bytes);
}

/** A solid-colour image of the given size. */
export function solidImage(width: number, height: number, [r, g, b]: [number, number, number]): Image {
  const image = new Image(width, height);
  for (let p = 0; p < width * height; p++) image.bitmap.set([r, g, b, 255], 4 * p);
  return image;
}

/** PNG bytes of a solid-colour image. */
export async function solidPng(size: number, rgb: [number, number, number]): Promise<Uint8Array> {
  return await solidImage(size, size, rgb).encode(1);
}

/** A log that keeps its messages for assertions. */
export function recordingLog(): DatasetLog & { infos: string[]; warnings: string[] } {
  const infos: string[] = [];
  const warnings: string[] = [];
  return { infos, warnings, info: (m) => infos.push(m), warn: (m) => warnings.push(m) };
}
