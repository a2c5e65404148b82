//! Nonlinearities, under the names PyTorch and Neural Amp Modeler give them, and how the engine
//! computes them: tanh and the sigmoid by a rational approximation that vectorises (within
//! 5e-7 of the exact value, see the tests), the rest exactly.

use serde::{Deserialize, Serialize};

use crate::kernels::approx::{clamp, sigmoid_with, tanh_with};
use crate::kernels::{Mac, Plain};

/// A pointwise nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    Relu,
    Tanh,
    /// The identity.
    Linear,
    /// `x` above 0, `negative_slope · x` below (NAM's A2: slope 0.01).
    LeakyRelu { negative_slope: f64 },
    Sigmoid,
    /// `x · sigmoid(x)` (also called Swish).
    Silu,
    /// `x` clamped to `min_val..=max_val` (PyTorch's default: −1..1).
    Hardtanh { min_val: f64, max_val: f64 },
    /// `x / (1 + |x|)`.
    Softsign,
    /// `x · clamp(x + 3, 0, 6) / 6`.
    Hardswish,
    /// `x` inside `min_val..=max_val`, continued with slope `min_slope` below and `max_slope`
    /// above (NAM's; its defaults −1, 1, 0.01, 0.01).
    LeakyHardtanh { min_val: f64, max_val: f64, min_slope: f64, max_slope: f64 },
}

/// An activation's parameters as a `.nam` file names them (absent ones take the defaults).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NamParameters {
    pub negative_slope: Option<f64>,
    pub min_val: Option<f64>,
    pub max_val: Option<f64>,
    pub min_slope: Option<f64>,
    pub max_slope: Option<f64>,
}

impl Activation {
    /// NAM's name for it (`"Tanh"`, `"LeakyReLU"`, …).
    pub fn nam_name(self) -> &'static str {
        match self {
            Activation::Relu => "ReLU",
            Activation::Tanh => "Tanh",
            Activation::Linear => "Identity",
            Activation::LeakyRelu { .. } => "LeakyReLU",
            Activation::Sigmoid => "Sigmoid",
            Activation::Silu => "SiLU",
            Activation::Hardtanh { .. } => "Hardtanh",
            Activation::Softsign => "Softsign",
            Activation::Hardswish => "Hardswish",
            Activation::LeakyHardtanh { .. } => "LeakyHardtanh",
        }
    }

    /// The activation NAM calls `name`, with its parameters where it has any (PyTorch's
    /// defaults when they are not given); `None` for one ampsim does not have.
    pub fn from_nam(name: &str, p: NamParameters) -> Option<Activation> {
        let NamParameters { negative_slope, min_val, max_val, min_slope, max_slope } = p;
        Some(match name {
            "ReLU" => Activation::Relu,
            "Tanh" => Activation::Tanh,
            "Identity" => Activation::Linear,
            "LeakyReLU" => Activation::LeakyRelu { negative_slope: negative_slope.unwrap_or(0.01) },
            "Sigmoid" => Activation::Sigmoid,
            "SiLU" | "Swish" => Activation::Silu,
            "Hardtanh" => Activation::Hardtanh { min_val: min_val.unwrap_or(-1.0), max_val: max_val.unwrap_or(1.0) },
            "Softsign" => Activation::Softsign,
            "Hardswish" => Activation::Hardswish,
            "LeakyHardtanh" | "LeakyHardTanh" => Activation::LeakyHardtanh {
                min_val: min_val.unwrap_or(-1.0),
                max_val: max_val.unwrap_or(1.0),
                min_slope: min_slope.unwrap_or(0.01),
                max_slope: max_slope.unwrap_or(0.01),
            },
            _ => return None,
        })
    }

    /// Its parameters under NAM's names.
    pub fn nam_parameters(self) -> NamParameters {
        match self {
            Activation::LeakyRelu { negative_slope } => NamParameters { negative_slope: Some(negative_slope), ..Default::default() },
            Activation::Hardtanh { min_val, max_val } => NamParameters { min_val: Some(min_val), max_val: Some(max_val), ..Default::default() },
            Activation::LeakyHardtanh { min_val, max_val, min_slope, max_slope } => NamParameters { min_val: Some(min_val), max_val: Some(max_val), min_slope: Some(min_slope), max_slope: Some(max_slope), ..Default::default() },
            _ => NamParameters::default(),
        }
    }

    /// Apply in place to every value of `xs`.
    #[inline(always)]
    pub fn apply_in_place(self, xs: &mut [f32]) {
        self.apply_with::<Plain>(xs)
    }

    /// [`Self::apply_in_place`] with multiply-adds as `M` says.
    #[inline(always)]
    pub(crate) fn apply_with<M: Mac>(self, xs: &mut [f32]) {
        match self {
            Activation::Tanh => return tanh_affine::<M>(xs, 1.0, 1.0, 0.0),
            Activation::Sigmoid => return tanh_affine::<M>(xs, 0.5, 0.5, 0.5),
            _ => {}
        }
        let (tanh, sigmoid) = (tanh_with::<M>, sigmoid_with::<M>);
        match self {
            Activation::Relu => xs.iter_mut().for_each(|x| *x = if *x > 0.0 { *x } else { 0.0 }),
            Activation::Tanh => xs.iter_mut().for_each(|x| *x = tanh(*x)),
            Activation::Linear => {}
            Activation::LeakyRelu { negative_slope } => {
                let a = negative_slope as f32;
                xs.iter_mut().for_each(|x| *x = if *x > 0.0 { *x } else { a * *x })
            }
            Activation::Sigmoid => xs.iter_mut().for_each(|x| *x = sigmoid(*x)),
            Activation::Silu => xs.iter_mut().for_each(|x| *x *= sigmoid(*x)),
            Activation::Hardtanh { min_val, max_val } => {
                let (lo, hi) = (min_val as f32, max_val as f32);
                xs.iter_mut().for_each(|x| *x = clamp(*x, lo, hi))
            }
            Activation::Softsign => xs.iter_mut().for_each(|x| *x /= 1.0 + x.abs()),
            Activation::Hardswish => xs.iter_mut().for_each(|x| *x = *x * clamp(*x + 3.0, 0.0, 6.0) / 6.0),
            Activation::LeakyHardtanh { min_val, max_val, min_slope, max_slope } => {
                let (lo, hi, sl, sh) = (min_val as f32, max_val as f32, min_slope as f32, max_slope as f32);
                xs.iter_mut().for_each(|x| {
                    *x = if *x < lo {
                        (*x - lo) * sl + lo
                    } else if *x > hi {
                        (*x - hi) * sh + hi
                    } else {
                        *x
                    }
                })
            }
        }
    }
}

/// tanh as a 13/6 rational function on −7.9..7.9 (±1 beyond; the odd/even minimax fit Eigen
/// uses for floats); within 5e-7 of the exact value everywhere.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    tanh_with::<Plain>(x)
}

/// The logistic sigmoid, `(1 + tanh(x/2)) / 2`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    sigmoid_with::<Plain>(x)
}

/// `xs[i] = scale · tanh(pre · xs[i]) + offset`, in vector code where `M` allows.
#[inline(always)]
pub(crate) fn tanh_affine<M: Mac>(xs: &mut [f32], pre: f32, scale: f32, offset: f32) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `M::AVX512`/`M::AVX2` say the code runs compiled for those instructions.
        if M::AVX512 {
            return unsafe { crate::kernels::x86::tanh_affine_avx512(xs, pre, scale, offset) };
        }
        if M::AVX2 {
            return unsafe { crate::kernels::x86::tanh_affine_avx2(xs, pre, scale, offset) };
        }
    }
    for x in xs.iter_mut() {
        *x = M::mac(scale, tanh_with::<M>(pre * *x), offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_and_sigmoid_are_within_5e_7_of_the_exact_values() {
        let mut worst = (0f64, 0f64);
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            worst.0 = worst.0.max((tanh(x) as f64 - (x as f64).tanh()).abs());
            worst.1 = worst.1.max((sigmoid(x) as f64 - 1.0 / (1.0 + (-(x as f64)).exp())).abs());
        }
        assert!(worst.0 < 5e-7 && worst.1 < 5e-7, "{worst:?}");
        assert_eq!((tanh(1e30), tanh(-1e30), sigmoid(-1e30)), (1.0, -1.0, 0.0));
    }

    #[test]
    fn every_activation_keeps_its_nam_name() {
        let leaky_hardtanh = Activation::LeakyHardtanh { min_val: 0.0, max_val: 0.9, min_slope: 0.0, max_slope: 0.02 };
        for a in [Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::Silu, Activation::Softsign, Activation::Hardswish, Activation::LeakyRelu { negative_slope: 0.2 }, leaky_hardtanh] {
            assert_eq!(Activation::from_nam(a.nam_name(), a.nam_parameters()), Some(a));
        }
        assert_eq!(Activation::from_nam("Mish", NamParameters::default()), None);
        let mut x = [-4.0, -1.5, 0.5, 4.0];
        Activation::Hardswish.apply_in_place(&mut x);
        assert_eq!(x, [0.0, -0.375, 0.5 * 3.5 / 6.0, 4.0]);
        let mut x = [-1.0, 0.5, 1.9];
        leaky_hardtanh.apply_in_place(&mut x);
        assert!((x[0] - 0.0).abs() < 1e-7 && x[1] == 0.5 && (x[2] - 0.92).abs() < 1e-6, "{x:?}");
        let mut x = [-2.0, -0.5, 0.5, 2.0];
        Activation::Hardtanh { min_val: -1.0, max_val: 1.0 }.apply_in_place(&mut x);
        assert_eq!(x, [-1.0, -0.5, 0.5, 1.0]);
    }
}
