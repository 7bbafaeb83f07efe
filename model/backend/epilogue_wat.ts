/**
 * The SIMD WebAssembly (WAT text) of the fused epilogue's three forward passes over one sample's NHWC feature
 * map, and the two passes of its backward (training).
 * It imports the tfjs wasm backend's own memory, so it reads and writes tensors where they are (no copies).
 * All pointers are byte offsets into that memory; C (channels) is a multiple of 4. Every float32 step
 * rounds where the composed tfjs ops round (f32x4 arithmetic); the channel sums are accumulated in f64.
 *
 * Hand-written because tfjs has no fused kernel for this and its wasm backend takes no custom kernels
 * compiled into it; the text is assembled at start-up by wabt (npm:wabt), so no binary is committed.
 */
export const EPILOGUE_WAT = `
(module
  (import "env" "memory" (memory 1))

  ;; sums[c .. c+3] += v (f64), for the channels at byte offset $c; the f64 sums live at sums + 2 * $c.
  (func $accumulate (param $sums i32) (param $c i32) (param $v v128)
    (local $sp i32)
    (local.set $sp (i32.add (local.get $sums) (i32.shl (local.get $c) (i32.const 1))))
    (v128.store (local.get $sp)
      (f64x2.add (v128.load (local.get $sp)) (f64x2.promote_low_f32x4 (local.get $v))))
    (v128.store offset=16 (local.get $sp)
      (f64x2.add (v128.load offset=16 (local.get $sp))
        (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))))

  ;; out = lrelu(x + w[c] * noise[p]) (or lrelu(x) without noise); sums[c] += out (f64).
  (func (export "noise_act_sum")
    (param $x i32) (param $noise i32) (param $use_noise i32) (param $w i32) (param $out i32)
    (param $hw i32) (param $channels i32) (param $slope f32) (param $sums i32)
    (local $p i32) (local $c i32) (local $row i32)
    (local $nz v128) (local $v v128) (local $s v128)
    (local.set $s (f32x4.splat (local.get $slope)))
    (local.set $row (i32.shl (local.get $channels) (i32.const 2)))
    (block $pixels_done (loop $pixels
      (br_if $pixels_done (i32.ge_u (local.get $p) (local.get $hw)))
      (if (local.get $use_noise)
        (then (local.set $nz (v128.load32_splat (i32.add (local.get $noise) (i32.shl (local.get $p) (i32.const 2)))))))
      (local.set $c (i32.const 0))
      (block $channels_done (loop $channel_loop
        (br_if $channels_done (i32.ge_u (local.get $c) (local.get $row)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $c))))
        (if (local.get $use_noise)
          (then (local.set $v (f32x4.add (local.get $v)
            (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $c))) (local.get $nz))))))
        ;; leaky ReLU with slope < 1: max(v, slope * v)
        (local.set $v (f32x4.max (local.get $v) (f32x4.mul (local.get $v) (local.get $s))))
        (v128.store (i32.add (local.get $out) (local.get $c)) (local.get $v))
        (call $accumulate (local.get $sums) (local.get $c) (local.get $v))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $channel_loop)))
      (local.set $x (i32.add (local.get $x) (local.get $row)))
      (local.set $out (i32.add (local.get $out) (local.get $row)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pixels)))
  )

  ;; sums[c] += (d * d) with d = out - mean[c], both rounded to f32; sums in f64.
  (func (export "variance_sum")
    (param $out i32) (param $hw i32) (param $channels i32) (param $mean i32) (param $sums i32)
    (local $p i32) (local $c i32) (local $row i32) (local $d v128)
    (local.set $row (i32.shl (local.get $channels) (i32.const 2)))
    (block $pixels_done (loop $pixels
      (br_if $pixels_done (i32.ge_u (local.get $p) (local.get $hw)))
      (local.set $c (i32.const 0))
      (block $channels_done (loop $channel_loop
        (br_if $channels_done (i32.ge_u (local.get $c) (local.get $row)))
        (local.set $d (f32x4.sub (v128.load (i32.add (local.get $out) (local.get $c)))
                                 (v128.load (i32.add (local.get $mean) (local.get $c)))))
        (local.set $d (f32x4.mul (local.get $d) (local.get $d)))
        (call $accumulate (local.get $sums) (local.get $c) (local.get $d))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $channel_loop)))
      (local.set $out (i32.add (local.get $out) (local.get $row)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pixels)))
  )

  ;; out = ((out - mean[c]) * inv[c]) * scale[c] + shift[c], each step rounded to f32.
  (func (export "normalise_style")
    (param $out i32) (param $hw i32) (param $channels i32)
    (param $mean i32) (param $inv i32) (param $scale i32) (param $shift i32)
    (local $p i32) (local $c i32) (local $row i32) (local $a i32) (local $v v128)
    (local.set $row (i32.shl (local.get $channels) (i32.const 2)))
    (block $pixels_done (loop $pixels
      (br_if $pixels_done (i32.ge_u (local.get $p) (local.get $hw)))
      (local.set $c (i32.const 0))
      (block $channels_done (loop $channel_loop
        (br_if $channels_done (i32.ge_u (local.get $c) (local.get $row)))
        (local.set $a (i32.add (local.get $out) (local.get $c)))
        (local.set $v (f32x4.sub (v128.load (local.get $a)) (v128.load (i32.add (local.get $mean) (local.get $c)))))
        (local.set $v (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $inv) (local.get $c)))))
        (local.set $v (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $scale) (local.get $c)))))
        (v128.store (local.get $a) (f32x4.add (local.get $v) (v128.load (i32.add (local.get $shift) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $channel_loop)))
      (local.set $out (i32.add (local.get $out) (local.get $row)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pixels)))
  )
  ;; The backward passes (training). With a = x + w[c] * noise[p], v = lrelu(a) and xhat = (v - mean[c]) * inv[c]
  ;; recomputed exactly as the forward pass computes them, and g = dy:
  ;; sums[c] += g, sums2[c] += g * xhat and sums3[c] += xhat (f64): the two reductions of instance norm's
  ;; backward, and the mean of xhat as float32 computed it (zero but for rounding; see fused_epilogue_grad.ts).
  (func (export "grad_sums")
    (param $x i32) (param $noise i32) (param $use_noise i32) (param $w i32) (param $dy i32)
    (param $hw i32) (param $channels i32) (param $slope f32) (param $mean i32) (param $inv i32)
    (param $sums i32) (param $sums2 i32) (param $sums3 i32)
    (local $p i32) (local $c i32) (local $row i32)
    (local $nz v128) (local $v v128) (local $s v128) (local $g v128)
    (local.set $s (f32x4.splat (local.get $slope)))
    (local.set $row (i32.shl (local.get $channels) (i32.const 2)))
    (block $pixels_done (loop $pixels
      (br_if $pixels_done (i32.ge_u (local.get $p) (local.get $hw)))
      (if (local.get $use_noise)
        (then (local.set $nz (v128.load32_splat (i32.add (local.get $noise) (i32.shl (local.get $p) (i32.const 2)))))))
      (local.set $c (i32.const 0))
      (block $channels_done (loop $channel_loop
        (br_if $channels_done (i32.ge_u (local.get $c) (local.get $row)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $c))))
        (if (local.get $use_noise)
          (then (local.set $v (f32x4.add (local.get $v)
            (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $c))) (local.get $nz))))))
        (local.set $v (f32x4.max (local.get $v) (f32x4.mul (local.get $v) (local.get $s))))
        (local.set $v (f32x4.mul
          (f32x4.sub (local.get $v) (v128.load (i32.add (local.get $mean) (local.get $c))))
          (v128.load (i32.add (local.get $inv) (local.get $c)))))
        (local.set $g (v128.load (i32.add (local.get $dy) (local.get $c))))
        (call $accumulate (local.get $sums) (local.get $c) (local.get $g))
        (call $accumulate (local.get $sums2) (local.get $c) (f32x4.mul (local.get $g) (local.get $v)))
        (call $accumulate (local.get $sums3) (local.get $c) (local.get $v))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $channel_loop)))
      (local.set $x (i32.add (local.get $x) (local.get $row)))
      (local.set $dy (i32.add (local.get $dy) (local.get $row)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pixels)))
  )

  ;; dx = da = lrelu'(a) * k[c] * ((g - gmean[c]) - xhat * gxmean[c]), with k = (1 + scale) * inv and the
  ;; two means of grad_sums; with noise also wsums[c] += da * noise[p] (f64), the noise weight's gradient.
  (func (export "grad_input")
    (param $x i32) (param $noise i32) (param $use_noise i32) (param $w i32) (param $dy i32) (param $dx i32)
    (param $hw i32) (param $channels i32) (param $slope f32) (param $mean i32) (param $inv i32)
    (param $k i32) (param $gmean i32) (param $gxmean i32) (param $wsums i32)
    (local $p i32) (local $c i32) (local $row i32)
    (local $nz v128) (local $a v128) (local $v v128) (local $s v128) (local $d v128)
    (local.set $s (f32x4.splat (local.get $slope)))
    (local.set $row (i32.shl (local.get $channels) (i32.const 2)))
    (block $pixels_done (loop $pixels
      (br_if $pixels_done (i32.ge_u (local.get $p) (local.get $hw)))
      (if (local.get $use_noise)
        (then (local.set $nz (v128.load32_splat (i32.add (local.get $noise) (i32.shl (local.get $p) (i32.const 2)))))))
      (local.set $c (i32.const 0))
      (block $channels_done (loop $channel_loop
        (br_if $channels_done (i32.ge_u (local.get $c) (local.get $row)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $c))))
        (if (local.get $use_noise)
          (then (local.set $a (f32x4.add (local.get $a)
            (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $c))) (local.get $nz))))))
        (local.set $v (f32x4.max (local.get $a) (f32x4.mul (local.get $a) (local.get $s))))
        (local.set $v (f32x4.mul
          (f32x4.sub (local.get $v) (v128.load (i32.add (local.get $mean) (local.get $c))))
          (v128.load (i32.add (local.get $inv) (local.get $c)))))
        (local.set $d (f32x4.sub
          (f32x4.sub (v128.load (i32.add (local.get $dy) (local.get $c)))
                     (v128.load (i32.add (local.get $gmean) (local.get $c))))
          (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $gxmean) (local.get $c))))))
        (local.set $d (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $k) (local.get $c)))))
        ;; leaky ReLU's derivative: 1 where a > 0, else the slope (tfjs's where(x > 0, dy, dy * alpha))
        (local.set $d (v128.bitselect (local.get $d) (f32x4.mul (local.get $d) (local.get $s))
          (f32x4.gt (local.get $a) (f32x4.splat (f32.const 0)))))
        (v128.store (i32.add (local.get $dx) (local.get $c)) (local.get $d))
        (if (local.get $use_noise)
          (then (call $accumulate (local.get $wsums) (local.get $c) (f32x4.mul (local.get $d) (local.get $nz)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $channel_loop)))
      (local.set $x (i32.add (local.get $x) (local.get $row)))
      (local.set $dy (i32.add (local.get $dy) (local.get $row)))
      (local.set $dx (i32.add (local.get $dx) (local.get $row)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pixels)))
  )
)
`;
