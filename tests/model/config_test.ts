/** Training configuration: defaults ← YAML ← --set, type checks, unknown keys, freezing. */
import assert from "node:assert/strict";
import {
  ConfigError,
  configFromJson,
  loadConfig,
  parseOverride,
  TRAIN_DEFAULTS,
  validKeys,
} from "../../model/config.ts";

Deno.test("training configuration", async (t) => {
  const dir = await Deno.makeTempDir();
  const yaml = `${dir}/c.yaml`;
  await Deno.writeTextFile(
    yaml,
    [
      "output_dir: runs/test",
      "structure: fixed",
      "dataset:",
      "  img_dir: /data/list.txt",
      "  folder: false",
      "  resolution: 32",
      "model:",
      "  gen:",
      "    mapping_layers: 4",
      "sched:",
      "  batch_sizes: [16, 16, 8, 8]",
    ].join("\n"),
  );

  await t.step("official StyleGAN defaults", () => {
    const m = TRAIN_DEFAULTS.model;
    assert.deepEqual([m.g_optim.beta_1, m.g_optim.beta_2, m.g_optim.eps, m.g_optim.learning_rate], [
      0,
      0.99,
      1e-8,
      0.001,
    ]);
    assert.deepEqual(m.lrate_per_res, { "128": 0.0015, "256": 0.002, "512": 0.003, "1024": 0.003 });
    assert.equal(m.r1_gamma, 10);
    assert.equal(m.g_ema_kimg, 10);
    assert.equal(m.gen.style_mixing_prob, 0.9);
    assert.equal(m.gen.dlatent_avg_beta, 0.995);
    assert.equal(m.gen.mapping_layers, 8);
    assert.equal(m.gen.mapping_lrmul, 0.01);
    assert.equal(m.dis.mbstd_group_size, 4);
    assert.deepEqual(m.gen.blur_filter, [1, 2, 1]);
    for (
      const key of [
        "structure",
        "sched.batch_sizes",
        "sched.epochs",
        "sched.fade_in_percentage",
        "output_dir",
        "dataset.img_dir",
        "dataset.folder",
        "dataset.resolution",
        "model.gen.mapping_layers",
        "model.gen.latent_size",
      ]
    ) {
      assert.ok(validKeys().includes(key), key);
    }
  });

  await t.step("YAML then --set, in that order, over the defaults; the result is frozen", async () => {
    const c = await loadConfig(yaml, [
      "model.gen.mapping_layers=2",
      "sched.epochs=[1, 2, 3, 4]",
      "dataset.xflip=false",
    ]);
    assert.equal(c.structure, "fixed");
    assert.equal(c.dataset.resolution, 32);
    assert.equal(c.dataset.folder, false);
    assert.equal(c.model.gen.mapping_layers, 2); // --set wins over YAML
    assert.equal(c.model.gen.latent_size, 512); // untouched default
    assert.deepEqual(c.sched.epochs, [1, 2, 3, 4]);
    assert.equal(c.dataset.xflip, false);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.model.gen) && Object.isFrozen(c.sched.epochs));
    assert.throws(() => {
      (c.dataset as { resolution: number }).resolution = 64;
    }, TypeError);
  });

  await t.step("unknown keys are rejected with the list of valid ones", async () => {
    await assert.rejects(loadConfig(yaml, ["model.gen.mapping_layer=3"]), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /unknown key 'model\.gen\.mapping_layer'/);
      assert.match(e.message, /model\.gen\.mapping_layers/);
      return true;
    });
    await Deno.writeTextFile(`${dir}/bad.yaml`, "dataset:\n  img_dir: x\n  resolutoin: 64\n");
    await assert.rejects(loadConfig(`${dir}/bad.yaml`), /bad\.yaml: unknown key 'dataset\.resolutoin'/);
  });

  await t.step("values are type-checked against the defaults", async () => {
    const cases: Array<[string, RegExp]> = [
      ["dataset.resolution=abc", /dataset\.resolution must be a number/],
      ["dataset.folder=3", /dataset\.folder must be a boolean/],
      ["sched.epochs=4", /sched\.epochs must be a list/],
      ["sched.epochs=[a, b]", /list of numbers/],
      ["model.gen=3", /model\.gen: a section, not a value; set one of model\.gen\.latent_size/],
      ["nokey", /expected key=value/],
    ];
    for (const [set, pattern] of cases) await assert.rejects(loadConfig(yaml, [set]), pattern, set);
  });

  await t.step("semantic validation", async () => {
    await assert.rejects(
      loadConfig(yaml, ["dataset.resolution=48"]),
      /dataset\.resolution: must be a power of two/,
    );
    await assert.rejects(loadConfig(yaml, ["model.gen.style_mixing_prob=1.5"]), /style_mixing_prob/);
    await assert.rejects(
      loadConfig(yaml, ["sched.batch_sizes=[8, 8]"]),
      /sched\.batch_sizes has 2 entries; a 32 px model has 4 depths/,
    );
    await assert.rejects(loadConfig(undefined, []), /dataset\.img_dir: is required/);
    await assert.rejects(loadConfig(`${dir}/missing.yaml`), /missing\.yaml: cannot read/);
    await Deno.writeTextFile(`${dir}/list.yaml`, "- 1\n- 2\n");
    await assert.rejects(loadConfig(`${dir}/list.yaml`), /top level must be a mapping/);
    await Deno.writeTextFile(`${dir}/broken.yaml`, "dataset: [unclosed\n");
    await assert.rejects(loadConfig(`${dir}/broken.yaml`), /broken\.yaml: not valid YAML/);
  });

  await t.step("augmentation and R1 γ: defaults off and 10, checked values, a JSON round trip", async () => {
    assert.deepEqual(TRAIN_DEFAULTS.augment, { policy: "", translation_padding: "zero" });
    const c = await loadConfig(yaml, [
      "augment.policy=color,translation,cutout",
      "augment.translation_padding=reflect",
      "model.r1_gamma=auto",
    ]);
    assert.equal(c.augment.policy, "color,translation,cutout");
    assert.equal(c.augment.translation_padding, "reflect");
    assert.equal(c.model.r1_gamma, "auto");
    // A checkpoint header or a job's config.json keeps them.
    const again = configFromJson(JSON.stringify(c), "header");
    assert.deepEqual([again.augment, again.model.r1_gamma], [c.augment, "auto"]);
    const cases: Array<[string, string | RegExp]> = [
      [
        "augment.policy=color,flip",
        "augment.policy: unknown policy 'flip'; valid names: color, translation, cutout",
      ],
      ["augment.policy=color,color", "augment.policy: 'color' is listed twice"],
      ["augment.translation_padding=wrap", /^augment\.translation_padding: .*"zero".*"reflect"/],
      ["augment.policy=3", /augment\.policy must be a string, got number/],
      ["model.r1_gamma=automatic", 'model.r1_gamma: must be a number ≥ 0 or "auto", got "automatic"'],
      ["model.r1_gamma=-1", /^model\.r1_gamma: must be a number ≥ 0 or "auto"/],
      ["augment.policies=color", /unknown key 'augment\.policies'/],
    ];
    for (const [set, pattern] of cases) {
      await assert.rejects(loadConfig(yaml, [set]), (e: Error) => {
        assert.ok(e instanceof ConfigError, set);
        if (typeof pattern === "string") assert.equal(e.message, pattern, set);
        else assert.match(e.message, pattern, set);
        return true;
      });
    }
    assert.throws(
      () => configFromJson(JSON.stringify({ ...c, model: { ...c.model, r1_gamma: [1] } }), "header"),
      /header: model\.r1_gamma must be a number/,
    );
  });

  await t.step("overrides parse YAML scalars and flow lists", () => {
    assert.deepEqual(parseOverride("model.r1_gamma=5"), { model: { r1_gamma: 5 } });
    assert.deepEqual(parseOverride("sched.epochs=[1,2]"), { sched: { epochs: [1, 2] } });
    assert.deepEqual(parseOverride("output_dir=runs/x"), { output_dir: "runs/x" });
  });

  await Deno.remove(dir, { recursive: true });
});
