/**
 * The fused epilogue (model/backend/fused_epilogue.ts) as one WGSL compute shader for tfjs-webgpu: one
 * workgroup per (sample, channel) runs noise + leaky ReLU, the instance-norm mean and variance as workgroup
 * reductions, and the style, in one dispatch instead of about twenty. On the H100 most of a generation's wall
 * time was per-dispatch overhead (docs/performance.md), which is what this removes.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import { FUSED_EPILOGUE, geometry, required } from "./fused_epilogue_common.ts";

/** The part of tfjs-webgpu's backend this kernel uses. */
interface WebGpuBackendLike {
  runWebGPUProgram(
    program: unknown,
    inputs: TensorInfo[],
    outputDtype: "float32",
    uniforms: Array<{ type: "int32" | "float32"; data: number[] }>,
  ): TensorInfo;
}

function program(
  outputShape: number[],
  groups: number,
  workgroup: number,
  flatDispatchLayout: (shape: number[]) => { x: number[] },
) {
  return {
    variableNames: ["x", "noise", "w", "style"],
    uniforms: "hw : i32, channels : i32, noiseBatch : i32, useNoise : i32, slope : f32, epsilon : f32,",
    outputShape,
    dispatchLayout: flatDispatchLayout(outputShape),
    dispatch: [groups, 1, 1],
    workgroupSize: [workgroup, 1, 1],
    size: false,
    shaderKey: `sgan_fused_epilogue_${workgroup}`,
    getUserCode: () => `
      var<workgroup> partial : array<f32, ${workgroup}>;

      fn workgroupSum(v : f32) -> f32 {
        partial[localId.x] = v;
        workgroupBarrier();
        for (var s = ${workgroup / 2}u; s > 0u; s = s / 2u) {
          if (localId.x < s) { partial[localId.x] = partial[localId.x] + partial[localId.x + s]; }
          workgroupBarrier();
        }
        let total = partial[0];
        workgroupBarrier();
        return total;
      }

      fn main(index : i32) {
        let C = uniforms.channels;
        let group = i32(workgroupId.x);
        let n = group / C;
        let c = group % C;
        let base = n * uniforms.hw * C + c;
        let noiseBase = select(n, 0, uniforms.noiseBatch == 1) * uniforms.hw;
        var sum = 0.0;
        for (var p = i32(localId.x); p < uniforms.hw; p = p + ${workgroup}) {
          var v = x[base + p * C];
          if (uniforms.useNoise == 1) { v = v + w[c] * noise[noiseBase + p]; }
          v = select(v, v * uniforms.slope, v < 0.0);
          result[base + p * C] = v;
          sum = sum + v;
        }
        let mean = workgroupSum(sum) / f32(uniforms.hw);
        var squares = 0.0;
        for (var p = i32(localId.x); p < uniforms.hw; p = p + ${workgroup}) {
          let d = result[base + p * C] - mean;
          squares = squares + d * d;
        }
        let inv = inverseSqrt(workgroupSum(squares) / f32(uniforms.hw) + uniforms.epsilon);
        let scale = 1.0 + style[n * 2 * C + c];
        let shift = style[n * 2 * C + C + c];
        for (var p = i32(localId.x); p < uniforms.hw; p = p + ${workgroup}) {
          let i = base + p * C;
          result[i] = (result[i] - mean) * inv * scale + shift;
        }
      }
    `,
  };
}

let registered = false;

/** Register the WGSL kernel for the webgpu backend (once). */
export async function registerFusedEpilogueWebGpu(): Promise<void> {
  if (registered) return;
  const { webgpu_util } = await import("@tensorflow/tfjs-backend-webgpu");
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const g = geometry(inputs, attrs);
    const x = required(inputs, "x");
    const workgroup = g.hw >= 4096 ? 256 : 64;
    const prog = program([...x.shape], g.n * g.c, workgroup, webgpu_util.flatDispatchLayout);
    // Without noise the noise and weight bindings still need a buffer; the shader does not read them.
    const noise = inputs.noise ?? x;
    const weight = inputs.weight ?? x;
    return (backend as unknown as WebGpuBackendLike).runWebGPUProgram(
      prog,
      [x, noise, weight, required(inputs, "style")],
      "float32",
      [
        { type: "int32", data: [g.hw] },
        { type: "int32", data: [g.c] },
        { type: "int32", data: [g.noiseBatch] },
        { type: "int32", data: [inputs.noise ? 1 : 0] },
        { type: "float32", data: [g.slope] },
        { type: "float32", data: [g.epsilon] },
      ],
    );
  };
  tf.registerKernel({ kernelName: FUSED_EPILOGUE, backendName: "webgpu", kernelFunc });
  registered = true;
}
