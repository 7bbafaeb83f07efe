/**
 * model/backend/gradients.ts registers exactly the gradients the training step needs: every kernel a tiny
 * D + G step records on the tape (each loss, with R1 and WGAN-GP's double backprop, progressive and fixed,
 * fused scaling at 128 px) and of the projection's losses has a gradient, and every registered gradient is one
 * of them.
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { GRADIENT_CONFIGS } from "../../../model/backend/gradients.ts";
import { useBackend } from "../../support/backends.ts";
import { kernelsOnTape, LOSS_CASES, trainingStepKernels } from "../../support/taped_kernels.ts";
import { ProjectionLoss } from "../../../model/projection/losses.ts";

Deno.test("the recorder sees the kernels on a tape, and only those", async () => {
  await useBackend("wasm");
  const x = tf.tensor1d([-1, 2]);
  assert.deepEqual([...kernelsOnTape(() => tf.dispose(tf.square(x)))], []);
  const taped = kernelsOnTape(() => tf.dispose(tf.grad((v: tf.Tensor) => tf.sum(tf.square(v)))(x)));
  // Square and Sum run forward on the tape; their gradients (Multiply, ...) run after it has stopped.
  assert.deepEqual([...taped].sort(), ["Square", "Sum"]);
  x.dispose();
});

Deno.test("every kernel of a training step has a gradient, and every gradient serves the step", async () => {
  await useBackend("wasm");
  const used = new Set<string>();
  const lossKernel: Record<string, string> = { logistic: "Softplus", hinge: "Relu", "wgan-gp": "Sqrt" };
  for (const lossCase of LOSS_CASES) {
    const kernels = await trainingStepKernels(lossCase);
    assert.deepEqual(
      [...kernels].filter((k) => tf.getGradient(k) == null),
      [],
      `${lossCase.name}: no gradient`,
    );
    // Each case ran what it claims: its loss, and the double backprop of its penalty (leakyRelu's gradient,
    // `where(x > 0, ...)`, on the outer tape).
    assert.ok(kernels.has(lossKernel[lossCase.loss]), `${lossCase.name}: ${[...kernels].join(", ")}`);
    const penalty = lossCase.r1 || lossCase.loss === "wgan-gp";
    assert.equal(kernels.has(tf.Greater), penalty, `${lossCase.name}: double backprop`);
    for (const k of kernels) used.add(k);
  }
  // The projection (model/projection) differentiates its own losses: L2, L1 and the Laplacian pyramid.
  const images = tf.variable(tf.randomUniform([1, 16, 16, 3], -1, 1));
  const target = tf.randomUniform([1, 16, 16, 3], -1, 1) as tf.Tensor4D;
  const projection = new ProjectionLoss(target, { l2: 1, l1: 1, laplacian: 1 });
  const projected = kernelsOnTape(() => {
    const { value, grads } = tf.variableGrads(() => {
      const terms = projection.terms(images as tf.Variable<tf.Rank.R4> as unknown as tf.Tensor4D);
      return tf.addN([...terms.values()]) as tf.Scalar;
    }, [images]);
    tf.dispose([value, ...Object.values(grads)]);
  });
  assert.ok(projected.has(tf.Abs), `projection: ${[...projected].join(", ")}`);
  assert.deepEqual([...projected].filter((k) => tf.getGradient(k) == null), [], "projection: no gradient");
  for (const k of projected) used.add(k);
  tf.dispose([images, target]);
  assert.deepEqual(Object.keys(GRADIENT_CONFIGS).filter((k) => !used.has(k)), [], "gradients no step uses");
});
