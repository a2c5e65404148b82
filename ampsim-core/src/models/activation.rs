//! Nonlinearities, under the names PyTorch and Neural Amp Modeler give them: the
//! [`Activation`] names are the engine's (`ampsim_engine::Activation`); here they apply to
//! tensors.

use tch::Tensor;

pub use ampsim_engine::Activation;

/// An activation applied to a tensor, as libtorch computes it.
pub trait ApplyToTensor {
    fn apply(self, xs: &Tensor) -> Tensor;
}

impl ApplyToTensor for Activation {
    fn apply(self, xs: &Tensor) -> Tensor {
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
            Activation::Hardswish => xs.hardswish(),
            Activation::LeakyHardtanh { min_val, max_val, min_slope, max_slope } => {
                let inside = xs.clamp(min_val, max_val);
                &inside + (xs - min_val).clamp_max(0.0) * min_slope + (xs - max_val).clamp_min(0.0) * max_slope
            }
        }
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
        assert!(close(&Activation::Hardswish.apply(&x), &x.hardswish()));
        // The engine's values of every activation are libtorch's.
        let values: Vec<f32> = Vec::try_from(&x).unwrap();
        let leaky_hardtanh = Activation::LeakyHardtanh { min_val: -0.5, max_val: 0.9, min_slope: 0.1, max_slope: 0.02 };
        for a in [Activation::Hardswish, leaky_hardtanh, Activation::Softsign, Activation::Silu] {
            let mut engine = values.clone();
            a.apply_in_place(&mut engine);
            assert!(close(&a.apply(&x), &Tensor::from_slice(&engine)), "{a:?}");
        }
    }
}
