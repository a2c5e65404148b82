//! The arithmetic every model shares: delay lines that never reallocate ([`History`]) and a
//! small matrix product over rows of samples ([`matmul`]), written so that the compiler
//! vectorises them; [`Simd`] picks, once per model, whether the CPU's AVX2 and FMA
//! instructions run them.

mod aligned;
pub(crate) mod approx;
mod history;
mod matmul;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

pub(crate) use aligned::Aligned;
pub(crate) use history::History;
pub(crate) use matmul::{add_rows, matmul};

/// How multiply-adds are computed: fused (one rounding, the FMA instruction) or plain.
pub(crate) trait Mac {
    /// Code using it runs in a function compiled for AVX2 and FMA (hand-written kernels may
    /// then use their intrinsics).
    const AVX2: bool;
    /// … and for AVX-512 (16 floats per register).
    const AVX512: bool;
    fn mac(a: f32, b: f32, acc: f32) -> f32;
}

/// `a·b + acc` in one instruction; only inside code compiled for FMA (else it is a slow call).
pub(crate) struct Fused;
impl Mac for Fused {
    const AVX2: bool = true;
    const AVX512: bool = false;
    #[inline(always)]
    fn mac(a: f32, b: f32, acc: f32) -> f32 {
        a.mul_add(b, acc)
    }
}

/// [`Fused`], inside code compiled for AVX-512 too.
pub(crate) struct Fused512;
impl Mac for Fused512 {
    const AVX2: bool = true;
    const AVX512: bool = true;
    #[inline(always)]
    fn mac(a: f32, b: f32, acc: f32) -> f32 {
        a.mul_add(b, acc)
    }
}

/// `a·b + acc`, two roundings; for CPUs without FMA.
pub(crate) struct Plain;
impl Mac for Plain {
    const AVX2: bool = false;
    const AVX512: bool = false;
    #[inline(always)]
    fn mac(a: f32, b: f32, acc: f32) -> f32 {
        a * b + acc
    }
}

/// The instruction set a model runs with, chosen once when it is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    /// AVX-512 (foundation), AVX2 and FMA (x86-64 server CPUs since 2017, some desktops).
    Avx512,
    /// AVX2 and FMA (x86-64 CPUs since 2013).
    Avx2Fma,
    /// Whatever the build targets (SSE2 on x86-64, NEON on 64-bit ARM).
    Baseline,
}

impl Simd {
    /// The best this CPU has.
    pub fn detect() -> Simd {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            if std::arch::is_x86_feature_detected!("avx512f") && std::env::var_os("AMPSIM_NO_AVX512").is_none() {
                return Simd::Avx512;
            }
            return Simd::Avx2Fma;
        }
        Simd::Baseline
    }

    /// Whether this CPU can run `self`.
    pub fn available(self) -> bool {
        match (self, Simd::detect()) {
            (Simd::Baseline, _) | (_, Simd::Avx512) => true,
            (Simd::Avx2Fma, best) => best == Simd::Avx2Fma,
            (Simd::Avx512, _) => false,
        }
    }
}
