//! Models, in the style of tch-rs's examples: a config struct with documented defaults, a
//! constructor taking an `nn::Path`, and a forward function.
//!
//! * [`Mlp`] — the post's dense network over a window of samples (non-causal: it sees 300
//!   future samples);
//! * [`Lstm`] — a stacked LSTM over raw samples (causal, stateful);
//! * [`WaveNet`] — Neural Amp Modeler's feed-forward WaveNet (causal, fixed receptive field).

pub mod lstm;
pub mod mlp;
pub mod wavenet;

pub use lstm::{Lstm, LstmConfig, LstmState};
pub use mlp::{Activation, Mlp, MlpConfig};
pub use wavenet::{LayerArrayConfig, WaveNet, WaveNetConfig};

/// PyTorch's default initialisation of a layer with `fan_in` inputs per output — weights and
/// biases uniform in ±1/√fan_in — which Neural Amp Modeler's models start from. (tch's own
/// default is Kaiming-uniform for ReLU: √6 times wider, zero biases; with tanh and sigmoid
/// gates that starts the WaveNet and the LSTM saturated.)
pub(crate) fn torch_default_init(fan_in: usize) -> tch::nn::Init {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    tch::nn::Init::Uniform { lo: -bound, up: bound }
}

/// Number of trainable scalars in a var store.
pub fn parameter_count(vs: &tch::nn::VarStore) -> i64 {
    vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device, Kind, Tensor};

    #[test]
    fn nam_weight_counts_of_every_preset() {
        for (name, expected) in [("standard", 13_802), ("lite", 6_554), ("feather", 3_026), ("nano", 842)] {
            let cfg = WaveNetConfig::preset(name).unwrap();
            assert_eq!(cfg.nam_weight_count(), expected, "WaveNet {name}");
            // The live model holds exactly those weights (head_scale is the +1).
            let vs = nn::VarStore::new(Device::Cpu);
            let _m = WaveNet::new(&vs.root(), &cfg).unwrap();
            assert_eq!(parameter_count(&vs) as usize + 1, expected, "WaveNet {name} tensors");
        }
        assert_eq!(LstmConfig::preset("standard").unwrap().nam_weight_count(), 2_569);
        for name in ["standard", "lite", "feather", "nano"] {
            let cfg = LstmConfig::preset(name).unwrap();
            let vs = nn::VarStore::new(Device::Cpu);
            let m = Lstm::new(&vs.root(), &cfg).unwrap();
            assert_eq!(m.nam_weight_count(&vs), cfg.nam_weight_count(), "LSTM {name}");
        }
        assert!(WaveNetConfig::preset("huge").is_err() && LstmConfig::preset("huge").is_err());
        assert_eq!(WaveNetConfig::default().receptive_field(), 4093);
    }

    #[test]
    fn an_impulse_never_changes_earlier_outputs() {
        tch::manual_seed(1);
        let n = 6000i64;
        let x = Tensor::randn([1, n], (Kind::Float, Device::Cpu)) * 0.1;
        let x2 = x.copy();
        let t = 5000;
        let _ = x2.narrow(1, t, 1).fill_(0.9);
        let vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let rf = wn.receptive_field() as i64;
        let (a, b) = (wn.forward(&x), wn.forward(&x2));
        // Output i answers input i + rf − 1: outputs before t − rf + 1 are unchanged, output at t changes.
        let before = t - rf + 1;
        assert!(a.narrow(1, 0, before).equal(&b.narrow(1, 0, before)));
        assert!(!a.narrow(1, before, 1).equal(&b.narrow(1, before, 1)));
        let vs = nn::VarStore::new(Device::Cpu);
        let lstm = Lstm::new(&vs.root(), &LstmConfig::preset("nano").unwrap()).unwrap();
        let (a, b) = (lstm.forward(&x), lstm.forward(&x2));
        assert!(a.narrow(1, 0, t).equal(&b.narrow(1, 0, t)));
        assert!(!a.narrow(1, t, 1).equal(&b.narrow(1, t, 1)));
    }

    #[test]
    fn segments_equal_sample_by_sample_processing() {
        tch::manual_seed(2);
        let x = Tensor::randn([2, 300], (Kind::Float, Device::Cpu)) * 0.3;
        let vs = nn::VarStore::new(Device::Cpu);
        let lstm = Lstm::new(&vs.root(), &LstmConfig::preset("lite").unwrap()).unwrap();
        let whole = lstm.forward(&x);
        let mut state = lstm.initial_state(2);
        let mut parts = Vec::new();
        for i in 0..300 {
            let (y, s) = lstm.forward_with_state(&x.narrow(1, i, 1), &state);
            parts.push(y);
            state = s;
        }
        let stepped = Tensor::cat(&parts, 1);
        assert!(whole.allclose(&stepped, 1e-5, 1e-6, false));
        // WaveNet: each output sample computed from its own receptive field equals the segment output.
        let vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let rf = wn.receptive_field() as i64;
        let x = Tensor::randn([1, rf + 20], (Kind::Float, Device::Cpu)) * 0.3;
        let whole = wn.forward(&x);
        assert_eq!(whole.size(), vec![1, 21]);
        for i in [0i64, 7, 20] {
            let one = wn.forward(&x.narrow(1, i, rf));
            assert!(one.allclose(&whole.narrow(1, i, 1), 1e-5, 1e-6, false));
        }
    }

    #[test]
    fn models_start_from_pytorch_and_nam_initialisation() {
        tch::manual_seed(3);
        let max_abs = |t: &Tensor| t.abs().max().double_value(&[]);
        // WaveNet: a dilated convolution's weights and biases within ±1/√(in·k), and spread over
        // most of that range; the 1-input mixer within ±1 (tch's default: up to ±2.45, biases 0).
        let vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::default()).unwrap();
        let first = &wn.arrays[0].layers[0];
        let bound = 1.0 / 48f64.sqrt();
        assert!(max_abs(&first.conv.ws) <= bound && max_abs(&first.conv.ws) > 0.8 * bound);
        let bias = first.conv.bs.as_ref().unwrap();
        assert!(max_abs(bias) <= bound && max_abs(bias) > 0.5 * bound);
        assert!(max_abs(&first.mixer.ws) <= 1.0 && max_abs(&first.mixer.ws) > 0.5);
        assert!(max_abs(&wn.arrays[1].head.ws) <= 1.0 / 8f64.sqrt());
        // LSTM: ±1/√H, then input-gate biases −2 and forget-gate biases +2 in each bias vector.
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
