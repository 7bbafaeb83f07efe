/**
 * The training configuration's schema: one declaration per key (default and description on every one, the
 * networks' defaults shared rather than copied), built-in object keys refused like any unknown key, the
 * per-resolution learning rates as an ordinary mapping key, and a JSON schema that says what is accepted.
 */
import assert from "node:assert/strict";
import type { z } from "zod";
import {
  ConfigError,
  configFromJson,
  loadConfig,
  parseOverride,
  TRAIN_CONFIG_SCHEMA,
  trainConfigJsonSchema,
  validKeys,
} from "../../model/config.ts";
import { shapeOf } from "../../model/config/schema.ts";
import {
  DISCRIMINATOR_DEFAULTS,
  DISCRIMINATOR_OPTIONS,
  GENERATOR_DEFAULTS,
  GENERATOR_OPTIONS,
} from "../../model/networks/options.ts";
import { parseTrainRequest } from "../../server/training/request.ts";
import { ValidationError } from "../../server/errors.ts";

type Schema = z.core.$ZodType;

/** Every [dotted key, schema] of a section tree, sections included. */
function allKeys(schema: Schema, prefix = ""): Array<[string, Schema]> {
  const shape = shapeOf(schema) ?? {};
  return Object.entries(shape).flatMap(([k, child]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    return [[key, child] as [string, Schema], ...allKeys(child, key)];
  });
}

Deno.test("every key and section carries a description and (but dataset.img_dir) a default", () => {
  const keys = allKeys(TRAIN_CONFIG_SCHEMA);
  assert.ok(keys.length > 60, `${keys.length} keys`);
  for (const [key, schema] of keys) {
    const description = (schema as unknown as { description?: string }).description;
    assert.ok(description && description.length > 5, `${key} has no description`);
    const type = schema._zod.def.type;
    if (key === "dataset.img_dir") assert.equal(type, "string", key);
    else assert.ok(type === "default" || type === "prefault", `${key} has no default (${type})`);
  }
});

Deno.test("model.gen and model.dis are the networks' own declarations, not copies", () => {
  const model = shapeOf(TRAIN_CONFIG_SCHEMA)!.model;
  const gen = shapeOf(shapeOf(model)!.gen)!;
  const dis = shapeOf(shapeOf(model)!.dis)!;
  for (const [key, schema] of Object.entries(gen)) {
    assert.equal(schema, GENERATOR_OPTIONS.shape[key as keyof typeof GENERATOR_OPTIONS.shape], key);
  }
  for (const [key, schema] of Object.entries(dis)) {
    assert.equal(schema, DISCRIMINATOR_OPTIONS.shape[key as keyof typeof DISCRIMINATOR_OPTIONS.shape], key);
  }
  // Official StyleGAN's values (networks_stylegan.py), written out here as the independent truth.
  assert.deepEqual(
    [GENERATOR_DEFAULTS.latent_size, GENERATOR_DEFAULTS.mapping_lrmul, GENERATOR_DEFAULTS.truncation_psi],
    [512, 0.01, 0.7],
  );
  assert.deepEqual([GENERATOR_DEFAULTS.use_pixel_norm, GENERATOR_DEFAULTS.use_instance_norm], [false, true]);
  assert.deepEqual([DISCRIMINATOR_DEFAULTS.mbstd_group_size, DISCRIMINATOR_DEFAULTS.fmap_max], [4, 512]);
  assert.ok(!("resolution" in GENERATOR_DEFAULTS) && !("resolution" in DISCRIMINATOR_DEFAULTS));
});

Deno.test("built-in object keys are unknown keys like any other, in YAML, --set and JSON", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const builtin of ["constructor", "__proto__", "prototype", "toString", "hasOwnProperty"]) {
      const unknown = (key: string, source: string) => (e: Error) => {
        assert.ok(e instanceof ConfigError, `${key}: ${e}`);
        assert.ok(
          e.message.startsWith(`${source}: unknown key '${key}'; valid keys: output_dir,`),
          e.message,
        );
        assert.equal(e.key, key);
        assert.equal(e.unknownKey, true);
        return true;
      };
      // Top level and inside a section, from each source.
      const sources: Array<[string, string, string]> = [
        [
          builtin,
          `{"dataset": {"img_dir": "x"}, "${builtin}": {"prototype": {}}}`,
          `${builtin}:\n  prototype: {}\n`,
        ],
        [
          `dataset.${builtin}`,
          `{"dataset": {"img_dir": "x", "${builtin}": {"prototype": {}}}}`,
          `dataset:\n  img_dir: x\n  ${builtin}:\n    prototype: {}\n`,
        ],
      ];
      for (const [key, json, yamlText] of sources) {
        assert.throws(() => configFromJson(json, "body"), unknown(key, "body"));
        const yaml = `${dir}/${builtin}.yaml`;
        await Deno.writeTextFile(yaml, yamlText);
        await assert.rejects(loadConfig(yaml), unknown(key, yaml));
        assert.throws(() => parseOverride(`${key}.prototype=1`), unknown(key, "--set"));
        assert.throws(() => parseOverride(`${key}=1`), unknown(key, "--set"));
      }
    }
    assert.equal(({} as Record<string, unknown>).prototype, undefined, "Object.prototype untouched");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("POST /api/train's body: a built-in key is a 400 naming it, with the valid keys", async () => {
  for (const body of [{ constructor: { prototype: {} } }, JSON.parse('{"__proto__": {"x": 1}}')]) {
    const key = Object.keys(body)[0];
    await assert.rejects(parseTrainRequest({ dataset: { img_dir: "x" }, ...body }, undefined), (e: Error) => {
      assert.ok(e instanceof ValidationError, String(e));
      assert.equal(e.field, key);
      assert.equal(e.message, `body: unknown key '${key}'`);
      assert.deepEqual(e.allowed, validKeys());
      return true;
    });
  }
});

Deno.test("model.lrate_per_res is a mapping key like the others: entries merge, values are checked", async () => {
  const c = await loadConfig(undefined, ["dataset.img_dir=x", "model.lrate_per_res.2048=0.004"]);
  assert.deepEqual(c.model.lrate_per_res, {
    "128": 0.0015,
    "256": 0.002,
    "512": 0.003,
    "1024": 0.003,
    "2048": 0.004,
  });
  const replaced = await loadConfig(undefined, ["dataset.img_dir=x", 'model.lrate_per_res={"128": 0.01}']);
  assert.equal(replaced.model.lrate_per_res["128"], 0.01);
  assert.equal(replaced.model.lrate_per_res["256"], 0.002);
  await assert.rejects(
    loadConfig(undefined, ["dataset.img_dir=x", "model.lrate_per_res.128=fast"]),
    /^ConfigError: --set model\.lrate_per_res\.128: model\.lrate_per_res\.128 must be a number, got string \("fast"\)$/,
  );
  await assert.rejects(
    loadConfig(undefined, ["dataset.img_dir=x", "model.lrate_per_res=[1]"]),
    /--set model\.lrate_per_res: model\.lrate_per_res must be a mapping, got list/,
  );
  assert.ok(validKeys().includes("model.lrate_per_res"));
  assert.ok(!validKeys().some((k) => k.startsWith("model.lrate_per_res.")));
});

Deno.test("blur_filter: null turns the low-pass filter off, as the networks allow", async () => {
  const c = await loadConfig(undefined, [
    "dataset.img_dir=x",
    "model.gen.blur_filter=null",
    "model.dis.blur_filter=~",
  ]);
  assert.equal(c.model.gen.blur_filter, null);
  assert.equal(c.model.dis.blur_filter, null);
  await assert.rejects(
    loadConfig(undefined, ["dataset.img_dir=x", "model.gen.blur_filter=3"]),
    /model\.gen\.blur_filter must be a list, got number \(3\)/,
  );
});

Deno.test("the JSON schema says what the server accepts", () => {
  const schema = trainConfigJsonSchema() as {
    required: string[];
    additionalProperties: boolean;
    properties: Record<
      string,
      Record<string, unknown> & { properties?: Record<string, Record<string, unknown>> }
    >;
  };
  assert.deepEqual(schema.required, ["dataset"]);
  assert.equal(schema.additionalProperties, false);
  const { dataset, model } = schema.properties;
  assert.equal(dataset.default, undefined);
  assert.deepEqual(dataset.required, ["img_dir"]);
  assert.equal(dataset.properties!.img_dir.minLength, 1);
  // The fuzzer's findings: integers where the server wants integers, enums where it wants one of a list.
  assert.equal(schema.properties.seed.type, "integer");
  assert.equal(dataset.properties!.channels.type, "integer");
  assert.equal(dataset.properties!.source_px.type, "integer");
  assert.deepEqual(schema.properties.structure.enum, ["linear", "fixed"]);
  assert.deepEqual(schema.properties.backend.enum, ["auto", "tensorflow", "webgpu", "wasm", "cpu"]);
  assert.equal(schema.properties.seed.maximum, 0xffffffff);
  assert.equal(
    (model.properties!.gen as { properties: Record<string, { default: unknown }> }).properties.latent_size
      .default,
    512,
  );
  assert.match(String(schema.properties.seed.description), /Seed of every random stream/);
});
