/** Minibatch order (seeded, drop_last, exact resume) and augmentation (the 8 symmetries of the square). */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  type Augmentation,
  BatchSampler,
  batchToFloat32,
  batchToTensor,
  DEFAULT_AUGMENTATION,
  type DihedralTransform,
  NO_AUGMENTATION,
  writeTransformedTile,
} from "../../../model/data/batches.ts";
import { DatasetError } from "../../../model/data/errors.ts";
import { RandomState } from "../../../model/seeds.ts";
import { useBackend } from "../../support/backends.ts";

/** A 2 × 2 one-channel image [[a, b], [c, d]]. */
const [A, B, C, D] = [0, 51, 204, 255];
const TWO_BY_TWO = { data: Uint8Array.from([A, B, C, D]), resolution: 2, channels: 1, count: 1 };
const unit = (v: number) => Math.fround(v / 127.5 - 1);

function transformed(transform: DihedralTransform): number[] {
  const out = new Float32Array(4);
  writeTransformedTile(TWO_BY_TWO.data, 0, 2, 1, transform, out, 0);
  return Array.from(out);
}

function take(sampler: BatchSampler, size: number, batches: number): number[][] {
  return Array.from({ length: batches }, () => sampler.nextBatch(size));
}

Deno.test("minibatches", async (t) => {
  await t.step("same seed, same order; another seed, another order", () => {
    assert.deepEqual(
      take(new BatchSampler({ count: 50 }, 7), 8, 20),
      take(new BatchSampler({ count: 50 }, 7), 8, 20),
    );
    assert.notDeepEqual(
      take(new BatchSampler({ count: 50 }, 7), 8, 3),
      take(new BatchSampler({ count: 50 }, 8), 8, 3),
    );
  });

  await t.step("each epoch is a permutation; the remainder is dropped (drop_last)", () => {
    const sampler = new BatchSampler({ count: 10 }, 1);
    assert.equal(sampler.batchesPerEpoch(3), 3);
    const epochs: number[][] = [];
    for (let epoch = 0; epoch < 4; epoch++) {
      epochs.push(take(sampler, 3, 3).flat());
      assert.deepEqual([sampler.epoch, sampler.position], [epoch, 9]); // the epoch of the batches just drawn
    }
    for (const seen of epochs) {
      assert.equal(new Set(seen).size, 9);
      assert.ok(seen.every((i) => Number.isInteger(i) && i >= 0 && i < 10));
    }
    assert.notDeepEqual(epochs[0], epochs[1]);
    sampler.nextBatch(3);
    assert.equal(sampler.epoch, 4);
    // Batch sizes may change (as they do between resolutions); a batch never spans two epochs.
    const fresh = new BatchSampler({ count: 10 }, 1);
    fresh.nextBatch(4);
    fresh.nextBatch(4);
    assert.equal(fresh.epoch, 0);
    fresh.nextBatch(3);
    assert.deepEqual([fresh.epoch, fresh.position], [1, 3]);
  });

  await t.step("a state saved mid-epoch and restored in a new sampler continues identically", () => {
    const dataset = {
      data: new Uint8Array(37 * 4 * 4 * 3).map((_, i) => (i * 31) % 256),
      resolution: 4,
      channels: 3,
      count: 37,
    };
    const original = new BatchSampler(dataset, 2024);
    take(original, 5, 11); // into the second epoch, mid-way
    batchToFloat32(dataset, original.nextBatch(5), DEFAULT_AUGMENTATION, original.augmentRng);
    const saved = JSON.parse(JSON.stringify(original.getState()));
    assert.deepEqual([saved.epoch, saved.position], [1, 25]);

    const resumed = new BatchSampler(dataset, 99); // the seed is irrelevant once a state is restored
    resumed.setState(saved);
    assert.deepEqual(resumed.getState(), original.getState());
    for (let i = 0; i < 30; i++) {
      const size = i < 15 ? 5 : 7;
      const [a, b] = [original.nextBatch(size), resumed.nextBatch(size)];
      assert.deepEqual(b, a);
      assert.deepEqual(
        batchToFloat32(dataset, b, DEFAULT_AUGMENTATION, resumed.augmentRng),
        batchToFloat32(dataset, a, DEFAULT_AUGMENTATION, original.augmentRng),
      );
    }
    assert.equal(resumed.epoch, original.epoch);
  });

  await t.step("impossible batch sizes and foreign states are clear errors", () => {
    const sampler = new BatchSampler({ count: 4 }, 0);
    assert.throws(
      () => sampler.nextBatch(5),
      (e: Error) =>
        e instanceof DatasetError &&
        /minibatch size 5 is larger than the dataset \(4 images\)/.test(e.message),
    );
    assert.throws(() => sampler.nextBatch(0), RangeError);
    const other = new BatchSampler({ count: 5 }, 0).getState();
    assert.throws(() => sampler.setState(other), /for 5 images but the dataset has 4/);
    const before = sampler.getState();
    assert.throws(
      () => sampler.setState({ ...before, augmentRng: { ...before.augmentRng, pos: 9999 } }),
      /invalid RandomState snapshot/,
    );
    assert.deepEqual(sampler.getState(), before);
    assert.throws(() => new BatchSampler({ count: 0 }, 0), DatasetError);
  });

  await t.step("flips and quarter turns of a 2 × 2 image, by hand", () => {
    const none = { xflip: false, yflip: false, rot90: 0 } as const;
    const expect = (rows: number[]) => rows.map(unit);
    assert.deepEqual(transformed(none), expect([A, B, C, D]));
    assert.deepEqual(transformed({ ...none, xflip: true }), expect([B, A, D, C]));
    assert.deepEqual(transformed({ ...none, yflip: true }), expect([C, D, A, B]));
    // numpy.rot90([[a, b], [c, d]]) = [[b, d], [a, c]] (counter-clockwise), k = 2 and 3 likewise.
    assert.deepEqual(transformed({ ...none, rot90: 1 }), expect([B, D, A, C]));
    assert.deepEqual(transformed({ ...none, rot90: 2 }), expect([D, C, B, A]));
    assert.deepEqual(transformed({ ...none, rot90: 3 }), expect([C, A, D, B]));
    // x-flip first, then the turn: rot90(fliplr(I)) is the transpose.
    assert.deepEqual(transformed({ xflip: true, yflip: false, rot90: 1 }), expect([A, C, B, D]));
    assert.deepEqual(transformed({ xflip: true, yflip: true, rot90: 0 }), transformed({ ...none, rot90: 2 }));
  });

  await t.step(
    "all 8 symmetries are reachable and about equally likely; each option alone gives its own",
    () => {
      const outcomes = (augment: Augmentation, draws: number) => {
        const rng = new RandomState(3);
        const counts = new Map<string, number>();
        const values = batchToFloat32(TWO_BY_TWO, Array(draws).fill(0), augment, rng);
        for (let i = 0; i < draws; i++) {
          const key = Array.from(values.subarray(4 * i, 4 * i + 4)).join(",");
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        return counts;
      };
      const all = outcomes(DEFAULT_AUGMENTATION, 8000);
      assert.equal(all.size, 8);
      for (const count of all.values()) assert.ok(Math.abs(count - 1000) < 150, `${count} of 8000 draws`);
      assert.equal(outcomes({ xflip: true, yflip: false, rot90: false }, 100).size, 2);
      assert.equal(outcomes({ xflip: false, yflip: true, rot90: false }, 100).size, 2);
      assert.equal(outcomes({ xflip: false, yflip: false, rot90: true }, 100).size, 4);
      assert.equal(outcomes(NO_AUGMENTATION, 100).size, 1);
    },
  );

  await t.step("a real-sized batch as a tensor: NHWC float32 in [-1, 1]", async () => {
    await useBackend("cpu");
    const [n, r, c] = [6, 8, 3];
    const dataset = {
      data: new Uint8Array(n * r * r * c).map((_, i) => (i * 37) % 256),
      resolution: r,
      channels: c,
      count: n,
    };
    dataset.data[0] = 0;
    dataset.data[1] = 255;
    const batch = batchToTensor(dataset, [0, 5, 2], NO_AUGMENTATION, new RandomState(0));
    assert.deepEqual(batch.shape, [3, r, r, c]);
    assert.equal(batch.dtype, "float32");
    const values = await batch.data();
    assert.deepEqual([values[0], values[1]], [-1, 1]);
    assert.equal(values[r * r * c], unit(dataset.data[5 * r * r * c]));
    tf.dispose(batch);
    assert.throws(
      () => batchToFloat32(dataset, [6], NO_AUGMENTATION, new RandomState(0)),
      /index 6 is outside the dataset/,
    );
  });
});
