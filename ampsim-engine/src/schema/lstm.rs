//! The LSTM's `.nam` `config`: `{"input_size": 1 + K, "hidden_size": H, "num_layers": L}`, where K
//! control values (knobs, normalised) join the audio sample as inputs of the first layer.

use serde::Deserialize;
use serde_json::Value;

/// The size of a stacked LSTM over the audio (plus `controls` constant inputs) with a linear head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LstmShape {
    pub hidden_size: usize,
    pub num_layers: usize,
    /// Control values fed beside the audio sample (0: an unconditioned capture).
    pub controls: usize,
}

#[derive(Debug, Deserialize)]
struct NamConfig {
    input_size: usize,
    hidden_size: usize,
    num_layers: usize,
}

/// Largest LSTM a file may describe: units per layer, layers, controls.
pub const MAX_HIDDEN: usize = 2048;
pub const MAX_LAYERS: usize = 16;
pub const MAX_CONTROLS: usize = 64;

impl LstmShape {
    /// NAM's LSTM presets, the sizes `ampsim train --preset` trains: `standard` 1×24, `lite` 2×8,
    /// `feather` 1×16, `nano` 1×12 (layers × units), without knobs. The one list of them: the
    /// libtorch models take theirs from here.
    pub fn preset(name: &str) -> Result<LstmShape, String> {
        let (num_layers, hidden_size) = match name {
            "standard" => (1, 24),
            "lite" => (2, 8),
            "feather" => (1, 16),
            "nano" => (1, 12),
            other => return Err(format!("unknown LSTM preset `{other}` (standard, lite, feather, nano)")),
        };
        Ok(LstmShape { hidden_size, num_layers, controls: 0 })
    }

    /// The shape a `.nam` LSTM `config` describes.
    pub fn from_nam(config: &Value) -> Result<LstmShape, String> {
        let c: NamConfig = serde_json::from_value(config.clone()).map_err(|e| format!("LSTM config: {e}"))?;
        if c.input_size == 0 {
            return Err("input_size must be at least 1 (the audio)".into());
        }
        if c.hidden_size == 0 || c.num_layers == 0 {
            return Err("hidden_size and num_layers must be positive".into());
        }
        // Far beyond NAM's LSTMs (1 × 24): no file makes a host allocate without bound.
        if c.hidden_size > MAX_HIDDEN || c.num_layers > MAX_LAYERS || c.input_size > 1 + MAX_CONTROLS {
            return Err(format!("hidden_size {}, num_layers {}, input_size {}: at most {MAX_HIDDEN}, {MAX_LAYERS} and {}", c.hidden_size, c.num_layers, c.input_size, 1 + MAX_CONTROLS));
        }
        Ok(LstmShape { hidden_size: c.hidden_size, num_layers: c.num_layers, controls: c.input_size - 1 })
    }

    /// Number of weights as NAM stores them: per layer the input and recurrent matrices side by
    /// side, one bias, the initial hidden and cell state; then the head's weights and bias.
    pub fn nam_weight_count(&self) -> usize {
        let h = self.hidden_size;
        (0..self.num_layers).map(|l| 4 * h * (if l == 0 { 1 + self.controls } else { h } + h) + 4 * h + 2 * h).sum::<usize>() + h + 1
    }
}
