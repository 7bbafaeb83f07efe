/**
 * `deno task landuse --train LIST --holdout LIST --out FILE [--resolution 64] [--epochs 30] [--seed 0]`
 *
 * Train the land-use classifier (model/metrics/landuse.ts) on labelled real tiles (class = the folder holding
 * each file, as in UC Merced's `images/<class>/`), report its accuracy on the hold-out tiles overall and per
 * class, and save it with that accuracy in its header. `deno task eval --classifier FILE` then asks it which
 * land use each generated tile looks like.
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/select.ts";
import { processRuntime } from "../runtime.ts";
import { folderLabels } from "../data/labels.ts";
import { findHeldOutFiles } from "../data/sources.ts";
import { listImageSet, readImageSet } from "../metrics/image_sets.ts";
import {
  accuracyOf,
  CLASSIFIER_TRAINING_DEFAULTS,
  type ClassifierInfo,
  predictClasses,
  saveClassifier,
  tilesToInput,
  trainClassifier,
} from "../metrics/landuse.ts";
import { integerFlag, numberFlag, parseFlags, runCommand, UsageError } from "./common.ts";

const USAGE = "usage: deno task landuse --train LIST|DIR --holdout LIST|DIR --out FILE [--resolution 64] " +
  "[--epochs 30] [--batch 32] [--lr 0.002] [--seed 0] [--backend auto|wasm|cpu|webgpu]";

await runCommand(async () => {
  const { values } = parseFlags(Deno.args, {
    train: { type: "string" },
    holdout: { type: "string" },
    out: { type: "string" },
    resolution: { type: "string" },
    epochs: { type: "string" },
    batch: { type: "string" },
    lr: { type: "string" },
    seed: { type: "string" },
    backend: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (values.help) return console.log(USAGE);
  for (const flag of ["train", "holdout", "out"] as const) {
    if (!values[flag]) throw new UsageError(`--${flag} is required\n${USAGE}`);
  }
  const resolution = integerFlag("resolution", values.resolution, 16, 256) ?? 64;
  if (resolution % 16 !== 0) throw new UsageError(`--resolution must be a multiple of 16, got ${resolution}`);
  const epochs = integerFlag("epochs", values.epochs, 1, 1000) ?? CLASSIFIER_TRAINING_DEFAULTS.epochs;
  const batch = integerFlag("batch", values.batch, 1, 1024) ?? CLASSIFIER_TRAINING_DEFAULTS.batch;
  const learningRate = numberFlag("lr", values.lr, CLASSIFIER_TRAINING_DEFAULTS.learningRate)!;
  const seed = integerFlag("seed", values.seed, 0, 2 ** 31) ?? 0;

  // Never fit on the evaluation split: the training list must not name a held-out tile.
  const trainFiles = await listImageSet(values.train!);
  const heldOut = await findHeldOutFiles(
    trainFiles,
    values.train!,
    (await Deno.stat(values.train!)).isDirectory,
  );
  if (heldOut && heldOut.files.length > 0) {
    throw new UsageError(
      `--train includes ${heldOut.files.length} held-out tile(s) listed in ${heldOut.list}; train on train.txt`,
    );
  }
  const train = folderLabels(trainFiles);
  const holdoutFiles = await listImageSet(values.holdout!);
  const holdout = folderLabels(holdoutFiles);
  const unknown = holdout.classNames.filter((c) => !train.classNames.includes(c));
  if (unknown.length) {
    throw new UsageError(`--holdout has classes the training tiles lack: ${unknown.join(", ")}`);
  }
  const holdoutLabels = Int32Array.from(
    holdout.labels,
    (l) => train.classNames.indexOf(holdout.classNames[l]),
  );

  const runtime = processRuntime({ backend: values.backend });
  await initBackend(runtime, { quiet: true });
  const started = performance.now();
  const load = async (source: string) => {
    const set = await readImageSet(source, resolution);
    const channels = set.images[0].channels;
    const data = new Uint8Array(set.images.length * resolution * resolution * channels);
    set.images.forEach((image, i) => data.set(image.data, i * image.data.length));
    return { x: tilesToInput(data, set.images.length, resolution, channels, resolution), channels };
  };
  const trainSet = await load(values.train!);
  const holdoutSet = await load(values.holdout!);
  console.error(
    `training on ${trainFiles.length} tiles of ${train.classNames.length} classes at ${resolution} px, ` +
      `${epochs} epochs`,
  );
  const info: ClassifierInfo = {
    resolution,
    channels: trainSet.channels,
    classNames: train.classNames,
    widths: [32, 64, 128, 128],
    trainedOn: values.train,
    epochs,
  };
  const net = trainClassifier(info, trainSet.x, train.labels, {
    epochs,
    batch,
    learningRate,
    seed,
    onEpoch: (epoch, loss, accuracy) =>
      console.error(
        `epoch ${epoch + 1}/${epochs}: loss ${loss.toFixed(3)}, training accuracy ${
          (100 * accuracy).toFixed(1)
        } %`,
      ),
  });
  const { overall, perClass } = accuracyOf(
    predictClasses(net, holdoutSet.x),
    holdoutLabels,
    train.classNames,
  );
  info.holdoutAccuracy = overall;
  info.holdoutPerClass = perClass;
  await saveClassifier(values.out!, net);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `hold-out accuracy ${(100 * overall).toFixed(1)} % on ${holdoutFiles.length} tiles ` +
      `(chance ${(100 / train.classNames.length).toFixed(1)} %), ${
        seconds.toFixed(0)
      } s; written to ${values.out}`,
  );
  for (const [name, a] of Object.entries(perClass)) {
    console.log(`  ${name.padEnd(20)} ${(100 * a).toFixed(0)} %`);
  }
  tf.dispose([trainSet.x, holdoutSet.x]);
  net.dispose();
});
