/// <reference lib="dom" />
/**
 * A widget's `ready` promise, for print pipelines and screenshots: it resolves once the widget has nothing left
 * to do for its current settings — every task (figure, model description) has finished or failed, no render is
 * pending, and the images in its shadow root are decoded. It never rejects: a widget in its error state is
 * "ready" too (its words are what will print).
 *
 * @module
 */
import { type Task, TaskStatus } from "@lit/task";
import type { ReactiveElement } from "lit";

/** Most rounds of "a task finished, which changed the settings, which started a task". */
const MAX_ROUNDS = 50;

/** Wait until `host` has settled: no pending task, no pending update, every image decoded. */
export async function whenSettled(host: ReactiveElement, tasks: () => readonly Task[]): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    await host.updateComplete;
    const pending = tasks().filter((task) => task.status === TaskStatus.PENDING);
    if (pending.length > 0) {
      await Promise.all(pending.map((task) => task.taskComplete.catch(() => {})));
      continue;
    }
    if (host.isUpdatePending) continue;
    const images = [...(host.renderRoot?.querySelectorAll("img") ?? [])] as HTMLImageElement[];
    await Promise.all(images.map((img) => img.decode().catch(() => {})));
    // Decoding takes a turn of the event loop: something may have changed meanwhile.
    if (!host.isUpdatePending && tasks().every((task) => task.status !== TaskStatus.PENDING)) return;
  }
}
