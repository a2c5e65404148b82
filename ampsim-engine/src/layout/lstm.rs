//! The LSTM's `.nam` `config`: `{"input_size": 1, "hidden_size": H, "num_layers": L}`.

use serde::Deserialize;
use serde_json::Value;

/// The size of a stacked LSTM with one input and a linear head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LstmShape {
    pub hidden_size: usize,
    pub num_layers: usize,
}

#[derive(Debug, Deserialize)]
struct NamConfig {
    input_size: usize,
    hidden_size: usize,
    num_layers: usize,
}

impl LstmShape {
    /// The shape a `.nam` LSTM `config` describes.
    pub fn from_nam(config: &Value) -> Result<LstmShape, String> {
        let c: NamConfig = serde_json::from_value(config.clone()).map_err(|e| format!("LSTM config: {e}"))?;
        if c.input_size != 1 {
            return Err("only LSTMs with one input (no parametric inputs) are supported".into());
        }
        if c.hidden_size == 0 || c.num_layers == 0 {
            return Err("hidden_size and num_layers must be positive".into());
        }
        Ok(LstmShape { hidden_size: c.hidden_size, num_layers: c.num_layers })
    }

    /// Number of weights as NAM stores them: per layer the input and recurrent matrices side by
    /// side, one bias, the initial hidden and cell state; then the head's weights and bias.
    pub fn nam_weight_count(&self) -> usize {
        let h = self.hidden_size;
        (0..self.num_layers).map(|l| 4 * h * (if l == 0 { 1 } else { h } + h) + 4 * h + 2 * h).sum::<usize>() + h + 1
    }
}
