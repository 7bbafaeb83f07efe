/**
 * A small land-use classifier for judging generated tiles ("classification accuracy score"): trained with the
 * project's own layers and Adam on real labelled tiles (UC Merced's `train.txt`), checked on the hold-out
 * list, then asked which land use each generated tile looks like. No pretrained network can be downloaded
 * here, so it is small and trained from scratch: its hold-out accuracy, saved with its weights, bounds what its
 * verdicts on generated tiles can mean.
 *
 * Architecture: four 3×3 equalized-lr convolutions (leaky ReLU, 2× box downscaling after each), a global
 * average, one dense layer to the class scores; dihedral flips and transposes as augmentation (aerial tiles
 * have no "up").
 */
import * as tf from "@tensorflow/tfjs-core";
import { ParameterTree } from "../layers/parameters.ts";
import { EqualizedConv2d } from "../layers/equalized_conv2d.ts";
import { EqualizedLinear } from "../layers/equalized_linear.ts";
import { downscale2d } from "../layers/downscale2d.ts";
import { Adam } from "../train/adam.ts";
import { RandomState } from "../seeds.ts";
import { assignStateDict, stateDictOf } from "../checkpoint/state_dict.ts";
import { CheckpointError, readSafetensors, writeSafetensors } from "../checkpoint/safetensors.ts";

/** Metadata key of a classifier file holding its description as JSON. */
const CLASSIFIER_KEY = "landuse_classifier";

/** What a classifier file says about itself. */
export interface ClassifierInfo {
  /** Input tiles are box-averaged to this many pixels. */
  resolution: number;
  channels: number;
  classNames: string[];
  /** Feature maps of the four convolutions. */
  widths: number[];
  /** Accuracy on the hold-out tiles when it was trained (0–1), per class too. */
  holdoutAccuracy?: number;
  holdoutPerClass?: Record<string, number>;
  trainedOn?: string;
  epochs?: number;
}

/** Training settings. */
export interface ClassifierTraining {
  epochs: number;
  batch: number;
  learningRate: number;
  seed: number;
  /** Called after each epoch with its mean loss and training accuracy. */
  onEpoch?: (epoch: number, loss: number, accuracy: number) => void;
}

export const CLASSIFIER_TRAINING_DEFAULTS: Omit<ClassifierTraining, "onEpoch"> = {
  epochs: 30,
  batch: 32,
  learningRate: 0.002,
  seed: 0,
};

/** The land-use classifier network. */
export class LandUseClassifier {
  readonly params: ParameterTree;
  readonly convs: EqualizedConv2d[] = [];
  readonly dense: EqualizedLinear;

  constructor(readonly info: ClassifierInfo, params = new ParameterTree()) {
    this.params = params;
    const { resolution, widths } = info;
    if (resolution % 16 !== 0) {
      throw new RangeError(`classifier resolution must be a multiple of 16, got ${resolution}`);
    }
    let inChannels = info.channels;
    widths.forEach((width, i) => {
      this.convs.push(
        new EqualizedConv2d(params.child("convs").child(i), inChannels, width, 3, { gain: Math.SQRT2 }),
      );
      inChannels = width;
    });
    this.dense = new EqualizedLinear(params.child("dense"), inChannels, info.classNames.length, { gain: 1 });
  }

  /** Class scores (logits) [N, classes] for tiles [N, R, R, C] in [−1, 1]. */
  logits(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let h = x;
      for (const conv of this.convs) h = downscale2d(tf.leakyRelu(conv.apply(h), 0.2) as tf.Tensor4D);
      return this.dense.apply(tf.mean(h, [1, 2]) as tf.Tensor2D);
    });
  }

  /** Class probabilities [N, classes] (softmax of the logits). */
  probabilities(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(x)));
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** uint8 tiles [n, R, R, C] → floats in [−1, 1], box-averaged to `resolution` if they are larger. */
export function tilesToInput(
  data: Uint8Array,
  n: number,
  size: number,
  channels: number,
  resolution: number,
) {
  return tf.tidy(() => {
    const x = tf.sub(
      tf.div(tf.tensor4d(data, [n, size, size, channels], "float32"), 127.5),
      1,
    ) as tf.Tensor4D;
    if (size === resolution) return x;
    if (size % resolution !== 0) {
      throw new RangeError(`${size} px tiles cannot be box-averaged to ${resolution} px`);
    }
    return downscale2d(x, size / resolution);
  });
}

/**
 * One-vs-rest logistic loss of logits [N, C]: per row Σ_c softplus(−y_c · l_c) with y_c = +1 for the row's
 * class and −1 for the others, averaged over rows. It trains the same argmax classifier as softmax
 * cross-entropy, and needs only the kernels whose gradients the project registers for GAN training
 * (Softplus, not Exp/Log), so the gradient registry stays exactly what the networks use.
 */
export function oneVsRestLoss(logits: tf.Tensor2D, labels: ArrayLike<number>): tf.Scalar {
  return tf.tidy(() => {
    const [n, c] = logits.shape;
    const signs = new Float32Array(n * c).fill(-1);
    for (let i = 0; i < n; i++) signs[i * c + labels[i]] = 1;
    const margins = tf.mul(logits, tf.tensor2d(signs, [n, c]));
    return tf.div(tf.sum(tf.softplus(tf.neg(margins))), n) as tf.Scalar;
  });
}

/** One of the eight dihedral transforms of a batch [N, H, W, C] (k in 0–7). */
function dihedral(x: tf.Tensor4D, k: number): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x;
    if (k & 1) y = tf.reverse(y, 2);
    if (k & 2) y = tf.reverse(y, 1);
    if (k & 4) y = tf.transpose(y, [0, 2, 1, 3]);
    return y;
  });
}

/**
 * Train a classifier on labelled tiles (`x` in [−1, 1], [n, R, R, C]); deterministic given the seed.
 * Returns the trained network.
 */
export function trainClassifier(
  info: ClassifierInfo,
  x: tf.Tensor4D,
  labels: Int32Array,
  training: Partial<ClassifierTraining> = {},
): LandUseClassifier {
  const t = { ...CLASSIFIER_TRAINING_DEFAULTS, ...training };
  const n = x.shape[0];
  if (labels.length !== n) throw new RangeError(`${labels.length} labels for ${n} tiles`);
  const net = new LandUseClassifier(info, ParameterTree.seeded(t.seed + 1));
  const params = net.params.entries().filter((p) => p.trainable);
  const adam = new Adam(params, { learning_rate: t.learningRate, beta_1: 0.9, beta_2: 0.999, eps: 1e-8 });
  const rng = new RandomState(t.seed);
  const variables = params.map((p) => p.variable);
  for (let epoch = 0; epoch < t.epochs; epoch++) {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng.randomSample() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0, correct = 0;
    for (let start = 0; start < n; start += t.batch) {
      const rows = order.slice(start, start + t.batch);
      const k = Math.floor(rng.randomSample() * 8);
      const batch = tf.tidy(() => dihedral(tf.gather(x, rows) as tf.Tensor4D, k));
      const batchLabels = rows.map((r) => labels[r]);
      const { value, grads } = tf.variableGrads(
        () => oneVsRestLoss(net.logits(batch), batchLabels),
        variables,
      );
      const keyed = new Map(params.map((p) => [p.key, grads[p.variable.name]]));
      adam.apply(keyed);
      lossSum += value.dataSync()[0] * rows.length;
      const predicted = tf.tidy(() => tf.argMax(net.logits(batch), 1).dataSync());
      predicted.forEach((p, i) => correct += p === batchLabels[i] ? 1 : 0);
      tf.dispose([value, batch, ...Object.values(grads)]);
    }
    t.onEpoch?.(epoch, lossSum / n, correct / n);
  }
  adam.dispose();
  return net;
}

/** Predicted class of each tile [N, R, R, C] in [−1, 1], in batches. */
export function predictClasses(net: LandUseClassifier, x: tf.Tensor4D, batch = 64): Int32Array {
  const n = x.shape[0];
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += batch) {
    const size = Math.min(batch, n - start);
    const predicted = tf.tidy(() =>
      tf.argMax(net.logits(tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1])), 1)
    );
    out.set(predicted.dataSync() as Int32Array, start);
    predicted.dispose();
  }
  return out;
}

/** Accuracy overall and per class name. */
export function accuracyOf(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  classNames: string[],
): { overall: number; perClass: Record<string, number> } {
  const hits = new Array(classNames.length).fill(0), totals = new Array(classNames.length).fill(0);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    totals[labels[i]]++;
    if (predicted[i] === labels[i]) {
      hits[labels[i]]++;
      correct++;
    }
  }
  const perClass: Record<string, number> = {};
  classNames.forEach((name, c) => {
    if (totals[c] > 0) perClass[name] = hits[c] / totals[c];
  });
  return { overall: labels.length ? correct / labels.length : 0, perClass };
}

/** Save a classifier (weights in PyTorch layout, its description in the header). */
export async function saveClassifier(file: string, net: LandUseClassifier): Promise<void> {
  const tensors = await stateDictOf(net.params);
  const entries: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
  for (const [key, t] of tensors) entries[key] = { dtype: "F32", shape: t.shape, data: t.data };
  await writeSafetensors(file, entries, { format: "sgan-ts/1", [CLASSIFIER_KEY]: JSON.stringify(net.info) });
}

/** Load a classifier written by {@link saveClassifier}. */
export async function loadClassifier(file: string): Promise<LandUseClassifier> {
  const { tensors, metadata } = await readSafetensors(file, { float64ToFloat32: true });
  const text = metadata[CLASSIFIER_KEY];
  if (text === undefined) {
    throw new CheckpointError(file, "is not a land-use classifier (no description in its header)");
  }
  const info = JSON.parse(text) as ClassifierInfo;
  const net = new LandUseClassifier(info);
  const floats = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [key, t] of tensors) floats.set(key, { shape: t.shape, data: t.data as Float32Array });
  try {
    assignStateDict(net.params, floats, file);
  } catch (e) {
    net.dispose();
    throw e;
  }
  return net;
}
