/**
 * `deno task docs:settings`: write docs/settings.md, the settings reference generated from the training
 * configuration's schema.
 */
import { settingsReference } from "../config/reference.ts";

const target = new URL("../../docs/settings.md", import.meta.url);
await Deno.mkdir(new URL(".", target), { recursive: true });
await Deno.writeTextFile(target, settingsReference());
console.log(`wrote ${target.pathname}`);
