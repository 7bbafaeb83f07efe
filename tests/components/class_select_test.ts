/**
 * The class menus' choices (issue 18, item 3, widget side): what a conditional model's description offers, what an
 * unconditional one hides, and the server's answer to a class the model lacks in the words the widget shows.
 */
import assert from "node:assert/strict";
import { classOptions, RANDOM_CLASS } from "../../components/class_select.ts";
import { modelClasses } from "../../components/model_info.ts";
import { explainProblem, problemField, problemFromResponse } from "../../components/api.ts";
import { parseClassName } from "../../components/params.ts";
import { R32_INFO } from "./fixtures.ts";

const CLASSES = ["forest", "freeway", "river"];

Deno.test("classOptions: random first, then the model's classes in label order, the attribute's value selected", () => {
  assert.deepEqual(classOptions(CLASSES, undefined), [
    { value: "random", label: "random (drawn from each seed)", selected: true },
    { value: "forest", label: "forest", selected: false },
    { value: "freeway", label: "freeway", selected: false },
    { value: "river", label: "river", selected: false },
  ]);
  const chosen = classOptions(CLASSES, "river");
  assert.deepEqual(chosen.filter((o) => o.selected).map((o) => o.value), ["river"]);
  assert.equal(chosen.length, 4);
  assert.equal(RANDOM_CLASS, "random");
});

Deno.test("classOptions: a value the model lacks stays shown and selected, marked; no menu without classes", () => {
  const options = classOptions(CLASSES, "harbor");
  assert.deepEqual(options[0], {
    value: "harbor",
    label: "harbor (not a class of this model)",
    selected: true,
  });
  assert.deepEqual(options.slice(1).map((o) => [o.value, o.selected]), [
    ["random", false],
    ["forest", false],
    ["freeway", false],
    ["river", false],
  ]);
  assert.deepEqual(classOptions([], undefined), []);
  assert.deepEqual(
    classOptions([], "forest"),
    [],
    "an unconditional model shows no menu, whatever the attribute",
  );
});

Deno.test("modelClasses: a conditional model's list; none for an unconditional model or an older server", () => {
  assert.deepEqual(modelClasses({ ...R32_INFO, classes: CLASSES }), CLASSES);
  assert.deepEqual(modelClasses({ ...R32_INFO, classes: [] }), []);
  assert.deepEqual(modelClasses(R32_INFO), [], "a description without `classes` (an older server)");
  assert.deepEqual(modelClasses(undefined), [], "the description has not arrived yet");
});

Deno.test("parseClassName: trimmed, absent for unset or blank; the model, not the widget, decides which exist", () => {
  assert.equal(parseClassName(" forest "), "forest");
  assert.equal(parseClassName("harbor"), "harbor");
  assert.equal(parseClassName(""), undefined);
  assert.equal(parseClassName("  "), undefined);
  assert.equal(parseClassName(undefined), undefined);
  assert.equal(parseClassName(null), undefined);
});

Deno.test("the server's 400 for a class is shown with the menu's label and the classes it would take", async () => {
  // The bodies server/plans.ts sends (tests/server/classes_test.ts checks the server side).
  const response = (body: unknown) =>
    new Response(JSON.stringify(body), { status: 400, headers: { "content-type": "application/json" } });
  const lacking = await problemFromResponse(response({
    error: "model 'landuse' has no class 'harbor'",
    field: "class",
    allowed: [...CLASSES, "random"],
  }));
  assert.deepEqual(explainProblem(lacking), {
    headline: "Class: model 'landuse' has no class 'harbor'",
    detail: "Allowed: forest, freeway, river, random.",
  });
  assert.equal(problemField(lacking), "class");
  const source = await problemFromResponse(response({
    error: "model 'reference-r32' is unconditional: it has no classes",
    field: "src_class",
    allowed: ["no class parameter for this model"],
  }));
  assert.deepEqual(explainProblem(source), {
    headline: "Source class: model 'reference-r32' is unconditional: it has no classes",
    detail: "Allowed: no class parameter for this model.",
  });
  const destination = await problemFromResponse(response({
    error: "model 'landuse' has no class 'x'",
    field: "dst_class",
    allowed: [...CLASSES, "random"],
  }));
  assert.match(explainProblem(destination).headline, /^Destination class: /);
});
