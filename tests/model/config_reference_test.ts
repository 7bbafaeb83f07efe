/** docs/settings.md is generated from the schema (`deno task docs:settings`) and must be up to date. */
import assert from "node:assert/strict";
import { validKeys } from "../../model/config.ts";
import { settingsReference } from "../../model/config/reference.ts";

const DOC = new URL("../../docs/settings.md", import.meta.url);

Deno.test("docs/settings.md is the generated reference (run `deno task docs:settings` after changing the schema)", async () => {
  const committed = await Deno.readTextFile(DOC);
  assert.ok(
    committed === settingsReference(),
    "docs/settings.md is out of date: run `deno task docs:settings`",
  );
});

Deno.test("the reference has one row per key, with its default and description", () => {
  const text = settingsReference();
  const rows = text.split("\n").filter((l) => l.startsWith("| `"));
  assert.deepEqual(rows.map((r) => /^\| `([^`]+)`/.exec(r)![1]).sort(), validKeys().sort());
  // Spot checks against official StyleGAN's values and the texts in the schema.
  assert.ok(
    rows.includes(
      '| `model.r1_gamma` | number or `"auto"` | `10` | R1 penalty weight γ on reals (logistic; 0 = plain ' +
        "non-saturating loss without R1), or `auto`: StyleGAN2-ADA's heuristic γ = 0.0002 · res² / minibatch " +
        "at each depth's resolution and minibatch. ≥ 0. |",
    ),
    String(rows.find((r) => r.includes("r1_gamma"))),
  );
  assert.ok(rows.some((r) => r.startsWith("| `dataset.img_dir` | string | required |")));
  assert.ok(
    rows.some((r) =>
      r.startsWith("| `model.gen.dlatent_avg_beta` | number | `0.995` |") && r.includes("0 to 1.")
    ),
  );
  assert.ok(
    rows.some((r) => r.startsWith("| `backend` |") && r.includes("auto \\| tensorflow")),
    "pipes escaped",
  );
});
