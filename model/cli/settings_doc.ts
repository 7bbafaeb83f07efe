/**
 * `deno task docs:settings`: write docs/settings.md, the settings reference generated from the training
 * configuration's schema, and the runtime settings table of docs/backends.md (from model/runtime.ts).
 */
import { settingsReference } from "../config/reference.ts";
import { withRuntimeSettingsTable } from "../runtime.ts";

const target = new URL("../../docs/settings.md", import.meta.url);
await Deno.mkdir(new URL(".", target), { recursive: true });
await Deno.writeTextFile(target, settingsReference());
console.log(`wrote ${target.pathname}`);

const backends = new URL("../../docs/backends.md", import.meta.url);
await Deno.writeTextFile(backends, withRuntimeSettingsTable(await Deno.readTextFile(backends)));
console.log(`wrote ${backends.pathname} (runtime settings)`);
