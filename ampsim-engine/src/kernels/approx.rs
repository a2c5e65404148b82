//! The approximations the models' activations run on, scalar and (in [`super::x86`]) vector:
//! tanh as Eigen's rational function for floats, the sigmoid through it, and a clamp that
//! vectorises. `crate::activation` names them for the models; the kernels use them directly.

use super::Mac;

/// `x` clamped to `lo..=hi`, written so that it vectorises (a NaN comes out as `hi`).
#[inline(always)]
pub(crate) fn clamp(x: f32, lo: f32, hi: f32) -> f32 {
    let x = if x > lo { x } else { lo };
    if x < hi { x } else { hi }
}

/// tanh's rational function: numerator (odd, coefficients of x·(x²)ⁱ) and denominator (even).
pub(crate) const P: [f32; 7] = [4.893_524_6e-3, 6.372_619_3e-4, 1.485_722_4e-5, 5.122_297e-8, -8.604_671_5e-11, 2.000_187_9e-13, -2.760_768_5e-16];
pub(crate) const Q: [f32; 4] = [4.893_525_2e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
/// Beyond ±CLAMP the function is ±1 to float precision.
pub(crate) const CLAMP: f32 = 7.905_311;

/// tanh within 5e-7 everywhere, its multiply-adds computed as `M` says (fused in vector code).
#[inline(always)]
pub(crate) fn tanh_with<M: Mac>(x: f32) -> f32 {
    let x = clamp(x, -CLAMP, CLAMP);
    let x2 = x * x;
    let p = M::mac(x2, P[6], P[5]);
    let p = M::mac(x2, p, P[4]);
    let p = M::mac(x2, p, P[3]);
    let p = M::mac(x2, p, P[2]);
    let p = M::mac(x2, p, P[1]);
    let p = M::mac(x2, p, P[0]);
    let p = x * p;
    let q = M::mac(x2, Q[3], Q[2]);
    let q = M::mac(x2, q, Q[1]);
    let q = M::mac(x2, q, Q[0]);
    p / q
}

/// The logistic sigmoid, `(1 + tanh(x/2)) / 2`, as `M` computes.
#[inline(always)]
pub(crate) fn sigmoid_with<M: Mac>(x: f32) -> f32 {
    M::mac(0.5, tanh_with::<M>(0.5 * x), 0.5)
}
