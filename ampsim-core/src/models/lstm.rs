//! A stacked LSTM over raw samples with a linear head — the recurrent amp model of Wright,
//! Damskägg & Välimäki (DAFx 2019) and of Neural Amp Modeler's LSTM architecture.
//!
//! Input `[batch, time]` → LSTM (input 1, hidden H, L layers) → linear head → `[batch, time]`,
//! optionally plus the input (Wright et al.'s skip connection). Conditioned on K controls (an
//! amp's knobs), the input is `[batch, time, 1 + K]`: the audio, then the control values, which
//! the first layer reads beside each sample (the "concatenated" conditioning of Wright et al.
//! 2020 and of NAM's `CatLSTM`). The initial hidden and cell
//! states are trainable parameters, as NAM stores them in its `.nam` files.

use ampsim_engine::LstmShape;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tch::nn::{self, Module, RNN};
use tch::{Device, Tensor};

use super::{Architecture, CausalModel, FillTensor, NamWeights, NamWeightsOut, StreamState, WeightsError};
use crate::{Error, Result};

/// Configuration of [`Lstm`]. The default is NAM's "standard" preset: one layer of 24.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LstmConfig {
    /// Hidden units per layer (default 24).
    pub hidden_size: usize,
    /// Stacked layers (default 1).
    pub num_layers: usize,
    /// Add the input to the head's output (default false, as NAM).
    pub input_skip: bool,
    /// Samples at the start of each training segment that only warm up the state and are not
    /// scored (default 4096, as NAM's trainer).
    pub burn_in_samples: usize,
    /// Truncated back-propagation in training: after the burn-in, the state is detached every
    /// this many samples, so gradients flow back at most this far (default `None`: through the
    /// whole segment). The outputs are the same either way. Default `Some(512)`: with the
    /// LSTM's learning rate of 0.04 this trained best (docs/experiments.md, issue 19).
    pub truncate_samples: Option<usize>,
    /// Control values (knobs) the model is conditioned on, read beside the audio (default 0:
    /// a capture of one setting).
    pub controls: usize,
}

impl Default for LstmConfig {
    fn default() -> Self {
        LstmConfig { hidden_size: 24, num_layers: 1, input_skip: false, burn_in_samples: 4096, truncate_samples: Some(512), controls: 0 }
    }
}

impl LstmConfig {
    /// NAM's presets: `standard` 1×24, `lite` 2×8, `feather` 1×16, `nano` 1×12 (the engine's
    /// list, [`ampsim_engine::LstmShape::preset`]).
    pub fn preset(name: &str) -> Result<LstmConfig> {
        let shape = ampsim_engine::LstmShape::preset(name).map_err(|e| Error::invalid("preset", e))?;
        Ok(LstmConfig { hidden_size: shape.hidden_size, num_layers: shape.num_layers, ..LstmConfig::default() })
    }

    /// Number of weights as NAM stores them: per layer the input and recurrent matrices, one
    /// (summed) bias, the initial hidden and cell state; then the head's weights and bias.
    pub fn nam_weight_count(&self) -> usize {
        self.shape().nam_weight_count()
    }
}

/// Shift of the input gate's (−) and the forget gate's (+) biases at initialisation, per bias
/// vector, as NAM starts its LSTMs.
const INITIAL_GATE_BIAS: f64 = 2.0;

/// Recurrent state carried between calls: `(h, c)`, each `[layers, batch, hidden]`.
pub type LstmState = nn::LSTMState;

/// One layer's weights as libtorch holds them (gates i, f, g, o).
#[derive(Debug)]
struct LstmLayerWeights {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
}

/// The LSTM amp model.
#[derive(Debug)]
pub struct Lstm {
    lstm: nn::LSTM,
    layers: Vec<LstmLayerWeights>,
    head: nn::Linear,
    /// Trainable initial states, `[layers, hidden]`.
    h0: Tensor,
    c0: Tensor,
    config: LstmConfig,
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
        let lstm = nn::lstm(vs / "lstm", 1 + config.controls as i64, config.hidden_size as i64, rnn_cfg);
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

    /// Process `[batch, time]` (conditioned: `[batch, time, 1 + controls]`) from `state`; returns
    /// the output `[batch, time]` and the state after it.
    pub fn forward_with_state(&self, xs: &Tensor, state: &LstmState) -> (Tensor, LstmState) {
        let input = if self.config.controls == 0 { xs.unsqueeze(-1) } else { xs.shallow_clone() };
        let (out, state) = self.lstm.seq_init(&input, state);
        let mut y = self.head.forward(&out).squeeze_dim(-1);
        if self.config.input_skip {
            y = y + input.select(-1, 0);
        }
        (y, state)
    }

    /// Process `[batch, time]` or `[time]` (conditioned: with the channels last) from the stored
    /// initial state.
    pub fn forward(&self, xs: &Tensor) -> Tensor {
        let (xs2, unbatched) = super::with_batch(xs, self.config.controls);
        let (y, _) = self.forward_with_state(&xs2, &self.initial_state(xs2.size()[0]));
        if unbatched { y.squeeze_dim(0) } else { y }
    }

    pub fn config(&self) -> &LstmConfig {
        &self.config
    }

    /// Weights as NAM counts them, from the live tensors (the two LSTM biases count once).
    pub fn nam_weight_count(&self, vs: &nn::VarStore) -> usize {
        vs.variables()
            .iter()
            .map(|(name, t)| if name.contains("bias_hh") { 0 } else { t.numel() })
            .sum()
    }

    /// Set the initial state to `h` and `c` everywhere (as training leaves it non-zero).
    pub fn set_initial_state(&self, h: f64, c: f64) {
        tch::no_grad(|| {
            let _ = self.h0.shallow_clone().fill_(h);
            let _ = self.c0.shallow_clone().fill_(c);
        });
    }
}

// ---- The causal-model protocol: training, streaming, `.nam` --------------------------------

impl CausalModel for Lstm {
    fn warm_up_samples(&self) -> usize {
        self.config.burn_in_samples
    }
    fn control_count(&self) -> usize {
        self.config.controls
    }
    /// Adam from 0.04, ×0.995 per epoch: ten times the WaveNet's rate. A small LSTM has to grow
    /// its weights far from their narrow start to distort like a high-gain amp; at 0.004 it sat
    /// on a plateau for minutes (docs/experiments.md, issue 19).
    fn learning_rate_schedule(&self) -> Option<(f64, f64)> {
        Some((0.04, 0.995))
    }
    fn forward_aligned(&self, xs: &Tensor) -> Tensor {
        let (t, warm) = (xs.size()[1], self.config.burn_in_samples as i64);
        let Some(n) = self.config.truncate_samples.map(|n| n as i64).filter(|&n| n > 0 && n < t - warm) else {
            return self.forward(xs).narrow(1, warm, t - warm);
        };
        // As NAM's trainer: the burn-in's state is not detached (so the initial state learns),
        // each later chunk's is.
        let mut state = self.initial_state(xs.size()[0]);
        if warm > 0 {
            state = self.forward_with_state(&xs.narrow(1, 0, warm), &state).1;
        }
        let mut outputs = Vec::new();
        let mut i = warm;
        while i < t {
            if i > warm {
                let nn::LSTMState((h, c)) = &state;
                state = nn::LSTMState((h.detach(), c.detach()));
            }
            let len = n.min(t - i);
            let (y, next) = self.forward_with_state(&xs.narrow(1, i, len), &state);
            outputs.push(y);
            state = next;
            i += len;
        }
        Tensor::cat(&outputs, 1)
    }
    fn process(&self, xs: &Tensor) -> Tensor {
        self.forward(xs)
    }
    /// The state is the hidden and cell state, starting from the stored initial state.
    fn start(&self, _device: Device) -> StreamState {
        let nn::LSTMState((h, c)) = self.initial_state(1);
        StreamState(vec![h, c])
    }
    fn block(&self, block: &Tensor, state: &mut StreamState) -> Result<Tensor> {
        let [h, c] = state.0.as_mut_slice() else { return Err(Error::invalid("state", "not an LSTM's stream state")) };
        let (y, nn::LSTMState((h2, c2))) = self.forward_with_state(&block.unsqueeze(0), &nn::LSTMState((h.shallow_clone(), c.shallow_clone())));
        (*h, *c) = (h2, c2);
        Ok(y.squeeze_dim(0))
    }
    fn replica(&self, vs: &nn::Path) -> Result<Box<dyn CausalModel>> {
        Ok(Box::new(Lstm::new(vs, &self.config)?))
    }
    fn nam_architecture(&self) -> &'static str {
        "LSTM"
    }
    fn nam_config(&self) -> Result<Value> {
        if self.config.input_skip {
            return Err(Error::invalid("model", "an LSTM with an input skip has no .nam equivalent (NAM's LSTM has none)"));
        }
        Ok(json!({"input_size": 1 + self.config.controls, "hidden_size": self.config.hidden_size, "num_layers": self.config.num_layers}))
    }
    /// Per layer: the input and recurrent matrices side by side (`[4H, in + H]`, row by row),
    /// one bias (libtorch's two summed), the initial hidden state, the initial cell state; then
    /// the head's weights and bias.
    fn write_nam_weights(&self, out: &mut NamWeightsOut) -> Result<()> {
        for (i, l) in self.layers.iter().enumerate() {
            out.push(&Tensor::cat(&[&l.w_ih, &l.w_hh], 1))?;
            out.push(&(&l.b_ih + &l.b_hh))?;
            out.push(&self.h0.get(i as i64))?;
            out.push(&self.c0.get(i as i64))?;
        }
        out.push(&self.head.ws)?;
        self.head.bs.as_ref().map_or(Ok(()), |b| out.push(b))
    }
    fn read_nam_weights(&self, weights: &mut NamWeights<'_>) -> std::result::Result<(), WeightsError> {
        for (i, l) in self.layers.iter().enumerate() {
            let (rows, cols_ih, cols_hh) = (l.w_ih.size()[0], l.w_ih.size()[1], l.w_hh.size()[1]);
            let m = Tensor::from_slice(weights.take((rows * (cols_ih + cols_hh)) as usize)?).view([rows, cols_ih + cols_hh]);
            tch::no_grad(|| {
                l.w_ih.shallow_clone().copy_(&m.narrow(1, 0, cols_ih));
                l.w_hh.shallow_clone().copy_(&m.narrow(1, cols_ih, cols_hh));
                let _ = l.b_hh.shallow_clone().zero_();
            });
            weights.fill(&l.b_ih)?;
            weights.fill(&self.h0.get(i as i64))?;
            weights.fill(&self.c0.get(i as i64))?;
        }
        weights.fill(&self.head.ws)?;
        self.head.bs.as_ref().map_or(Ok(()), |b| weights.fill(b))
    }
}

impl LstmConfig {
    /// The configuration a `.nam` LSTM `config` describes.
    pub fn from_nam(config: &Value) -> std::result::Result<LstmConfig, String> {
        let shape = LstmShape::from_nam(config)?;
        Ok(LstmConfig { hidden_size: shape.hidden_size, num_layers: shape.num_layers, controls: shape.controls, ..LstmConfig::default() })
    }

    /// The size as the engine and `.nam` files see it.
    pub fn shape(&self) -> LstmShape {
        LstmShape { hidden_size: self.hidden_size, num_layers: self.num_layers, controls: self.controls }
    }
}

/// The LSTM's entry in [`super::ARCHITECTURES`].
pub const ARCHITECTURE: Architecture = Architecture {
    nam_name: "LSTM",
    from_nam: |config, _weights, vs| Ok(Box::new(Lstm::new(vs, &LstmConfig::from_nam(config)?).map_err(|e| e.to_string())?)),
};


#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::tests::max_abs;

    #[test]
    fn starts_from_pytorch_and_nam_initialisation() {
        tch::manual_seed(3);
        // ±1/√H, then input-gate biases −2 and forget-gate biases +2 in each bias vector.
        let vs = nn::VarStore::new(Device::Cpu);
        let lstm = Lstm::new(&vs.root(), &LstmConfig::preset("standard").unwrap()).unwrap();
        let bound = 1.0 / 24f64.sqrt();
        let l = &lstm.layers[0];
        assert!(max_abs(&l.w_ih) <= bound && max_abs(&l.w_hh) <= bound && max_abs(&lstm.head.ws) <= bound);
        for b in [&l.b_ih, &l.b_hh] {
            let gate = |g: i64| b.narrow(0, 24 * g, 24);
            assert!(max_abs(&(gate(0) + 2.0)) <= bound, "input gate");
            assert!(max_abs(&(gate(1) - 2.0)) <= bound, "forget gate");
            assert!(max_abs(&gate(2)) <= bound && max_abs(&gate(3)) <= bound, "cell and output gates");
        }
    }
}
