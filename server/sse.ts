/**
 * Server-Sent Events of a long-running piece of work (a training job, a projection): a `status` event first,
 * then the kept events after the client's `Last-Event-ID`, then new ones as they come, until the work has
 * finished and its last event is sent. Idle streams get a keep-alive comment so that proxies keep them open.
 *
 * @module
 */

/** Milliseconds between keep-alive comments on an idle event stream. */
const KEEP_ALIVE_MS = 15_000;

/** One event: the SSE `id`, `event` and JSON `data`. */
export interface StoredEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** What can be followed: a status, kept events, a promise that resolves on change, and whether it has ended. */
export interface EventSource {
  status(): unknown;
  /** Resolves when anything new happens; taken before reading the events. */
  readonly changed: Promise<void>;
  eventsFrom(from: number): StoredEvent[];
  readonly finished: boolean;
  /** Id of the newest event (−1 before the first). */
  readonly lastEventId: number;
}

/** The part of Hono's SSE stream used here. */
export interface EventSink {
  writeSSE(message: { data: string; event?: string; id?: string }): Promise<void>;
  write(text: string): Promise<unknown>;
  onAbort(listener: () => void): void;
}

/**
 * The events of `source` as SSE: first a `status` event (as GET returns it), then every kept event after
 * `after`, then new ones as they come; the stream ends once the source has finished and its events are sent.
 */
export async function followEvents(source: EventSource, after: number, stream: EventSink): Promise<void> {
  const aborted = Promise.withResolvers<void>();
  let open = true;
  stream.onAbort(() => {
    open = false;
    aborted.resolve();
  });
  await stream.writeSSE({ event: "status", data: JSON.stringify(source.status()) });
  let next = after + 1;
  while (open) {
    const changed = source.changed; // taken before reading, so nothing pushed meanwhile is missed
    for (const e of source.eventsFrom(next)) {
      await stream.writeSSE({ id: String(e.id), event: e.event, data: JSON.stringify(e.data) });
      next = e.id + 1;
    }
    if (source.finished && next > source.lastEventId) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<"idle">((resolve) => timer = setTimeout(() => resolve("idle"), KEEP_ALIVE_MS));
    const woke = await Promise.race([changed, aborted.promise, idle]);
    clearTimeout(timer);
    if (woke === "idle") await stream.write(": keep-alive\n\n");
  }
}
