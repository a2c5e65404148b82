//! Models, in the style of tch-rs's examples: a config struct with documented defaults, a
//! constructor taking an `nn::Path`, and a forward function.
//!
//! * [`Mlp`] — the post's dense network over a window of samples (non-causal: it sees 300
//!   future samples);
//! * [`Lstm`] — a stacked LSTM over raw samples (causal, stateful);
//! * [`WaveNet`] — Neural Amp Modeler's feed-forward WaveNet (causal, fixed receptive field);
//! * [`GreyBox`] — preamp LSTM, the amp's tone stack as a circuit, power-amp LSTM;
//! * [`Ensemble`] — several of these trained apart, their outputs averaged.
//!
//! The causal models share one protocol, [`CausalModel`]: what training, rendering and the
//! `.nam` format need. Each model's file implements it — its streaming state and its `.nam`
//! config and weight order included — and [`ARCHITECTURES`] lists them, one line each.

pub mod activation;
pub mod ensemble;
pub mod grey_box;
pub mod lstm;
pub mod mlp;
pub mod wavenet;
pub mod weights;

pub use ensemble::Ensemble;
pub use grey_box::{GreyBox, GreyBoxConfig};
pub use lstm::{Lstm, LstmConfig};
pub use activation::Activation;
pub use mlp::{Mlp, MlpConfig};
pub use wavenet::{LayerArrayConfig, WaveNet, WaveNetConfig};
pub use weights::{FillTensor, NamWeights, NamWeightsOut, WeightsError};

use tch::{nn, Device, Tensor};

use crate::Result;

/// A causal amp model: output sample t depends on input samples up to t only. Training
/// (`train_seq`), rendering (`render`) and `.nam` files (`nam`) use models through this trait
/// alone.
///
/// A model conditioned on K controls (an amp's knobs, [`CausalModel::control_count`]) takes its
/// input with the channels last — `[batch, time, 1 + K]` (or `[time, 1 + K]`): the audio, then
/// the control values — where an unconditioned one takes `[batch, time]` (or `[time]`).
pub trait CausalModel: Send {
    /// Control values the model reads beside the audio (0: a capture of one setting).
    fn control_count(&self) -> usize;
    /// Leading samples of a segment whose outputs are not scored: the receptive field minus one
    /// (WaveNet) or a burn-in for the recurrent state (LSTM).
    fn warm_up_samples(&self) -> usize;
    /// Training forward: `[batch, time]` → `[batch, time − warm_up]`, aligned with the last inputs.
    fn forward_aligned(&self, xs: &Tensor) -> Tensor;
    /// The whole signal: `[time]` → `[time]` (silence before the start for a WaveNet; the stored
    /// initial state for an LSTM).
    fn process(&self, xs: &Tensor) -> Tensor;
    /// The streaming state before the first sample.
    fn start(&self, device: Device) -> StreamState;
    /// Render one block (`[time]`), carrying `state` to the next: blocks in sequence give what
    /// [`CausalModel::process`] gives for the whole signal.
    fn block(&self, block: &Tensor, state: &mut StreamState) -> Result<Tensor>;
    /// A fresh model of the same configuration with its variables in `vs` (training runs one
    /// per worker thread).
    fn replica(&self, vs: &nn::Path) -> Result<Box<dyn CausalModel>>;
    /// NAM's name for the architecture (`"WaveNet"`, `"LSTM"`).
    fn nam_architecture(&self) -> &'static str;
    /// The `.nam` `config` object.
    fn nam_config(&self) -> Result<serde_json::Value>;
    /// Append the weights to `out` in NAM's order.
    fn write_nam_weights(&self, out: &mut NamWeightsOut) -> Result<()>;
    /// Load the weights from `weights`, in NAM's order (the caller checks they are used up).
    fn read_nam_weights(&self, weights: &mut NamWeights<'_>) -> std::result::Result<(), WeightsError>;
    /// The Adam learning rate this architecture trains best from, and its decay per epoch,
    /// where they differ from [`crate::training::SeqFitConfig`]'s defaults (default `None`).
    fn learning_rate_schedule(&self) -> Option<(f64, f64)> {
        None
    }
    /// The models an ensemble averages, each trained on its own (empty for a single model).
    fn members(&self) -> &[Box<dyn CausalModel>] {
        &[]
    }
}

impl CausalModel for Box<dyn CausalModel> {
    fn control_count(&self) -> usize {
        (**self).control_count()
    }
    fn warm_up_samples(&self) -> usize {
        (**self).warm_up_samples()
    }
    fn learning_rate_schedule(&self) -> Option<(f64, f64)> {
        (**self).learning_rate_schedule()
    }
    fn members(&self) -> &[Box<dyn CausalModel>] {
        (**self).members()
    }
    fn forward_aligned(&self, xs: &Tensor) -> Tensor {
        (**self).forward_aligned(xs)
    }
    fn process(&self, xs: &Tensor) -> Tensor {
        (**self).process(xs)
    }
    fn start(&self, device: Device) -> StreamState {
        (**self).start(device)
    }
    fn block(&self, block: &Tensor, state: &mut StreamState) -> Result<Tensor> {
        (**self).block(block, state)
    }
    fn replica(&self, vs: &nn::Path) -> Result<Box<dyn CausalModel>> {
        (**self).replica(vs)
    }
    fn nam_architecture(&self) -> &'static str {
        (**self).nam_architecture()
    }
    fn nam_config(&self) -> Result<serde_json::Value> {
        (**self).nam_config()
    }
    fn write_nam_weights(&self, out: &mut NamWeightsOut) -> Result<()> {
        (**self).write_nam_weights(out)
    }
    fn read_nam_weights(&self, weights: &mut NamWeights<'_>) -> std::result::Result<(), WeightsError> {
        (**self).read_nam_weights(weights)
    }
}

/// What a causal model carries from one block to the next (a WaveNet's last inputs, an LSTM's
/// hidden and cell state); only the model that made it reads it.
#[derive(Debug)]
pub struct StreamState(pub(crate) Vec<Tensor>);

/// An architecture ampsim reads from `.nam` files.
pub struct Architecture {
    /// NAM's name for it, as in a file's `architecture`.
    pub nam_name: &'static str,
    /// Build a model from a `.nam` `config` on `vs`, ready for the file's `weights` to be read
    /// into it (`Err` says what in the config ampsim cannot run).
    pub from_nam: fn(&serde_json::Value, &[f32], &nn::Path) -> std::result::Result<Box<dyn CausalModel>, String>,
}

/// Every causal architecture, one line each.
pub const ARCHITECTURES: &[Architecture] = &[wavenet::ARCHITECTURE, lstm::ARCHITECTURE, grey_box::ARCHITECTURE, ensemble::ARCHITECTURE];

/// The architecture NAM calls `nam_name`.
pub fn architecture(nam_name: &str) -> Option<&'static Architecture> {
    ARCHITECTURES.iter().find(|a| a.nam_name == nam_name)
}

/// PyTorch's default initialisation of a layer with `fan_in` inputs per output — weights and
/// biases uniform in ±1/√fan_in — which Neural Amp Modeler's models start from. (tch's own
/// default is Kaiming-uniform for ReLU: √6 times wider, zero biases; with tanh and sigmoid
/// gates that starts the WaveNet and the LSTM saturated.)
pub(crate) fn torch_default_init(fan_in: usize) -> tch::nn::Init {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    tch::nn::Init::Uniform { lo: -bound, up: bound }
}

/// `xs` with a batch dimension in front — `[batch, time]`, or `[batch, time, 1 + controls]` for
/// a conditioned model — and whether it had to be added.
pub(crate) fn with_batch(xs: &Tensor, controls: usize) -> (Tensor, bool) {
    let unbatched = xs.dim() == if controls == 0 { 1 } else { 2 };
    (if unbatched { xs.unsqueeze(0) } else { xs.shallow_clone() }, unbatched)
}

/// Number of trainable scalars in a var store.
pub fn parameter_count(vs: &tch::nn::VarStore) -> i64 {
    vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device, Kind, Tensor};

    /// The largest magnitude in `t`.
    pub(super) fn max_abs(t: &Tensor) -> f64 {
        t.abs().max().double_value(&[])
    }

    #[test]
    fn nam_weight_counts_of_every_preset() {
        for (name, expected) in [("standard", 13_802), ("lite", 6_554), ("feather", 3_026), ("nano", 842), ("a2", 12_146), ("a2-nano", 1_871)] {
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
        assert_eq!(WaveNetConfig::preset("a2").unwrap().receptive_field(), 6347);
        // Gated, the convolutions and mixers have twice the outputs.
        let mut gated = WaveNetConfig::preset("nano").unwrap();
        gated.layers.iter_mut().for_each(|a| a.gated = true);
        let vs = nn::VarStore::new(Device::Cpu);
        let _m = WaveNet::new(&vs.root(), &gated).unwrap();
        assert_eq!(parameter_count(&vs) as usize + 1, gated.nam_weight_count());
    }

    #[test]
    fn an_impulse_never_changes_earlier_outputs() {
        tch::manual_seed(1);
        let n = 6000i64;
        let x = Tensor::randn([1, n], (Kind::Float, Device::Cpu)) * 0.1;
        let x2 = x.copy();
        let t = 5000;
        let _ = x2.narrow(1, t, 1).fill_(0.9);
        for preset in ["nano", "a2-nano"] {
            let vs = nn::VarStore::new(Device::Cpu);
            let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset(preset).unwrap()).unwrap();
            let rf = wn.receptive_field() as i64;
            let (x, x2) = (Tensor::cat(&[&x, &x], 1), Tensor::cat(&[&x, &x2], 1));
            let t = t + n;
            let (a, b) = (wn.forward(&x), wn.forward(&x2));
            // Output i answers input i + rf − 1: outputs before t − rf + 1 are unchanged, output at t changes.
            let before = t - rf + 1;
            assert!(a.narrow(1, 0, before).equal(&b.narrow(1, 0, before)), "{preset}");
            assert!(!a.narrow(1, before, 1).equal(&b.narrow(1, before, 1)), "{preset}");
        }
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

    /// Conditioned models (two controls beside the audio: LSTM, WaveNet A1 with and without
    /// FiLM, A2, an ensemble of two): blocks equal the whole signal, the controls change the output, the `.nam`
    /// weights round-trip, and the engine plays each as libtorch does.
    #[test]
    fn conditioned_models_stream_read_their_controls_and_round_trip() {
        tch::manual_seed(5);
        let n = 3000i64;
        let audio = Tensor::randn([n, 1], (Kind::Float, Device::Cpu)) * 0.3;
        let at = |a: f64, b: f64| Tensor::cat(&[&audio, &Tensor::from_slice(&[a as f32, b as f32]).unsqueeze(0).expand([n, 2], false)], 1);
        let (x, other) = (at(0.2, 0.9), at(0.8, 0.1));
        let vs = nn::VarStore::new(Device::Cpu);
        let models: Vec<Box<dyn CausalModel>> = vec![
            Box::new(Lstm::new(&(&vs.root() / "lstm"), &LstmConfig { controls: 2, ..LstmConfig::preset("nano").unwrap() }).unwrap()),
            Box::new(WaveNet::new(&(&vs.root() / "wavenet"), &WaveNetConfig::preset("nano").unwrap().with_controls(2)).unwrap()),
            Box::new(WaveNet::new(&(&vs.root() / "film"), &WaveNetConfig::preset("nano").unwrap().with_controls_film(2)).unwrap()),
            Box::new(WaveNet::new(&(&vs.root() / "a2"), &WaveNetConfig::preset("a2-nano").unwrap().with_controls(2)).unwrap()),
            Box::new(Ensemble::new(vec![
                Box::new(Lstm::new(&(&vs.root() / "ensemble" / 0), &LstmConfig { controls: 2, ..LstmConfig::preset("nano").unwrap() }).unwrap()),
                Box::new(WaveNet::new(&(&vs.root() / "ensemble" / 1), &WaveNetConfig::preset("nano").unwrap().with_controls_film(2)).unwrap()),
            ]).unwrap()),
        ];
        let names = ["LSTM", "WaveNet", "WaveNet with FiLM", "WaveNet A2", "ensemble of an LSTM and a WaveNet"];
        for (m, what) in models.iter().zip(names) {
            assert_eq!(m.control_count(), 2, "{what}");
            let whole = tch::no_grad(|| m.process(&x));
            assert_eq!(whole.size(), vec![n], "{what}");
            let mut state = m.start(Device::Cpu);
            let blocks: Vec<Tensor> = [0i64, 700, 701, 2000, n].windows(2).map(|w| tch::no_grad(|| m.block(&x.narrow(0, w[0], w[1] - w[0]), &mut state)).unwrap()).collect();
            assert!(Tensor::cat(&blocks, 0).allclose(&whole, 1e-5, 1e-6, false), "{what}: blocks");
            let moved = (tch::no_grad(|| m.process(&other)) - &whole).abs().max().double_value(&[]);
            assert!(moved > 1e-4, "{what}: the controls do not reach the output ({moved})");
            // The .nam weights round-trip into a model built from the written config.
            let mut out = NamWeightsOut::new();
            m.write_nam_weights(&mut out).unwrap();
            let weights = out.into_vec();
            let config = m.nam_config().unwrap();
            assert_eq!(ampsim_engine::nam::weight_count(m.nam_architecture(), &config).unwrap(), weights.len(), "{what}");
            let vs2 = nn::VarStore::new(Device::Cpu);
            let copy = (architecture(m.nam_architecture()).unwrap().from_nam)(&config, &weights, &vs2.root()).unwrap();
            assert_eq!(copy.control_count(), 2, "{what}");
            let mut reader = NamWeights::new(&weights);
            tch::no_grad(|| copy.read_nam_weights(&mut reader)).unwrap();
            reader.finish().unwrap();
            assert!(tch::no_grad(|| copy.process(&x)).equal(&whole), "{what}: round trip");
        }
        // The engine, its controls set before playing, renders what libtorch renders.
        let input = Vec::<f32>::try_from(audio.view([-1])).unwrap();
        for (m, what) in models.iter().zip(names) {
            let mut engine = crate::interop::render::engine_renderer(&**m, 48_000).unwrap();
            assert!(engine.set_controls(&[0.2, 0.9]), "{what}");
            let mut played = vec![0.0; input.len()];
            engine.process(&input, &mut played);
            let want = Vec::<f32>::try_from(tch::no_grad(|| m.process(&x))).unwrap();
            let diff = played.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(diff < 1e-5, "{what}: engine vs libtorch: {diff}");
        }
    }

    #[test]
    fn every_preset_round_trips_its_nam_weights_through_the_trait_alone() {
        tch::manual_seed(4);
        let x = Tensor::randn([5000], (Kind::Float, Device::Cpu)) * 0.3;
        for preset in ["standard", "lite", "feather", "nano", "a2", "a2-nano"] {
            let vs = nn::VarStore::new(Device::Cpu);
            let mut models: Vec<Box<dyn CausalModel>> = vec![Box::new(WaveNet::new(&(&vs.root() / "wavenet"), &WaveNetConfig::preset(preset).unwrap()).unwrap())];
            if let Ok(cfg) = LstmConfig::preset(preset) {
                models.push(Box::new(Lstm::new(&(&vs.root() / "lstm"), &cfg).unwrap()));
            }
            for m in &models {
                let what = format!("{} {preset}", m.nam_architecture());
                let mut out = NamWeightsOut::new();
                m.write_nam_weights(&mut out).unwrap();
                let weights = out.into_vec();
                let config = m.nam_config().unwrap();
                let arch = architecture(m.nam_architecture()).unwrap();
                assert_eq!(ampsim_engine::nam::weight_count(m.nam_architecture(), &config).unwrap(), weights.len(), "{what}");
                let vs2 = nn::VarStore::new(Device::Cpu);
                let copy = (arch.from_nam)(&config, &weights, &vs2.root()).unwrap();
                let mut reader = NamWeights::new(&weights);
                tch::no_grad(|| copy.read_nam_weights(&mut reader)).unwrap();
                reader.finish().unwrap();
                assert!(copy.process(&x).equal(&m.process(&x)), "{what}");
                // One weight short, or one too many, is refused.
                let mut short = NamWeights::new(&weights[..weights.len() - 1]);
                assert!(tch::no_grad(|| copy.read_nam_weights(&mut short)).is_err(), "{what}");
                let longer = [weights.as_slice(), &[0.0]].concat();
                let mut long = NamWeights::new(&longer);
                tch::no_grad(|| copy.read_nam_weights(&mut long)).unwrap();
                assert!(long.finish().unwrap_err().to_string().contains("uses"), "{what}");
            }
        }
    }
}
