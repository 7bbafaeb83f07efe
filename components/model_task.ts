/// <reference lib="dom" />
/**
 * The model description a widget labels its figure with (scale table, layer count), as a `@lit/task`:
 * fetched when `api` or `model` changes, shared between the widgets of a page (see {@link fetchModelInfo}).
 *
 * @module
 */
import { Task } from "@lit/task";
import type { ReactiveControllerHost } from "lit";
import { fetchModelInfo } from "./api.ts";
import type { ModelInfo } from "./model_info.ts";
import { parseModelName } from "./params.ts";

/** A task holding the description of the model a widget shows (the server's default when `model` is unset). */
export function modelInfoTask(
  host: ReactiveControllerHost,
  args: () => [api: string | undefined, model: string | undefined],
): Task<[string | undefined, string | undefined], ModelInfo> {
  return new Task(host, {
    args,
    task: async ([api, model], { signal }) => await fetchModelInfo(api, parseModelName(model), signal),
  });
}
