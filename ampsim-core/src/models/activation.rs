//! Nonlinearities, under the names PyTorch and Neural Amp Modeler give them.

use serde::{Deserialize, Serialize};
use tch::Tensor;

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
}

impl Activation {
    pub fn apply(self, xs: &Tensor) -> Tensor {
        match self {
            Activation::Relu => xs.relu(),
            Activation::Tanh => xs.tanh(),
            Activation::Linear => xs.shallow_clone(),
            // max(x, a·x) for 0 ≤ a ≤ 1: two operations instead of four.
            Activation::LeakyRelu { negative_slope } if (0.0..=1.0).contains(&negative_slope) => xs.maximum(&(xs * negative_slope)),
            Activation::LeakyRelu { negative_slope } => xs.relu() - (-xs).relu() * negative_slope,
            Activation::Sigmoid => xs.sigmoid(),
            Activation::Silu => xs * xs.sigmoid(),
            Activation::Hardtanh { min_val, max_val } => xs.clamp(min_val, max_val),
            Activation::Softsign => xs / (xs.abs() + 1.0),
        }
    }

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
        }
    }

    /// The activation NAM calls `name`, with its parameters where it has any (PyTorch's
    /// defaults when they are not given); `None` for one ampsim does not have.
    pub fn from_nam(name: &str, negative_slope: Option<f64>, min_val: Option<f64>, max_val: Option<f64>) -> Option<Activation> {
        Some(match name {
            "ReLU" => Activation::Relu,
            "Tanh" => Activation::Tanh,
            "Identity" => Activation::Linear,
            "LeakyReLU" => Activation::LeakyRelu { negative_slope: negative_slope.unwrap_or(0.01) },
            "Sigmoid" => Activation::Sigmoid,
            "SiLU" | "Swish" => Activation::Silu,
            "Hardtanh" => Activation::Hardtanh { min_val: min_val.unwrap_or(-1.0), max_val: max_val.unwrap_or(1.0) },
            "Softsign" => Activation::Softsign,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn each_activation_is_what_torch_computes() {
        let x = Tensor::linspace(-3.0, 3.0, 61, (Kind::Float, Device::Cpu));
        let close = |a: &Tensor, b: &Tensor| a.allclose(b, 1e-6, 1e-6, false);
        assert!(close(&Activation::LeakyRelu { negative_slope: 0.01 }.apply(&x), &x.leaky_relu()));
        assert!(close(&Activation::Silu.apply(&x), &x.silu()));
        assert!(close(&Activation::Hardtanh { min_val: -1.0, max_val: 1.0 }.apply(&x), &x.hardtanh()));
        assert!(close(&Activation::Softsign.apply(&x), &(&x / (x.abs() + 1.0))));
        assert!(close(&Activation::Sigmoid.apply(&x), &x.sigmoid()));
        for a in [Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::Silu, Activation::Softsign, Activation::LeakyRelu { negative_slope: 0.2 }] {
            assert_eq!(Activation::from_nam(a.nam_name(), Some(0.2), None, None), Some(a));
        }
        assert_eq!(Activation::from_nam("Hardswish", None, None, None), None);
    }
}
