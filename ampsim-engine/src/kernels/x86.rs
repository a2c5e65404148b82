//! Kernels written with AVX2/FMA intrinsics where the compiler's own vector code spills
//! (checked with `perf annotate`): only called from functions compiled for AVX2 and FMA.

use std::arch::x86_64::*;

use super::approx::{tanh_with, CLAMP, P, Q};

/// `out[0..32] = bias + Σ_j v[j] · w[j·32 .. j·32 + 32]`, accumulated in eight registers
/// (alternate j in two sets, so that eight multiply-adds are in flight).
///
/// # Safety
/// The CPU has AVX2 and FMA; `w` holds `32·v.len()` values, `bias` and `out` 32.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn gates_tile32(w: &[f32], v: &[f32], bias: &[f32], out: &mut [f32]) {
    debug_assert!(w.len() >= 32 * v.len() && bias.len() >= 32 && out.len() >= 32);
    let (w, b, o) = (w.as_ptr(), bias.as_ptr(), out.as_mut_ptr());
    // SAFETY: every offset stays within the lengths asserted above.
    unsafe {
        let mut e = [_mm256_loadu_ps(b), _mm256_loadu_ps(b.add(8)), _mm256_loadu_ps(b.add(16)), _mm256_loadu_ps(b.add(24))];
        let mut d = [_mm256_setzero_ps(); 4];
        let pairs = v.len() / 2;
        for p in 0..pairs {
            let (x0, x1) = (_mm256_set1_ps(*v.get_unchecked(2 * p)), _mm256_set1_ps(*v.get_unchecked(2 * p + 1)));
            let w0 = w.add(2 * p * 32);
            let w1 = w0.add(32);
            for q in 0..4 {
                e[q] = _mm256_fmadd_ps(_mm256_loadu_ps(w0.add(8 * q)), x0, e[q]);
                d[q] = _mm256_fmadd_ps(_mm256_loadu_ps(w1.add(8 * q)), x1, d[q]);
            }
        }
        if v.len() % 2 == 1 {
            let last = v.len() - 1;
            let x = _mm256_set1_ps(*v.get_unchecked(last));
            let wl = w.add(last * 32);
            for q in 0..4 {
                e[q] = _mm256_fmadd_ps(_mm256_loadu_ps(wl.add(8 * q)), x, e[q]);
            }
        }
        for q in 0..4 {
            _mm256_storeu_ps(o.add(8 * q), _mm256_add_ps(e[q], d[q]));
        }
    }
}

/// [`gates_tile32`] with AVX-512: two registers per 32 gates, four partial sums over j.
///
/// # Safety
/// The CPU has AVX-512F; `w` holds `32·v.len()` values, `bias` and `out` 32.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(crate) unsafe fn gates_tile32_avx512(w: &[f32], v: &[f32], bias: &[f32], out: &mut [f32]) {
    debug_assert!(w.len() >= 32 * v.len() && bias.len() >= 32 && out.len() >= 32);
    let (w, b, o) = (w.as_ptr(), bias.as_ptr(), out.as_mut_ptr());
    // SAFETY: every offset stays within the lengths asserted above.
    unsafe {
        let zero = _mm512_setzero_ps();
        let mut acc = [_mm512_loadu_ps(b), _mm512_loadu_ps(b.add(16)), zero, zero, zero, zero, zero, zero];
        let quads = v.len() / 4;
        for p in 0..quads {
            for s in 0..4 {
                let j = 4 * p + s;
                let x = _mm512_set1_ps(*v.get_unchecked(j));
                let wj = w.add(j * 32);
                acc[2 * s] = _mm512_fmadd_ps(_mm512_loadu_ps(wj), x, acc[2 * s]);
                acc[2 * s + 1] = _mm512_fmadd_ps(_mm512_loadu_ps(wj.add(16)), x, acc[2 * s + 1]);
            }
        }
        for j in 4 * quads..v.len() {
            let x = _mm512_set1_ps(*v.get_unchecked(j));
            let wj = w.add(j * 32);
            acc[0] = _mm512_fmadd_ps(_mm512_loadu_ps(wj), x, acc[0]);
            acc[1] = _mm512_fmadd_ps(_mm512_loadu_ps(wj.add(16)), x, acc[1]);
        }
        let lo = _mm512_add_ps(_mm512_add_ps(acc[0], acc[2]), _mm512_add_ps(acc[4], acc[6]));
        let hi = _mm512_add_ps(_mm512_add_ps(acc[1], acc[3]), _mm512_add_ps(acc[5], acc[7]));
        _mm512_storeu_ps(o, lo);
        _mm512_storeu_ps(o.add(16), hi);
    }
}

/// tanh of 16 values: the same rational function, evaluated by Estrin's scheme (fewer
/// dependent steps) and divided through a reciprocal estimate refined by one Newton step.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
fn tanh16(x: __m512) -> __m512 {
    let c = |v: f32| _mm512_set1_ps(v);
    let x = _mm512_max_ps(_mm512_min_ps(x, c(CLAMP)), c(-CLAMP));
    let x2 = _mm512_mul_ps(x, x);
    let x4 = _mm512_mul_ps(x2, x2);
    let x8 = _mm512_mul_ps(x4, x4);
    let p01 = _mm512_fmadd_ps(c(P[1]), x2, c(P[0]));
    let p23 = _mm512_fmadd_ps(c(P[3]), x2, c(P[2]));
    let p45 = _mm512_fmadd_ps(c(P[5]), x2, c(P[4]));
    let p03 = _mm512_fmadd_ps(p23, x4, p01);
    let p46 = _mm512_fmadd_ps(c(P[6]), x4, p45);
    let p = _mm512_mul_ps(_mm512_fmadd_ps(p46, x8, p03), x);
    let q = _mm512_fmadd_ps(_mm512_fmadd_ps(c(Q[3]), x2, c(Q[2])), x4, _mm512_fmadd_ps(c(Q[1]), x2, c(Q[0])));
    let r = _mm512_rcp14_ps(q);
    let r = _mm512_mul_ps(r, _mm512_fnmadd_ps(q, r, c(2.0)));
    _mm512_mul_ps(p, r)
}

/// tanh of 8 values, as [`tanh16`] with AVX2's 12-bit reciprocal estimate (one Newton step
/// brings it to full precision).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn tanh8(x: __m256) -> __m256 {
    let c = |v: f32| _mm256_set1_ps(v);
    let x = _mm256_max_ps(_mm256_min_ps(x, c(CLAMP)), c(-CLAMP));
    let x2 = _mm256_mul_ps(x, x);
    let x4 = _mm256_mul_ps(x2, x2);
    let x8 = _mm256_mul_ps(x4, x4);
    let p01 = _mm256_fmadd_ps(c(P[1]), x2, c(P[0]));
    let p23 = _mm256_fmadd_ps(c(P[3]), x2, c(P[2]));
    let p45 = _mm256_fmadd_ps(c(P[5]), x2, c(P[4]));
    let p03 = _mm256_fmadd_ps(p23, x4, p01);
    let p46 = _mm256_fmadd_ps(c(P[6]), x4, p45);
    let p = _mm256_mul_ps(_mm256_fmadd_ps(p46, x8, p03), x);
    let q = _mm256_fmadd_ps(_mm256_fmadd_ps(c(Q[3]), x2, c(Q[2])), x4, _mm256_fmadd_ps(c(Q[1]), x2, c(Q[0])));
    let r = _mm256_rcp_ps(q);
    let r = _mm256_mul_ps(r, _mm256_fnmadd_ps(q, r, c(2.0)));
    _mm256_mul_ps(p, r)
}

/// `xs[i] = scale · tanh(pre · xs[i]) + offset` (tanh: 1, 1, 0; sigmoid: ½, ½, ½) with AVX-512.
///
/// # Safety
/// The CPU has AVX-512F.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(crate) unsafe fn tanh_affine_avx512(xs: &mut [f32], pre: f32, scale: f32, offset: f32) {
    let (pre, scale, offset) = (_mm512_set1_ps(pre), _mm512_set1_ps(scale), _mm512_set1_ps(offset));
    let mut chunks = xs.chunks_exact_mut(16);
    for ch in &mut chunks {
        // SAFETY: 16 values.
        unsafe {
            let v = _mm512_loadu_ps(ch.as_ptr());
            _mm512_storeu_ps(ch.as_mut_ptr(), _mm512_fmadd_ps(tanh16(_mm512_mul_ps(v, pre)), scale, offset));
        }
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mask: __mmask16 = (1u32 << rest.len()).wrapping_sub(1) as u16;
        // SAFETY: the mask covers only the remaining values.
        unsafe {
            let v = _mm512_maskz_loadu_ps(mask, rest.as_ptr());
            _mm512_mask_storeu_ps(rest.as_mut_ptr(), mask, _mm512_fmadd_ps(tanh16(_mm512_mul_ps(v, pre)), scale, offset));
        }
    }
}

/// [`tanh_affine_avx512`] with AVX2 (the last few values with the scalar function).
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn tanh_affine_avx2(xs: &mut [f32], pre: f32, scale: f32, offset: f32) {
    let (p, s, o) = (_mm256_set1_ps(pre), _mm256_set1_ps(scale), _mm256_set1_ps(offset));
    let mut chunks = xs.chunks_exact_mut(8);
    for ch in &mut chunks {
        // SAFETY: 8 values.
        unsafe {
            let v = _mm256_loadu_ps(ch.as_ptr());
            _mm256_storeu_ps(ch.as_mut_ptr(), _mm256_fmadd_ps(tanh8(_mm256_mul_ps(v, p)), s, o));
        }
    }
    for v in chunks.into_remainder() {
        *v = scale.mul_add(tanh_with::<super::Plain>(pre * *v), offset);
    }
}

/// Per-value version for the LSTM's gates: `xs[i] = scale[i] · tanh(xs[i]) + offset[i]`.
///
/// # Safety
/// The CPU has AVX-512F; all three slices have the same length, a multiple of 16.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(crate) unsafe fn tanh_affine_each_avx512(xs: &mut [f32], scale: &[f32], offset: &[f32]) {
    debug_assert!(xs.len() % 16 == 0 && scale.len() >= xs.len() && offset.len() >= xs.len());
    for i in (0..xs.len()).step_by(16) {
        // SAFETY: 16 values from i in each slice.
        unsafe {
            let v = _mm512_loadu_ps(xs.as_ptr().add(i));
            let t = _mm512_fmadd_ps(tanh16(v), _mm512_loadu_ps(scale.as_ptr().add(i)), _mm512_loadu_ps(offset.as_ptr().add(i)));
            _mm512_storeu_ps(xs.as_mut_ptr().add(i), t);
        }
    }
}

/// [`tanh_affine_each_avx512`] with AVX2 (length a multiple of 8).
///
/// # Safety
/// The CPU has AVX2 and FMA; all three slices have the same length, a multiple of 8.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn tanh_affine_each_avx2(xs: &mut [f32], scale: &[f32], offset: &[f32]) {
    debug_assert!(xs.len() % 8 == 0 && scale.len() >= xs.len() && offset.len() >= xs.len());
    for i in (0..xs.len()).step_by(8) {
        // SAFETY: 8 values from i in each slice.
        unsafe {
            let v = _mm256_loadu_ps(xs.as_ptr().add(i));
            let t = _mm256_fmadd_ps(tanh8(v), _mm256_loadu_ps(scale.as_ptr().add(i)), _mm256_loadu_ps(offset.as_ptr().add(i)));
            _mm256_storeu_ps(xs.as_mut_ptr().add(i), t);
        }
    }
}

/// The LSTM cell update `c = f·c + i·g`, `h = o · tanh(c)` with AVX-512 (a last part of 8 in
/// AVX2, the rest scalar: no masked stores, which the loads that follow could not forward from).
///
/// # Safety
/// The CPU has AVX-512F; `gates` holds i, f, g, o of `c.len()` each, `h` has `c.len()`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(crate) unsafe fn cell_update_avx512(c: &mut [f32], h: &mut [f32], gates: &[f32]) {
    let n = c.len();
    debug_assert!(h.len() == n && gates.len() >= 4 * n);
    let (cp, hp, g) = (c.as_mut_ptr(), h.as_mut_ptr(), gates.as_ptr());
    let mut q = 0;
    // SAFETY: every access is below n in c and h, below 4n in gates.
    unsafe {
        while q + 16 <= n {
            let (i, f, gg, o) = (_mm512_loadu_ps(g.add(q)), _mm512_loadu_ps(g.add(n + q)), _mm512_loadu_ps(g.add(2 * n + q)), _mm512_loadu_ps(g.add(3 * n + q)));
            let cn = _mm512_fmadd_ps(f, _mm512_loadu_ps(cp.add(q)), _mm512_mul_ps(i, gg));
            _mm512_storeu_ps(cp.add(q), cn);
            _mm512_storeu_ps(hp.add(q), _mm512_mul_ps(o, tanh16(cn)));
            q += 16;
        }
        if q + 8 <= n {
            let (i, f, gg, o) = (_mm256_loadu_ps(g.add(q)), _mm256_loadu_ps(g.add(n + q)), _mm256_loadu_ps(g.add(2 * n + q)), _mm256_loadu_ps(g.add(3 * n + q)));
            let cn = _mm256_fmadd_ps(f, _mm256_loadu_ps(cp.add(q)), _mm256_mul_ps(i, gg));
            _mm256_storeu_ps(cp.add(q), cn);
            _mm256_storeu_ps(hp.add(q), _mm256_mul_ps(o, tanh8(cn)));
            q += 8;
        }
    }
    for q in q..n {
        c[q] = gates[n + q].mul_add(c[q], gates[q] * gates[2 * n + q]);
        h[q] = gates[3 * n + q] * tanh_with::<super::Plain>(c[q]);
    }
}

/// A one-layer LSTM of at most 16 units over a block of samples, its state in registers from
/// the first sample to the last: the four gates are four vectors (unit `q` in lane `q`), the
/// hidden state reaches the next sample's product by lane broadcasts instead of memory, and
/// the cell update needs no shuffling. What limits a small LSTM is the chain from one sample's
/// hidden state to the next's, and this keeps it short.
///
/// `cols` is `[inputs + hidden][4][16]`: per input (the audio first, then `inputs − 1` knob
/// values whose part the caller folded into `bias`, then the hidden state) the column of each
/// gate (i, f, g, o; sigmoid rows halved), zero beyond `hidden`; `bias` is `[4][16]`, `head_w`
/// 16 (zero beyond `hidden`). Non-finite input plays as 0.
///
/// # Safety
/// The CPU has AVX-512F; `hidden ≤ 16` and `h`, `c` hold `hidden` values; the other lengths as
/// said; `y.len() ≥ x.len()`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn lstm16_avx512(cols: &[f32], bias: &[f32], head_w: &[f32], head_b: f32, inputs: usize, hidden: usize, h: &mut [f32], c: &mut [f32], x: &[f32], y: &mut [f32]) {
    debug_assert!(hidden <= 16 && h.len() == hidden && c.len() == hidden && cols.len() >= (inputs + hidden) * 64 && bias.len() >= 64 && head_w.len() >= 16 && y.len() >= x.len());
    // SAFETY: every load and store stays within the lengths above (masked to `hidden` for h, c).
    unsafe {
        let mask: __mmask16 = ((1u32 << hidden) - 1) as __mmask16;
        let (w, half) = (cols.as_ptr(), _mm512_set1_ps(0.5));
        let col = |j: usize, t: usize| _mm512_loadu_ps(w.add(j * 64 + t * 16));
        let b = [0, 1, 2, 3].map(|t| _mm512_loadu_ps(bias.as_ptr().add(t * 16)));
        let hw = _mm512_loadu_ps(head_w.as_ptr());
        let mut hv = _mm512_maskz_loadu_ps(mask, h.as_ptr());
        let mut cv = _mm512_maskz_loadu_ps(mask, c.as_ptr());
        for (yo, &xs) in y.iter_mut().zip(x) {
            let xv = _mm512_set1_ps(if xs.is_finite() { xs } else { 0.0 });
            // Two sums over alternate hidden units halve the chain of multiply-adds.
            let mut even = [0, 1, 2, 3].map(|t| _mm512_fmadd_ps(col(0, t), xv, b[t]));
            let mut odd = [_mm512_setzero_ps(); 4];
            let mut j = 0;
            while j < hidden {
                let hj = _mm512_permutexvar_ps(_mm512_set1_epi32(j as i32), hv);
                for t in 0..4 {
                    even[t] = _mm512_fmadd_ps(col(inputs + j, t), hj, even[t]);
                }
                if j + 1 < hidden {
                    let hk = _mm512_permutexvar_ps(_mm512_set1_epi32(j as i32 + 1), hv);
                    for t in 0..4 {
                        odd[t] = _mm512_fmadd_ps(col(inputs + j + 1, t), hk, odd[t]);
                    }
                }
                j += 2;
            }
            let g = [0, 1, 2, 3].map(|t| _mm512_add_ps(even[t], odd[t]));
            let sig = |v: __m512| _mm512_fmadd_ps(half, tanh16(v), half);
            let (i, f, gg, o) = (sig(g[0]), sig(g[1]), tanh16(g[2]), sig(g[3]));
            cv = _mm512_fmadd_ps(f, cv, _mm512_mul_ps(i, gg));
            hv = _mm512_mul_ps(o, tanh16(cv));
            *yo = head_b + _mm512_reduce_add_ps(_mm512_mul_ps(hw, hv));
        }
        _mm512_mask_storeu_ps(h.as_mut_ptr(), mask, hv);
        _mm512_mask_storeu_ps(c.as_mut_ptr(), mask, cv);
    }
}

/// [`lstm16_avx512`] with AVX2, for at most 8 units (the first 8 lanes of each gate's 16).
///
/// # Safety
/// The CPU has AVX2 and FMA; `hidden ≤ 8`; otherwise as [`lstm16_avx512`].
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn lstm8_avx2(cols: &[f32], bias: &[f32], head_w: &[f32], head_b: f32, inputs: usize, hidden: usize, h: &mut [f32], c: &mut [f32], x: &[f32], y: &mut [f32]) {
    debug_assert!(hidden <= 8 && h.len() == hidden && c.len() == hidden && cols.len() >= (inputs + hidden) * 64 && bias.len() >= 64 && head_w.len() >= 16 && y.len() >= x.len());
    let (mut hs, mut cs) = ([0f32; 8], [0f32; 8]);
    hs[..hidden].copy_from_slice(h);
    cs[..hidden].copy_from_slice(c);
    // SAFETY: every load stays within the lengths above; h and c go through 8-lane copies.
    unsafe {
        let (w, half) = (cols.as_ptr(), _mm256_set1_ps(0.5));
        let col = |j: usize, t: usize| _mm256_loadu_ps(w.add(j * 64 + t * 16));
        let b = [0, 1, 2, 3].map(|t| _mm256_loadu_ps(bias.as_ptr().add(t * 16)));
        let hw = _mm256_loadu_ps(head_w.as_ptr());
        let mut hv = _mm256_loadu_ps(hs.as_ptr());
        let mut cv = _mm256_loadu_ps(cs.as_ptr());
        for (yo, &xs) in y.iter_mut().zip(x) {
            let xv = _mm256_set1_ps(if xs.is_finite() { xs } else { 0.0 });
            let mut even = [0, 1, 2, 3].map(|t| _mm256_fmadd_ps(col(0, t), xv, b[t]));
            let mut odd = [_mm256_setzero_ps(); 4];
            let mut j = 0;
            while j < hidden {
                let hj = _mm256_permutevar8x32_ps(hv, _mm256_set1_epi32(j as i32));
                for t in 0..4 {
                    even[t] = _mm256_fmadd_ps(col(inputs + j, t), hj, even[t]);
                }
                if j + 1 < hidden {
                    let hk = _mm256_permutevar8x32_ps(hv, _mm256_set1_epi32(j as i32 + 1));
                    for t in 0..4 {
                        odd[t] = _mm256_fmadd_ps(col(inputs + j + 1, t), hk, odd[t]);
                    }
                }
                j += 2;
            }
            let g = [0, 1, 2, 3].map(|t| _mm256_add_ps(even[t], odd[t]));
            let sig = |v: __m256| _mm256_fmadd_ps(half, tanh8(v), half);
            let (i, f, gg, o) = (sig(g[0]), sig(g[1]), tanh8(g[2]), sig(g[3]));
            cv = _mm256_fmadd_ps(f, cv, _mm256_mul_ps(i, gg));
            hv = _mm256_mul_ps(o, tanh8(cv));
            let p = _mm256_mul_ps(hw, hv);
            let s = _mm_add_ps(_mm256_castps256_ps128(p), _mm256_extractf128_ps::<1>(p));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
            *yo = head_b + _mm_cvtss_f32(s);
        }
        _mm256_storeu_ps(hs.as_mut_ptr(), hv);
        _mm256_storeu_ps(cs.as_mut_ptr(), cv);
    }
    h.copy_from_slice(&hs[..hidden]);
    c.copy_from_slice(&cs[..hidden]);
}

/// [`cell_update_avx512`] with AVX2.
///
/// # Safety
/// The CPU has AVX2 and FMA; `gates` holds i, f, g, o of `c.len()` each, `h` has `c.len()`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn cell_update_avx2(c: &mut [f32], h: &mut [f32], gates: &[f32]) {
    let n = c.len();
    debug_assert!(h.len() == n && gates.len() >= 4 * n);
    let (cp, hp, g) = (c.as_mut_ptr(), h.as_mut_ptr(), gates.as_ptr());
    let mut q = 0;
    // SAFETY: every access is below n in c and h, below 4n in gates.
    unsafe {
        while q + 8 <= n {
            let (i, f, gg, o) = (_mm256_loadu_ps(g.add(q)), _mm256_loadu_ps(g.add(n + q)), _mm256_loadu_ps(g.add(2 * n + q)), _mm256_loadu_ps(g.add(3 * n + q)));
            let cn = _mm256_fmadd_ps(f, _mm256_loadu_ps(cp.add(q)), _mm256_mul_ps(i, gg));
            _mm256_storeu_ps(cp.add(q), cn);
            _mm256_storeu_ps(hp.add(q), _mm256_mul_ps(o, tanh8(cn)));
            q += 8;
        }
    }
    for q in q..n {
        c[q] = gates[n + q].mul_add(c[q], gates[q] * gates[2 * n + q]);
        h[q] = gates[3 * n + q] * tanh_with::<super::Plain>(c[q]);
    }
}

/// One tile of [`super::matmul`]: 4 output rows × 16 samples in eight AVX2 registers,
/// `out[r·out_stride + t] += Σ_j w[r·k + j] · src[at + offsets[j] + t]`.
///
/// # Safety
/// The CPU has AVX2 and FMA; `w` holds `4·k` values (`k = offsets.len()`), every
/// `at + offsets[j] + 16 ≤ src.len()`, and `3·out_stride + 16 ≤ out.len()`.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn tile_4x16(w: &[f32], offsets: &[usize], src: &[f32], at: usize, out: &mut [f32], out_stride: usize) {
    let k = offsets.len();
    debug_assert!(w.len() >= 4 * k && out.len() >= 3 * out_stride + 16);
    // SAFETY: the offsets stay within the lengths the caller guarantees.
    unsafe {
        let (w, s, o) = (w.as_ptr(), src.as_ptr().add(at), out.as_mut_ptr());
        let mut acc = [[_mm256_setzero_ps(); 2]; 4];
        for (r, a) in acc.iter_mut().enumerate() {
            let row = o.add(r * out_stride);
            *a = [_mm256_loadu_ps(row), _mm256_loadu_ps(row.add(8))];
        }
        for (j, &off) in offsets.iter().enumerate() {
            let x = s.add(off);
            let (x0, x1) = (_mm256_loadu_ps(x), _mm256_loadu_ps(x.add(8)));
            for (r, a) in acc.iter_mut().enumerate() {
                let wv = _mm256_set1_ps(*w.add(r * k + j));
                a[0] = _mm256_fmadd_ps(wv, x0, a[0]);
                a[1] = _mm256_fmadd_ps(wv, x1, a[1]);
            }
        }
        for (r, a) in acc.iter().enumerate() {
            let row = o.add(r * out_stride);
            _mm256_storeu_ps(row, a[0]);
            _mm256_storeu_ps(row.add(8), a[1]);
        }
    }
}

/// [`tile_4x16`] with AVX-512: `R` output rows × 32 samples in `2R` registers (4 rows: eight
/// accumulators; 8 rows: sixteen multiply-adds per two sample loads and eight broadcasts).
///
/// # Safety
/// As [`tile_4x16`], with AVX-512F, `R` rows (`w` holds `R·k` values, `(R−1)·out_stride + 32 ≤
/// out.len()`) and 32 samples in place of 16.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(crate) unsafe fn tile_rx32<const R: usize>(w: &[f32], offsets: &[usize], src: &[f32], at: usize, out: &mut [f32], out_stride: usize) {
    let k = offsets.len();
    debug_assert!(w.len() >= R * k && out.len() >= (R - 1) * out_stride + 32);
    // SAFETY: the offsets stay within the lengths the caller guarantees.
    unsafe {
        let (w, s, o) = (w.as_ptr(), src.as_ptr().add(at), out.as_mut_ptr());
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        for (r, a) in acc.iter_mut().enumerate() {
            let row = o.add(r * out_stride);
            *a = [_mm512_loadu_ps(row), _mm512_loadu_ps(row.add(16))];
        }
        for (j, &off) in offsets.iter().enumerate() {
            let x = s.add(off);
            let (x0, x1) = (_mm512_loadu_ps(x), _mm512_loadu_ps(x.add(16)));
            for (r, a) in acc.iter_mut().enumerate() {
                let wv = _mm512_set1_ps(*w.add(r * k + j));
                a[0] = _mm512_fmadd_ps(wv, x0, a[0]);
                a[1] = _mm512_fmadd_ps(wv, x1, a[1]);
            }
        }
        for (r, a) in acc.iter().enumerate() {
            let row = o.add(r * out_stride);
            _mm512_storeu_ps(row, a[0]);
            _mm512_storeu_ps(row.add(16), a[1]);
        }
    }
}

/// The few rows a tile of four leaves (a 3-channel WaveNet has only these): `R ≤ 3` output rows
/// × 64 samples in `4R` registers. One row at a time, 32 samples wide, waits on each
/// multiply-add's latency (two chains); here `4R` chains share every sample load.
///
/// # Safety
/// As [`tile_rx32`], with 64 samples in place of 32.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(crate) unsafe fn tile_rx64<const R: usize>(w: &[f32], offsets: &[usize], src: &[f32], at: usize, out: &mut [f32], out_stride: usize) {
    let k = offsets.len();
    debug_assert!(w.len() >= R * k && out.len() >= (R - 1) * out_stride + 64);
    // SAFETY: the offsets stay within the lengths the caller guarantees.
    unsafe {
        let (w, s, o) = (w.as_ptr(), src.as_ptr().add(at), out.as_mut_ptr());
        let mut acc = [[_mm512_setzero_ps(); 4]; R];
        for (r, a) in acc.iter_mut().enumerate() {
            let row = o.add(r * out_stride);
            *a = [_mm512_loadu_ps(row), _mm512_loadu_ps(row.add(16)), _mm512_loadu_ps(row.add(32)), _mm512_loadu_ps(row.add(48))];
        }
        for (j, &off) in offsets.iter().enumerate() {
            let x = s.add(off);
            let xs = [_mm512_loadu_ps(x), _mm512_loadu_ps(x.add(16)), _mm512_loadu_ps(x.add(32)), _mm512_loadu_ps(x.add(48))];
            for (r, a) in acc.iter_mut().enumerate() {
                let wv = _mm512_set1_ps(*w.add(r * k + j));
                for (v, x) in a.iter_mut().zip(xs) {
                    *v = _mm512_fmadd_ps(wv, x, *v);
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            let row = o.add(r * out_stride);
            for (i, v) in a.iter().enumerate() {
                _mm512_storeu_ps(row.add(16 * i), *v);
            }
        }
    }
}

/// [`tile_rx64`] with AVX2: `R ≤ 3` rows × 32 samples in `4R` of the sixteen registers, the
/// `R` weights broadcast once per tap and each sample load shared by the rows.
///
/// # Safety
/// As [`tile_4x16`], with `R` rows and 32 samples in place of 4 and 16.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn tile_rx32_avx2<const R: usize>(w: &[f32], offsets: &[usize], src: &[f32], at: usize, out: &mut [f32], out_stride: usize) {
    let k = offsets.len();
    debug_assert!(w.len() >= R * k && out.len() >= (R - 1) * out_stride + 32);
    // SAFETY: the offsets stay within the lengths the caller guarantees.
    unsafe {
        let (w, s, o) = (w.as_ptr(), src.as_ptr().add(at), out.as_mut_ptr());
        let mut acc = [[_mm256_setzero_ps(); 4]; R];
        for (r, a) in acc.iter_mut().enumerate() {
            let row = o.add(r * out_stride);
            *a = [_mm256_loadu_ps(row), _mm256_loadu_ps(row.add(8)), _mm256_loadu_ps(row.add(16)), _mm256_loadu_ps(row.add(24))];
        }
        for (j, &off) in offsets.iter().enumerate() {
            let x = s.add(off);
            let mut wv = [_mm256_setzero_ps(); R];
            for (r, v) in wv.iter_mut().enumerate() {
                *v = _mm256_set1_ps(*w.add(r * k + j));
            }
            for i in 0..4 {
                let xv = _mm256_loadu_ps(x.add(8 * i));
                for (a, &wr) in acc.iter_mut().zip(&wv) {
                    a[i] = _mm256_fmadd_ps(wr, xv, a[i]);
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            let row = o.add(r * out_stride);
            for (i, v) in a.iter().enumerate() {
                _mm256_storeu_ps(row.add(8 * i), *v);
            }
        }
    }
}

/// A panel of a dense layer: `out[r·out_stride + t] = bias[r] + Σ_j wp[j·R + r] · src[j·src_stride + t]`
/// for `R` rows and 32 samples, in `2R` registers; the weights are packed panel by panel
/// (`R` values per input), so each is read once, as the broadcast operand of its multiply-adds.
///
/// # Safety
/// The CPU has AVX-512F; `wp` holds `R·k` values, `bias` `R`, `src` reaches
/// `(k−1)·src_stride + 32` and `out` `(R−1)·out_stride + 32`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(crate) unsafe fn panel_rx32<const R: usize>(wp: &[f32], bias: &[f32], k: usize, src: &[f32], src_stride: usize, out: &mut [f32], out_stride: usize) {
    debug_assert!(wp.len() >= R * k && bias.len() >= R && k > 0);
    debug_assert!(src.len() >= (k - 1) * src_stride + 32 && out.len() >= (R - 1) * out_stride + 32);
    // SAFETY: every offset stays within the lengths the caller guarantees.
    unsafe {
        let (w, s, o) = (wp.as_ptr(), src.as_ptr(), out.as_mut_ptr());
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        for (r, a) in acc.iter_mut().enumerate() {
            let b = _mm512_set1_ps(*bias.get_unchecked(r));
            *a = [b, b];
        }
        for j in 0..k {
            let x = s.add(j * src_stride);
            let (x0, x1) = (_mm512_loadu_ps(x), _mm512_loadu_ps(x.add(16)));
            let wj = w.add(j * R);
            for (r, a) in acc.iter_mut().enumerate() {
                let wv = _mm512_set1_ps(*wj.add(r));
                a[0] = _mm512_fmadd_ps(wv, x0, a[0]);
                a[1] = _mm512_fmadd_ps(wv, x1, a[1]);
            }
        }
        for (r, a) in acc.iter().enumerate() {
            let row = o.add(r * out_stride);
            _mm512_storeu_ps(row, a[0]);
            _mm512_storeu_ps(row.add(16), a[1]);
        }
    }
}

/// The frequency-domain half of two units of the dense network's first layer, 64 bins at a
/// time in sixteen registers: `A = Σ_q H_a[q] · X[q]`, `B = Σ_q H_b[q] · X[q]` over bins
/// 0..256, written as the spectrum of one complex signal whose real part is unit a's output
/// and whose imaginary part is unit b's: `z[k] = A[k] + i·B[k]`, `z[512−k] = conj(A[k]) +
/// i·conj(B[k])` (`z[512]` is scratch). `filters` is the pair's `[chunk][partition]` blocks of
/// 256 values (a's real and imaginary parts, then b's, 64 each); the input spectra of
/// partition `q` start at `slots[q]` in `xr` and `xi`.
///
/// # Safety
/// The CPU has AVX-512F; `filters` holds `4·256·slots.len()` values, `xr`/`xi` reach
/// `slots[q] + 256`, `z` holds 513 values.
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(crate) unsafe fn spectra_pair_avx512(filters: &[f32], xr: &[f32], xi: &[f32], slots: &[usize], z: &mut [realfft::num_complex::Complex<f32>]) {
    let parts = slots.len();
    debug_assert!(filters.len() >= 4 * 256 * parts && z.len() >= 513);
    debug_assert!(slots.iter().all(|&s| s + 256 <= xr.len() && s + 256 <= xi.len()));
    // SAFETY: every offset stays within the lengths asserted above.
    unsafe {
        let zp = z.as_mut_ptr() as *mut f32;
        let lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        let hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        let rev = _mm512_setr_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        for c in 0..4 {
            let zero = _mm512_setzero_ps();
            let (mut ar, mut ai, mut br, mut bi) = ([zero; 4], [zero; 4], [zero; 4], [zero; 4]);
            for (q, &slot) in slots.iter().enumerate() {
                let h = filters.as_ptr().add((c * parts + q) * 256);
                let (pr, pi) = (xr.as_ptr().add(slot + 64 * c), xi.as_ptr().add(slot + 64 * c));
                for g in 0..4 {
                    let (x_r, x_i) = (_mm512_loadu_ps(pr.add(16 * g)), _mm512_loadu_ps(pi.add(16 * g)));
                    let (har, hai) = (_mm512_loadu_ps(h.add(16 * g)), _mm512_loadu_ps(h.add(64 + 16 * g)));
                    let (hbr, hbi) = (_mm512_loadu_ps(h.add(128 + 16 * g)), _mm512_loadu_ps(h.add(192 + 16 * g)));
                    ar[g] = _mm512_fmadd_ps(har, x_r, _mm512_fnmadd_ps(hai, x_i, ar[g]));
                    ai[g] = _mm512_fmadd_ps(har, x_i, _mm512_fmadd_ps(hai, x_r, ai[g]));
                    br[g] = _mm512_fmadd_ps(hbr, x_r, _mm512_fnmadd_ps(hbi, x_i, br[g]));
                    bi[g] = _mm512_fmadd_ps(hbr, x_i, _mm512_fmadd_ps(hbi, x_r, bi[g]));
                }
            }
            for g in 0..4 {
                let k0 = 64 * c + 16 * g;
                let (re, im) = (_mm512_sub_ps(ar[g], bi[g]), _mm512_add_ps(ai[g], br[g]));
                _mm512_storeu_ps(zp.add(2 * k0), _mm512_permutex2var_ps(re, lo, im));
                _mm512_storeu_ps(zp.add(2 * k0 + 16), _mm512_permutex2var_ps(re, hi, im));
                // Bins 512 − k0 − 15 ..= 512 − k0, in rising order: the lanes reversed.
                let re = _mm512_permutexvar_ps(rev, _mm512_add_ps(ar[g], bi[g]));
                let im = _mm512_permutexvar_ps(rev, _mm512_sub_ps(br[g], ai[g]));
                let m = 2 * (512 - k0 - 15);
                _mm512_storeu_ps(zp.add(m), _mm512_permutex2var_ps(re, lo, im));
                _mm512_storeu_ps(zp.add(m + 16), _mm512_permutex2var_ps(re, hi, im));
            }
        }
    }
}
