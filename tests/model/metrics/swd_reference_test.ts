/**
 * model/metrics/swd.ts against an independent numpy implementation of PGGAN's sliced_wasserstein.py
 * (tests/fixtures/swd/make_reference.py → reference.json).
 */
import assert from "node:assert/strict";
import {
  type ByteImage,
  type Descriptors,
  finalizeDescriptors,
  generateLaplacianPyramid,
  getDescriptors,
  multiScaleSWD,
  sampleNhoodCentres,
  slicedWasserstein,
  SlicedWassersteinMetric,
  SWD_DEFAULTS,
} from "../../../model/metrics/swd.ts";
import { RandomState } from "../../../model/seeds.ts";

const FIXTURE = new URL("../../fixtures/swd/reference.json", import.meta.url);

interface Centres {
  x: number[];
  y: number[];
}

interface ExplicitCase {
  size: number;
  channels: number;
  nhood_size: number;
  nhoods_per_image: number;
  dirs_per_repeat: number;
  resolutions: number[];
  images_a: string;
  images_b: string;
  count_a: number;
  count_b: number;
  centres_a: Centres[][];
  centres_b: Centres[][];
  directions: string[][];
  pyramid_a0: string[];
  descriptors_a: string[];
  swd_per_repeat: number[][];
  swd: number[];
}

interface SeededCase {
  seed: number;
  size: number;
  channels: number;
  resolutions: number[];
  images_a: string;
  images_b: string;
  count: number;
  first_centres: Centres;
  first_directions: number[][];
  swd_x1e3: number[];
  average_x1e3: number;
}

const fixture = JSON.parse(await Deno.readTextFile(FIXTURE)) as {
  explicit: ExplicitCase;
  seeded_rgb: SeededCase;
  seeded_grey: SeededCase;
};

function decodeBase64(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
}

function float32s(b64: string): Float32Array {
  const bytes = decodeBase64(b64);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function imagesOf(b64: string, count: number, size: number, channels: number): ByteImage[] {
  const bytes = decodeBase64(b64);
  const length = size * size * channels;
  assert.equal(bytes.length, count * length);
  return Array.from({ length: count }, (_, i) => ({
    width: size,
    height: size,
    channels,
    data: bytes.slice(i * length, (i + 1) * length),
  }));
}

/** Largest |a − b| / max(1, |b|): absolute near zero, relative for large values. */
function maxScaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  }
  return Number.isNaN(worst) ? Infinity : worst;
}

/** Descriptors of a set from the fixture's explicit centres. */
function describeWithCentres(c: ExplicitCase, images: ByteImage[], centres: Centres[][]): Descriptors[] {
  const parts: Float32Array[][] = c.resolutions.map(() => []);
  images.forEach((image, i) => {
    generateLaplacianPyramid(image, c.resolutions.length).forEach((level, lod) => {
      const { x, y } = centres[i][lod];
      parts[lod].push(getDescriptors(level, { x: Int32Array.from(x), y: Int32Array.from(y) }, c.nhood_size));
    });
  });
  return parts.map((p) => finalizeDescriptors(p, c.channels, c.nhood_size));
}

Deno.test("swd matches numpy PGGAN: explicit centres and directions", async (t) => {
  const c = fixture.explicit;
  const setA = imagesOf(c.images_a, c.count_a, c.size, c.channels);
  const setB = imagesOf(c.images_b, c.count_b, c.size, c.channels);

  await t.step("Laplacian pyramid (5×5 Gaussian, mirrored borders) to float32 rounding", () => {
    const pyramid = generateLaplacianPyramid(setA[0], c.resolutions.length);
    assert.deepEqual(pyramid.map((l) => l.width), c.resolutions);
    pyramid.forEach((level, lod) => {
      const err = maxScaledError(level.data, float32s(c.pyramid_a0[lod]));
      assert.ok(err < 1e-5, `level ${lod}: error ${err}`);
    });
  });

  const descA = describeWithCentres(c, setA, c.centres_a);
  const descB = describeWithCentres(c, setB, c.centres_b);

  await t.step("descriptors: PGGAN's (channel, dx, dy) order, normalised per set and channel", () => {
    descA.forEach((desc, lod) => {
      assert.equal(desc.count, c.count_a * c.nhoods_per_image);
      assert.equal(desc.dim, c.channels * c.nhood_size ** 2);
      const err = maxScaledError(desc.data, float32s(c.descriptors_a[lod]));
      assert.ok(err < 1e-5, `level ${lod}: error ${err}`);
    });
  });

  await t.step("sliced Wasserstein distance per repeat and per level to 1e-5", () => {
    c.resolutions.forEach((_, lod) => {
      const directions = c.directions[lod].map(float32s);
      directions.forEach((dirs, repeat) => {
        const ours = slicedWasserstein(descA[lod], descB[lod], [dirs]);
        const theirs = c.swd_per_repeat[lod][repeat];
        assert.ok(
          Math.abs(ours - theirs) <= 1e-5 * theirs,
          `level ${lod} repeat ${repeat}: ${ours} vs ${theirs}`,
        );
      });
      const ours = slicedWasserstein(descA[lod], descB[lod], directions);
      assert.ok(Math.abs(ours - c.swd[lod]) <= 1e-5 * c.swd[lod], `level ${lod}: ${ours} vs ${c.swd[lod]}`);
    });
  });
});

for (const name of ["seeded_rgb", "seeded_grey"] as const) {
  Deno.test(`swd matches numpy PGGAN end to end from a seed (${name}, PGGAN defaults)`, () => {
    const c = fixture[name];
    const setA = imagesOf(c.images_a, c.count, c.size, c.channels);
    const setB = imagesOf(c.images_b, c.count, c.size, c.channels);
    const metric = new SlicedWassersteinMetric(c.size, c.channels, { seed: c.seed });
    assert.deepEqual(metric.resolutions, c.resolutions);

    // The randomness first: numpy's RandomState draws in the documented order.
    const centres = sampleNhoodCentres(
      new RandomState(c.seed),
      c.size,
      c.size,
      SWD_DEFAULTS.nhoods_per_image,
      7,
    );
    assert.deepEqual([...centres.x.subarray(0, 8)], c.first_centres.x);
    assert.deepEqual([...centres.y.subarray(0, 8)], c.first_centres.y);
    const firstDirs = metric.directionsAt(0)[0];
    const dirCount = SWD_DEFAULTS.dirs_per_repeat;
    c.first_directions.forEach((row, k) =>
      row.forEach((value, j) =>
        assert.equal(firstDirs[k * dirCount + j], Math.fround(value), `direction [${k}, ${j}]`)
      )
    );

    const swd = metric.distance(metric.describe(setA), metric.describe(setB));
    assert.ok(maxScaledError(swd, c.swd_x1e3) < 1e-5, `${swd} vs ${c.swd_x1e3}`);
    const result = multiScaleSWD(setA, setB, { seed: c.seed });
    assert.deepEqual(result.swd, swd);
    assert.ok(Math.abs(result.average - c.average_x1e3) < 1e-5 * c.average_x1e3);
  });
}
