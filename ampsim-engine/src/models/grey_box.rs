//! The grey-box knob model playing: preamp LSTM → the amp's tone stack as its circuit, turned
//! by the knobs → gain → power-amp LSTM ([`crate::schema::grey_box`] has the file layout).
//! A knob turned while playing glides the circuit's pots over [`crate::controls::RAMP_SAMPLES`].

use super::lstm::Lstm;
use crate::circuit::tone_stack::{Knobs, ToneStack};
use crate::schema::grey_box::{tone_stack_from_weights, GreyBoxShape, KnobInputs, TONE_STACK_WEIGHTS};
use crate::Renderer;

/// Samples played per step through the three stages.
const STEP: usize = 512;

/// The grey-box model, ready to play.
#[derive(Debug)]
pub struct GreyBox {
    preamp: Lstm,
    tone_stack: ToneStack,
    gain: f32,
    power_amp: Lstm,
    knobs: KnobInputs,
    /// The knob values set (normalised), by control.
    values: Vec<f32>,
    /// Nothing played since the reset: knobs set apply at once.
    fresh: bool,
    first: Vec<f32>,
    second: Vec<f32>,
}

impl GreyBox {
    /// Build from a shape and the file's flat weights (every weight used, exactly). The knobs
    /// start at 0 (as every conditioned model's) until [`Renderer::set_controls`].
    pub fn new(shape: GreyBoxShape, weights: &[f32]) -> Result<GreyBox, String> {
        if weights.len() != shape.nam_weight_count() {
            return Err(format!("{} weights, but the grey-box config needs {}", weights.len(), shape.nam_weight_count()));
        }
        let (pre, rest) = weights.split_at(shape.preamp.nam_weight_count());
        let (stack, post) = rest.split_at(TONE_STACK_WEIGHTS);
        let (circuit, gain) = tone_stack_from_weights(stack)?;
        let knobs = Knobs { treble: 0.0, middle: 0.0, bass: 0.0 };
        let tone_stack = ToneStack::new(circuit, shape.sample_rate_hz, knobs).with_glide(crate::controls::RAMP_SAMPLES);
        Ok(GreyBox {
            preamp: Lstm::new(shape.preamp, pre)?,
            tone_stack,
            gain: gain as f32,
            power_amp: Lstm::new(shape.power_amp, post)?,
            knobs: shape.knobs,
            values: vec![0.0; shape.controls],
            fresh: true,
            first: vec![0.0; STEP],
            second: vec![0.0; STEP],
        })
    }

    fn pots(&self) -> Knobs {
        let at = |i: usize| self.values[i] as f64;
        Knobs { treble: at(self.knobs.treble), middle: at(self.knobs.middle), bass: at(self.knobs.bass) }
    }
}

impl Renderer for GreyBox {
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        let n = input.len().min(output.len());
        output[n..].fill(0.0);
        if n > 0 {
            self.fresh = false;
        }
        for (x, y) in input[..n].chunks(STEP).zip(output[..n].chunks_mut(STEP)) {
            let m = x.len();
            let (a, b) = (&mut self.first[..m], &mut self.second[..m]);
            self.preamp.process(x, a);
            self.tone_stack.process(a, b);
            b.iter_mut().for_each(|v| *v *= self.gain);
            self.power_amp.process(b, y);
        }
    }

    fn reset(&mut self) {
        self.preamp.reset();
        self.power_amp.reset();
        self.tone_stack.reset();
        self.tone_stack.set_knobs_now(self.pots());
        self.fresh = true;
    }

    fn latency_samples(&self) -> usize {
        0
    }

    /// 1: no fixed window (the LSTMs' state and the filter's reach back without limit).
    fn receptive_field(&self) -> usize {
        1
    }

    /// The knobs, by control (extra values ignored, missing ones kept; a non-finite value reads
    /// as 0): at once before the first block after a reset, else gliding.
    fn set_controls(&mut self, values: &[f32]) -> bool {
        for (v, &x) in self.values.iter_mut().zip(values) {
            *v = if x.is_finite() { x } else { 0.0 };
        }
        let pots = self.pots();
        if self.fresh {
            self.tone_stack.set_knobs_now(pots);
        } else {
            self.tone_stack.set_knobs(pots);
        }
        !self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::tone_stack::ToneStackCircuit;
    use crate::LstmShape;

    fn shape() -> GreyBoxShape {
        let lstm = LstmShape { hidden_size: 6, num_layers: 1, controls: 0 };
        GreyBoxShape { sample_rate_hz: 48_000.0, controls: 3, knobs: KnobInputs { treble: 2, middle: 1, bass: 0 }, preamp: lstm, power_amp: lstm }
    }

    fn weights(shape: &GreyBoxShape, gain: f32) -> Vec<f32> {
        let c = ToneStackCircuit::marshall();
        let mut w = ampsim_testkit::seeded_weights(shape.preamp.nam_weight_count(), 3, 0.5);
        w.extend([c.r1_treble_ohm, c.r2_bass_ohm, c.r3_middle_ohm, c.r4_slope_ohm, c.c1_farad, c.c2_farad, c.c3_farad, c.taper[0], c.taper[1], c.taper[2], gain as f64].map(|v| v as f32));
        w.extend(ampsim_testkit::seeded_weights(shape.power_amp.nam_weight_count(), 4, 0.5));
        w
    }

    /// The three stages played one after another by hand.
    fn by_hand(shape: &GreyBoxShape, w: &[f32], knobs: Knobs, x: &[f32]) -> Vec<f32> {
        let (pre, rest) = w.split_at(shape.preamp.nam_weight_count());
        let (stack, post) = rest.split_at(TONE_STACK_WEIGHTS);
        let (circuit, gain) = tone_stack_from_weights(stack).unwrap();
        let mut a = vec![0.0; x.len()];
        Lstm::new(shape.preamp, pre).unwrap().process(x, &mut a);
        let mut b = vec![0.0; x.len()];
        ToneStack::new(circuit, shape.sample_rate_hz, knobs).process(&a, &mut b);
        b.iter_mut().for_each(|v| *v *= gain as f32);
        let mut y = vec![0.0; x.len()];
        Lstm::new(shape.power_amp, post).unwrap().process(&b, &mut y);
        y
    }

    #[test]
    fn plays_its_three_stages_in_order_in_any_blocks_and_the_knobs_reach_the_circuit() {
        let shape = shape();
        let w = weights(&shape, 2.5);
        let x: Vec<f32> = (0..5000).map(|i| 0.5 * ((i as f32) * 0.05).sin() + 0.2 * ((i as f32) * 0.31).sin()).collect();
        let mut model = GreyBox::new(shape, &w).unwrap();
        // Controls in the file's order: bass, middle, treble.
        assert!(model.set_controls(&[0.9, 0.2, 0.4]));
        let got = ampsim_testkit::play_in_blocks(&x, &[64, 700, 1], |i, o| model.process(i, o));
        let want = by_hand(&shape, &w, Knobs { treble: 0.4, middle: 0.2, bass: 0.9 }, &x);
        let worst = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-6, "{worst}");
        // Other knobs, another sound; turned while playing, they glide (no jump).
        model.reset();
        model.set_controls(&[0.0, 1.0, 1.0]);
        let mut other = vec![0.0; x.len()];
        model.process(&x, &mut other);
        let moved = want.iter().zip(&other).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(moved > 1e-3, "the knobs change the sound: {moved}");
        let mut y = vec![0.0; 64];
        model.set_controls(&[0.9, 0.2, 0.4]);
        model.process(&x[..64], &mut y);
        assert!(y.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn a_circuit_that_cannot_be_is_refused() {
        let shape = shape();
        let mut w = weights(&shape, 1.0);
        let at = shape.preamp.nam_weight_count();
        w[at + 1] = -1.0;
        assert!(GreyBox::new(shape, &w).unwrap_err().contains("positive"));
        w[at + 1] = 1e6;
        w[at + 8] = f32::NAN;
        assert!(GreyBox::new(shape, &w).unwrap_err().contains("taper"));
        assert!(GreyBox::new(shape, &w[1..]).is_err());
    }
}
