/**
 * GAN losses as official StyleGAN defines them, as functions of discriminator scores, plus the
 * gradient penalties that need the discriminator itself (R1, WGAN-GP). Every loss returns a scalar
 * averaged over the batch; penalties are computed per sample, then averaged (not summed).
 */
import * as tf from "@tensorflow/tfjs-core";

/** softplus(x) = log(1 + eˣ), computed stably. */
export function softplus(x: tf.Tensor): tf.Tensor {
  return tf.softplus(x);
}

/** G, non-saturating logistic: E[softplus(−D(G(z)))]. */
export function gLogisticNonsaturating(fakeScores: tf.Tensor): tf.Scalar {
  return tf.mean(softplus(tf.neg(fakeScores))) as tf.Scalar;
}

/** D, logistic: E[softplus(D(G(z)))] + E[softplus(−D(x))]. */
export function dLogistic(realScores: tf.Tensor, fakeScores: tf.Tensor): tf.Scalar {
  return tf.add(tf.mean(softplus(fakeScores)), tf.mean(softplus(tf.neg(realScores)))) as tf.Scalar;
}

/** G for WGAN and hinge: E[−D(G(z))]. */
export function gWasserstein(fakeScores: tf.Tensor): tf.Scalar {
  return tf.mean(tf.neg(fakeScores)) as tf.Scalar;
}

/** D, WGAN: E[D(G(z))] − E[D(x)] + ε·E[D(x)²] (the drift term keeps scores near zero). */
export function dWasserstein(realScores: tf.Tensor, fakeScores: tf.Tensor, epsilon: number): tf.Scalar {
  return tf.tidy(() =>
    tf.add(
      tf.sub(tf.mean(fakeScores), tf.mean(realScores)),
      tf.mul(tf.mean(tf.square(realScores)), epsilon),
    ) as tf.Scalar
  );
}

/** D, hinge: E[relu(1 − D(x))] + E[relu(1 + D(G(z)))]. */
export function dHinge(realScores: tf.Tensor, fakeScores: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    tf.add(tf.mean(tf.relu(tf.sub(1, realScores))), tf.mean(tf.relu(tf.add(1, fakeScores)))) as tf.Scalar
  );
}

/** Per-sample squared gradient norm ‖∇ₓ Σ D(x)‖² of a batch [N, H, W, C] → [N]. */
export function squaredGradNorm(grad: tf.Tensor): tf.Tensor1D {
  return tf.sum(tf.square(grad), [1, 2, 3]) as tf.Tensor1D;
}

/**
 * R1 (Mescheder et al. 2018): γ/2 · E[‖∇ₓ D(x)‖²] on reals. Returns the penalty and the real scores
 * (computed once, inside the gradient), so the D loss can reuse them.
 */
export function r1Penalty(
  discriminate: (x: tf.Tensor4D) => tf.Tensor,
  reals: tf.Tensor4D,
  gamma: number,
): { penalty: tf.Scalar; realScores: tf.Tensor } {
  let realScores: tf.Tensor | undefined;
  const grad = tf.grad((x: tf.Tensor) => {
    const scores = discriminate(x as tf.Tensor4D);
    realScores = tf.keep(scores);
    return tf.sum(scores);
  })(reals);
  const penalty = tf.mul(tf.mean(squaredGradNorm(grad)), gamma * 0.5) as tf.Scalar;
  return { penalty, realScores: realScores! };
}

/**
 * WGAN-GP (Gulrajani et al. 2017): λ · E[(‖∇ D(x̂)‖ − 1)²] at x̂ = lerp(real, fake, u), u ~ U(0, 1)
 * per sample (`mix` supplies u, [N]).
 */
export function gradientPenalty(
  discriminate: (x: tf.Tensor4D) => tf.Tensor,
  reals: tf.Tensor4D,
  fakes: tf.Tensor4D,
  mix: tf.Tensor1D,
  lambda: number,
): tf.Scalar {
  const u = tf.reshape(mix, [-1, 1, 1, 1]);
  const mixed = tf.add(reals, tf.mul(tf.sub(fakes, reals), u)) as tf.Tensor4D;
  const grad = tf.grad((x: tf.Tensor) => tf.sum(discriminate(x as tf.Tensor4D)))(mixed);
  const norms = tf.sqrt(tf.add(squaredGradNorm(grad), 1e-8));
  return tf.mul(tf.mean(tf.square(tf.sub(norms, 1))), lambda) as tf.Scalar;
}
