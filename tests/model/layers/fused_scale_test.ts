/**
 * EqualizedConv2d's fused ×2 paths (used by StyleGAN.pytorch from 128 px on), exercised on small tensors by
 * lowering `fused_scale_min_res`, against the port's maths written out in float64:
 * up:   w4 = the 3×3 kernel summed over its four 1-px shifts (4×4), then conv_transpose2d(stride 2, padding 1)
 * down: w4 · 0.25, then conv2d(stride 2, padding 1).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { EqualizedConv2d } from "../../../model/layers/equalized_conv2d.ts";
import { ParameterTree } from "../../../model/layers/parameters.ts";
import { useBackend } from "../../support/backends.ts";

/** w [3,3,cin,cout] → the port's 4×4 kernel: pad by one, sum the four shifted 4×4 windows. */
function fourShiftKernel(w: Float64Array, cin: number, cout: number): Float64Array {
  const at = (ky: number, kx: number, i: number, o: number) =>
    ky < 0 || kx < 0 || ky > 2 || kx > 2 ? 0 : w[((ky * 3 + kx) * cin + i) * cout + o];
  const w4 = new Float64Array(16 * cin * cout);
  for (let ky = 0; ky < 4; ky++) {
    for (let kx = 0; kx < 4; kx++) {
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < cout; o++) {
          w4[((ky * 4 + kx) * cin + i) * cout + o] = at(ky, kx, i, o) + at(ky - 1, kx, i, o) +
            at(ky, kx - 1, i, o) +
            at(ky - 1, kx - 1, i, o);
        }
      }
    }
  }
  return w4;
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`fused up/downscaling convolutions on ${backend}`, async (t) => {
    await useBackend(backend);
    const [n, h, cin, cout] = [2, 4, 3, 2];
    const x = Float64Array.from({ length: n * h * h * cin }, (_, i) => Math.sin(i * 0.37));

    await t.step("upscale: conv_transpose2d(x, w4, stride 2, padding 1) + bias", async () => {
      const conv = new EqualizedConv2d(new ParameterTree(), cin, cout, 3, {
        upscale: true,
        fused_scale_min_res: 8,
        use_wscale: true,
        seed: 5,
      });
      conv.bias!.assign(tf.tensor1d([0.1, -0.2]));
      const w = Float64Array.from(await conv.weight.data(), (v) => v * conv.wMul);
      const w4 = fourShiftKernel(w, cin, cout);
      const out = await conv.apply(tf.tensor4d(Float32Array.from(x), [n, h, h, cin])).data();
      const H = 2 * h;
      const expected = new Float64Array(n * H * H * cout);
      // PyTorch conv_transpose2d: input pixel i spreads to output i·2 − 1 + k, k = 0..3.
      for (let b = 0; b < n; b++) {
        for (let iy = 0; iy < h; iy++) {
          for (let ix = 0; ix < h; ix++) {
            for (let ky = 0; ky < 4; ky++) {
              for (let kx = 0; kx < 4; kx++) {
                const oy = iy * 2 - 1 + ky, ox = ix * 2 - 1 + kx;
                if (oy < 0 || ox < 0 || oy >= H || ox >= H) continue;
                for (let i = 0; i < cin; i++) {
                  for (let o = 0; o < cout; o++) {
                    expected[((b * H + oy) * H + ox) * cout + o] += x[((b * h + iy) * h + ix) * cin + i] *
                      w4[((ky * 4 + kx) * cin + i) * cout + o];
                  }
                }
              }
            }
          }
        }
      }
      expected.forEach((_, i) => expected[i] += i % cout === 0 ? 0.1 : -0.2);
      for (let i = 0; i < out.length; i++) {
        assert.ok(Math.abs(out[i] - expected[i]) < 1e-4, `${i}: ${out[i]} vs ${expected[i]}`);
      }
    });

    await t.step("downscale: conv2d(x, w4 · 0.25, stride 2, padding 1) + bias", async () => {
      const conv = new EqualizedConv2d(new ParameterTree(), cin, cout, 3, {
        downscale: true,
        fused_scale_min_res: 4,
        use_wscale: true,
        seed: 6,
      });
      conv.bias!.assign(tf.tensor1d([0.3, 0.05]));
      const w = Float64Array.from(await conv.weight.data(), (v) => v * conv.wMul);
      const w4 = fourShiftKernel(w, cin, cout).map((v) => v * 0.25);
      const out = await conv.apply(tf.tensor4d(Float32Array.from(x), [n, h, h, cin])).data();
      const H = h / 2;
      for (let b = 0; b < n; b++) {
        for (let oy = 0; oy < H; oy++) {
          for (let ox = 0; ox < H; ox++) {
            for (let o = 0; o < cout; o++) {
              let sum = o === 0 ? 0.3 : 0.05;
              for (let ky = 0; ky < 4; ky++) {
                for (let kx = 0; kx < 4; kx++) {
                  const iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
                  if (iy < 0 || ix < 0 || iy >= h || ix >= h) continue;
                  for (let i = 0; i < cin; i++) {
                    sum += x[((b * h + iy) * h + ix) * cin + i] * w4[((ky * 4 + kx) * cin + i) * cout + o];
                  }
                }
              }
              const got = out[((b * H + oy) * H + ox) * cout + o];
              assert.ok(Math.abs(got - sum) < 1e-4, `${b},${oy},${ox},${o}: ${got} vs ${sum}`);
            }
          }
        }
      }
    });
  });
}
