/**
 * Property-based, for the body of POST /api/train: configurations drawn from the document's TrainRequest schema
 * (every key optional; numbers, integers, enums, booleans, strings and lists from their schemas) pass the
 * server's checks, except the refusals the 400's description names (the configuration's cross-key rules). The
 * checks run in-process (parseTrainRequest, which the route calls), so nothing is trained.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { DEFAULT_LIMITS } from "../../server/config.ts";
import { ValidationError } from "../../server/errors.ts";
import { openApiDocument } from "../../server/openapi.ts";
import { parseTrainRequest } from "../../server/training/request.ts";

type Json = Record<string, unknown>;

const SEED = Number(Deno.env.get("FC_SEED") ?? 20261201);

const RUNS = 300;

const ABSENT = Symbol("absent");

/** A value drawn from a (resolved) JSON schema of the document. */
function valueOf(schema: Json, doc: Json): fc.Arbitrary<unknown> {
  if (typeof schema.$ref === "string") return valueOf(resolve(doc, schema.$ref), doc);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  if ("const" in schema) return fc.constant(schema.const);
  // zod writes a nullable key (blur_filter: taps or null) as anyOf: draw from one of its alternatives.
  const alternatives = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (Array.isArray(alternatives)) return fc.oneof(...alternatives.map((alt) => valueOf(alt, doc)));
  switch (schema.type) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({
        min: (schema.minimum as number | undefined) ??
          ((schema.exclusiveMinimum as number | undefined) ?? -1001) + 1,
        max: (schema.maximum as number | undefined) ?? 1000,
      });
    case "number": {
      const min = (schema.minimum as number | undefined) ?? (schema.exclusiveMinimum as number | undefined);
      return fc.double({
        min: min ?? -1000,
        max: (schema.maximum as number | undefined) ?? 1000,
        minExcluded: schema.exclusiveMinimum !== undefined,
        noNaN: true,
        noDefaultInfinity: true,
      });
    }
    case "string":
      return schema.pattern
        ? fc.stringMatching(new RegExp(schema.pattern as string))
        : fc.string({ minLength: (schema.minLength as number | undefined) ?? 0, maxLength: 12 });
    case "array": {
      const items = valueOf((schema.items as Json | undefined) ?? {}, doc);
      const length = { minLength: (schema.minItems as number | undefined) ?? 0, maxLength: 10 };
      return schema.uniqueItems ? fc.uniqueArray(items, length) : fc.array(items, length);
    }
    case "object": {
      if (!schema.properties) return fc.constant({});
      // Each optional key present one time in five: bodies like people write them, a few keys each (with
      // every key present at once, nearly every body breaks one of dataset.kind's cross-key rules).
      const required = (schema.required as string[] | undefined) ?? [];
      const entries = Object.entries(schema.properties as Record<string, Json>);
      return fc.tuple(...entries.map(([key, sub]) => {
        const value = valueOf(sub, doc);
        if (required.includes(key)) return value;
        return fc.oneof({ arbitrary: fc.constant(ABSENT), weight: 4 }, { arbitrary: value, weight: 1 });
      })).map((values) =>
        Object.fromEntries(entries.map(([key], i) => [key, values[i]]).filter(([, v]) => v !== ABSENT))
      );
    }
  }
  // A schema that says nothing (an empty list's items): any JSON scalar it could hold.
  return fc.oneof(fc.integer(), fc.string({ maxLength: 8 }));
}

function resolve(doc: Json, ref: string): Json {
  return ref.slice(2).split("/").reduce((node: Json, key) => node[key] as Json, doc);
}

/** The cross-key rules the BadTrainingRequest description names, as the checks word them. */
function isDocumentedRefusal(e: ValidationError): boolean {
  return /^sched\.\w+ has \d+ entries; a \d+ px model has \d+ depths/.test(e.message) ||
    /^dataset: /.test(e.message); // dataset.kind's rules on channels, bands, classes, palette; label_csv
}

Deno.test(`training bodies drawn from the document pass the server's checks, or break a named rule (seed ${SEED})`, async () => {
  const root = await Deno.makeTempDir({ prefix: "sgan-body-" });
  try {
    await Deno.mkdir(join(root, "images"));
    await Deno.writeFile(join(root, "images", "a.png"), new Uint8Array(8));
    await Deno.writeTextFile(join(root, "list.txt"), "images/a.png\n");
    await Deno.writeTextFile(join(root, "labels.csv"), "file,class\na.png,x\n");
    const doc = openApiDocument(DEFAULT_LIMITS) as Json;
    const schema = resolve(doc, "#/components/schemas/TrainRequest");
    const tally = { accepted: 0, refused: 0 };
    const refusals: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(valueOf(schema, doc) as fc.Arbitrary<Json>, async (body) => {
        // The dataset must exist under the data root (the description says so): point it at one that does.
        const dataset = body.dataset as Json;
        dataset.img_dir = dataset.folder === false ? "list.txt" : "images";
        if (dataset.labels === "csv") dataset.label_csv = "labels.csv"; // likewise its label CSV
        // And a warm start's files: the document cannot say which exist.
        for (const key of ["generator", "discriminator"]) {
          if ((body.init as Json | undefined)?.[key]) (body.init as Json)[key] = "";
        }
        try {
          await parseTrainRequest(structuredClone(body), root);
          tally.accepted++;
        } catch (e) {
          assert.ok(e instanceof ValidationError, String(e));
          assert.ok(isDocumentedRefusal(e), `${JSON.stringify(body).slice(0, 400)}: ${e.message}`);
          tally.refused++;
          const rule = e.message.replace(/\d+/g, "N").slice(0, 60);
          refusals[rule] = (refusals[rule] ?? 0) + 1;
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    console.log(tally, refusals);
    // Not vacuous: a good share passes (most refusals are classes or bands given for a kind that has none).
    assert.ok(tally.accepted >= RUNS / 4, `${tally.accepted} of ${RUNS} drawn bodies were accepted`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
