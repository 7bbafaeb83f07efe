import { FIXTURE_DIR } from "../support/paths.ts";
import assert from "node:assert/strict";
import {
  DEFAULT_MAX_SEEDS,
  latentFromSeed,
  latentsFromSeeds,
  MAX_SEED,
  parseSeeds,
  RandomState,
  type RandomStateSnapshot,
} from "../../model/seeds.ts";

/** The StyleGAN.pytorch reference fixture (see its README): `z` holds numpy latents for four seeds. */
const REFERENCE_IO = `${FIXTURE_DIR}/io.safetensors`;
const REFERENCE_SEEDS = [730, 904, 387, 190];
/** Produced by tests/fixtures/make_numpy_seeds.py. */
const NUMPY_FIXTURE = new URL("../fixtures/numpy_seeds.json", import.meta.url);

interface NumpyFixture {
  randn: Record<string, number[]>;
  random_sample: { seed: number; values: number[] };
  mixed: { seed: number; randn3: number[]; random_sample2: number[]; randn2: number[] };
  state: {
    seed: number;
    after_randn: number;
    algorithm: string;
    key: number[];
    pos: number;
    hasGauss: boolean;
    gauss: number;
    next_randn4: number[];
  };
}

/** Read one float32 tensor from a safetensors file without the checkpoint module (kept independent on purpose). */
async function readFloat32Tensor(
  path: string,
  name: string,
): Promise<{ shape: number[]; data: Float32Array }> {
  const bytes = await Deno.readFile(path);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const entry = header[name];
  assert.equal(entry.dtype, "F32");
  const [begin, end] = entry.data_offsets;
  // Copy so the view is 4-byte aligned whatever the header length.
  const data = new Float32Array(bytes.slice(8 + headerLength + begin, 8 + headerLength + end).buffer);
  return { shape: entry.shape, data };
}

/** Distance in units in the last place between two doubles of the same sign. */
function ulpDistance(a: number, b: number): number {
  const bits = new BigInt64Array(new Float64Array([a, b]).buffer);
  const difference = bits[0] - bits[1];
  return Number(difference < 0n ? -difference : difference);
}

/** float64 values agree with numpy to the last bit but one, and exactly once cast to float32 (see model/seeds.ts). */
function assertMatchesNumpy(got: Float64Array, expected: number[], label: string): void {
  assert.equal(got.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(ulpDistance(got[i], expected[i]) <= 1, `${label}[${i}]: ${got[i]} vs numpy ${expected[i]}`);
    assert.equal(Math.fround(got[i]), Math.fround(expected[i]), `${label}[${i}] as float32`);
  }
}

Deno.test("RandomState matches numpy", async (t) => {
  const fixture: NumpyFixture = JSON.parse(await Deno.readTextFile(NUMPY_FIXTURE));

  await t.step(
    "latents of the StyleGAN.pytorch reference fixture, all 2048 float32 values exact",
    async () => {
      const z = await readFloat32Tensor(REFERENCE_IO, "z");
      assert.deepEqual(z.shape, [4, 512]);
      const ours = latentsFromSeeds(REFERENCE_SEEDS, 512);
      assert.equal(ours.length, z.data.length);
      for (let i = 0; i < ours.length; i++) {
        assert.equal(ours[i], z.data[i], `seed ${REFERENCE_SEEDS[Math.floor(i / 512)]}, z[${i % 512}]`);
      }
      assert.deepEqual(latentFromSeed(904, 512), z.data.subarray(512, 1024));
    },
  );

  await t.step("randn(512) for seeds 0, 1 and 2^32 - 1", () => {
    for (const [seed, expected] of Object.entries(fixture.randn)) {
      assertMatchesNumpy(new RandomState(Number(seed)).randn(512), expected, `seed ${seed}`);
    }
    assert.ok(MAX_SEED.toString() in fixture.randn);
  });

  await t.step("random_sample is exact", () => {
    const rs = new RandomState(fixture.random_sample.seed);
    const ours = fixture.random_sample.values.map(() => rs.randomSample());
    assert.deepEqual(ours, fixture.random_sample.values);
  });

  await t.step("a cached Gaussian survives random_sample calls in between, as in numpy", () => {
    const { seed, randn3, random_sample2, randn2 } = fixture.mixed;
    const rs = new RandomState(seed);
    assertMatchesNumpy(rs.randn(3), randn3, "randn3");
    assert.deepEqual([rs.randomSample(), rs.randomSample()], random_sample2);
    assertMatchesNumpy(rs.randn(2), randn2, "randn2");
  });

  await t.step("getState equals numpy's get_state mid-stream", () => {
    const expected = fixture.state;
    const rs = new RandomState(expected.seed);
    rs.randn(expected.after_randn);
    const state = rs.getState();
    assert.equal(state.algorithm, expected.algorithm);
    assert.deepEqual(state.key, expected.key);
    assert.equal(state.pos, expected.pos);
    assert.equal(state.hasGauss, expected.hasGauss);
    assert.ok(ulpDistance(state.gauss, expected.gauss) <= 1);
  });

  await t.step("numpy's state can be loaded and continues the numpy stream", () => {
    const { key, pos, hasGauss, gauss, next_randn4 } = fixture.state;
    const rs = new RandomState(0);
    rs.setState({ algorithm: "MT19937", key, pos, hasGauss, gauss });
    assertMatchesNumpy(rs.randn(4), next_randn4, "next_randn4");
  });
});

Deno.test("RandomState state round trip", async (t) => {
  await t.step("resumes exactly mid-stream with a cached Gaussian, through JSON", () => {
    const original = new RandomState(730);
    original.randn(1001); // odd count: the second polar value is cached; 1001 > 624 words so a twist happened
    const saved: RandomStateSnapshot = JSON.parse(JSON.stringify(original.getState()));
    assert.equal(saved.hasGauss, true);
    assert.notEqual(saved.gauss, 0);

    const expected = original.randn(700);
    const resumed = new RandomState(1);
    resumed.setState(saved);
    assert.deepEqual(resumed.randn(700), expected);
    assert.equal(resumed.randomSample(), original.randomSample());
  });

  await t.step("getState returns a copy", () => {
    const rs = new RandomState(5);
    const state = rs.getState();
    state.key[0] = 0;
    assert.notEqual(rs.getState().key[0], 0);
  });

  await t.step("invalid snapshots are rejected and leave the generator unchanged", () => {
    const rs = new RandomState(3);
    const good = rs.getState();
    const bad: RandomStateSnapshot[] = [
      { ...good, key: good.key.slice(1) },
      { ...good, key: [-1, ...good.key.slice(1)] },
      { ...good, key: [2 ** 32, ...good.key.slice(1)] },
      { ...good, pos: 625 },
      { ...good, pos: 1.5 },
      { ...good, gauss: Number.NaN },
      { ...good, algorithm: "PCG64" as "MT19937" },
    ];
    for (const snapshot of bad) {
      assert.throws(() => rs.setState(snapshot), RangeError);
    }
    assert.deepEqual(rs.getState(), good);
  });

  await t.step("seeds outside [0, 2^32 - 1] or non-integers throw a RangeError", () => {
    for (const seed of [-1, 2 ** 32, 1.5, Number.NaN]) {
      assert.throws(() => new RandomState(seed), (error: Error) => {
        assert.ok(error instanceof RangeError);
        assert.match(error.message, /between 0 and 4294967295/);
        return true;
      });
    }
    assert.throws(() => new RandomState(0).randn(-1), RangeError);
    assert.throws(() => latentFromSeed(1, 0), RangeError);
  });

  await t.step("latentsFromSeeds stacks rows; an empty list gives an empty array", () => {
    const stacked = latentsFromSeeds([1, 2], 8);
    assert.deepEqual(stacked.subarray(8), latentFromSeed(2, 8));
    assert.equal(latentsFromSeeds([], 8).length, 0);
  });
});

Deno.test("parseSeeds", async (t) => {
  await t.step("accepts lists, ranges, mixes and whitespace", () => {
    assert.deepEqual(parseSeeds("730,904"), [730, 904]);
    assert.deepEqual(parseSeeds("0-99"), Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(parseSeeds("1,5-7"), [1, 5, 6, 7]);
    assert.deepEqual(parseSeeds("  730 , 904 ,1 - 3 "), [730, 904, 1, 2, 3]);
    assert.deepEqual(parseSeeds("4294967295"), [MAX_SEED]);
    assert.deepEqual(parseSeeds("0730"), [730]);
    assert.deepEqual(parseSeeds("3,3"), [3, 3]);
    assert.deepEqual(parseSeeds("5-5"), [5]);
    assert.deepEqual(parseSeeds("0-9", 10).length, 10);
  });

  await t.step("rejects bad input with a message naming the item and the allowed syntax", () => {
    const cases: [string, RegExp][] = [
      ["", /no seeds given/],
      ["   ", /no seeds given/],
      ["1.5", /"1\.5".*not an integer/],
      ["abc", /"abc"/],
      ["1e3", /"1e3"/],
      ["0x10", /"0x10"/],
      ["+5", /"\+5"/],
      ["-5", /"-5".*negative/],
      ["1,-5", /"-5".*negative/],
      ["4294967296", /"4294967296".*larger than 4294967295/],
      ["0-4294967296", /"0-4294967296".*larger than/],
      ["7-5", /"7-5".*5 is below 7/],
      ["1-2-3", /"1-2-3"/],
      ["1,,2", /empty item/],
      ["1,2,", /empty item/],
      [",1", /empty item/],
    ];
    for (const [text, pattern] of cases) {
      assert.throws(() => parseSeeds(text), (error: Error) => {
        assert.match(error.message, pattern, `input ${JSON.stringify(text)}`);
        if (text.trim() !== "") assert.match(error.message, /ranges written low-high/);
        return true;
      });
    }
  });

  await t.step("rejects lists longer than maxCount before expanding them", () => {
    assert.throws(() => parseSeeds("0-10", 10), /more than 10 seeds \(at "0-10"\)/);
    assert.throws(() => parseSeeds("1,2,3", 2), /more than 2 seeds \(at "3"\)/);
    // Would need 4 billion numbers if it were expanded first.
    assert.throws(() => parseSeeds("0-4294967295"), new RegExp(`more than ${DEFAULT_MAX_SEEDS} seeds`));
  });
});
