//! The arithmetic every model shares: delay lines that never reallocate ([`History`]) and a
//! small matrix product over rows of samples ([`matmul`]), written so that the compiler
//! vectorises them; [`Simd`] picks, once per model, whether the CPU's AVX2 and FMA
//! instructions run them.

mod history;
mod matmul;

pub(crate) use history::History;
pub(crate) use matmul::{add_rows, matmul};

/// How multiply-adds are computed: fused (one rounding, the FMA instruction) or plain.
pub(crate) trait Mac {
    fn mac(a: f32, b: f32, acc: f32) -> f32;
}

/// `a·b + acc` in one instruction; only inside code compiled for FMA (else it is a slow call).
pub(crate) struct Fused;
impl Mac for Fused {
    #[inline(always)]
    fn mac(a: f32, b: f32, acc: f32) -> f32 {
        a.mul_add(b, acc)
    }
}

/// `a·b + acc`, two roundings; for CPUs without FMA.
pub(crate) struct Plain;
impl Mac for Plain {
    #[inline(always)]
    fn mac(a: f32, b: f32, acc: f32) -> f32 {
        a * b + acc
    }
}

/// The instruction set a model runs with, chosen once when it is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
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
            return Simd::Avx2Fma;
        }
        Simd::Baseline
    }
}
