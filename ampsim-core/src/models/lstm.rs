//! A stacked LSTM over raw samples with a linear head — the recurrent amp model of Wright,
//! Damskägg & Välimäki (DAFx 2019) and of Neural Amp Modeler's LSTM architecture.
//!
//! Input `[batch, time]` → LSTM (input 1, hidden H, L layers) → linear head → `[batch, time]`,
//! optionally plus the input (Wright et al.'s skip connection). The initial hidden and cell
//! states are trainable parameters, as NAM stores them in its `.nam` files.

use tch::nn::{self, Module, RNN};
use tch::Tensor;

use crate::{Error, Result};

/// Configuration of [`Lstm`]. The default is NAM's "standard" preset: one layer of 24.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LstmConfig {
    /// Hidden units per layer (default 24).
    pub hidden_size: usize,
    /// Stacked layers (default 1).
    pub num_layers: usize,
    /// Add the input to the head's output (default false, as NAM).
    pub input_skip: bool,
    /// Samples at the start of each training segment that only warm up the state and are not
    /// scored (default 1024).
    pub burn_in_samples: usize,
}

impl Default for LstmConfig {
    fn default() -> Self {
        LstmConfig { hidden_size: 24, num_layers: 1, input_skip: false, burn_in_samples: 1024 }
    }
}

impl LstmConfig {
    /// NAM's presets: `standard` 1×24, `lite` 2×8, `feather` 1×16, `nano` 1×12.
    pub fn preset(name: &str) -> Result<LstmConfig> {
        let (num_layers, hidden_size) = match name {
            "standard" => (1, 24),
            "lite" => (2, 8),
            "feather" => (1, 16),
            "nano" => (1, 12),
            other => return Err(Error::invalid("preset", format!("unknown LSTM preset `{other}` (standard, lite, feather, nano)"))),
        };
        Ok(LstmConfig { hidden_size, num_layers, ..LstmConfig::default() })
    }

    /// Number of weights as NAM stores them: per layer the input and recurrent matrices, one
    /// (summed) bias, the initial hidden and cell state; then the head's weights and bias.
    pub fn nam_weight_count(&self) -> usize {
        let h = self.hidden_size;
        let mut total = 0;
        for layer in 0..self.num_layers {
            let input = if layer == 0 { 1 } else { h };
            total += 4 * h * (input + h) + 4 * h + 2 * h;
        }
        total + h + 1
    }
}

/// Shift of the input gate's (−) and the forget gate's (+) biases at initialisation, per bias
/// vector, as NAM starts its LSTMs.
const INITIAL_GATE_BIAS: f64 = 2.0;

/// Recurrent state carried between calls: `(h, c)`, each `[layers, batch, hidden]`.
pub type LstmState = nn::LSTMState;

/// One layer's weights as libtorch holds them (gates i, f, g, o).
#[derive(Debug)]
pub(crate) struct LstmLayerWeights {
    pub w_ih: Tensor,
    pub w_hh: Tensor,
    pub b_ih: Tensor,
    pub b_hh: Tensor,
}

/// The LSTM amp model.
#[derive(Debug)]
pub struct Lstm {
    lstm: nn::LSTM,
    pub(crate) layers: Vec<LstmLayerWeights>,
    pub(crate) head: nn::Linear,
    /// Trainable initial states, `[layers, hidden]`.
    pub h0: Tensor,
    pub c0: Tensor,
    pub config: LstmConfig,
}

impl Lstm {
    pub fn new(vs: &nn::Path, config: &LstmConfig) -> Result<Lstm> {
        if config.hidden_size == 0 || config.num_layers == 0 {
            return Err(Error::invalid("config", "hidden_size and num_layers must be positive"));
        }
        // PyTorch's `nn.LSTM` initialisation (NAM's starting point): everything uniform in ±1/√H.
        let init = super::torch_default_init(config.hidden_size);
        let rnn_cfg = nn::RNNConfig {
            batch_first: true,
            num_layers: config.num_layers as i64,
            w_ih_init: init,
            w_hh_init: init,
            b_ih_init: Some(init),
            b_hh_init: Some(init),
            ..Default::default()
        };
        let lstm = nn::lstm(vs / "lstm", 1, config.hidden_size as i64, rnn_cfg);
        let p = vs / "lstm";
        let get = |name: String| p.get(&name).ok_or_else(|| Error::invalid("config", format!("libtorch did not create {name}")));
        let layers = (0..config.num_layers)
            .map(|l| {
                Ok(LstmLayerWeights {
                    w_ih: get(format!("weight_ih_l{l}"))?,
                    w_hh: get(format!("weight_hh_l{l}"))?,
                    b_ih: get(format!("bias_ih_l{l}"))?,
                    b_hh: get(format!("bias_hh_l{l}"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // As NAM: remember more at the start — each of the two biases gets −2 on the input gate
        // and +2 on the forget gate.
        let h = config.hidden_size as i64;
        tch::no_grad(|| {
            for l in &layers {
                for b in [&l.b_ih, &l.b_hh] {
                    let _ = b.narrow(0, 0, h).g_sub_scalar_(INITIAL_GATE_BIAS);
                    let _ = b.narrow(0, h, h).g_add_scalar_(INITIAL_GATE_BIAS);
                }
            }
        });
        let head_cfg = nn::LinearConfig { ws_init: init, bs_init: Some(init), bias: true };
        let head = nn::linear(vs / "head", config.hidden_size as i64, 1, head_cfg);
        let shape = [config.num_layers as i64, config.hidden_size as i64];
        let h0 = vs.var("h0", &shape, nn::Init::Const(0.0));
        let c0 = vs.var("c0", &shape, nn::Init::Const(0.0));
        Ok(Lstm { lstm, layers, head, h0, c0, config: config.clone() })
    }

    /// The stored initial state expanded to `batch`.
    pub fn initial_state(&self, batch: i64) -> LstmState {
        let expand = |t: &Tensor| t.unsqueeze(1).expand([-1, batch, -1], false).contiguous();
        nn::LSTMState((expand(&self.h0), expand(&self.c0)))
    }

    /// Process `[batch, time]` from `state`; returns the output `[batch, time]` and the state after it.
    pub fn forward_with_state(&self, xs: &Tensor, state: &LstmState) -> (Tensor, LstmState) {
        let (out, state) = self.lstm.seq_init(&xs.unsqueeze(-1), state);
        let mut y = self.head.forward(&out).squeeze_dim(-1);
        if self.config.input_skip {
            y = y + xs;
        }
        (y, state)
    }

    /// Process `[batch, time]` from the stored initial state.
    pub fn forward(&self, xs: &Tensor) -> Tensor {
        let batch = if xs.dim() == 2 { xs.size()[0] } else { 1 };
        let xs2 = if xs.dim() == 1 { xs.unsqueeze(0) } else { xs.shallow_clone() };
        let (y, _) = self.forward_with_state(&xs2, &self.initial_state(batch));
        if xs.dim() == 1 { y.squeeze_dim(0) } else { y }
    }

    /// Weights as NAM counts them, from the live tensors (the two LSTM biases count once).
    pub fn nam_weight_count(&self, vs: &nn::VarStore) -> usize {
        vs.variables()
            .iter()
            .map(|(name, t)| if name.contains("bias_hh") { 0 } else { t.numel() })
            .sum()
    }
}

