/**
 * numpy-compatible seeds: `latentFromSeed(730, 512)` is exactly `numpy.random.RandomState(730).randn(512)`
 * cast to float32, so the seed numbers printed in papers, notebooks and StyleGAN.pytorch figures name the
 * same tiles here.
 *
 * This reproduces numpy's *legacy* generator: MT19937 seeded with `init_genrand(seed)`, 53-bit
 * doubles from two 32-bit draws, and the Marsaglia polar method that returns one Gaussian and caches the
 * second (`legacy_gauss` in numpy's `distributions/legacy`). numpy's newer `default_rng` (PCG64, ziggurat)
 * gives different numbers and is deliberately not what a seed means.
 *
 * Exactness: the integer stream and `randomSample()` match numpy bit for bit, and so do the float32 latents
 * (checked against 2 million numpy values). A float64 `randn` value can differ from numpy's in its last bit
 * (about 1 value in 3,000) because numpy takes the logarithm from the platform's C library, which itself
 * differs between Linux, macOS and Windows.
 *
 * @module
 */
import { MAX_SEED } from "./shared/rules.ts";

// Seed-list syntax is shared with the widgets (model/shared/rules.ts); re-exported so existing imports work.
export { DEFAULT_MAX_SEEDS, MAX_SEED, parseSeeds, SEED_SYNTAX } from "./shared/rules.ts";

/** Number of 32-bit words in the Mersenne Twister state. */
const STATE_LENGTH = 624;
/** Offset of the second word mixed into each twist. */
const MIDDLE_WORD = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/**
 * The complete generator state as plain JSON-serialisable data, so a training run can checkpoint the
 * generator and resume the exact stream. Field meanings match numpy's `RandomState.get_state()`
 * (`('MT19937', key, pos, has_gauss, cached_gaussian)`), so a state can move between the two.
 */
export interface RandomStateSnapshot {
  /** Always `"MT19937"`; kept so a snapshot says what it is when stored in a checkpoint header. */
  algorithm: "MT19937";
  /** The 624 state words, each an integer in [0, 2^32 - 1]. */
  key: number[];
  /** Index of the next word to temper, 0..624 (624 means "twist before the next draw"). */
  pos: number;
  /** Whether a second polar-method Gaussian is cached for the next `randn` value. */
  hasGauss: boolean;
  /** The cached Gaussian (0 when `hasGauss` is false). */
  gauss: number;
}

/** numpy's legacy `RandomState`: Mersenne Twister MT19937 plus the cached polar-method Gaussian. */
export class RandomState {
  #key = new Uint32Array(STATE_LENGTH);
  #pos = STATE_LENGTH;
  #hasGauss = false;
  #gauss = 0;

  /**
   * Seed the generator as `numpy.random.RandomState(seed)` does for an integer seed.
   * @param seed integer in [0, 2^32 - 1]; anything else throws a RangeError (numpy raises ValueError).
   */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      throw new RangeError(`seed must be an integer between 0 and ${MAX_SEED} (2^32 - 1), got ${seed}`);
    }
    seedState(this.#key, seed);
  }

  /** Next raw 32-bit output (`genrand_int32`), an integer in [0, 2^32 - 1]. */
  nextUint32(): number {
    if (this.#pos >= STATE_LENGTH) {
      twist(this.#key);
      this.#pos = 0;
    }
    let y = this.#key[this.#pos++];
    // Tempering, as in the reference implementation.
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A uniform double in [0, 1) with 53 random bits, as `RandomState.random_sample()`. */
  randomSample(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** One standard normal value, as numpy's `legacy_gauss` (polar method with the second value cached). */
  standardNormal(): number {
    if (this.#hasGauss) {
      const cached = this.#gauss;
      this.#hasGauss = false;
      this.#gauss = 0;
      return cached;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.randomSample() - 1;
      x2 = 2 * this.randomSample() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    // numpy calls the C library's log; glibc's differs from V8's Math.log in the last bit for about 1 in
    // 2,500 arguments (glibc's log is not always correctly rounded). That can move the last bit of a float64
    // value but, in practice, never the float32 latent: a float32 rounding boundary is 2^29 float64 ulps apart.
    const f = Math.sqrt(-2 * Math.log(r2) / r2);
    // numpy returns f * x2 now and keeps f * x1 for the next call; the order matters for exactness.
    this.#gauss = f * x1;
    this.#hasGauss = true;
    return f * x2;
  }

  /**
   * `n` standard normal values in float64, as `RandomState.randn(n)`.
   * @param n non-negative integer count.
   */
  randn(n: number): Float64Array {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`randn needs a non-negative integer count, got ${n}`);
    }
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.standardNormal();
    return out;
  }

  /** A copy of the full state as plain data (see {@link RandomStateSnapshot}). */
  getState(): RandomStateSnapshot {
    return {
      algorithm: "MT19937",
      key: Array.from(this.#key),
      pos: this.#pos,
      hasGauss: this.#hasGauss,
      gauss: this.#hasGauss ? this.#gauss : 0,
    };
  }

  /**
   * Restore a state returned by {@link getState} (possibly after a JSON round trip). The snapshot is
   * validated completely before anything changes, so a bad snapshot leaves the generator as it was.
   */
  setState(state: RandomStateSnapshot): void {
    const problem = snapshotProblem(state);
    if (problem) throw new RangeError(`invalid RandomState snapshot: ${problem}`);
    this.#key.set(state.key);
    this.#pos = state.pos;
    this.#hasGauss = state.hasGauss;
    this.#gauss = state.hasGauss ? state.gauss : 0;
  }
}

/** `init_genrand`: numpy's legacy seeding of MT19937 for an integer seed. */
function seedState(key: Uint32Array, seed: number): void {
  key[0] = seed >>> 0;
  for (let i = 1; i < STATE_LENGTH; i++) {
    const previous = key[i - 1];
    // Math.imul keeps the 32-bit wrap-around of the C code (a plain * would lose low bits beyond 2^53).
    key[i] = (Math.imul(1812433253, previous ^ (previous >>> 30)) + i) >>> 0;
  }
}

/** Regenerate all 624 words (the "twist" of the reference `genrand_int32`). */
function twist(key: Uint32Array): void {
  for (let i = 0; i < STATE_LENGTH; i++) {
    const y = (key[i] & UPPER_MASK) | (key[(i + 1) % STATE_LENGTH] & LOWER_MASK);
    let next = key[(i + MIDDLE_WORD) % STATE_LENGTH] ^ (y >>> 1);
    if (y & 1) next ^= MATRIX_A;
    key[i] = next >>> 0;
  }
}

/** Why a snapshot cannot be restored, or undefined when it is valid. */
function snapshotProblem(state: RandomStateSnapshot): string | undefined {
  if (typeof state !== "object" || state === null) return "expected an object";
  if (state.algorithm !== "MT19937") {
    return `algorithm must be "MT19937", got ${JSON.stringify(state.algorithm)}`;
  }
  if (!Array.isArray(state.key) || state.key.length !== STATE_LENGTH) {
    return `key must be an array of ${STATE_LENGTH} integers`;
  }
  const badWord = state.key.findIndex((word) => !Number.isInteger(word) || word < 0 || word > MAX_SEED);
  if (badWord >= 0) return `key[${badWord}] = ${state.key[badWord]} is not an integer in [0, ${MAX_SEED}]`;
  if (!Number.isInteger(state.pos) || state.pos < 0 || state.pos > STATE_LENGTH) {
    return `pos must be an integer in [0, ${STATE_LENGTH}], got ${state.pos}`;
  }
  if (typeof state.hasGauss !== "boolean") return "hasGauss must be a boolean";
  if (typeof state.gauss !== "number" || !Number.isFinite(state.gauss)) {
    return "gauss must be a finite number";
  }
  return undefined;
}

/**
 * The latent `z` for one seed: `numpy.random.RandomState(seed).randn(latentSize).astype(float32)`.
 * @param seed integer in [0, 2^32 - 1].
 * @param latentSize length of z (512 for StyleGAN).
 */
export function latentFromSeed(seed: number, latentSize: number): Float32Array {
  checkLatentSize(latentSize);
  return Float32Array.from(new RandomState(seed).randn(latentSize));
}

/**
 * Latents for several seeds, each from its own freshly seeded generator (as the StyleGAN notebooks do),
 * stacked row-major into `[seeds.length, latentSize]`.
 */
export function latentsFromSeeds(seeds: number[], latentSize: number): Float32Array {
  checkLatentSize(latentSize);
  const out = new Float32Array(seeds.length * latentSize);
  seeds.forEach((seed, row) => out.set(latentFromSeed(seed, latentSize), row * latentSize));
  return out;
}

function checkLatentSize(latentSize: number): void {
  if (!Number.isInteger(latentSize) || latentSize <= 0) {
    throw new RangeError(`latentSize must be a positive integer, got ${latentSize}`);
  }
}
