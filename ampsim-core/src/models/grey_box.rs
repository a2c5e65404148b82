//! The grey-box knob model (after Miklánek et al., DAFx 2023): a preamp LSTM, then the amp's
//! tone stack as the circuit it is — the treble/middle/bass network of Fender and Marshall
//! amps ([`ampsim_engine::circuit::tone_stack`]), its pots turned by the knobs — then a gain and
//! a power-amp LSTM. The knobs only move the circuit, whose response to them is physics, not
//! learned: a few recorded settings teach the networks and the component values, and the rest
//! of the knobs' range follows from the circuit.
//!
//! Training (`forward_aligned`) filters by the circuit in the frequency domain (its response
//! on an FFT grid long enough for the response to die out), so the component values, pot
//! tapers and gain learn by gradient; they start at a Marshall's and stay within ×/÷ 3 of
//! them. Playing (`process`, `block`) runs the same circuit as the engine does — a third-order
//! filter in f64 — so libtorch and the engine agree to the LSTMs' rounding. The knobs of a
//! segment or block are read at its first sample.

use ampsim_engine::circuit::tone_stack::{Knobs, ToneStack, ToneStackCircuit, BILINEAR_TERMS, LINEAR_TAPER};
use ampsim_engine::schema::grey_box::{self as schema, tone_stack_from_weights, GreyBoxShape, KnobInputs, TONE_STACK_WEIGHTS};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};

use super::{Architecture, CausalModel, Lstm, LstmConfig, NamWeights, NamWeightsOut, StreamState, WeightsError};
use crate::{Error, Result};

/// Configuration of [`GreyBox`]. Default preamp and power amp: one layer of 16 each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GreyBoxConfig {
    pub preamp: LstmConfig,
    pub power_amp: LstmConfig,
    /// Controls the model reads beside the audio (normalised 0..1), and which of them turns
    /// each pot.
    pub controls: usize,
    pub knobs: KnobInputs,
    /// The rate the circuit is discretised at: the recordings'.
    pub sample_rate_hz: f64,
}

impl GreyBoxConfig {
    /// The default sizes for `controls` knobs, `knobs` naming the treble, middle and bass.
    pub fn new(controls: usize, knobs: KnobInputs, sample_rate_hz: f64) -> GreyBoxConfig {
        let lstm = LstmConfig { hidden_size: 16, ..LstmConfig::default() };
        GreyBoxConfig { preamp: lstm.clone(), power_amp: lstm, controls, knobs, sample_rate_hz }
    }

    /// The shape the engine and `.nam` files see.
    pub fn shape(&self) -> GreyBoxShape {
        GreyBoxShape { sample_rate_hz: self.sample_rate_hz, controls: self.controls, knobs: self.knobs, preamp: self.preamp.shape(), power_amp: self.power_amp.shape() }
    }

    /// The configuration a `.nam` `config` describes.
    pub fn from_nam(config: &Value) -> std::result::Result<GreyBoxConfig, String> {
        let s = GreyBoxShape::from_nam(config)?;
        let lstm = |shape: ampsim_engine::LstmShape| LstmConfig { hidden_size: shape.hidden_size, num_layers: shape.num_layers, ..LstmConfig::default() };
        Ok(GreyBoxConfig { preamp: lstm(s.preamp), power_amp: lstm(s.power_amp), controls: s.controls, knobs: s.knobs, sample_rate_hz: s.sample_rate_hz })
    }
}

/// How far a component may move from the reference circuit's value: ×/÷ 3.
const COMPONENT_RANGE_LN: f64 = 1.0986122886681098;
/// Taper exponents stay within ±8.
const TAPER_RANGE: f64 = 8.0;
/// Samples of silence after a training segment over which the circuit's response dies out
/// (its slowest time constant is under 0.2 s even at the components' limits).
const RESPONSE_TAIL_SAMPLES: i64 = 65_536;

/// The grey-box model.
#[derive(Debug)]
pub struct GreyBox {
    preamp: Lstm,
    power_amp: Lstm,
    /// Components as `reference · exp(ln 3 · tanh(p))`, `[7]`.
    components: Tensor,
    /// Tapers as `8 · tanh(q)`, `[3]`.
    tapers: Tensor,
    /// The gain into the power amp as `exp(g)`, `[1]`.
    log_gain: Tensor,
    config: GreyBoxConfig,
}

/// The circuit training starts from: a Marshall's (see [`ToneStackCircuit::marshall`]).
pub fn reference_circuit() -> ToneStackCircuit {
    ToneStackCircuit::marshall()
}

fn reference_components() -> [f64; 7] {
    let c = reference_circuit();
    [c.r1_treble_ohm, c.r2_bass_ohm, c.r3_middle_ohm, c.r4_slope_ohm, c.c1_farad, c.c2_farad, c.c3_farad]
}

impl GreyBox {
    pub fn new(vs: &nn::Path, config: &GreyBoxConfig) -> Result<GreyBox> {
        if config.preamp.controls + config.power_amp.controls > 0 {
            return Err(Error::invalid("config", "the grey-box model's LSTMs read the audio only; the knobs turn the tone stack"));
        }
        GreyBoxShape::from_nam(&nam_config_of(config)).map_err(|e| Error::invalid("config", e))?;
        let preamp = Lstm::new(&(vs / "preamp"), &config.preamp)?;
        let power_amp = Lstm::new(&(vs / "power_amp"), &config.power_amp)?;
        let t = vs / "tone_stack";
        let components = t.var("components", &[7], nn::Init::Const(0.0));
        let tapers = t.var("tapers", &[3], nn::Init::Const(0.0));
        let log_gain = t.var("log_gain", &[1], nn::Init::Const(3f64.ln()));
        let reference = reference_circuit().taper;
        tch::no_grad(|| tapers.shallow_clone().copy_(&Tensor::from_slice(&reference.map(|a| (a / TAPER_RANGE).atanh() as f32))));
        Ok(GreyBox { preamp, power_amp, components, tapers, log_gain, config: config.clone() })
    }

    pub fn config(&self) -> &GreyBoxConfig {
        &self.config
    }

    /// The circuit and gain now (from the live parameters).
    pub fn circuit(&self) -> (ToneStackCircuit, f64) {
        let values = self.tone_stack_values();
        tone_stack_from_weights(&values).expect("the parametrisation keeps the circuit valid")
    }

    /// The 11 values the `.nam` stores: components, tapers, gain.
    fn tone_stack_values(&self) -> Vec<f32> {
        let (c, a, g) = tch::no_grad(|| (self.component_values(), self.taper_values(), self.log_gain.to_kind(Kind::Double).exp()));
        let mut v = Vec::<f64>::try_from(c).expect("7 values");
        v.extend(Vec::<f64>::try_from(a).expect("3 values"));
        v.extend(Vec::<f64>::try_from(g).expect("1 value"));
        v.into_iter().map(|x| x as f32).collect()
    }

    fn component_values(&self) -> Tensor {
        let reference = Tensor::from_slice(&reference_components()).to_device(self.components.device());
        reference * (self.components.to_kind(Kind::Double).tanh() * COMPONENT_RANGE_LN).exp()
    }

    fn taper_values(&self) -> Tensor {
        self.tapers.to_kind(Kind::Double).tanh() * TAPER_RANGE
    }

    /// Knob positions `[batch, 3]` (treble, middle, bass) from the controls `[batch, K]`.
    fn positions(&self, controls: &Tensor) -> Tensor {
        let k = self.config.knobs;
        let idx = Tensor::from_slice(&[k.treble as i64, k.middle as i64, k.bass as i64]).to_device(controls.device());
        controls.index_select(1, &idx).to_kind(Kind::Double).clamp(0.0, 1.0)
    }

    /// The digital filter's coefficients `(b, a)`, each `[batch, 4]` (f64), at `positions`.
    fn coefficients(&self, positions: &Tensor) -> (Tensor, Tensor) {
        let v = self.component_values();
        let at = |i: i64| v.get(i);
        let (r1, r2, r3, r4, c1, c2, c3) = (at(0), at(1), at(2), at(3), at(4), at(5), at(6));
        let a = self.taper_values();
        let small = a.abs().lt(LINEAR_TAPER);
        let a = Tensor::full_like(&a, LINEAR_TAPER).where_self(&small, &a);
        let f = (positions * &a).expm1() / a.expm1();
        let (t, m, l) = (f.select(1, 0), f.select(1, 1), f.select(1, 2));
        // As `ToneStackCircuit::analog`.
        let (c12, c13, c23) = (&c1 * &c2, &c1 * &c3, &c2 * &c3);
        let c123 = &c12 * &c3;
        let b1 = &c1 * &r1 * &t + (&c1 + &c2) * (&r2 * &l + &r3 * &m) + &c3 * &r3 * &m;
        let mid2 = &c12 * (&r1 * &r2 * &l + &r1 * &r3 * &m + &r2 * &r4 * &l + &r3 * &r4 * &m)
            + &c13 * (&r1 * &r3 * &m + &r2 * &r3 * &l * &m + &r2 * &r4 * &l + &r3 * &r4 * &m)
            + &c23 * &r2 * &r3 * &l * &m;
        let b2 = &mid2 + (&c12 + &c13) * &r1 * &r4 * &t;
        let b3 = &c123 * &r2 * &l * (&r1 * &r3 * &m + &r1 * &r4 * &t + &r3 * &r4 * &m);
        let a1 = &c1 * &r1 + (&c1 + &c2) * (&r2 * &l + &r3 * &m) + &c2 * &r4 + &c3 * (&r3 * &m + &r4);
        let a2 = &mid2 + (&c12 + &c13) * &r1 * &r4 + &c23 * &r2 * &r4 * &l;
        let a3 = &c123 * &r2 * &l * (&r1 * &r3 * &m + &r1 * &r4 + &r3 * &r4 * &m);
        let zero = Tensor::zeros_like(&b1);
        let one = Tensor::ones_like(&b1);
        bilinear(&Tensor::stack(&[zero, b1, b2, b3], 1), &Tensor::stack(&[one, a1, a2, a3], 1), 2.0 * self.config.sample_rate_hz)
    }

    /// `u` `[batch, time]` through the circuit at `positions` `[batch, 3]`, by its response on
    /// an FFT grid (differentiable).
    fn tone_stack_by_fft(&self, u: &Tensor, positions: &Tensor) -> Tensor {
        let t = u.size()[1];
        let n = ((t + RESPONSE_TAIL_SAMPLES) as u64).next_power_of_two() as i64;
        let (b, a) = self.coefficients(positions);
        let (hr, hi) = response(&b, &a, n);
        let spec = u.fft_rfft(n, -1, "backward").view_as_real();
        let (ur, ui) = (spec.select(-1, 0), spec.select(-1, 1));
        let (hr, hi) = (hr.to_kind(Kind::Float), hi.to_kind(Kind::Float));
        let y = Tensor::stack(&[&ur * &hr - &ui * &hi, &ur * &hi + &ui * &hr], -1).view_as_complex();
        y.fft_irfft(n, -1, "backward").narrow(1, 0, t)
    }

    /// The circuit as the engine plays it, at the knobs of `controls` (`[K]`), and the gain.
    fn tone_stack_player(&self, controls: &Tensor) -> (ToneStack, f64) {
        let p = Vec::<f64>::try_from(self.positions(&controls.unsqueeze(0)).squeeze_dim(0)).expect("3 positions");
        let knobs = Knobs { treble: p[0], middle: p[1], bass: p[2] };
        let (circuit, gain) = self.circuit();
        (ToneStack::new(circuit, self.config.sample_rate_hz, knobs), gain)
    }

    /// One stretch `[time]` with the controls `[K]` and the filter starting from `state`: the
    /// output, and the filter's state after it.
    fn play(&self, audio: &Tensor, controls: &Tensor, pre: &mut (Tensor, Tensor), post: &mut (Tensor, Tensor), filter: [f64; 3]) -> Result<(Tensor, [f64; 3])> {
        let device = audio.device();
        let (u, s) = self.preamp.forward_with_state(&audio.unsqueeze(0), &nn::LSTMState((pre.0.shallow_clone(), pre.1.shallow_clone())));
        *pre = (s.0 .0, s.0 .1);
        let (mut player, gain) = self.tone_stack_player(&controls.to_device(Device::Cpu));
        player.set_state(filter);
        let u = Vec::<f32>::try_from(u.squeeze_dim(0).to_device(Device::Cpu))?;
        let mut v = vec![0.0; u.len()];
        player.process(&u, &mut v);
        v.iter_mut().for_each(|x| *x *= gain as f32);
        let (y, s) = self.power_amp.forward_with_state(&Tensor::from_slice(&v).to_device(device).unsqueeze(0), &nn::LSTMState((post.0.shallow_clone(), post.1.shallow_clone())));
        *post = (s.0 .0, s.0 .1);
        Ok((y.squeeze_dim(0), player.state()))
    }

    fn split(&self, xs: &Tensor) -> Result<(Tensor, Tensor)> {
        let k = self.config.controls as i64;
        if xs.dim() != 2 || xs.size()[1] != 1 + k {
            return Err(Error::invalid("input", format!("the grey-box model plays [time, 1 + {k}] (audio and knobs), not {:?}", xs.size())));
        }
        Ok((xs.select(1, 0), xs.get(0).narrow(0, 1, k)))
    }

    fn state_of(lstm: &Lstm) -> (Tensor, Tensor) {
        let nn::LSTMState((h, c)) = lstm.initial_state(1);
        (h, c)
    }
}

/// `s = c·(1 − z⁻¹)/(1 + z⁻¹)` in third-order `b`, `a` (`[batch, 4]`), normalised to `a0` = 1.
fn bilinear(b: &Tensor, a: &Tensor, c: f64) -> (Tensor, Tensor) {
    // As the engine's filter: row k of the terms times c^k.
    let m: Vec<f64> = BILINEAR_TERMS.iter().enumerate().flat_map(|(k, row)| row.map(|w| w * c.powi(k as i32))).collect();
    let m = Tensor::from_slice(&m).view([4, 4]).to_device(b.device());
    let (bd, ad) = (b.matmul(&m), a.matmul(&m));
    let a0 = ad.narrow(1, 0, 1);
    (bd / &a0, ad / a0)
}

/// The digital filter's response on the `n`-point FFT grid, bins 0..=n/2: `(re, im)`, each
/// `[batch, n/2 + 1]`.
fn response(b: &Tensor, a: &Tensor, n: i64) -> (Tensor, Tensor) {
    let bins = Tensor::arange(n / 2 + 1, (Kind::Double, b.device())) * (2.0 * std::f64::consts::PI / n as f64);
    let taps = Tensor::arange(4, (Kind::Double, b.device())).unsqueeze(1);
    let phase = taps * bins.unsqueeze(0);
    let (cos, sin) = (phase.cos(), phase.sin());
    // z⁻ʲ = cos(ωj) − i sin(ωj).
    let (nr, ni) = (b.matmul(&cos), -b.matmul(&sin));
    let (dr, di) = (a.matmul(&cos), -a.matmul(&sin));
    let den = &dr * &dr + &di * &di;
    ((&nr * &dr + &ni * &di) / &den, (&ni * &dr - &nr * &di) / den)
}

fn nam_config_of(c: &GreyBoxConfig) -> Value {
    let lstm = |l: &LstmConfig| json!({"input_size": 1, "hidden_size": l.hidden_size, "num_layers": l.num_layers});
    json!({"sample_rate": c.sample_rate_hz, "controls": c.controls, "knobs": c.knobs, "preamp": lstm(&c.preamp), "power_amp": lstm(&c.power_amp)})
}

impl CausalModel for GreyBox {
    fn control_count(&self) -> usize {
        self.config.controls
    }
    fn warm_up_samples(&self) -> usize {
        self.config.preamp.burn_in_samples.max(self.config.power_amp.burn_in_samples)
    }
    /// As the LSTM's, a quarter of it: two LSTMs in a row and a circuit between them.
    fn learning_rate_schedule(&self) -> Option<(f64, f64)> {
        Some((0.01, 0.995))
    }
    /// `[batch, time, 1 + K]` → `[batch, time − warm-up]`, the knobs read at each segment's
    /// first sample; back-propagation through the whole segment.
    fn forward_aligned(&self, xs: &Tensor) -> Tensor {
        let (t, warm) = (xs.size()[1], self.warm_up_samples() as i64);
        let audio = xs.select(2, 0);
        let positions = self.positions(&xs.select(1, 0).narrow(1, 1, self.config.controls as i64));
        let u = self.preamp.forward(&audio);
        let v = self.tone_stack_by_fft(&u, &positions) * self.log_gain.exp();
        self.power_amp.forward(&v).narrow(1, warm, t - warm)
    }
    /// `[time, 1 + K]` → `[time]`, the knobs at the first sample; not differentiable (it plays
    /// the circuit as the engine does).
    fn process(&self, xs: &Tensor) -> Tensor {
        let (audio, controls) = self.split(xs).expect("the grey-box model plays [time, 1 + K]");
        let (mut pre, mut post) = (GreyBox::state_of(&self.preamp), GreyBox::state_of(&self.power_amp));
        tch::no_grad(|| self.play(&audio, &controls, &mut pre, &mut post, [0.0; 3])).expect("plays on the CPU").0
    }
    fn start(&self, device: Device) -> StreamState {
        let (ph, pc) = GreyBox::state_of(&self.preamp);
        let (qh, qc) = GreyBox::state_of(&self.power_amp);
        StreamState(vec![ph, pc, qh, qc, Tensor::zeros([3], (Kind::Double, device))])
    }
    fn block(&self, block: &Tensor, state: &mut StreamState) -> Result<Tensor> {
        let [ph, pc, qh, qc, filter] = state.0.as_mut_slice() else { return Err(Error::invalid("state", "not a grey-box model's stream state")) };
        let (audio, controls) = self.split(block)?;
        let (mut pre, mut post) = ((ph.shallow_clone(), pc.shallow_clone()), (qh.shallow_clone(), qc.shallow_clone()));
        let f = Vec::<f64>::try_from(filter.to_device(Device::Cpu))?;
        let (y, next) = tch::no_grad(|| self.play(&audio, &controls, &mut pre, &mut post, [f[0], f[1], f[2]]))?;
        (*ph, *pc, *qh, *qc) = (pre.0, pre.1, post.0, post.1);
        *filter = Tensor::from_slice(&next).to_device(filter.device());
        Ok(y)
    }
    fn replica(&self, vs: &nn::Path) -> Result<Box<dyn CausalModel>> {
        Ok(Box::new(GreyBox::new(vs, &self.config)?))
    }
    fn nam_architecture(&self) -> &'static str {
        schema::ARCHITECTURE
    }
    fn nam_config(&self) -> Result<Value> {
        Ok(nam_config_of(&self.config))
    }
    /// The preamp LSTM's weights, the tone stack's 11 values (components in ohms and farads,
    /// tapers, gain), the power amp LSTM's.
    fn write_nam_weights(&self, out: &mut NamWeightsOut) -> Result<()> {
        self.preamp.write_nam_weights(out)?;
        out.push(&Tensor::from_slice(&self.tone_stack_values()))?;
        self.power_amp.write_nam_weights(out)
    }
    fn read_nam_weights(&self, weights: &mut NamWeights<'_>) -> std::result::Result<(), WeightsError> {
        self.preamp.read_nam_weights(weights)?;
        let v: Vec<f64> = weights.take(TONE_STACK_WEIGHTS)?.iter().map(|&x| x as f64).collect();
        let reference = reference_components();
        let mut p = [0f32; 7];
        for i in 0..7 {
            let x = (v[i] / reference[i]).ln() / COMPONENT_RANGE_LN;
            if !(x.abs() < 1.0) {
                return Err(WeightsError(format!("tone-stack component {} = {:e} lies outside ×/÷ 3 of a Marshall's {:e}, which ampsim's trainer keeps to", i + 1, v[i], reference[i])));
            }
            p[i] = x.atanh() as f32;
        }
        if !(v[10] > 0.0) {
            return Err(WeightsError(format!("the grey-box gain {} is not positive, which ampsim's trainer keeps it", v[10])));
        }
        let q: Vec<f32> = v[7..10].iter().map(|a| (a / TAPER_RANGE).clamp(-0.999_999, 0.999_999).atanh() as f32).collect();
        tch::no_grad(|| {
            self.components.shallow_clone().copy_(&Tensor::from_slice(&p));
            self.tapers.shallow_clone().copy_(&Tensor::from_slice(&q));
            self.log_gain.shallow_clone().copy_(&Tensor::from_slice(&[v[10].ln() as f32]));
        });
        self.power_amp.read_nam_weights(weights)
    }
}

/// The grey-box model's entry in [`super::ARCHITECTURES`].
pub const ARCHITECTURE: Architecture = Architecture {
    nam_name: schema::ARCHITECTURE,
    from_nam: |config, _weights, vs| Ok(Box::new(GreyBox::new(vs, &GreyBoxConfig::from_nam(config)?).map_err(|e| e.to_string())?)),
};

#[cfg(test)]
mod tests {
    use super::*;

    fn model(vs: &nn::VarStore) -> GreyBox {
        let small = LstmConfig { hidden_size: 5, burn_in_samples: 512, ..LstmConfig::default() };
        let config = GreyBoxConfig { preamp: small.clone(), power_amp: small, ..GreyBoxConfig::new(3, KnobInputs { treble: 2, middle: 1, bass: 0 }, 48_000.0) };
        let m = GreyBox::new(&vs.root(), &config).unwrap();
        // A circuit away from the reference, as training leaves it.
        tch::no_grad(|| m.components.shallow_clone().copy_(&Tensor::from_slice(&[0.3f32, -0.5, 0.2, 0.1, -0.2, 0.4, -0.1])));
        m
    }

    /// A guitar-like test signal with the knobs `[bass, middle, treble]` beside it: `[time, 4]`.
    fn input(n: usize, knobs: [f32; 3]) -> Tensor {
        let x: Vec<f32> = (0..n).map(|i| 0.5 * ((i as f32) * 0.021).sin() * ((i as f32) * 0.0013).cos() + 0.1 * ((i as f32) * 0.37).sin()).collect();
        let audio = Tensor::from_slice(&x).unsqueeze(1);
        Tensor::cat(&[audio, Tensor::from_slice(&knobs).unsqueeze(0).expand([n as i64, 3], false)], 1)
    }

    #[test]
    fn the_engine_plays_its_nam_as_libtorch_does_and_training_sees_the_same_circuit() {
        tch::manual_seed(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let m = model(&vs);
        let xs = input(12_000, [0.8, 0.3, 0.6]);
        let want = Vec::<f32>::try_from(m.process(&xs)).unwrap();
        // The engine, from the .nam.
        let doc = crate::interop::nam::export(&m, 48_000, &crate::interop::nam::NamMetadata::default()).unwrap();
        let file = ampsim_engine::nam::NamFile::from_value(doc, "grey box").unwrap();
        let mut engine = file.renderer().unwrap();
        engine.set_controls(&[0.8, 0.3, 0.6]);
        let x = Vec::<f32>::try_from(xs.select(1, 0)).unwrap();
        let mut played = vec![0.0; x.len()];
        for (i, o) in x.chunks(100).zip(played.chunks_mut(100)) {
            engine.process(i, o);
        }
        let d = crate::evaluation::compare::max_abs_difference(&played, &want).unwrap();
        assert!(d < 1e-5, "engine vs libtorch {d}");
        // Training's circuit (on an FFT grid) is the played one, after the warm-up.
        let trained = tch::no_grad(|| m.forward_aligned(&xs.unsqueeze(0))).squeeze_dim(0);
        let warm = m.warm_up_samples();
        let d = crate::evaluation::compare::max_abs_difference(&Vec::<f32>::try_from(trained).unwrap(), &want[warm..]).unwrap();
        assert!(d < 1e-4, "training forward vs playing {d}");
        // Blocks carry the state.
        let mut state = m.start(Device::Cpu);
        let blocks: Vec<f32> = (0..12).flat_map(|k| Vec::<f32>::try_from(m.block(&xs.narrow(0, k * 1000, 1000), &mut state).unwrap()).unwrap()).collect();
        let d = crate::evaluation::compare::max_abs_difference(&blocks, &want).unwrap();
        assert!(d < 1e-5, "blocks vs whole {d}");
    }

    #[test]
    fn the_knobs_move_the_sound_and_the_circuit_learns_by_gradient() {
        tch::manual_seed(4);
        let vs = nn::VarStore::new(Device::Cpu);
        let m = model(&vs);
        let dark = m.process(&input(8000, [1.0, 0.5, 0.0]));
        let bright = m.process(&input(8000, [0.0, 0.5, 1.0]));
        assert!((dark - bright).abs().max().double_value(&[]) > 1e-3, "the knobs change the output");
        let xs = Tensor::stack(&[input(4000, [1.0, 0.5, 0.0]), input(4000, [0.2, 0.9, 0.4])], 0);
        let y = m.forward_aligned(&xs);
        y.square().mean(Kind::Float).backward();
        for (name, t) in [("components", &m.components), ("tapers", &m.tapers), ("gain", &m.log_gain)] {
            assert!(t.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0, "{name} gets a gradient");
        }
    }

    #[test]
    fn its_nam_weights_read_back_into_the_same_model() {
        tch::manual_seed(5);
        let vs = nn::VarStore::new(Device::Cpu);
        let m = model(&vs);
        let mut out = NamWeightsOut::new();
        m.write_nam_weights(&mut out).unwrap();
        let w = out.into_vec();
        assert_eq!(w.len(), m.config().shape().nam_weight_count());
        let vs2 = nn::VarStore::new(Device::Cpu);
        let back = GreyBox::new(&vs2.root(), m.config()).unwrap();
        let mut reader = NamWeights::new(&w);
        back.read_nam_weights(&mut reader).unwrap();
        reader.finish().unwrap();
        let xs = input(3000, [0.1, 0.9, 0.5]);
        assert!((m.process(&xs) - back.process(&xs)).abs().max().double_value(&[]) < 1e-6);
        // A component the trainer cannot reach is refused, not clamped.
        let mut far = w.clone();
        far[m.config().preamp.shape().nam_weight_count() + 1] = 1e9;
        let vs3 = nn::VarStore::new(Device::Cpu);
        let e = GreyBox::new(&vs3.root(), m.config()).unwrap().read_nam_weights(&mut NamWeights::new(&far)).unwrap_err();
        assert!(e.0.contains("component 2"), "{e}");
    }
}
