/**
 * bench/reference/stylegan_torch.py is the denominator of every ratio, so it must compute the project's networks:
 * its `--check` compares its G (w, images) and D (scores) with the StyleGAN.pytorch fixture. Run here where
 * Debian's python3-torch is installed (`/usr/bin/python3`, or `SGAN_PYTHON`); ignored with one line otherwise.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { FIXTURE_DIR, REPO_ROOT } from "../support/paths.ts";
import { MeasuredReference } from "../../bench/reference.ts";

const PYTHON = Deno.env.get("SGAN_PYTHON") ?? "/usr/bin/python3";
const SCRIPT = `${REPO_ROOT}/bench/reference/stylegan_torch.py`;

function hasTorch(): boolean {
  if (!existsSync(PYTHON)) return false;
  const probe = new Deno.Command(PYTHON, {
    args: ["-c", "import torch, numpy"],
    stdout: "null",
    stderr: "null",
  });
  return probe.outputSync().success;
}
const ignore = !hasTorch();
if (ignore) console.log(`ignore: the PyTorch reference is not checked: no torch and numpy in ${PYTHON}`);

async function runCheck(folder: string): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(PYTHON, {
    args: [SCRIPT, "--check", folder, "--device", "cpu"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, out: decode(stdout) + decode(stderr) };
}

Deno.test({
  name: "stylegan_torch.py --check: its G and D reproduce the StyleGAN.pytorch fixture",
  ignore,
  async fn() {
    const { code, out } = await runCheck(FIXTURE_DIR);
    assert.equal(code, 0, out);
    // Every score of the fixture was compared, not only the images.
    for (const key of ["depth0_alpha1.0", "depth1_alpha0.5", "depth3_alpha0.5", "depth3_alpha1.0"]) {
      assert.match(out, new RegExp(`dscore_${key.replace(".", "\\.")}\\s+max abs error`));
    }
    assert.match(out, /worst .* -> OK/);
  },
});

Deno.test({
  name: "stylegan_torch.py --check: fails on a discriminator that differs (final bias + 0.01)",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sgan-torch-check-" });
    try {
      for (const entry of Deno.readDirSync(FIXTURE_DIR)) {
        if (entry.name.endsWith(".json") || entry.name.endsWith(".safetensors")) {
          await Deno.copyFile(`${FIXTURE_DIR}/${entry.name}`, `${dir}/${entry.name}`);
        }
      }
      // safetensors: u64 header length, JSON header, data; shift D's last bias, which moves every score by 0.01.
      const bytes = await Deno.readFile(`${dir}/D.safetensors`);
      const view = new DataView(bytes.buffer);
      const headerLength = Number(view.getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
      const [start] = header["final_block.dense1.bias"].data_offsets as [number, number];
      const at = 8 + headerLength + start;
      view.setFloat32(at, view.getFloat32(at, true) + 0.01, true);
      await Deno.writeFile(`${dir}/D.safetensors`, bytes);

      const { code, out } = await runCheck(dir);
      assert.equal(code, 1, out);
      assert.match(out, /dscore_depth3_alpha1\.0\s+max abs error (9\.9\d\de-03|1\.00\de-02)\s+FAIL/);
      assert.match(out, /img_psi0\.7_noisenone_depth3_alpha1\.0\s+max abs error \S+\n/); // G untouched: no FAIL
      assert.match(out, /-> FAIL/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

async function runTrain(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(PYTHON, {
    args: [SCRIPT, "--train", "--device", "cpu", "--threads", "1", "--train-steps", "1", "--json", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, out + new TextDecoder().decode(stderr));
  return out;
}

Deno.test({
  name: "stylegan_torch.py --train: its JSON lines are what bench/main.ts reads (presets and a config)",
  ignore,
  async fn() {
    const presets = await runTrain(["--res", "8", "--channels", "reduced", "--batch", "4"]);
    const fromPresets = MeasuredReference.parse(presets, "presets.jsonl");
    assert.ok(fromPresets.get("train", 8, "reduced", 4)! > 0);
    assert.equal(fromPresets.get("generate", 8, "reduced", 4), undefined);

    // A config is timed with its own networks, batch (the final depth's) and R1 interval, under its file's name.
    const dir = await Deno.makeTempDir({ prefix: "sgan-torch-train-" });
    try {
      const config = `${dir}/tiny-8.yaml`;
      await Deno.writeTextFile(
        config,
        [
          "dataset: { resolution: 8, channels: 3 }",
          "model:",
          "  gen: { latent_size: 32, dlatent_size: 32, mapping_fmaps: 32, mapping_layers: 2, fmap_base: 64, fmap_max: 16 }",
          "  dis: { fmap_base: 64, fmap_max: 16 }",
          "  r1_interval: 2",
          "sched: { batch_sizes: [8, 4] }",
        ].join("\n"),
      );
      const out = await runTrain(["--train-config", config]);
      const row = JSON.parse(out.trim());
      assert.equal(row.config, "tiny-8");
      assert.equal(row.batch, 4);
      assert.equal(row.r1_interval, 2);
      assert.equal(row.steps_timed, 2); // one whole cycle of 2 steps
      assert.ok(MeasuredReference.parse(out, "config.jsonl").get("train", 8, "tiny-8", 4)! > 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
