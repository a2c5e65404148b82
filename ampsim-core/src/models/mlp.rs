//! The post's dense network: a window of DI samples → hidden ReLU layers with dropout →
//! one output sample through tanh.

use tch::nn::{self, Init, Module};
use tch::Tensor;

use super::activation::ApplyToTensor;
use super::Activation;
use crate::{Error, Result};

/// Configuration of [`Mlp`]. Defaults are the post's model: 4000 inputs, three hidden layers
/// of 256 ReLU units each followed by dropout 0.5, one tanh output (1 156 097 parameters).
#[derive(Clone, Debug, PartialEq)]
pub struct MlpConfig {
    /// Samples in the input window (default 4000).
    pub input_samples: usize,
    /// Width of each hidden layer (default `[256, 256, 256]`).
    pub hidden: Vec<usize>,
    /// Dropout after each hidden layer during training (default 0.5).
    pub dropout: f64,
    /// Activation of the hidden layers (default ReLU).
    pub hidden_activation: Activation,
    /// Activation of the output (default tanh).
    pub output_activation: Activation,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            input_samples: 4000,
            hidden: vec![256, 256, 256],
            dropout: 0.5,
            hidden_activation: Activation::Relu,
            output_activation: Activation::Tanh,
        }
    }
}

impl MlpConfig {
    /// The post's model with `layers` hidden layers of 256 units.
    pub fn post_with_layers(layers: usize) -> MlpConfig {
        MlpConfig { hidden: vec![256; layers], ..MlpConfig::default() }
    }

    /// Parameters the model will have: Σ (inputs + 1) × outputs over its dense layers.
    pub fn parameter_count(&self) -> usize {
        let mut inputs = self.input_samples;
        let mut total = 0;
        for &h in self.hidden.iter().chain(std::iter::once(&1)) {
            total += (inputs + 1) * h;
            inputs = h;
        }
        total
    }
}

/// Dense network over a window of samples: `[batch, input_samples]` → `[batch, 1]`.
#[derive(Debug)]
pub struct Mlp {
    hidden: Vec<nn::Linear>,
    output: nn::Linear,
    pub config: MlpConfig,
}

/// Keras's default initialisation of a Dense layer: Glorot-uniform weights, zero bias.
fn keras_dense(vs: nn::Path, inputs: usize, outputs: usize) -> nn::Linear {
    let limit = (6.0 / (inputs + outputs) as f64).sqrt();
    let cfg = nn::LinearConfig { ws_init: Init::Uniform { lo: -limit, up: limit }, bs_init: Some(Init::Const(0.0)), bias: true };
    nn::linear(vs, inputs as i64, outputs as i64, cfg)
}

impl Mlp {
    pub fn new(vs: &nn::Path, config: &MlpConfig) -> Result<Mlp> {
        if config.input_samples == 0 || config.hidden.contains(&0) {
            return Err(Error::invalid("config", "input_samples and every hidden width must be positive"));
        }
        if !(0.0..1.0).contains(&config.dropout) {
            return Err(Error::invalid("dropout", format!("{} is outside 0..1", config.dropout)));
        }
        let mut inputs = config.input_samples;
        let mut hidden = Vec::new();
        for (i, &h) in config.hidden.iter().enumerate() {
            hidden.push(keras_dense(vs / format!("dense{i}"), inputs, h));
            inputs = h;
        }
        let output = keras_dense(vs / "output", inputs, 1);
        Ok(Mlp { hidden, output, config: config.clone() })
    }

    /// The real-time engine's copy of this network, for windows with `future_samples` after the
    /// target (the post's: 300): plays what [`Self::forward_t`] computes, `latency_samples`
    /// behind the input.
    pub fn engine(&self, future_samples: usize) -> Result<ampsim_engine::models::DenseNet> {
        let values = |t: &Tensor| -> Result<Vec<f32>> { Ok(Vec::<f32>::try_from(t.detach().to_device(tch::Device::Cpu).contiguous().view([-1]))?) };
        let layer = |l: &nn::Linear| -> Result<ampsim_engine::models::DenseLayer> {
            let bias = l.bs.as_ref().map_or(Ok(vec![0.0; l.ws.size()[0] as usize]), values)?;
            Ok(ampsim_engine::models::DenseLayer { weights: values(&l.ws)?, bias })
        };
        let layers = self.hidden.iter().chain(std::iter::once(&self.output)).map(layer).collect::<Result<Vec<_>>>()?;
        let config = ampsim_engine::models::DenseConfig {
            window_samples: self.config.input_samples,
            future_samples,
            hidden_activation: self.config.hidden_activation,
            output_activation: self.config.output_activation,
        };
        ampsim_engine::models::DenseNet::new(config, layers).map_err(|e| Error::invalid("model", e))
    }

    /// Forward pass; dropout is active only when `train` is true.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut h = xs.shallow_clone();
        for layer in &self.hidden {
            h = self.config.hidden_activation.apply(&layer.forward(&h));
            if self.config.dropout > 0.0 {
                h = h.dropout(self.config.dropout, train);
            }
        }
        self.config.output_activation.apply(&self.output.forward(&h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::parameter_count;
    use tch::{Device, Kind};

    #[test]
    fn the_posts_model_has_1_156_097_parameters() {
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = MlpConfig::default();
        let _m = Mlp::new(&vs.root(), &cfg).unwrap();
        assert_eq!(parameter_count(&vs), 1_156_097);
        assert_eq!(cfg.parameter_count(), 1_156_097);
        assert_eq!(MlpConfig::post_with_layers(1).parameter_count(), 4001 * 256 + 257);
    }

    #[test]
    fn shapes_and_output_range() {
        let vs = nn::VarStore::new(Device::Cpu);
        let m = Mlp::new(&vs.root(), &MlpConfig { input_samples: 64, ..MlpConfig::default() }).unwrap();
        let x = Tensor::randn([7, 64], (Kind::Float, Device::Cpu)) * 10.0;
        let y = m.forward_t(&x, false);
        assert_eq!(y.size(), vec![7, 1]);
        assert!(y.abs().max().double_value(&[]) <= 1.0);
        // Without dropout the forward pass is deterministic; with it, it is not.
        assert!(m.forward_t(&x, false).equal(&y));
        assert!(!m.forward_t(&x, true).equal(&m.forward_t(&x, true)));
        assert!(Mlp::new(&vs.root(), &MlpConfig { dropout: 1.0, ..MlpConfig::default() }).is_err());
    }
}
