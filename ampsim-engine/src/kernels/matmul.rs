//! `out += W · X` where the rows of X are runs of samples at arbitrary places of one buffer
//! (the taps of a dilated convolution are rows of a delay line). Tiles of 4 outputs × 16
//! samples stay in registers over the whole sum; the compiler turns them into vector code.

use super::Mac;

const TILE_ROWS: usize = 4;

/// `out[m·out_stride + t] += Σ_j w[m·k + j] · src[base + offsets[j] + t]` for `m < rows`,
/// `t < n`, where `k = offsets.len()`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul<M: Mac>(w: &[f32], rows: usize, offsets: &[usize], src: &[f32], base: usize, out: &mut [f32], out_stride: usize, n: usize) {
    // Eight accumulator registers: 4 rows × 16 samples in AVX2, 4 × 32 in AVX-512.
    if M::AVX512 {
        matmul_tiled::<M, 32>(w, rows, offsets, src, base, out, out_stride, n)
    } else {
        matmul_tiled::<M, 16>(w, rows, offsets, src, base, out, out_stride, n)
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn matmul_tiled<M: Mac, const TILE_SAMPLES: usize>(w: &[f32], rows: usize, offsets: &[usize], src: &[f32], base: usize, out: &mut [f32], out_stride: usize, n: usize) {
    let k = offsets.len();
    debug_assert!(w.len() >= rows * k);
    let full = n - n % TILE_SAMPLES;
    // The rows a tile of four leaves, in wide tiles (AVX2, AVX-512): up to `wide` they are done.
    let few = rows % TILE_ROWS;
    let wide = if M::AVX2 && few > 0 { few_rows::<M>(w, rows - few, few, offsets, src, base, out, out_stride, n) } else { 0 };
    let mut t0 = 0;
    while t0 < full {
        let mut m0 = 0;
        #[cfg(target_arch = "x86_64")]
        if M::AVX512 && TILE_SAMPLES == 32 {
            while m0 + 2 * TILE_ROWS <= rows {
                let (wt, o) = (&w[m0 * k..(m0 + 2 * TILE_ROWS) * k], &mut out[m0 * out_stride + t0..]);
                if o.len() < (2 * TILE_ROWS - 1) * out_stride + TILE_SAMPLES || !offsets.iter().all(|&off| base + t0 + off + TILE_SAMPLES <= src.len()) {
                    break;
                }
                // SAFETY: compiled for AVX-512 (`M::AVX512`); the bounds were just checked.
                unsafe { super::x86::tile_rx32::<{ 2 * TILE_ROWS }>(wt, offsets, src, base + t0, o, out_stride) };
                m0 += 2 * TILE_ROWS;
            }
        }
        while m0 + TILE_ROWS <= rows {
            let (wt, o) = (&w[m0 * k..(m0 + TILE_ROWS) * k], &mut out[m0 * out_stride + t0..]);
            let bounded = o.len() >= (TILE_ROWS - 1) * out_stride + TILE_SAMPLES && offsets.iter().all(|&off| base + t0 + off + TILE_SAMPLES <= src.len());
            #[cfg(target_arch = "x86_64")]
            if bounded && M::AVX512 && TILE_SAMPLES == 32 {
                // SAFETY: compiled for AVX-512 (`M::AVX512`); the bounds were just checked.
                unsafe { super::x86::tile_rx32::<TILE_ROWS>(wt, offsets, src, base + t0, o, out_stride) };
                m0 += TILE_ROWS;
                continue;
            }
            #[cfg(target_arch = "x86_64")]
            if bounded && M::AVX2 && TILE_SAMPLES == 16 {
                // SAFETY: compiled for AVX2 and FMA (`M::AVX2`); the bounds were just checked.
                unsafe { super::x86::tile_4x16(wt, offsets, src, base + t0, o, out_stride) };
                m0 += TILE_ROWS;
                continue;
            }
            let _ = bounded;
            tile::<M, TILE_ROWS, TILE_SAMPLES>(w, k, m0, offsets, src, base + t0, out, out_stride, t0);
            m0 += TILE_ROWS;
        }
        while m0 < rows && !(t0 < wide && m0 >= rows - few) {
            tile::<M, 1, TILE_SAMPLES>(w, k, m0, offsets, src, base + t0, out, out_stride, t0);
            m0 += 1;
        }
        t0 += TILE_SAMPLES;
    }
    if full < n {
        for m in 0..rows {
            let row = &mut out[m * out_stride + full..m * out_stride + n];
            for (j, &off) in offsets.iter().enumerate() {
                let wv = w[m * k + j];
                let x = &src[base + off + full..base + off + n];
                for (o, &xv) in row.iter_mut().zip(x) {
                    *o = M::mac(wv, xv, *o);
                }
            }
        }
    }
}

/// Rows `m0..m0 + few` (`few ≤ 3`) in whole tiles of 64 samples ([`super::x86::tile_rx64`],
/// AVX-512) or 32 ([`super::x86::tile_rx32_avx2`]); the samples done (0 where the CPU or the
/// bounds do not allow it).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn few_rows<M: Mac>(w: &[f32], m0: usize, few: usize, offsets: &[usize], src: &[f32], base: usize, out: &mut [f32], out_stride: usize, n: usize) -> usize {
    let k = offsets.len();
    let width = if M::AVX512 { 64 } else { 32 };
    let mut t0 = 0;
    #[cfg(target_arch = "x86_64")]
    while M::AVX2 && t0 + width <= n {
        let (wt, o) = (&w[m0 * k..(m0 + few) * k], &mut out[m0 * out_stride + t0..]);
        if o.len() < (few - 1) * out_stride + width || !offsets.iter().all(|&off| base + t0 + off + width <= src.len()) {
            break;
        }
        use super::x86::{tile_rx32_avx2, tile_rx64};
        // SAFETY: compiled for AVX-512 (`M::AVX512`) or AVX2 and FMA (`M::AVX2`); the bounds
        // were just checked.
        unsafe {
            match (M::AVX512, few) {
                (true, 1) => tile_rx64::<1>(wt, offsets, src, base + t0, o, out_stride),
                (true, 2) => tile_rx64::<2>(wt, offsets, src, base + t0, o, out_stride),
                (true, _) => tile_rx64::<3>(wt, offsets, src, base + t0, o, out_stride),
                (false, 1) => tile_rx32_avx2::<1>(wt, offsets, src, base + t0, o, out_stride),
                (false, 2) => tile_rx32_avx2::<2>(wt, offsets, src, base + t0, o, out_stride),
                (false, _) => tile_rx32_avx2::<3>(wt, offsets, src, base + t0, o, out_stride),
            }
        }
        t0 += width;
    }
    let _ = (w, m0, few, offsets, src, base, out, out_stride, n, k, width);
    t0
}

/// One tile: `R` output rows from `m0`, `TILE_SAMPLES` samples from `t0`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile<M: Mac, const R: usize, const TILE_SAMPLES: usize>(w: &[f32], k: usize, m0: usize, offsets: &[usize], src: &[f32], at: usize, out: &mut [f32], out_stride: usize, t0: usize) {
    let mut acc = [[0f32; TILE_SAMPLES]; R];
    for (r, a) in acc.iter_mut().enumerate() {
        let o = (m0 + r) * out_stride + t0;
        a.copy_from_slice(&out[o..o + TILE_SAMPLES]);
    }
    let w = &w[m0 * k..(m0 + R) * k];
    for (j, &off) in offsets.iter().enumerate() {
        let x: &[f32; TILE_SAMPLES] = src[at + off..at + off + TILE_SAMPLES].try_into().expect("one tile of samples");
        for (r, a) in acc.iter_mut().enumerate() {
            let wv = w[r * k + j];
            for i in 0..TILE_SAMPLES {
                a[i] = M::mac(wv, x[i], a[i]);
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        let o = (m0 + r) * out_stride + t0;
        out[o..o + TILE_SAMPLES].copy_from_slice(a);
    }
}

/// `dst[i] += src[i]`.
#[inline(always)]
pub(crate) fn add_rows(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Plain;

    #[test]
    fn the_product_is_the_naive_sum_for_every_shape() {
        let src: Vec<f32> = (0..400).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
        for (rows, k, n) in [(4, 3, 16), (6, 5, 37), (1, 1, 1), (9, 7, 64), (3, 2, 15)] {
            let w: Vec<f32> = (0..rows * k).map(|i| ((i * 13 % 17) as f32 - 8.0) / 8.0).collect();
            let offsets: Vec<usize> = (0..k).map(|j| j * 23 % 50).collect();
            let (stride, base) = (70, 5);
            let mut out = vec![0.5f32; rows * stride];
            matmul::<Plain>(&w, rows, &offsets, &src, base, &mut out, stride, n);
            for m in 0..rows {
                for t in 0..stride {
                    let expected = if t < n { 0.5 + (0..k).map(|j| w[m * k + j] * src[base + offsets[j] + t]).sum::<f32>() } else { 0.5 };
                    assert!((out[m * stride + t] - expected).abs() < 1e-5, "{rows}x{k}x{n} at {m},{t}");
                }
            }
        }
    }

    #[test]
    fn every_instruction_set_computes_the_same_product() {
        // Every row count (a tile of eight, of four, and the 1–3 rows left), whole and partial
        // 64-sample tiles, with the best kernels this CPU runs.
        let src: Vec<f32> = (0..1200).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
        for rows in 1..=11 {
            for (k, n) in [(18, 64), (3, 128), (48, 100), (1, 37)] {
                let w: Vec<f32> = (0..rows * k).map(|i| ((i * 13 % 17) as f32 - 8.0) / 8.0).collect();
                let offsets: Vec<usize> = (0..k).map(|j| j * 23 % 300).collect();
                let (stride, base) = (150, 5);
                let expected = {
                    let mut out = vec![0.5f32; rows * stride];
                    matmul::<Plain>(&w, rows, &offsets, &src, base, &mut out, stride, n);
                    out
                };
                for simd in [crate::kernels::Simd::Avx512, crate::kernels::Simd::Avx2Fma] {
                    let mut out = vec![0.5f32; rows * stride];
                    match simd {
                        #[cfg(target_arch = "x86_64")]
                        crate::kernels::Simd::Avx512 if simd.available() => matmul::<crate::kernels::Fused512>(&w, rows, &offsets, &src, base, &mut out, stride, n),
                        #[cfg(target_arch = "x86_64")]
                        crate::kernels::Simd::Avx2Fma if simd.available() => matmul::<crate::kernels::Fused>(&w, rows, &offsets, &src, base, &mut out, stride, n),
                        _ => continue,
                    }
                    for (i, (a, b)) in out.iter().zip(&expected).enumerate() {
                        assert!((a - b).abs() < 1e-4, "{simd:?}: {rows} rows, {k} taps, {n} samples: at {i} {a} vs {b}");
                    }
                }
            }
        }
    }
}
