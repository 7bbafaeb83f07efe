/// <reference lib="dom" />
/**
 * Fetching a widget's figure: a reactive controller around `@lit/task` that runs when the request (URL, local
 * problem, labels) changes, debounces every run after the first, aborts a superseded request, keeps the
 * last good figure on screen (dimmed) while the next one loads, and owns the object URLs it shows.
 *
 * @module
 */
import { Task, TaskStatus } from "@lit/task";
import type { ReactiveController, ReactiveControllerHost } from "lit";
import { ApiProblem, delay, fetchImage, type ImageHeaders, untilAborted } from "./api.ts";
import type { SettingError } from "./params.ts";

/** What a widget asks for; compared by value, so it must be plain data. */
export interface FigureRequest<M> {
  /** The image URL; empty when there is nothing to fetch. */
  url: string;
  /** A setting the widget rejected; no request is sent. */
  problem: { field: string; message: string; allowed: string } | null;
  /** What the figure shows (seeds, ψ, ranges), kept with it so that labels always match the pixels. */
  meta: M;
  /**
   * Not ready to ask yet (e.g. the server's limits have not arrived, so the size cannot be checked): the
   * figure stays "loading" until the request changes, and nothing is sent.
   */
  waiting?: boolean;
}

/** A figure on screen. */
export interface Figure<M> {
  /** Object URL of the image. */
  src: string;
  blob: Blob;
  headers: ImageHeaders;
  meta: M;
  /** The URL it was fetched from. */
  url: string;
}

/** A {@link FigureRequest}'s problem from a rejected setting. */
export function problemOf(error: SettingError): FigureRequest<unknown>["problem"] {
  return { field: error.field, message: error.message, allowed: error.allowed };
}

/** Options of a {@link FigureController}. */
export interface FigureOptions {
  /** Quiet time before a changed request is sent, in milliseconds. */
  debounceMs?: number;
}

/** The figure of a widget; the host renders `figure`, `loading` and `problem`. */
export class FigureController<M> implements ReactiveController {
  readonly #host: ReactiveControllerHost & HTMLElement;
  readonly #task: Task<[FigureRequest<M>], Omit<Figure<M>, "src">>;
  readonly #debounceMs: number;
  #shown: Figure<M> | undefined;
  #runs = 0;

  constructor(
    host: ReactiveControllerHost & HTMLElement,
    request: () => FigureRequest<M>,
    options: FigureOptions = {},
  ) {
    this.#host = host;
    this.#debounceMs = options.debounceMs ?? 250;
    this.#task = new Task(host, {
      args: () => [request()] as [FigureRequest<M>],
      argsEqual: (a, b) => JSON.stringify(a) === JSON.stringify(b),
      task: async ([req], { signal }) => await this.#fetch(req, signal),
      onComplete: (figure) => this.#show(figure),
      onError: (error) => this.#announce("sgan-error", { error }),
    });
    host.addController(this);
  }

  /** The last figure fetched (still shown, dimmed, while the next one loads). */
  get figure(): Figure<M> | undefined {
    return this.#shown;
  }

  /** Whether a request is pending. */
  get loading(): boolean {
    return this.#task.status === TaskStatus.PENDING;
  }

  /** Why the last request failed, or undefined. */
  get problem(): unknown {
    return this.#task.status === TaskStatus.ERROR ? this.#task.error : undefined;
  }

  /** The `@lit/task` behind the figure (for {@link whenSettled}). */
  get task(): Task {
    return this.#task as unknown as Task;
  }

  /** Ask again with the same request (the error state's retry button). */
  retry(): void {
    this.#task.run();
  }

  hostConnected(): void {
    // Reconnected after a move in the document: the object URL was released, so fetch again.
    if (this.#runs > 0 && !this.#shown) this.#task.run();
  }

  hostDisconnected(): void {
    this.#task.abort();
    if (this.#shown) URL.revokeObjectURL(this.#shown.src);
    this.#shown = undefined;
  }

  async #fetch(req: FigureRequest<M>, signal: AbortSignal): Promise<Omit<Figure<M>, "src">> {
    if (req.problem) throw new ApiProblem("setting", req.problem.message, req.problem);
    // Superseded (aborted) by the request that has what was missing.
    if (req.waiting) await untilAborted(new Promise<never>(() => {}), signal);
    if (!req.url) throw new ApiProblem("setting", "nothing to show yet", { allowed: null });
    // Sliders and typing change the request many times a second: wait for a pause, and let the next change
    // abort this run (Task aborts the signal) before anything is sent.
    if (this.#runs++ > 0) await delay(this.#debounceMs, signal);
    const image = await fetchImage(req.url, signal);
    return { ...image, meta: req.meta, url: req.url };
  }

  #show(figure: Omit<Figure<M>, "src">): void {
    const previous = this.#shown;
    this.#shown = { ...figure, src: URL.createObjectURL(figure.blob) };
    if (previous) URL.revokeObjectURL(previous.src);
    this.#announce("sgan-load", { url: figure.url, headers: figure.headers });
  }

  #announce(type: string, detail: unknown): void {
    this.#host.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}
