/**
 * `deno task eval --per-class`: each land use compared on its own. The truth it is held to: a class's row equals
 * what plain `deno task eval` gives for that class's images alone (the same metric run on lists written by hand),
 * a set against itself is 0 in every class, and a conditional model's fakes are split by the class they were
 * generated for.
 */
import assert from "node:assert/strict";
import { UCMERCED_DIR } from "../../support/paths.ts";
import { runCli } from "../../support/cli.ts";
import { REFERENCE_MODEL } from "../../../model/pretrained/registry.ts";
import { CONDITIONAL_CLASSES, writeConditionalModel } from "../../support/conditional_model.ts";
import type { SWDReport } from "../../../model/metrics/report.ts";
import type { ClassSWD } from "../../../model/metrics/per_class.ts";
import { initBackend } from "../../../model/backend/select.ts";

const evaluate = (args: string[]) => runCli("eval.ts", args);
type Report = SWDReport & { per_class?: ClassSWD[] };

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-6 * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

/** The lines of the sample's list file that lie in one of `classes` (all lines without a filter). */
async function listLines(list: string, classes?: string[]): Promise<string[]> {
  const lines = (await Deno.readTextFile(`${UCMERCED_DIR}/${list}`)).split("\n").filter((l) => l.trim());
  return classes ? lines.filter((l) => classes.some((c) => l.startsWith(`images/${c}/`))) : lines;
}

/** A list file beside the sample's images (its paths stay relative to the sample folder). */
async function writeList(dir: string, name: string, lines: string[]): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, lines.map((l) => `${UCMERCED_DIR}/${l}`).join("\n") + "\n");
  return path;
}

Deno.test("deno task eval --per-class", async (t) => {
  const dir = await Deno.makeTempDir();
  const chosen = ["forest", "freeway", "river"];
  const holdout = await writeList(dir, "holdout.txt", await listLines("holdout.txt", chosen));
  const train = await writeList(dir, "train.txt", await listLines("train.txt", chosen));

  await t.step("set vs set: each class's row is plain eval on that class's images alone", async () => {
    const res = await evaluate([
      "--real",
      holdout,
      "--fake",
      train,
      "--resolution",
      "32",
      "--per-class",
      "--json",
    ]);
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as Report;
    assert.deepEqual(report.per_class!.map((r) => r.class), chosen);
    for (const row of report.per_class!) {
      const real = await writeList(dir, `real_${row.class}.txt`, await listLines("holdout.txt", [row.class]));
      const fake = await writeList(dir, `fake_${row.class}.txt`, await listLines("train.txt", [row.class]));
      const alone = await evaluate(["--real", real, "--fake", fake, "--resolution", "32", "--json"]);
      assert.equal(alone.code, 0, alone.stderr);
      const expected = JSON.parse(alone.stdout) as SWDReport;
      // Equal up to float rounding: the descriptors are projected in batches of another size.
      assert.deepEqual(row.levels.map((l) => l.pixels), expected.levels.map((l) => l.pixels));
      row.levels.forEach((l, i) => close(l.swd_x1e3, expected.levels[i].swd_x1e3, `${row.class} level ${i}`));
      close(row.average_x1e3, expected.average_x1e3, row.class);
      assert.equal(row.real_count, (await listLines("holdout.txt", [row.class])).length);
      assert.equal(row.fake_count, (await listLines("train.txt", [row.class])).length);
    }
    // The overall figure is still there, and it is not one of the class figures.
    assert.ok(report.average_x1e3 > 0);
  });

  await t.step(
    "a set against itself: 0 at every level of every class; the table names each class",
    async () => {
      const res = await evaluate(["--real", train, "--fake", train, "--resolution", "32", "--per-class"]);
      assert.equal(res.code, 0, res.stderr);
      for (const name of chosen) {
        assert.match(
          res.stdout,
          new RegExp(`\\n${name}\\s+\\d+/\\d+\\s+0\\.0\\s+0\\.0\\s+0\\.0(\\n|$)`),
          res.stdout,
        );
      }
    },
  );

  await initBackend("cpu", { quiet: true });
  const model = await writeConditionalModel(`${dir}/conditional.safetensors`);
  model.generator.dispose();

  await t.step("a conditional model: its fakes split by the class they were generated for", async () => {
    // 6 fakes over 3 classes in turn: 2 of each; the reals are the chosen classes' hold-out tiles.
    const res = await evaluate([
      "--checkpoint",
      `${dir}/conditional.safetensors`,
      "--real",
      holdout,
      "--n",
      "6",
      "--per-class",
      "--json",
    ]);
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as Report;
    assert.deepEqual(
      report.per_class!.map((r) => [r.class, r.fake_count]),
      CONDITIONAL_CLASSES.map((c) => [c, 2]),
    );
    for (const row of report.per_class!) {
      assert.deepEqual(row.levels.map((l) => l.pixels), [16]);
      assert.ok(row.average_x1e3 > 0 && Number.isFinite(row.average_x1e3));
    }
  });

  await t.step("bad input: an unconditional model, a real class the model lacks", async () => {
    const harbor = await writeList(
      dir,
      "with_harbor.txt",
      await listLines("holdout.txt", [...chosen, "harbor"]),
    );
    const cases: Array<[string[], RegExp]> = [
      [
        ["--checkpoint", REFERENCE_MODEL.file, "--real", holdout, "--per-class"],
        /--per-class needs a conditional model/,
      ],
      [
        ["--checkpoint", `${dir}/conditional.safetensors`, "--real", harbor, "--n", "6", "--per-class"],
        /--per-class: class 'harbor' has no generated or fake images/,
      ],
      [
        ["--real", harbor, "--fake", train, "--resolution", "32", "--per-class"],
        /class 'harbor' has no generated/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const res = await evaluate(args);
      assert.equal(res.code, 2, args.join(" "));
      assert.equal(res.stdout, "");
      assert.match(res.programStderr, /^error: [^\n]+\n$/);
      assert.match(res.stderr, pattern);
    }
  });

  await Deno.remove(dir, { recursive: true });
});
