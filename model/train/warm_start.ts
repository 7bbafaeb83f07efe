/**
 * Warm start (transfer learning): a fresh run's generator begins from a trained generator's weights instead of
 * random ones. Fine-tuning a trained GAN reaches a given quality in a fraction of the images a run from scratch
 * needs (Wang et al., "Transferring GANs", 2018; StyleGAN2-ADA's `--resume`), which is what two CPU cores need.
 *
 * An unconditional generator may start a conditional one (the default model v2 began from v1): the conditional
 * mapping reads [z, embedded class] (model/networks/g_mapping.ts), so its first layer has the source's weights
 * for z and zeros for the class half. The new generator then draws, for every class, what the source drew, and
 * the class enters through the gradient of those zero weights (the copied half is rescaled for the equalized
 * learning rate's fan-in). Each class's W centre starts at the source's W average. The pixel norm over [z, y] keeps z's scale: both halves have unit variance, so the mean square over
 * the concatenation is still about 1.
 *
 * The discriminator may start from a trained one too (config `init.discriminator`): a run that continues a
 * published model on another machine, where the run folder with its optimizer states is gone, starts from the
 * published generator and the discriminator published beside it. A fresh D facing a trained G is fooled
 * within a few dozen steps (docs/ablation.md, "Fine-tuning v1 with a fresh discriminator"), so keeping D is
 * what makes such a continuation a continuation. D is copied whole or not at all: same tensors, same shapes.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Generator } from "../networks/generator.ts";
import type { Discriminator } from "../networks/discriminator.ts";

/** The mapping's first dense weight, the one a conditional generator widens. */
const FIRST_MAPPING_WEIGHT = "g_mapping.map.dense0.weight";

/** What a warm start did, for the run's log. */
export interface WarmStartReport {
  /** Tensors copied as they are. */
  copied: number;
  /** Tensors copied into a wider one (the rest zero): the first mapping layer of an unconditional source. */
  widened: string[];
  /** The target's tensors the source does not have, left as initialised (or set from the W average). */
  fresh: string[];
}

/**
 * Copy `source`'s weights into `target` (a freshly constructed generator), or throw naming the tensor that does
 * not fit. Only buffers and weights of the same key and shape move, plus the widening described above.
 */
export function warmStartGenerator(target: Generator, source: Generator, file: string): WarmStartReport {
  const t = target.options;
  const s = source.options;
  const same = ["resolution", "num_channels", "latent_size", "dlatent_size", "mapping_layers"] as const;
  for (const key of same) {
    if (t[key] !== s[key]) {
      throw new Error(`init.generator ${file}: its ${key} is ${s[key]}, the run's is ${t[key]}`);
    }
  }
  if (s.label_size !== 0 && s.label_size !== t.label_size) {
    throw new Error(
      `init.generator ${file} is conditional on ${s.label_size} classes; the run has ${t.label_size}`,
    );
  }
  const from = new Map(source.params.entries().map((p) => [p.key, p.variable]));
  const report: WarmStartReport = { copied: 0, widened: [], fresh: [] };
  for (const p of target.params.entries()) {
    const value = from.get(p.key);
    if (!value) {
      report.fresh.push(p.key);
      continue;
    }
    const want = p.variable.shape;
    if (tf.util.arraysEqual(want, value.shape)) {
      p.variable.assign(value);
      report.copied++;
    } else if (p.key === FIRST_MAPPING_WEIGHT && s.label_size === 0 && t.label_size > 0) {
      // tfjs layout [in, out]: the source's rows are z's; the class rows below them start at zero. The stored
      // weight is scaled at runtime by gain / sqrt(fan_in) (equalized learning rate), and the fan-in doubled,
      // so the copy is rescaled to keep the runtime weights the source's.
      const [inTarget, out] = want;
      const rescale = source.gMapping.dense[0].wMul / target.gMapping.dense[0].wMul;
      tf.tidy(() =>
        p.variable.assign(tf.concat([tf.mul(value, rescale), tf.zeros([inTarget - value.shape[0], out])], 0))
      );
      report.widened.push(p.key);
    } else {
      throw new Error(
        `init.generator ${file}: tensor '${p.key}' has shape [${value.shape}], the run's generator [${want}]` +
          " (other widths: fmap_base, fmap_max and fmap_decay must match)",
      );
    }
  }
  const classCentres = target.truncation.classAvgLatent;
  if (classCentres && report.fresh.includes("truncation.class_avg_latent")) {
    const [classes] = classCentres.shape;
    tf.tidy(() =>
      classCentres.assign(tf.tile(tf.reshape(target.truncation.avgLatent, [1, -1]), [classes, 1]))
    );
  }
  return report;
}

/**
 * Copy every weight of `source` into `target` (a freshly constructed discriminator), or throw before copying
 * anything: naming the first tensor of another shape, or saying the names differ. Returns the number copied.
 */
export function warmStartDiscriminator(target: Discriminator, source: Discriminator, file: string): number {
  const from = new Map(source.params.entries().map((p) => [p.key, p.variable]));
  const targets = target.params.entries();
  // Conditioning and widths change shapes, not names: other names are another network.
  if (targets.length !== from.size || !targets.every((p) => from.has(p.key))) {
    throw new Error(
      `init.discriminator ${file}: its tensors are not named as the run's discriminator's (not a discriminator of ` +
        "this project's architecture)",
    );
  }
  for (const p of targets) {
    const value = from.get(p.key)!;
    if (!tf.util.arraysEqual(p.variable.shape, value.shape)) {
      throw new Error(
        `init.discriminator ${file}: tensor '${p.key}' has shape [${value.shape}], the run's discriminator ` +
          `[${p.variable.shape}] (resolution, channels, classes and the widths fmap_base, fmap_max, fmap_decay ` +
          "must match)",
      );
    }
  }
  for (const p of targets) p.variable.assign(from.get(p.key)!);
  return targets.length;
}
