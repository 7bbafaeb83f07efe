/** The land-use classifier: its loss against the formula, labels from folders, training, saving, the CLI. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { formatLandUseCheck, landUseCheck } from "../../../model/metrics/landuse_check.ts";
import {
  accuracyOf,
  LandUseClassifier,
  loadClassifier,
  oneVsRestLoss,
  predictClasses,
  saveClassifier,
  tilesToInput,
  trainClassifier,
} from "../../../model/metrics/landuse.ts";
import { folderLabels } from "../../../model/data/labels.ts";
import { useBackend } from "../../support/backends.ts";
import { runCli } from "../../support/cli.ts";
import { REPO_ROOT, UCMERCED_DIR } from "../../support/paths.ts";
import { readImageSet } from "../../../model/metrics/image_sets.ts";

Deno.test("oneVsRestLoss: mean over rows of Σ softplus(−y·l), and its gradient −y·σ(−y·l) / N", async () => {
  await useBackend("cpu");
  const logits = [[1, 2, 3], [0, 0, 0], [5, -5, 0.5]];
  const labels = [2, 0, 1];
  const softplus = (v: number) => Math.log(1 + Math.exp(v));
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  const sign = (i: number, j: number) => (j === labels[i] ? 1 : -1);
  const byHand = logits.map((row, i) => row.reduce((s, v, j) => s + softplus(-sign(i, j) * v), 0));
  const mean = byHand.reduce((a, b) => a + b, 0) / 3;
  const x = tf.tensor2d(logits);
  assert.ok(Math.abs((await oneVsRestLoss(x, labels).data())[0] - mean) < 1e-5);
  const grad = await tf.grad((l: tf.Tensor) => oneVsRestLoss(l as tf.Tensor2D, labels))(x)
    .array() as number[][];
  logits.forEach((row, i) =>
    row.forEach((v, j) => {
      const expected = -sign(i, j) * sigmoid(-sign(i, j) * v) / 3;
      assert.ok(Math.abs(grad[i][j] - expected) < 1e-6, `[${i}][${j}] ${grad[i][j]} vs ${expected}`);
    })
  );
  // Large logits stay finite.
  assert.ok(Number.isFinite((await oneVsRestLoss(tf.tensor2d([[1000, -1000]]), [1]).data())[0]));
});

Deno.test("folderLabels: the folder holding each file, classes sorted; one folder is refused", () => {
  const { classNames, labels } = folderLabels([
    "a/images/river/r1.jpg",
    "a/images/forest/f1.jpg",
    "x/river/r2.png",
  ]);
  assert.deepEqual(classNames, ["forest", "river"]);
  assert.deepEqual([...labels], [1, 0, 1]);
  assert.throws(
    () => folderLabels(["d/forest/1.jpg", "d/forest/2.jpg"]),
    /at least two class folders.*d\/forest/,
  );
});

Deno.test("accuracyOf: overall and per class", () => {
  const { overall, perClass } = accuracyOf([0, 1, 1, 2], [0, 1, 2, 2], ["a", "b", "c"]);
  assert.equal(overall, 0.75);
  assert.deepEqual(perClass, { a: 1, b: 1, c: 0.5 });
});

Deno.test("tilesToInput: bytes to [−1, 1], box-averaged to the classifier's size", async () => {
  await useBackend("cpu");
  const data = Uint8Array.from([0, 255, 51, 102, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0]);
  const x = tilesToInput(data, 1, 4, 1, 2);
  const v = [...await x.data()];
  const to = (b: number) => b / 127.5 - 1;
  const expect = [
    (to(0) + to(255) + to(0) + to(0)) / 4,
    (to(51) + to(102) + to(0) + to(0)) / 4,
    (to(255) * 2 + to(0) * 2) / 4,
    (to(255) * 2 + to(0) * 2) / 4,
  ];
  v.forEach((value, i) => assert.ok(Math.abs(value - expect[i]) < 1e-6));
  assert.throws(() => tilesToInput(new Uint8Array(9), 1, 3, 1, 2), /cannot be box-averaged/);
});

Deno.test("a classifier learns tiles it can tell apart, and saves and loads unchanged", async () => {
  await useBackend("wasm");
  // Three classes: a dark, a bright and a striped texture, with noise; 12 tiles each at 16 px.
  const n = 36, size = 16;
  const data = new Uint8Array(n * size * size * 3);
  const labels = new Int32Array(n);
  let seed = 1;
  const noise = () => (seed = (seed * 16807) % 2147483647) % 40;
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3;
    for (let p = 0; p < size * size; p++) {
      const stripe = (Math.floor(p / size) % 4) < 2;
      const base = labels[i] === 0 ? 30 : labels[i] === 1 ? 200 : stripe ? 220 : 20;
      for (let c = 0; c < 3; c++) data[(i * size * size + p) * 3 + c] = base + noise();
    }
  }
  const x = tilesToInput(data, n, size, 3, size);
  const info = {
    resolution: size,
    channels: 3,
    classNames: ["dark", "bright", "striped"],
    widths: [8, 8, 8, 8],
  };
  const losses: number[] = [];
  const net = trainClassifier(info, x, labels, {
    epochs: 12,
    batch: 12,
    onEpoch: (_, loss) => losses.push(loss),
  });
  assert.ok(losses[losses.length - 1] < losses[0] / 2, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  const predicted = predictClasses(net, x);
  assert.equal(accuracyOf(predicted, labels, info.classNames).overall, 1);
  const dir = await Deno.makeTempDir();
  try {
    await saveClassifier(`${dir}/c.safetensors`, net);
    const again = await loadClassifier(`${dir}/c.safetensors`);
    assert.deepEqual(again.info.classNames, info.classNames);
    assert.deepEqual([...predictClasses(again, x)], [...predicted]);
    assert.deepEqual([...await again.logits(x).data()], [...await net.logits(x).data()]);
    again.dispose();
    await Deno.writeTextFile(`${dir}/not.safetensors`, "nope");
    await assert.rejects(loadClassifier(`${dir}/not.safetensors`), /not\.safetensors/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  x.dispose();
  net.dispose();
});

Deno.test("deno task landuse: trains on the sample, reports hold-out accuracy; refuses the hold-out list", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/c.safetensors`;
    const ok = await runCli("landuse.ts", [
      "--train",
      `${UCMERCED_DIR}/train.txt`,
      "--holdout",
      `${UCMERCED_DIR}/holdout.txt`,
      "--out",
      out,
      "--resolution",
      "16",
      "--epochs",
      "1",
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^hold-out accuracy [\d.]+ % on 21 tiles \(chance 4\.8 %\)/);
    const saved = await loadClassifier(out);
    assert.equal(saved.info.classNames.length, 21);
    assert.ok(saved.info.holdoutAccuracy! >= 0 && saved.info.holdoutAccuracy! <= 1);
    saved.dispose();
    const refused = await runCli("landuse.ts", [
      "--train",
      `${UCMERCED_DIR}/holdout.txt`,
      "--holdout",
      `${UCMERCED_DIR}/holdout.txt`,
      "--out",
      `${dir}/bad.safetensors`,
    ]);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.programStderr,
      /^error: --train includes 21 held-out tile\(s\) listed in .*holdout\.txt/,
    );
    await assert.rejects(Deno.stat(`${dir}/bad.safetensors`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A classifier that calls every tile `always` (zero weights, a large bias for that class). */
function constantClassifier(classNames: string[], always: number, resolution: number): LandUseClassifier {
  const net = new LandUseClassifier({ resolution, channels: 3, classNames, widths: [4, 4, 4, 4] });
  net.dense.weight.assign(tf.zerosLike(net.dense.weight));
  const bias = new Float32Array(classNames.length);
  bias[always] = 10;
  net.dense.bias!.assign(tf.tensor1d(bias));
  return net;
}

Deno.test("landUseCheck: the spread of predicted classes, and per class the share classified as its own", async () => {
  await useBackend("cpu");
  const names = ["forest", "river", "runway"];
  const net = constantClassifier(names, 1, 16);
  const tile = () => ({ width: 32, height: 32, channels: 3, data: new Uint8Array(32 * 32 * 3).fill(90) });
  const tiles = Array.from({ length: 6 }, tile);
  const spread = landUseCheck(net, tiles);
  assert.deepEqual(spread.predicted, { forest: 0, river: 6, runway: 0 });
  assert.deepEqual([spread.classes_occurring, spread.classes_known, spread.per_class], [1, 3, undefined]);
  const conditional = landUseCheck(net, tiles, ["forest", "river", "runway", "forest", "river", "runway"]);
  assert.deepEqual(conditional.per_class, {
    forest: { generated: 2, share_as_own_class: 0 },
    river: { generated: 2, share_as_own_class: 1 },
    runway: { generated: 2, share_as_own_class: 0 },
  });
  assert.equal(conditional.classes_mostly_recognised, 1);
  assert.match(formatLandUseCheck(conditional), /1 of 3 classes occur among 6 tiles/);
  assert.throws(
    () => landUseCheck(net, tiles, Array(6).fill("harbor")),
    /does not know the class\(es\) harbor/,
  );
  assert.throws(
    () => landUseCheck(net, [{ width: 8, height: 8, channels: 3, data: new Uint8Array(192) }]),
    /8 px/,
  );
  net.dispose();
});

Deno.test("deno task eval --classifier: the land-use check of an unconditional model's tiles, in text and JSON", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  try {
    const names = ["a", "b", "c"];
    const net = constantClassifier(names, 2, 32);
    await saveClassifier(`${dir}/c.safetensors`, net);
    net.dispose();
    const args = [
      "--checkpoint",
      `${REPO_ROOT}/model/pretrained/reference-r32.safetensors`,
      "--real",
      `${UCMERCED_DIR}/holdout.txt`,
      "--n",
      "8",
      "--classifier",
      `${dir}/c.safetensors`,
    ];
    const json = await runCli("eval.ts", [...args, "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.deepEqual(report.landuse.predicted, { a: 0, b: 0, c: 8 });
    assert.equal(report.landuse.per_class, undefined); // the reference network is unconditional
    const text = await runCli("eval.ts", args);
    assert.match(
      text.stdout,
      /land-use check \(classifier hold-out accuracy unknown\): 1 of 3 classes occur/,
    );
    const refused = await runCli("eval.ts", [
      "--real",
      `${UCMERCED_DIR}/holdout.txt`,
      "--fake",
      `${UCMERCED_DIR}/train.txt`,
      "--classifier",
      `${dir}/c.safetensors`,
    ]);
    assert.match(refused.programStderr, /^error: --classifier is for --checkpoint/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the shipped classifier: UC Merced's 21 classes, its recorded hold-out accuracy, above chance on the sample", async () => {
  await useBackend("wasm");
  const net = await loadClassifier(`${REPO_ROOT}/model/pretrained/landuse-32.safetensors`);
  try {
    const { classNames, holdoutAccuracy, resolution } = net.info;
    assert.deepEqual(classNames, (await Deno.readTextFile(`${UCMERCED_DIR}/classes.txt`)).trim().split("\n"));
    assert.equal(resolution, 32);
    assert.ok(holdoutAccuracy! > 0.5, `recorded hold-out accuracy ${holdoutAccuracy}`);
    // The sample's 21 hold-out tiles (one per class) are among the 105 it was checked on, never trained on.
    const set = await readImageSet(`${UCMERCED_DIR}/holdout.txt`, 32);
    const data = new Uint8Array(set.images.length * 32 * 32 * 3);
    set.images.forEach((image, i) => data.set(image.data, i * image.data.length));
    const x = tilesToInput(data, set.images.length, 32, 3, 32);
    const truth = folderLabels(set.paths).classNames;
    assert.deepEqual(truth, classNames);
    const labels = folderLabels(set.paths).labels;
    const { overall } = accuracyOf(predictClasses(net, x), labels, classNames);
    x.dispose();
    assert.ok(
      overall >= 5 / 21,
      `${(100 * overall).toFixed(0)} % of the 21 sample hold-out tiles (chance 4.8 %)`,
    );
  } finally {
    net.dispose();
  }
});
