/**
 * `deno task train` end to end on real UC Merced tiles, tiny: growing and fading, samples, checkpoints,
 * refusing to overwrite, exact resume after SIGKILL, bad data, and non-finite losses.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadConfig } from "../../../model/config.ts";
import { train, type TrainEvent, type TrainingData } from "../../../model/train/loop.ts";
import { readSafetensors } from "../../../model/checkpoint/safetensors.ts";
import { REPO_ROOT, UCMERCED_DIR } from "../../support/paths.ts";
import { maxAbsDiff, useBackend } from "../../support/backends.ts";
import { runCli } from "../../support/cli.ts";
import { TINY_NETWORK, tinySchedule } from "../../support/tiny_training.ts";

/** Settings that make a 16 px run take seconds. */
const TINY = [
  ...TINY_NETWORK,
  "dataset.folder=false",
  ...tinySchedule([1, 1, 2], 8),
  "log_every=1",
  "sample_every=2",
];

/** A list file of the first `n` training images (never the hold-out list). */
async function trainingList(dir: string, n: number): Promise<string> {
  const lines = (await Deno.readTextFile(`${UCMERCED_DIR}/train.txt`)).split("\n").filter(Boolean);
  const step = Math.floor(lines.length / n);
  const picked = Array.from({ length: n }, (_, i) => `${UCMERCED_DIR}/${lines[i * step]}`);
  await Deno.writeTextFile(`${dir}/list.txt`, picked.join("\n") + "\n");
  return `${dir}/list.txt`;
}

/**
 * The training processes' environment, pinned: their runtime (model/runtime.ts) is read from it, and a value
 * inherited from whoever runs the tests (SGAN_BLAS, SGAN_BLAS_THREADS, ...) must not differ between the
 * uninterrupted run and the resumed one (it would change the last bits of the weights).
 */
const CHILD_ENV = { SGAN_BACKEND: "wasm", SGAN_BLAS: "on" };

const trainCli = (args: string[]) => runCli("train.ts", args, CHILD_ENV);

/**
 * Start `deno task train` with `args`, SIGKILL it once its checkpoint pointer in `out` says step 7 or later
 * (every batch is checkpointed, so the kill lands between checkpoints of a live run); resolves to that step.
 */
async function killMidRun(args: string[], out: string): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_ROOT}/model/cli/train.ts`, ...args],
    cwd: REPO_ROOT,
    env: CHILD_ENV,
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 120_000;
  let step = 0;
  while (Date.now() < deadline) {
    try {
      step = JSON.parse(await Deno.readTextFile(`${out}/models/latest.json`)).state.step;
    } catch { /* not written yet, or being replaced */ }
    if (step >= 7) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  await child.status;
  return step;
}

async function weights(file: string): Promise<Map<string, Float32Array>> {
  const { tensors } = await readSafetensors(file);
  return new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array]));
}

Deno.test("training", async (t) => {
  const dir = await Deno.makeTempDir();
  const list = await trainingList(dir, 24);
  const sets = (out: string, extra: string[] = []) =>
    [...TINY, `dataset.img_dir=${list}`, `output_dir=${out}`, ...extra].flatMap((s) => ["--set", s]);

  await t.step("a tiny run grows 4 → 16 px, fades in, samples and checkpoints", async () => {
    const res = await trainCli(sets(`${dir}/full`, ["metrics_kimg=0.04", "metrics_images=16"]));
    assert.equal(res.code, 0, res.stderr);
    for (const depth of [1, 2, 3]) {
      assert.match(res.stdout, new RegExp(`Currently working on depth: ${depth}`));
    }
    assert.match(
      res.stdout,
      /Elapsed: \[0:\d\d:\d\d\] Step: 1 {2}Batch: 1 {2}D_Loss: [\d.]+ {2}G_Loss: [\d.]+/,
    );
    const models = [...Deno.readDirSync(`${dir}/full/models`)].map((e) => e.name).sort();
    for (const tag of ["0_1", "1_1", "2_1", "2_2"]) {
      for (const kind of ["GAN_GEN", "GAN_GEN_SHADOW", "GAN_DIS", "GAN_GEN_OPTIM", "GAN_DIS_OPTIM"]) {
        assert.ok(models.includes(`${kind}_${tag}.safetensors`), `${kind}_${tag} in ${models}`);
      }
    }
    assert.ok(models.includes("latest.json"));
    const samples = [...Deno.readDirSync(`${dir}/full/samples`)].map((e) => e.name);
    assert.ok(samples.includes("gen_2_2_3.png"), samples.join(" "));
    assert.ok(samples.includes("gen_0_1_2.png"), samples.join(" "));
    // MS-SWD during training: only at 16 px (the pyramid's floor), per level in metres.
    const metrics = (await Deno.readTextFile(`${dir}/full/metrics.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.ok(metrics.length >= 1);
    for (const m of metrics) {
      assert.equal(m.resolution, 16);
      assert.equal(m.levels[0].metres_per_pixel, 0.3048 * 256 / 16);
      assert.ok(Number.isFinite(m.average_x1e3) && m.average_x1e3 > 0);
    }
    const config = await Deno.readTextFile(`${dir}/full/config.yaml`);
    assert.match(config, /resolution: 16/);
    // The generator checkpoint carries its config and the ground sample distance (0.3048 · 256 / 16).
    const { metadata } = await readSafetensors(`${dir}/full/models/GAN_GEN_SHADOW_2_2.safetensors`);
    assert.equal(Number(metadata.gsd_m), 0.3048 * 256 / 16);
    assert.equal(JSON.parse(metadata.config).resolution, 16);
  });

  await t.step("a run directory is never overwritten without --resume or --force", async () => {
    const res = await trainCli(sets(`${dir}/full`));
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /already holds a run; continue it with --resume/);
    assert.ok((await Deno.stat(`${dir}/full/models/latest.json`)).isFile);
  });

  await t.step(
    "killed with SIGKILL mid-run, resumed: the same weights as the uninterrupted run",
    async () => {
      const out = `${dir}/killed`;
      const step = await killMidRun(sets(out, ["checkpoint_minutes=0.00001"]), out);
      assert.ok(step >= 7 && step < 20, `killed at step ${step}`);
      const res = await trainCli(["--resume", out]);
      assert.equal(res.code, 0, res.stderr);
      for (
        const file of [
          "GAN_GEN_SHADOW_2_2",
          "GAN_GEN_2_2",
          "GAN_DIS_2_2",
          "GAN_GEN_OPTIM_2_2",
          "GAN_DIS_OPTIM_2_2",
        ]
      ) {
        const a = await weights(`${dir}/full/models/${file}.safetensors`);
        const b = await weights(`${out}/models/${file}.safetensors`);
        for (const [key, values] of a) assert.deepEqual(b.get(key), values, `${file}: ${key}`);
      }
    },
  );

  await t.step(
    "with DiffAugment: killed with SIGKILL and resumed, the same weights, in one process and with workers",
    async () => {
      const augmented = [
        [
          "--workers",
          "0",
          "--set",
          "augment.policy=color,translation,cutout",
          "--set",
          "model.r1_gamma=auto",
        ],
        [
          "--workers",
          "2",
          "--set",
          "augment.policy=color,translation,cutout",
          "--set",
          "augment.translation_padding=reflect",
        ],
      ];
      for (const [i, extra] of augmented.entries()) {
        const full = `${dir}/augmented_${i}`, out = `${dir}/augmented_killed_${i}`;
        let res = await trainCli([...sets(full), ...extra]);
        assert.equal(res.code, 0, res.stderr);
        const step = await killMidRun([...sets(out, ["checkpoint_minutes=0.00001"]), ...extra], out);
        assert.ok(step >= 7 && step < 20, `${extra}: killed at step ${step}`);
        res = await trainCli(["--resume", out, "--workers", extra[1]]);
        assert.equal(res.code, 0, res.stderr);
        for (const file of ["GAN_GEN_SHADOW_2_2", "GAN_DIS_2_2", "GAN_DIS_OPTIM_2_2"]) {
          const a = await weights(`${full}/models/${file}.safetensors`);
          const b = await weights(`${out}/models/${file}.safetensors`);
          for (const [key, values] of a) assert.deepEqual(b.get(key), values, `${extra}: ${file}: ${key}`);
        }
        // The augmentation is on in these runs: D ends elsewhere than in the plain run of the first step.
        const plain = await weights(`${dir}/full/models/GAN_DIS_2_2.safetensors`);
        const augmentedD = await weights(`${full}/models/GAN_DIS_2_2.safetensors`);
        assert.ok(
          [...plain].some(([key, values]) => maxAbsDiff(values, augmentedD.get(key)!) > 0),
          `${extra}`,
        );
      }
    },
  );

  await t.step(
    "with land-use labels: killed with SIGKILL and resumed, the same weights, in one process and with workers",
    async () => {
      // Three classes of 8 of the 24 tiles each (a CSV by file name), so every class fills an mbstd group.
      const files = (await Deno.readTextFile(list)).trim().split("\n");
      const classOf = (i: number) => ["forest", "harbor", "runway"][i % 3];
      const rows = files.map((f, i) => `${f.split("/").pop()},${classOf(i)}`);
      await Deno.writeTextFile(`${dir}/labels.csv`, ["file,class", ...rows].join("\n") + "\n");
      const labelled = ["--set", "dataset.labels=csv", "--set", `dataset.label_csv=${dir}/labels.csv`];
      for (const workers of ["0", "2"]) {
        const extra = ["--workers", workers, ...labelled, "--set", "augment.policy=translation"];
        const full = `${dir}/labelled_${workers}`, out = `${dir}/labelled_killed_${workers}`;
        let res = await trainCli([...sets(full), ...extra]);
        assert.equal(res.code, 0, res.stderr);
        const step = await killMidRun([...sets(out, ["checkpoint_minutes=0.00001"]), ...extra], out);
        assert.ok(step >= 7 && step < 20, `workers ${workers}: killed at step ${step}`);
        res = await trainCli(["--resume", out, "--workers", workers]);
        assert.equal(res.code, 0, res.stderr);
        for (const file of ["GAN_GEN_SHADOW_2_2", "GAN_DIS_2_2", "GAN_GEN_OPTIM_2_2"]) {
          const a = await weights(`${full}/models/${file}.safetensors`);
          const b = await weights(`${out}/models/${file}.safetensors`);
          for (const [key, values] of a) {
            assert.deepEqual(b.get(key), values, `workers ${workers}: ${file}: ${key}`);
          }
        }
        // A conditional pair: G's class embedding [3, latent 16], D's one output per class, class names stored.
        const { tensors, metadata } = await readSafetensors(`${full}/models/GAN_GEN_SHADOW_2_2.safetensors`);
        assert.deepEqual(tensors.get("class_embedding.weight")?.shape, [3, 16]);
        assert.deepEqual(JSON.parse(metadata.class_names), ["forest", "harbor", "runway"]);
        const d = await readSafetensors(`${full}/models/GAN_DIS_2_2.safetensors`);
        const scores = [...d.tensors].find(([k]) => k.endsWith("dense1.bias"))?.[1];
        assert.deepEqual(scores?.shape, [3], "D's last layer: one output per class");
      }
      // Resumed with other classes (a CSV of two), the run is refused before anything is loaded or written.
      const before = await Deno.readTextFile(`${dir}/labelled_0/models/latest.json`);
      const others = files.map((f, i) => `${f.split("/").pop()},${i % 2 ? "a" : "b"}`);
      await Deno.writeTextFile(`${dir}/other.csv`, ["file,class", ...others].join("\n") + "\n");
      const res = await trainCli([
        "--resume",
        `${dir}/labelled_0`,
        "--set",
        `dataset.label_csv=${dir}/other.csv`,
      ]);
      assert.notEqual(res.code, 0);
      assert.match(
        res.programStderr,
        /trained on the classes forest, harbor, runway; the data now gives a, b\./,
      );
      assert.equal(await Deno.readTextFile(`${dir}/labelled_0/models/latest.json`), before);
    },
  );

  await t.step(
    "an unknown augmentation policy: one clear error naming the key, nothing written",
    async () => {
      const out = `${dir}/bad_policy`;
      const res = await trainCli(sets(out, ["augment.policy=color,flip"]));
      assert.notEqual(res.code, 0);
      assert.match(
        res.stderr,
        /augment\.policy: unknown policy 'flip'; valid names: color, translation, cutout/,
      );
      assert.equal(res.stderr.trim().split("\n").length, 1, res.stderr);
      await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
    },
  );

  await t.step(
    "Ctrl-C with data-parallel workers: a checkpoint at the next safe point, the workers exit too",
    async () => {
      const out = `${dir}/interrupted`;
      // In a session of its own (setsid), so that the SIGINT goes to the whole process group, as a terminal's
      // Ctrl-C does: the workers get it too and must leave stopping to the training process.
      const child = new Deno.Command("setsid", {
        args: [
          Deno.execPath(),
          "run",
          "-A",
          `${REPO_ROOT}/model/cli/train.ts`,
          "--workers",
          "2",
          ...sets(out, ["sched.epochs=[1,1,50]"]),
        ],
        cwd: REPO_ROOT,
        env: CHILD_ENV,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const output = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
      // Wait until it trains (step 4 written), then find its two workers among its children.
      const deadline = Date.now() + 120_000;
      let workers: number[] = [];
      while (Date.now() < deadline) {
        try {
          const { state } = JSON.parse(await Deno.readTextFile(`${out}/models/latest.json`));
          // Its children (Linux): the worker processes.
          workers = [...Deno.readDirSync(`/proc/${child.pid}/task`)].flatMap((task) =>
            Deno.readTextFileSync(`/proc/${child.pid}/task/${task.name}/children`).trim().split(/\s+/)
          ).filter(Boolean).map(Number);
          if (state.step >= 4 && workers.length === 2) break;
        } catch { /* not written yet */ }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(workers.length, 2, "two worker processes");
      Deno.kill(-child.pid, "SIGINT");
      const status = await child.status;
      const [stdout, stderr] = await output;
      assert.equal(status.code, 0, stderr);
      assert.match(stderr, /stopping at the next safe point/);
      assert.match(stdout, /stopped at [\d.]+ kimg; resume with: deno task train --resume/);
      const { state } = JSON.parse(await Deno.readTextFile(`${out}/models/latest.json`));
      assert.ok(state.step >= 4 && state.step < 150, `stopped at step ${state.step}`);
      for (const pid of workers) assert.throws(() => Deno.kill(pid, "SIGCONT"), `worker ${pid} has exited`);
    },
  );

  await t.step("a finished run resumed with more epochs goes on at its last depth", async () => {
    // 24 images at batch 8: 3 steps per epoch. The finished run stopped after epoch 2 of depth 2, its fade-in
    // complete. Six epochs there would put the fade point at step 9 of the depth: the resumed run must not
    // fade in again (alpha stays 1).
    const latest = async (out: string) => JSON.parse(await Deno.readTextFile(`${out}/models/latest.json`));
    const events = (stdout: string) =>
      stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    const before = (await latest(`${dir}/full`)).state;
    // Step 12 = 3 + 3 + 6 steps of depths 0, 1, 2: past the end, at epoch 3 of the last depth; its fade-in
    // (50 % of 2 epochs × 3 batches = 3 steps into depth 2) completed at step 9.
    assert.deepEqual(
      [before.version, before.step, before.depth, before.epoch, before.batchInEpoch, before.fadeCompleteAt],
      [2, 12, 2, 3, 0, 9],
    );

    // Resuming without more epochs trains nothing.
    let res = await trainCli(["--resume", `${dir}/full`]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal((await latest(`${dir}/full`)).state.step, before.step);

    res = await trainCli(["--resume", `${dir}/full`, "--set", "sched.epochs=[1,1,6]", "--events"]);
    assert.equal(res.code, 0, res.stderr);
    const seen = events(res.stdout);
    const progress = seen.filter((e) => e.type === "progress");
    assert.equal(progress.length, 12);
    assert.ok(
      progress.every((e) => e.alpha === 1 && e.depth === 2),
      JSON.stringify(progress.map((e) => e.alpha)),
    );
    assert.ok(seen.some((e) => e.type === "log" && e.line === "Epoch: [3]"));
    const after = (await latest(`${dir}/full`)).state;
    assert.deepEqual([after.step, after.depth, after.epoch, after.fadeCompleteAt], [
      before.step + 12,
      2,
      7,
      9,
    ]);
    assert.ok((await Deno.stat(`${dir}/full/models/GAN_GEN_SHADOW_2_6.safetensors`)).isFile);

    // A changed schedule that would move the run's position (depth 1 trained 2 epochs now) is refused.
    const moved = await latest(`${dir}/full`);
    const configBefore = await Deno.readTextFile(`${dir}/full/config.yaml`);
    res = await trainCli(["--resume", `${dir}/full`, "--set", "sched.epochs=[1,2,6]"]);
    assert.notEqual(res.code, 0);
    assert.match(
      res.programStderr,
      /step 24 was depth 2, epoch 7, batch 0; this config puts it at depth 2, epoch 6/,
    );
    assert.deepEqual(await latest(`${dir}/full`), moved, "nothing written");
    assert.equal(await Deno.readTextFile(`${dir}/full/config.yaml`), configBefore, "config.yaml kept");

    // Runs written by earlier versions (state format 1: per-depth counters) get a clear error.
    const old = `${dir}/killed`;
    const pointer = await latest(old);
    pointer.state = { depthIndex: 3, epoch: 1, ticker: 0, batchInEpoch: 0, step: pointer.state.step };
    await Deno.writeTextFile(`${old}/models/latest.json`, JSON.stringify(pointer));
    res = await trainCli(["--resume", old, "--set", "sched.epochs=[1,1,6]"]);
    assert.notEqual(res.code, 0);
    assert.match(res.programStderr, /written by an earlier version of the trainer \(state format 1/);
  });

  await t.step("bad data: clear errors naming the path", async () => {
    await Deno.mkdir(`${dir}/empty`);
    let res = await trainCli([
      ...sets(`${dir}/e1`),
      "--set",
      `dataset.img_dir=${dir}/empty`,
      "--set",
      "dataset.folder=true",
    ]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /empty/);
    const few = await trainingList(await Deno.makeTempDir({ dir }), 4);
    res = await trainCli([...sets(`${dir}/e2`), "--set", `dataset.img_dir=${few}`]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /4|fewer|batch/);
    res = await trainCli([...sets(`${dir}/e3`), "--set", "sched.batch_sizes=[8]"]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /sched\.batch_sizes has 1 entries; a 16 px model has 3 depths/);
  });

  await Deno.remove(dir, { recursive: true });
});

Deno.test("non-finite losses are skipped, then stop the run with a usable checkpoint", async () => {
  await useBackend("wasm");
  const dir = await Deno.makeTempDir();
  const config = await loadConfig(undefined, [
    ...TINY,
    "dataset.img_dir=unused",
    `output_dir=${dir}/nan`,
    "max_nan_steps=3",
  ]);
  let served = 0;
  // Real-looking data for 6 batches, then NaN images: D's loss becomes NaN.
  const data: TrainingData = {
    count: 24, // 3 batches per epoch: 12 steps in all, NaN data from step 7
    gsdM: 4.8768,
    nextBatch: (n) => ({
      images:
        (served++ < 6
          ? tf.randomUniform([n, 16, 16, 3], -1, 1)
          : tf.fill([n, 16, 16, 3], NaN)) as tf.Tensor4D,
    }),
    getState: () => ({ served }),
    setState() {},
  };
  const warnings: string[] = [];
  await assert.rejects(
    train({ config, data, onEvent: (e: TrainEvent) => e.type === "warning" && warnings.push(e.message) }),
    /3 consecutive non-finite losses at step 9; stopping\. The last checkpoint in .* is usable/,
  );
  assert.equal(warnings.length, 3);
  const latest = JSON.parse(await Deno.readTextFile(`${dir}/nan/models/latest.json`));
  const { tensors } = await readSafetensors(`${dir}/nan/models/${latest.files.shadow}`);
  for (const [key, t] of tensors) assert.ok((t.data as Float32Array).every(Number.isFinite), key);
  await Deno.remove(dir, { recursive: true });
});
