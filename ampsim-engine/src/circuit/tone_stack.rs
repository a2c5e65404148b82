//! The tone stack of Fender and Marshall amps — the passive treble/middle/bass ("TMB") network
//! between the preamp and the power amp — as the circuit it is, for the grey-box knob model.
//!
//! The circuit (component names as in the tone-stack literature, e.g. Yeh & Smith, DAFx 2006):
//! the input drives the treble capacitor C1 into the top of the treble pot R1 and, through the
//! slope resistor R4, a node X; from X, C2 goes to the bottom of R1 and C3 to the top of the
//! middle pot R3 (wired as a variable resistor to ground); the bass pot R2 (a variable
//! resistor) joins the bottom of R1 to the top of R3. The output is R1's wiper, into the next
//! stage's high impedance. Nodal analysis of that network gives a third-order transfer function
//! whose coefficients are polynomials in the pots' resistance fractions `t`, `m`, `l`
//! ([`ToneStackCircuit::analog`]; a test holds it to solving the node equations directly);
//! the bilinear transform makes it a third-order digital filter ([`ToneStackCircuit::digital`]).
//!
//! A pot turned to knob position `k` (0..1) sets a resistance fraction by its taper:
//! `(exp(a·k) − 1) / (exp(a) − 1)`, linear as `a` → 0; an audio ("log") pot has `a` ≈ 4.4
//! (10 % at half travel). [`ToneStack`] plays it in real time with the knobs gliding, no
//! allocation.

use serde::{Deserialize, Serialize};

/// The component values of a TMB tone stack and its pots' tapers. Defaults: a Marshall's
/// (JCM800 values: R1 220 kΩ treble, R2 1 MΩ bass, R3 22 kΩ middle, R4 33 kΩ slope,
/// C1 470 pF, C2 and C3 22 nF; audio-taper treble and bass, linear middle).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToneStackCircuit {
    pub r1_treble_ohm: f64,
    pub r2_bass_ohm: f64,
    pub r3_middle_ohm: f64,
    pub r4_slope_ohm: f64,
    pub c1_farad: f64,
    pub c2_farad: f64,
    pub c3_farad: f64,
    /// Taper exponents `a` of the treble, middle and bass pots (0: linear).
    pub taper: [f64; 3],
}

impl Default for ToneStackCircuit {
    fn default() -> Self {
        ToneStackCircuit::marshall()
    }
}

/// Knob positions 0..1 (the amp's 0..10 divided by 10).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Knobs {
    pub treble: f64,
    pub middle: f64,
    pub bass: f64,
}

/// A third-order filter `(b0 + b1·x + b2·x² + b3·x³) / (a0 + a1·x + a2·x² + a3·x³)`, in `s`
/// (analog) or `z⁻¹` (digital, `a0` = 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cubic {
    pub b: [f64; 4],
    pub a: [f64; 4],
}

/// The resistance fraction of a pot with taper exponent `a` at knob position `k` (clamped to
/// 0..1). An `a` within ±[`LINEAR_TAPER`] counts as that (the formula's limit, linear to
/// within 5·10⁻⁵), as the trainer computes it.
pub fn taper(k: f64, a: f64) -> f64 {
    let k = k.clamp(0.0, 1.0);
    let a = if a.abs() < LINEAR_TAPER { LINEAR_TAPER } else { a };
    (a * k).exp_m1() / a.exp_m1()
}

/// The smallest taper exponent the formula is evaluated at (a linear pot).
pub const LINEAR_TAPER: f64 = 1e-4;

impl ToneStackCircuit {
    /// A Marshall's values (see [`ToneStackCircuit`]).
    pub fn marshall() -> ToneStackCircuit {
        ToneStackCircuit { r1_treble_ohm: 220e3, r2_bass_ohm: 1e6, r3_middle_ohm: 22e3, r4_slope_ohm: 33e3, c1_farad: 470e-12, c2_farad: 22e-9, c3_farad: 22e-9, taper: [4.4, 0.0, 4.4] }
    }

    /// The pots' resistance fractions `(t, m, l)` at `knobs`.
    pub fn fractions(&self, knobs: Knobs) -> (f64, f64, f64) {
        (taper(knobs.treble, self.taper[0]), taper(knobs.middle, self.taper[1]), taper(knobs.bass, self.taper[2]))
    }

    /// The analog transfer function `Vout/Vin` in `s`, normalised to `a0` = 1.
    pub fn analog(&self, knobs: Knobs) -> Cubic {
        let (t, m, l) = self.fractions(knobs);
        let (r1, r2, r3, r4) = (self.r1_treble_ohm, self.r2_bass_ohm, self.r3_middle_ohm, self.r4_slope_ohm);
        let (c1, c2, c3) = (self.c1_farad, self.c2_farad, self.c3_farad);
        // Shared products.
        let (c12, c13, c23, c123) = (c1 * c2, c1 * c3, c2 * c3, c1 * c2 * c3);
        let b1 = c1 * r1 * t + (c1 + c2) * (r2 * l + r3 * m) + c3 * r3 * m;
        let mid2 = c12 * (r1 * r2 * l + r1 * r3 * m + r2 * r4 * l + r3 * r4 * m) + c13 * (r1 * r3 * m + r2 * r3 * l * m + r2 * r4 * l + r3 * r4 * m) + c23 * r2 * r3 * l * m;
        let b2 = mid2 + (c12 + c13) * r1 * r4 * t;
        let b3 = c123 * r2 * l * (r1 * r3 * m + r1 * r4 * t + r3 * r4 * m);
        let a1 = c1 * r1 + (c1 + c2) * (r2 * l + r3 * m) + c2 * r4 + c3 * (r3 * m + r4);
        let a2 = mid2 + (c12 + c13) * r1 * r4 + c23 * r2 * r4 * l;
        let a3 = c123 * r2 * l * (r1 * r3 * m + r1 * r4 + r3 * r4 * m);
        Cubic { b: [0.0, b1, b2, b3], a: [1.0, a1, a2, a3] }
    }

    /// The digital filter at `sample_rate_hz` (bilinear transform of [`Self::analog`]),
    /// normalised to `a0` = 1.
    pub fn digital(&self, knobs: Knobs, sample_rate_hz: f64) -> Cubic {
        bilinear(&self.analog(knobs), 2.0 * sample_rate_hz)
    }
}

/// The bilinear transform of a third-order filter, term by term: row k holds
/// `(1 − z⁻¹)^k (1 + z⁻¹)^(3−k)` as coefficients of z⁰..z⁻³ (the trainer uses it too).
pub const BILINEAR_TERMS: [[f64; 4]; 4] = [[1.0, 3.0, 3.0, 1.0], [1.0, 1.0, -1.0, -1.0], [1.0, -1.0, -1.0, 1.0], [1.0, -3.0, 3.0, -1.0]];

/// `s = c·(1 − z⁻¹)/(1 + z⁻¹)` in a third-order `h`: multiply through by `(1 + z⁻¹)³`.
fn bilinear(h: &Cubic, c: f64) -> Cubic {
    let mut out = Cubic { b: [0.0; 4], a: [0.0; 4] };
    let mut ck = 1.0;
    for (k, term) in BILINEAR_TERMS.iter().enumerate() {
        for (j, &w) in term.iter().enumerate() {
            out.b[j] += h.b[k] * ck * w;
            out.a[j] += h.a[k] * ck * w;
        }
        ck *= c;
    }
    let a0 = out.a[0];
    out.b.iter_mut().chain(out.a.iter_mut()).for_each(|v| *v /= a0);
    out
}

impl Cubic {
    /// The response at `s` (analog) or `z⁻¹` (digital), a complex number `(re, im)`.
    pub fn at(&self, x: (f64, f64)) -> (f64, f64) {
        let poly = |c: &[f64; 4]| {
            // Horner in complex arithmetic.
            let mut acc = (c[3], 0.0);
            for &k in c[..3].iter().rev() {
                acc = (acc.0 * x.0 - acc.1 * x.1 + k, acc.0 * x.1 + acc.1 * x.0);
            }
            acc
        };
        let (n, d) = (poly(&self.b), poly(&self.a));
        let den = d.0 * d.0 + d.1 * d.1;
        ((n.0 * d.0 + n.1 * d.1) / den, (n.1 * d.0 - n.0 * d.1) / den)
    }
}

/// The tone stack playing in real time: a third-order filter (transposed direct form II, in
/// f64) whose coefficients follow the knobs. Knob changes glide over `glide_samples`, the
/// coefficients recomputed every 16 samples on the way; no allocation.
#[derive(Clone, Debug)]
pub struct ToneStack {
    circuit: ToneStackCircuit,
    sample_rate_hz: f64,
    filter: Cubic,
    state: [f64; 3],
    knobs: Knobs,
    target: Knobs,
    glide_left: usize,
    glide_samples: usize,
}

/// The filter's state between samples (transposed direct form II).
pub type FilterState = [f64; 3];

/// Samples between coefficient updates while the knobs glide.
const UPDATE_SAMPLES: usize = 16;

impl ToneStack {
    pub fn new(circuit: ToneStackCircuit, sample_rate_hz: f64, knobs: Knobs) -> ToneStack {
        let filter = circuit.digital(knobs, sample_rate_hz);
        let glide_samples = (0.01 * sample_rate_hz) as usize;
        ToneStack { circuit, sample_rate_hz, filter, state: [0.0; 3], knobs, target: knobs, glide_left: 0, glide_samples }
    }

    /// Glide knob changes over `samples` instead of 10 ms.
    pub fn with_glide(mut self, samples: usize) -> ToneStack {
        self.glide_samples = samples.max(1);
        self
    }

    /// Set the knobs at once (before playing, or after a reset).
    pub fn set_knobs_now(&mut self, knobs: Knobs) {
        (self.knobs, self.target, self.glide_left) = (knobs, knobs, 0);
        self.filter = self.circuit.digital(knobs, self.sample_rate_hz);
    }

    /// The state between samples, to carry on elsewhere ([`Self::set_state`]).
    pub fn state(&self) -> FilterState {
        self.state
    }

    pub fn set_state(&mut self, state: FilterState) {
        self.state = state;
    }

    /// Turn the knobs: the filter glides there (over 10 ms unless [`Self::with_glide`] says).
    pub fn set_knobs(&mut self, knobs: Knobs) {
        if knobs != self.target {
            self.target = knobs;
            self.glide_left = self.glide_samples.max(1);
        }
    }

    /// The knobs the filter plays at now (on its way to the last ones set).
    pub fn knobs(&self) -> Knobs {
        self.knobs
    }

    /// Silence before the next sample.
    pub fn reset(&mut self) {
        self.state = [0.0; 3];
    }

    /// Filter `x` into `y` (the shorter length counts).
    pub fn process(&mut self, x: &[f32], y: &mut [f32]) {
        let n = x.len().min(y.len());
        let mut i = 0;
        while i < n {
            let step = if self.glide_left > 0 { self.glide_step() } else { n - i };
            let end = (i + step).min(n);
            self.run(&x[i..end], &mut y[i..end]);
            i = end;
        }
    }

    /// Move the knobs one update along their glide; how many samples to play at them.
    fn glide_step(&mut self) -> usize {
        let step = UPDATE_SAMPLES.min(self.glide_left);
        let f = step as f64 / self.glide_left as f64;
        let mv = |a: f64, b: f64| a + (b - a) * f;
        self.knobs = Knobs { treble: mv(self.knobs.treble, self.target.treble), middle: mv(self.knobs.middle, self.target.middle), bass: mv(self.knobs.bass, self.target.bass) };
        self.glide_left -= step;
        self.filter = self.circuit.digital(self.knobs, self.sample_rate_hz);
        step
    }

    fn run(&mut self, x: &[f32], y: &mut [f32]) {
        let Cubic { b, a } = self.filter;
        let [mut s1, mut s2, mut s3] = self.state;
        for (xi, yi) in x.iter().zip(y.iter_mut()) {
            let x = *xi as f64;
            let out = b[0] * x + s1;
            s1 = b[1] * x - a[1] * out + s2;
            s2 = b[2] * x - a[2] * out + s3;
            s3 = b[3] * x - a[3] * out;
            *yi = out as f32;
        }
        self.state = [s1, s2, s3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type C = (f64, f64);
    fn mul(a: C, b: C) -> C {
        (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
    }
    fn div(a: C, b: C) -> C {
        let d = b.0 * b.0 + b.1 * b.1;
        ((a.0 * b.0 + a.1 * b.1) / d, (a.1 * b.0 - a.0 * b.1) / d)
    }
    fn sub(a: C, b: C) -> C {
        (a.0 - b.0, a.1 - b.1)
    }
    fn abs(a: C) -> f64 {
        a.0.hypot(a.1)
    }

    /// Solve the node equations of the circuit at `f_hz` (Gaussian elimination in complex
    /// numbers): the output's voltage for 1 V in. Pot fractions must lie inside (0, 1).
    fn nodal(c: &ToneStackCircuit, (t, m, l): (f64, f64, f64), f_hz: f64) -> C {
        let s: C = (0.0, 2.0 * std::f64::consts::PI * f_hz);
        let g = |r: f64| (1.0 / r, 0.0);
        let sc = |cap: f64| mul(s, (cap, 0.0));
        let add = |a: C, b: C| (a.0 + b.0, a.1 + b.1);
        let neg = |a: C| (-a.0, -a.1);
        let (gt, gb, gl, gm, g4) = (g((1.0 - t) * c.r1_treble_ohm), g(t * c.r1_treble_ohm), g(l * c.r2_bass_ohm), g(m * c.r3_middle_ohm), g(c.r4_slope_ohm));
        let (s1, s2, s3) = (sc(c.c1_farad), sc(c.c2_farad), sc(c.c3_farad));
        // Nodes: 0 treble pot top, 1 wiper (out), 2 treble pot bottom, 3 X, 4 middle pot top.
        let z = (0.0, 0.0);
        let mut a = [[z; 6]; 5];
        a[0] = [add(s1, gt), neg(gt), z, z, z, s1];
        a[1] = [neg(gt), add(gt, gb), neg(gb), z, z, z];
        a[2] = [z, neg(gb), add(add(gb, s2), gl), neg(s2), neg(gl), z];
        a[3] = [z, z, neg(s2), add(add(g4, s2), s3), neg(s3), g4];
        a[4] = [z, z, neg(gl), neg(s3), add(add(gl, s3), gm), z];
        for col in 0..5 {
            let p = (col..5).max_by(|&i, &j| abs(a[i][col]).total_cmp(&abs(a[j][col]))).unwrap();
            a.swap(col, p);
            for row in 0..5 {
                if row != col {
                    let f = div(a[row][col], a[col][col]);
                    for k in col..6 {
                        a[row][k] = sub(a[row][k], mul(f, a[col][k]));
                    }
                }
            }
        }
        div(a[1][5], a[1][1])
    }

    #[test]
    fn the_transfer_function_is_the_circuits_node_equations_solved() {
        let c = ToneStackCircuit::marshall();
        for (t, m, l) in [(0.5, 0.5, 0.5), (0.2, 0.7, 0.9), (0.9, 0.1, 0.3), (0.05, 0.95, 0.05)] {
            let knobs = Knobs { treble: t, middle: m, bass: l };
            let h = c.analog(knobs);
            for f in [20.0, 80.0, 300.0, 1000.0, 3000.0, 12_000.0] {
                let want = nodal(&c, c.fractions(knobs), f);
                let got = h.at((0.0, 2.0 * std::f64::consts::PI * f));
                assert!(abs(sub(got, want)) < 1e-9 * abs(want).max(1e-3), "t {t} m {m} l {l} at {f} Hz: {got:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn the_digital_filter_follows_the_circuit_and_the_knobs_do_what_they_say() {
        let c = ToneStackCircuit::marshall();
        let rate = 48_000.0;
        let gain_db = |k: Knobs, f: f64| {
            let w = 2.0 * std::f64::consts::PI * f / rate;
            20.0 * abs(c.digital(k, rate).at((w.cos(), -w.sin()))).log10()
        };
        let noon = Knobs { treble: 0.5, middle: 0.5, bass: 0.5 };
        // Bilinear: the analog response, at frequencies well below Nyquist.
        for f in [50.0, 500.0, 2000.0] {
            let analog = 20.0 * abs(c.analog(noon).at((0.0, 2.0 * std::f64::consts::PI * f))).log10();
            assert!((gain_db(noon, f) - analog).abs() < 0.05, "{f} Hz: {} vs {analog}", gain_db(noon, f));
        }
        let with = |f: fn(&mut Knobs)| {
            let mut k = noon;
            f(&mut k);
            k
        };
        assert!(gain_db(with(|k| k.bass = 1.0), 80.0) > gain_db(with(|k| k.bass = 0.0), 80.0) + 6.0, "bass lifts the lows");
        assert!(gain_db(with(|k| k.treble = 1.0), 5000.0) > gain_db(with(|k| k.treble = 0.0), 5000.0) + 6.0, "treble lifts the highs");
        assert!(gain_db(with(|k| k.middle = 1.0), 600.0) > gain_db(with(|k| k.middle = 0.0), 600.0) + 3.0, "middle lifts the mids");
        // A passive network: never louder than its input.
        for f in [30.0, 100.0, 400.0, 1500.0, 6000.0, 15_000.0] {
            for k in [noon, Knobs { treble: 1.0, middle: 1.0, bass: 1.0 }, Knobs { treble: 0.0, middle: 0.0, bass: 0.0 }] {
                assert!(gain_db(k, f) < 0.01, "{k:?} at {f} Hz: {} dB", gain_db(k, f));
            }
        }
    }

    #[test]
    fn playing_in_blocks_equals_one_pass_and_a_knob_turn_glides() {
        let c = ToneStackCircuit::marshall();
        let x: Vec<f32> = (0..9000).map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.5).collect();
        let noon = Knobs { treble: 0.5, middle: 0.5, bass: 0.5 };
        let mut whole = ToneStack::new(c.clone(), 48_000.0, noon);
        let mut y = vec![0.0; x.len()];
        whole.process(&x, &mut y);
        let mut blocks = ToneStack::new(c.clone(), 48_000.0, noon);
        let mut z = vec![0.0; x.len()];
        for (xs, zs) in x.chunks(61).zip(z.chunks_mut(61)) {
            blocks.process(xs, zs);
        }
        assert_eq!(y, z);
        // Turned, the knobs arrive after the glide (10 ms) and not at once.
        let bright = Knobs { treble: 1.0, middle: 0.5, bass: 0.0 };
        blocks.set_knobs(bright);
        blocks.process(&x[..64], &mut z[..64]);
        assert!(blocks.knobs() != bright && blocks.knobs().treble > 0.5);
        blocks.process(&x[..480], &mut z[..480]);
        assert_eq!(blocks.knobs(), bright);
        assert!(z.iter().all(|v| v.is_finite()));
    }
}
