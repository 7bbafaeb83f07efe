/**
 * Moving parameters between a {@link ParameterTree} and a PyTorch-layout `state_dict`
 * (StyleGAN.pytorch key names), and inferring an architecture from tensor shapes alone.
 */
import { type ParameterTree, tensorFromTorch, torchDataOf, torchShapeFromTf } from "../layers/parameters.ts";
import {
  DISCRIMINATOR_DEFAULTS,
  type DiscriminatorOptions,
  featureMaps,
  GENERATOR_DEFAULTS,
  type GeneratorOptions,
} from "../networks/options.ts";
import { CheckpointError } from "./safetensors.ts";

/** A float32 tensor in PyTorch layout, as stored in a checkpoint. */
export interface TorchTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Keys our networks hold that a plain StyleGAN.pytorch `state_dict` may lack: the constant noise maps
 * (the port keeps them outside the state_dict) and the blur kernel buffers (derived from the config).
 */
export function isOptionalKey(key: string): boolean {
  return key.endsWith(".noise.const") || key.endsWith(".kernel");
}

/**
 * Copy `tensors` into `params`. Every required parameter must be present with the right shape, and
 * no unknown key may be left over; errors name the file and the tensor.
 */
export function assignStateDict(
  params: ParameterTree,
  tensors: Map<string, TorchTensor>,
  file: string,
): void {
  const expected = params.entries();
  const known = new Set(expected.map((p) => p.key));
  const unexpected = [...tensors.keys()].filter((k) => !known.has(k));
  if (unexpected.length) {
    throw new CheckpointError(
      file,
      `${unexpected.length} tensor(s) do not belong to this network, e.g. '${
        unexpected[0]
      }' (architecture mismatch?)`,
    );
  }
  const missing = expected.filter((p) => !tensors.has(p.key) && !isOptionalKey(p.key)).map((p) => p.key);
  if (missing.length) {
    throw new CheckpointError(file, `missing ${missing.length} tensor(s), e.g. '${missing[0]}'`);
  }
  for (const p of expected) {
    const t = tensors.get(p.key);
    if (!t) continue;
    const want = torchShapeFromTf(p.variable.shape, p.layout);
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new CheckpointError(file, `has shape [${t.shape}], the network expects [${want}]`, {
        tensor: p.key,
      });
    }
    let bad = -1;
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i])) {
        bad = i;
        break;
      }
    }
    if (bad >= 0) {
      throw new CheckpointError(file, `holds a non-finite value at index ${bad}`, { tensor: p.key });
    }
    const value = tensorFromTorch(t.data, t.shape, p.layout);
    p.variable.assign(value);
    value.dispose();
  }
}

/** The parameters as a PyTorch-layout state_dict, in creation (= port) order. */
export async function stateDictOf(params: ParameterTree): Promise<Map<string, TorchTensor>> {
  const out = new Map<string, TorchTensor>();
  for (const p of params.entries()) {
    out.set(p.key, {
      shape: torchShapeFromTf(p.variable.shape, p.layout),
      data: await torchDataOf(p.variable, p.layout),
    });
  }
  return out;
}

function shapeOf(tensors: Map<string, TorchTensor>, key: string, file: string): number[] {
  const t = tensors.get(key);
  if (!t) throw new CheckpointError(file, `cannot infer the architecture: tensor '${key}' is missing`);
  return t.shape;
}

function countIndexed(tensors: Map<string, TorchTensor>, prefix: string, suffix: string): number {
  let n = 0;
  while (tensors.has(`${prefix}${n}${suffix}`)) n++;
  return n;
}

/**
 * Find fmap_base / fmap_max (fmap_decay 1) reproducing the per-stage widths `widths[stage]`
 * (stage ≥ 1), or throw: a network whose widths follow no such rule cannot be rebuilt.
 */
function inferFeatureMaps(
  widths: Map<number, number>,
  file: string,
): { fmap_base: number; fmap_max: number } {
  const fmap_max = Math.max(...widths.values());
  const candidates = new Set<number>();
  for (const [stage, width] of widths) candidates.add(width * 2 ** stage);
  // Widths at the cap say only that fmap_base / 2^stage ≥ fmap_max; prefer the smallest base that fits.
  for (const fmap_base of [...candidates].sort((a, b) => a - b)) {
    const ok = [...widths].every(([s, w]) => featureMaps(s, { fmap_base, fmap_decay: 1, fmap_max }) === w);
    if (ok) return { fmap_base, fmap_max };
  }
  throw new CheckpointError(
    file,
    `the feature-map widths ${JSON.stringify([...widths])} follow no fmap_base/fmap_max rule`,
  );
}

/** Rebuild a generator's hyper-parameters from a StyleGAN.pytorch state_dict's shapes. */
export function inferGeneratorOptions(tensors: Map<string, TorchTensor>, file: string): GeneratorOptions {
  const mappingLayers = countIndexed(tensors, "g_mapping.map.dense", ".weight");
  if (mappingLayers === 0) {
    throw new CheckpointError(file, `no 'g_mapping.map.dense0.weight': not a StyleGAN generator`);
  }
  const dense0 = shapeOf(tensors, "g_mapping.map.dense0.weight", file);
  const denseLast = shapeOf(tensors, `g_mapping.map.dense${mappingLayers - 1}.weight`, file);
  const rgbCount = countIndexed(tensors, "g_synthesis.to_rgb.", ".weight");
  if (rgbCount === 0) {
    throw new CheckpointError(file, `no 'g_synthesis.to_rgb.0.weight': not a StyleGAN generator`);
  }
  const rgb0 = shapeOf(tensors, "g_synthesis.to_rgb.0.weight", file);
  const widths = new Map<number, number>();
  for (let d = 0; d < rgbCount; d++) {
    widths.set(d + 1, shapeOf(tensors, `g_synthesis.to_rgb.${d}.weight`, file)[1]);
  }
  const blur = tensors.get("g_synthesis.blocks.0.conv0_up.intermediate.kernel");
  const numLayers = rgbCount * 2;
  // A conditional generator's first mapping layer reads [z, embedded label]: z is the embedding's width.
  const embedding = tensors.get("class_embedding.weight");
  return {
    ...GENERATOR_DEFAULTS,
    resolution: 4 * 2 ** (rgbCount - 1),
    num_channels: rgb0[0],
    latent_size: embedding ? embedding.shape[1] : dense0[1],
    label_size: embedding ? embedding.shape[0] : 0,
    dlatent_size: denseLast[0],
    mapping_layers: mappingLayers,
    mapping_fmaps: mappingLayers > 1 ? dense0[0] : GENERATOR_DEFAULTS.mapping_fmaps,
    ...inferFeatureMaps(widths, file),
    const_input_layer: tensors.has("g_synthesis.init_block.const"),
    use_noise: tensors.has("g_synthesis.init_block.epi1.top_epi.noise.weight"),
    use_styles: tensors.has("g_synthesis.init_block.epi1.style_mod.lin.weight"),
    // The port keeps blur kernels as buffers: present means blurred, absent means no blur.
    blur_filter: blur ? filterFromKernel(blur) : null,
    truncation_cutoff: Math.min(GENERATOR_DEFAULTS.truncation_cutoff, numLayers),
  };
}

/** Rebuild a discriminator's hyper-parameters from a StyleGAN.pytorch state_dict's shapes. */
export function inferDiscriminatorOptions(
  tensors: Map<string, TorchTensor>,
  file: string,
): DiscriminatorOptions {
  const rgbCount = countIndexed(tensors, "from_rgb.", ".weight");
  if (rgbCount === 0) throw new CheckpointError(file, `no 'from_rgb.0.weight': not a StyleGAN discriminator`);
  const rgb0 = shapeOf(tensors, "from_rgb.0.weight", file);
  // from_rgb.i serves depth (rgbCount − 1 − i), i.e. stage rgbCount − i.
  const widths = new Map<number, number>();
  for (let i = 0; i < rgbCount; i++) {
    widths.set(rgbCount - i, shapeOf(tensors, `from_rgb.${i}.weight`, file)[0]);
  }
  const top = shapeOf(tensors, "final_block.conv.weight", file);
  const blur = tensors.get("blocks.0.blur.kernel");
  const scores = shapeOf(tensors, "final_block.dense1.weight", file)[0];
  return {
    ...DISCRIMINATOR_DEFAULTS,
    label_size: scores > 1 ? scores : 0,
    resolution: 4 * 2 ** (rgbCount - 1),
    num_channels: rgb0[1],
    ...inferFeatureMaps(widths, file),
    mbstd_num_features: top[1] - top[0],
    mbstd_group_size: top[1] > top[0] ? DISCRIMINATOR_DEFAULTS.mbstd_group_size : 0,
    blur_filter: blur ? filterFromKernel(blur) : null,
  };
}

/** Recover the 1-D taps (scaled so the smallest is 1) from a normalised k×k outer-product kernel. */
function filterFromKernel(kernel: TorchTensor): number[] {
  const k = kernel.shape[kernel.shape.length - 1];
  const rows: number[] = [];
  for (let r = 0; r < k; r++) {
    let s = 0;
    for (let c = 0; c < k; c++) s += kernel.data[r * k + c];
    rows.push(s);
  }
  const min = Math.min(...rows.filter((v) => v > 0));
  return rows.map((v) => Math.round((v / min) * 1e6) / 1e6);
}
