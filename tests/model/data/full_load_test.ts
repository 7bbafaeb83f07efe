/**
 * The whole UC Merced training list (1,890 JPEGs), cold (decoding) and warm (from the cache), at 64 and
 * 256 px. Slow (tens of seconds on 2 cores), so it runs only with SGAN_SLOW_TESTS=1; the times are printed,
 * not asserted, since they depend on the machine and its load.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDataset } from "../../../model/data/dataset.ts";
import { FULL_UCMERCED_DIR, ignoreWithoutData } from "../../support/paths.ts";
import { recordingLog, withTempDir } from "./helpers.ts";

const SLOW = Deno.env.get("SGAN_SLOW_TESTS") === "1";
const RESOLUTIONS = (Deno.env.get("SGAN_FULL_LOAD_RESOLUTIONS") ?? "64,256").split(",").map(Number);

Deno.test({
  name: "full UC Merced train.txt load (SGAN_SLOW_TESTS=1)",
  ignore: !SLOW || ignoreWithoutData(FULL_UCMERCED_DIR),
}, async (t) => {
  for (const resolution of RESOLUTIONS) {
    await t.step(`${resolution} px: cold, then warm from the cache`, async () => {
      await withTempDir(async (cacheDir) => {
        const options = {
          img_dir: join(FULL_UCMERCED_DIR, "train.txt"),
          folder: false,
          resolution,
          cacheDir,
          log: recordingLog(),
        };
        const cold = await loadDataset(options);
        const warm = await loadDataset(options);
        assert.equal(cold.count, 1890);
        assert.deepEqual(cold.skipped, []);
        assert.equal(warm.fromCache, true);
        assert.equal(warm.decoded, 0);
        assert.equal(warm.data.length, 1890 * resolution * resolution * 3);
        console.log(
          `UC Merced train.txt → ${resolution} px: cold ${cold.seconds.toFixed(2)} s, warm ${
            warm.seconds.toFixed(2)
          } s ` +
            `(${navigator.hardwareConcurrency} cores, load average ${Deno.loadavg()[0].toFixed(1)})`,
        );
      });
    });
  }
});
