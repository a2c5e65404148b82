//! The grey-box knob model's `.nam` layout (architecture [`ARCHITECTURE`], ampsim's own: NAM's
//! plugin does not play it). A preamp LSTM, the amp's tone stack as its circuit
//! ([`crate::circuit::tone_stack`]) turned by the treble, middle and bass knobs, a gain, and a
//! power-amp LSTM, in that order:
//!
//! ```json
//! "config": {
//!   "sample_rate": 44100,
//!   "controls": 3,
//!   "knobs": {"treble": 2, "middle": 1, "bass": 0},
//!   "preamp": {"input_size": 1, "hidden_size": 16, "num_layers": 1},
//!   "power_amp": {"input_size": 1, "hidden_size": 16, "num_layers": 1}
//! }
//! ```
//!
//! `knobs` says which of the model's `controls` (in the file's `controls` list order, read
//! normalised 0..1) turns each pot. `weights`: the preamp LSTM's (NAM's LSTM order), then the
//! tone stack's 11 values — R1 (treble pot), R2 (bass pot), R3 (middle pot), R4 (slope) in ohms,
//! C1, C2, C3 in farads, the taper exponents of the treble, middle and bass pots, the gain
//! into the power amp — then the power-amp LSTM's.

use serde::Deserialize;
use serde_json::Value;

use super::lstm::{LstmShape, MAX_CONTROLS};
use crate::circuit::tone_stack::ToneStackCircuit;

/// The architecture's name in `.nam` files.
pub const ARCHITECTURE: &str = "AmpsimGreyBox";

/// Tone-stack values in the weights: 7 components, 3 tapers, the gain.
pub const TONE_STACK_WEIGHTS: usize = 11;

/// Which control turns each pot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct KnobInputs {
    pub treble: usize,
    pub middle: usize,
    pub bass: usize,
}

/// The grey-box model's shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GreyBoxShape {
    pub sample_rate_hz: f64,
    pub controls: usize,
    pub knobs: KnobInputs,
    pub preamp: LstmShape,
    pub power_amp: LstmShape,
}

#[derive(Deserialize)]
struct NamConfig {
    sample_rate: f64,
    controls: usize,
    knobs: KnobInputs,
    preamp: Value,
    power_amp: Value,
}

impl GreyBoxShape {
    /// The shape a `.nam` `config` describes.
    pub fn from_nam(config: &Value) -> Result<GreyBoxShape, String> {
        let c: NamConfig = serde_json::from_value(config.clone()).map_err(|e| format!("{ARCHITECTURE} config: {e}"))?;
        if !(8000.0..=384_000.0).contains(&c.sample_rate) {
            return Err(format!("{ARCHITECTURE} config: sample_rate {} is not a usable rate", c.sample_rate));
        }
        if c.controls > MAX_CONTROLS {
            return Err(format!("{ARCHITECTURE} config: {} controls (at most {MAX_CONTROLS})", c.controls));
        }
        let k = c.knobs;
        if [k.treble, k.middle, k.bass].iter().any(|&i| i >= c.controls) {
            return Err(format!("{ARCHITECTURE} config: knobs {k:?} must name controls below {}", c.controls));
        }
        let (preamp, power_amp) = (LstmShape::from_nam(&c.preamp)?, LstmShape::from_nam(&c.power_amp)?);
        if preamp.controls + power_amp.controls > 0 {
            return Err(format!("{ARCHITECTURE} config: its LSTMs read the audio only (input_size 1)"));
        }
        Ok(GreyBoxShape { sample_rate_hz: c.sample_rate, controls: c.controls, knobs: k, preamp, power_amp })
    }

    /// Weights as the file stores them.
    pub fn nam_weight_count(&self) -> usize {
        self.preamp.nam_weight_count() + TONE_STACK_WEIGHTS + self.power_amp.nam_weight_count()
    }
}

/// The circuit and gain stored in `w` (the [`TONE_STACK_WEIGHTS`] values), checked: resistors
/// within 1 Ω..100 MΩ, capacitors within 0.1 pF..10 mF, tapers within ±20, the gain finite.
pub fn tone_stack_from_weights(w: &[f32]) -> Result<(ToneStackCircuit, f64), String> {
    let v: Vec<f64> = w.iter().map(|&x| x as f64).collect();
    let [r1, r2, r3, r4, c1, c2, c3, tt, tm, tb, gain] = v[..] else { return Err(format!("{TONE_STACK_WEIGHTS} tone-stack weights expected, {} given", w.len())) };
    if [r1, r2, r3, r4, c1, c2, c3].iter().any(|x| !(x.is_finite() && *x > 0.0)) {
        return Err("tone stack: every resistor and capacitor must be a positive number".into());
    }
    // Far beyond any tone stack, and far inside what f64 coefficients hold.
    if [r1, r2, r3, r4].iter().any(|r| !(1.0..=1e8).contains(r)) || [c1, c2, c3].iter().any(|c| !(1e-13..=1e-2).contains(c)) {
        return Err("tone stack: resistors must lie within 1 Ω..100 MΩ and capacitors within 0.1 pF..10 mF".into());
    }
    if [tt, tm, tb].iter().any(|a| !(a.abs() <= 20.0)) || !gain.is_finite() {
        return Err("tone stack: tapers must lie within ±20 and the gain be finite".into());
    }
    let circuit = ToneStackCircuit { r1_treble_ohm: r1, r2_bass_ohm: r2, r3_middle_ohm: r3, r4_slope_ohm: r4, c1_farad: c1, c2_farad: c2, c3_farad: c3, taper: [tt, tm, tb] };
    Ok((circuit, gain))
}
