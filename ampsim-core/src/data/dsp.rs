//! Small signal-processing blocks shared by the guitar synthesiser and the reference amp:
//! biquads (from the `biquad` crate), one-pole filters, a delay line and the classic passive
//! tone stack. Everything works sample by sample on `f64` state.

use biquad::{Biquad as _, Coefficients, DirectForm2Transposed, ToHertz, Type};

use crate::{Error, Result};

/// A biquad section (RBJ cookbook designs from the `biquad` crate), `f64` state.
#[derive(Clone, Copy, Debug)]
pub struct Biquad {
    inner: DirectForm2Transposed<f64>,
    coeffs: Coefficients<f64>,
}

/// Filter shapes for [`Biquad::new`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    LowPass,
    HighPass,
    BandPass,
    /// Peaking EQ with the given gain in dB.
    Peak { gain_db: f64 },
    /// Low shelf with the given gain in dB.
    LowShelf { gain_db: f64 },
    /// High shelf with the given gain in dB.
    HighShelf { gain_db: f64 },
}

impl Biquad {
    /// Design a biquad at `freq_hz` with quality `q` for `sample_rate_hz`.
    pub fn new(shape: Shape, sample_rate_hz: f64, freq_hz: f64, q: f64) -> Result<Biquad> {
        let ty = match shape {
            Shape::LowPass => Type::LowPass,
            Shape::HighPass => Type::HighPass,
            Shape::BandPass => Type::BandPass,
            Shape::Peak { gain_db } => Type::PeakingEQ(gain_db),
            Shape::LowShelf { gain_db } => Type::LowShelf(gain_db),
            Shape::HighShelf { gain_db } => Type::HighShelf(gain_db),
        };
        let coeffs = Coefficients::<f64>::from_params(ty, sample_rate_hz.hz(), freq_hz.hz(), q).map_err(|e| {
            Error::invalid("freq_hz", format!("{shape:?} at {freq_hz} Hz, Q {q}, fs {sample_rate_hz} Hz: {e:?}"))
        })?;
        Ok(Biquad { inner: DirectForm2Transposed::<f64>::new(coeffs), coeffs })
    }

    /// A resonant low-pass with the poles of the RBJ design and no zeros (unity gain at DC).
    ///
    /// The bilinear design puts a double zero at Nyquist, which an analog circuit does not
    /// have; the all-pole version is minimum phase with no zeros on the unit circle, like the
    /// speaker and transformer roll-offs it stands for.
    pub fn low_pass_all_pole(sample_rate_hz: f64, freq_hz: f64, q: f64) -> Result<Biquad> {
        let mut bq = Biquad::new(Shape::LowPass, sample_rate_hz, freq_hz, q)?;
        let c = &mut bq.coeffs;
        c.b0 = 1.0 + c.a1 + c.a2;
        c.b1 = 0.0;
        c.b2 = 0.0;
        bq.inner = DirectForm2Transposed::<f64>::new(bq.coeffs);
        Ok(bq)
    }

    #[inline]
    pub fn run(&mut self, x: f64) -> f64 {
        self.inner.run(x)
    }

    /// Magnitude response at `freq_hz`.
    pub fn magnitude(&self, sample_rate_hz: f64, freq_hz: f64) -> f64 {
        let c = &self.coeffs;
        magnitude_of(&[c.b0, c.b1, c.b2], &[1.0, c.a1, c.a2], sample_rate_hz, freq_hz)
    }
}

/// Periodic Hann window of `n` samples.
pub(crate) fn hann(n: usize) -> Vec<f64> {
    (0..n).map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()).collect()
}

/// |H(e^{jw})| of a rational transfer function in z^-1.
pub fn magnitude_of(b: &[f64], a: &[f64], sample_rate_hz: f64, freq_hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq_hz / sample_rate_hz;
    let eval = |p: &[f64]| {
        let (mut re, mut im) = (0.0, 0.0);
        for (k, &c) in p.iter().enumerate() {
            re += c * (w * k as f64).cos();
            im -= c * (w * k as f64).sin();
        }
        (re * re + im * im).sqrt()
    };
    eval(b) / eval(a)
}

/// First-order low-pass (one pole, matched), unity gain at DC.
#[derive(Clone, Copy, Debug)]
pub struct OnePoleLowPass {
    a: f64,
    y: f64,
}

impl OnePoleLowPass {
    pub fn new(sample_rate_hz: f64, cutoff_hz: f64) -> Self {
        OnePoleLowPass { a: (-2.0 * std::f64::consts::PI * cutoff_hz / sample_rate_hz).exp(), y: 0.0 }
    }
    #[inline]
    pub fn run(&mut self, x: f64) -> f64 {
        self.y = x + self.a * (self.y - x);
        self.y
    }
}

/// First-order high-pass (a coupling capacitor into a resistor), unity gain at high frequencies.
#[derive(Clone, Copy, Debug)]
pub struct OnePoleHighPass {
    a: f64,
    x1: f64,
    y: f64,
}

impl OnePoleHighPass {
    pub fn new(sample_rate_hz: f64, cutoff_hz: f64) -> Self {
        OnePoleHighPass { a: (-2.0 * std::f64::consts::PI * cutoff_hz / sample_rate_hz).exp(), x1: 0.0, y: 0.0 }
    }
    #[inline]
    pub fn run(&mut self, x: f64) -> f64 {
        self.y = self.a * (self.y + x - self.x1);
        self.x1 = x;
        self.y
    }
}

/// Envelope follower with separate attack and release time constants.
#[derive(Clone, Copy, Debug)]
pub struct Envelope {
    attack: f64,
    release: f64,
    pub value: f64,
}

impl Envelope {
    pub fn new(sample_rate_hz: f64, attack_seconds: f64, release_seconds: f64) -> Self {
        let coef = |t: f64| (-1.0 / (t * sample_rate_hz)).exp();
        Envelope { attack: coef(attack_seconds), release: coef(release_seconds), value: 0.0 }
    }
    #[inline]
    pub fn run(&mut self, level: f64) -> f64 {
        let c = if level > self.value { self.attack } else { self.release };
        self.value = level + c * (self.value - level);
        self.value
    }
}

/// Integer delay line.
#[derive(Clone, Debug)]
pub struct Delay {
    buf: Vec<f64>,
    pos: usize,
}

impl Delay {
    pub fn new(delay_samples: usize) -> Self {
        Delay { buf: vec![0.0; delay_samples], pos: 0 }
    }
    #[inline]
    pub fn run(&mut self, x: f64) -> f64 {
        if self.buf.is_empty() {
            return x;
        }
        let y = self.buf[self.pos];
        self.buf[self.pos] = x;
        self.pos = (self.pos + 1) % self.buf.len();
        y
    }
}

/// Component values of a passive bass/middle/treble tone stack (ohms, farads).
#[derive(Clone, Copy, Debug)]
pub struct ToneStackParts {
    /// Treble pot.
    pub r1: f64,
    /// Bass pot.
    pub r2: f64,
    /// Middle pot.
    pub r3: f64,
    /// Slope resistor.
    pub r4: f64,
    pub c1: f64,
    pub c2: f64,
    pub c3: f64,
}

impl ToneStackParts {
    /// A Marshall-style stack (JCM800 / JTM45 family values).
    pub const MARSHALL: ToneStackParts =
        ToneStackParts { r1: 220e3, r2: 1e6, r3: 22e3, r4: 33e3, c1: 470e-12, c2: 22e-9, c3: 22e-9 };
}

/// The classic passive tone stack as a third-order IIR filter.
///
/// The analog transfer function H(s) = (b1 s + b2 s² + b3 s³) / (1 + a1 s + a2 s² + a3 s³)
/// follows D. T. Yeh and J. O. Smith, "Discretization of the '59 Fender Bassman Tone Stack"
/// (DAFx 2006); it is discretised with the bilinear transform. Knob positions are 0..=1.
#[derive(Clone, Debug)]
pub struct ToneStack {
    /// Numerator and denominator in z^-1, normalised so that `a[0] == 1`.
    pub b: [f64; 4],
    pub a: [f64; 4],
    x: [f64; 3],
    y: [f64; 3],
}

impl ToneStack {
    pub fn new(parts: ToneStackParts, sample_rate_hz: f64, bass: f64, middle: f64, treble: f64) -> Result<Self> {
        for (name, v) in [("bass", bass), ("middle", middle), ("treble", treble)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::invalid(name, format!("{v} is outside 0..=1")));
            }
        }
        // A log-taper bass pot, as in the amps.
        let l = (bass * 3.4 - 3.4).exp();
        let (m, t) = (middle, treble);
        let ToneStackParts { r1, r2, r3, r4, c1, c2, c3 } = parts;
        let b1 = t * c1 * r1 + m * c3 * r3 + l * (c1 * r2 + c2 * r2) + (c1 * r3 + c2 * r3);
        let b2 = t * (c1 * c2 * r1 * r4 + c1 * c3 * r1 * r4) - m * m * (c1 * c3 * r3 * r3 + c2 * c3 * r3 * r3)
            + m * (c1 * c3 * r1 * r3 + c1 * c3 * r3 * r3 + c2 * c3 * r3 * r3)
            + l * (c1 * c2 * r1 * r2 + c1 * c2 * r2 * r4 + c1 * c3 * r2 * r4)
            + l * m * (c1 * c3 * r2 * r3 + c2 * c3 * r2 * r3)
            + (c1 * c2 * r1 * r3 + c1 * c2 * r3 * r4 + c1 * c3 * r3 * r4);
        let c123 = c1 * c2 * c3;
        let b3 = l * m * (c123 * r1 * r2 * r3 + c123 * r2 * r3 * r4) - m * m * (c123 * r1 * r3 * r3 + c123 * r3 * r3 * r4)
            + m * (c123 * r1 * r3 * r3 + c123 * r3 * r3 * r4)
            + t * c123 * r1 * r3 * r4
            - t * m * c123 * r1 * r3 * r4
            + t * l * c123 * r1 * r2 * r4;
        let a1 = (c1 * r1 + c1 * r3 + c2 * r3 + c2 * r4 + c3 * r4) + m * c3 * r3 + l * (c1 * r2 + c2 * r2);
        let a2 = m * (c1 * c3 * r1 * r3 - c2 * c3 * r3 * r4 + c1 * c3 * r3 * r3 + c2 * c3 * r3 * r3)
            + l * m * (c1 * c3 * r2 * r3 + c2 * c3 * r2 * r3)
            - m * m * (c1 * c3 * r3 * r3 + c2 * c3 * r3 * r3)
            + l * (c1 * c2 * r2 * r4 + c1 * c2 * r1 * r2 + c1 * c3 * r2 * r4 + c2 * c3 * r2 * r4)
            + (c1 * c2 * r1 * r4 + c1 * c3 * r1 * r4 + c1 * c2 * r3 * r4 + c1 * c2 * r1 * r3 + c1 * c3 * r3 * r4 + c2 * c3 * r3 * r4);
        let a3 = l * m * (c123 * r1 * r2 * r3 + c123 * r2 * r3 * r4) - m * m * (c123 * r1 * r3 * r3 + c123 * r3 * r3 * r4)
            + m * (c123 * r3 * r3 * r4 + c123 * r1 * r3 * r3 - c123 * r1 * r3 * r4)
            + l * c123 * r1 * r2 * r4
            + c123 * r1 * r3 * r4;
        let (b, a) = bilinear3([0.0, b1, b2, b3], [1.0, a1, a2, a3], 2.0 * sample_rate_hz);
        Ok(ToneStack { b, a, x: [0.0; 3], y: [0.0; 3] })
    }

    #[inline]
    pub fn run(&mut self, x: f64) -> f64 {
        let (b, a) = (&self.b, &self.a);
        let y = b[0] * x + b[1] * self.x[0] + b[2] * self.x[1] + b[3] * self.x[2]
            - a[1] * self.y[0]
            - a[2] * self.y[1]
            - a[3] * self.y[2];
        self.x = [x, self.x[0], self.x[1]];
        self.y = [y, self.y[0], self.y[1]];
        y
    }

    /// Magnitude response at `freq_hz`.
    pub fn magnitude(&self, sample_rate_hz: f64, freq_hz: f64) -> f64 {
        magnitude_of(&self.b, &self.a, sample_rate_hz, freq_hz)
    }
}

/// Bilinear transform s = c (1 - z^-1)/(1 + z^-1) of a third-order analog filter given by
/// coefficients of s^0..s^3; returns (b, a) in z^-1 with a[0] = 1.
fn bilinear3(bs: [f64; 4], as_: [f64; 4], c: f64) -> ([f64; 4], [f64; 4]) {
    // (1 - z)^k (1 + z)^(3-k) for k = 0..3, as coefficient lists of z^-1.
    const BASIS: [[f64; 4]; 4] = [[1.0, 3.0, 3.0, 1.0], [1.0, 1.0, -1.0, -1.0], [1.0, -1.0, -1.0, 1.0], [1.0, -3.0, 3.0, -1.0]];
    let mut b = [0.0; 4];
    let mut a = [0.0; 4];
    for k in 0..4 {
        let ck = c.powi(k as i32);
        for i in 0..4 {
            b[i] += bs[k] * ck * BASIS[k][i];
            a[i] += as_[k] * ck * BASIS[k][i];
        }
    }
    let a0 = a[0];
    (b.map(|v| v / a0), a.map(|v| v / a0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FS: f64 = 44_100.0;

    fn db(x: f64) -> f64 {
        20.0 * x.log10()
    }

    #[test]
    fn tone_stack_is_passive_stable_and_knobs_act() {
        let flat = ToneStack::new(ToneStackParts::MARSHALL, FS, 0.5, 0.5, 0.5).unwrap();
        // Passive network: never gains, and it is stable (impulse response decays).
        for f in [20.0, 50.0, 100.0, 300.0, 700.0, 1500.0, 3000.0, 8000.0, 15000.0] {
            let m = flat.magnitude(FS, f);
            assert!(m < 1.05, "gain {m} at {f} Hz");
        }
        let mut ts = flat.clone();
        let mut tail = 0.0;
        for n in 0..FS as usize {
            let y = ts.run(if n == 0 { 1.0 } else { 0.0 });
            if n > FS as usize / 2 {
                tail += y.abs();
            }
        }
        assert!(tail < 1e-6, "impulse response does not decay: {tail}");
        // The classic mid scoop: 500 Hz sits below both 100 Hz and 3 kHz.
        let (lo, mid, hi) = (flat.magnitude(FS, 100.0), flat.magnitude(FS, 500.0), flat.magnitude(FS, 3000.0));
        assert!(mid < lo && mid < hi, "no mid scoop: {lo} {mid} {hi}");
        // Each knob, from 0 to 1, raises its own band.
        let at = |b, m, t, f| db(ToneStack::new(ToneStackParts::MARSHALL, FS, b, m, t).unwrap().magnitude(FS, f));
        assert!(at(1.0, 0.5, 0.5, 80.0) > at(0.0, 0.5, 0.5, 80.0) + 3.0);
        assert!(at(0.5, 1.0, 0.5, 500.0) > at(0.5, 0.0, 0.5, 500.0) + 3.0);
        assert!(at(0.5, 0.5, 1.0, 5000.0) > at(0.5, 0.5, 0.0, 5000.0) + 6.0);
        assert!(ToneStack::new(ToneStackParts::MARSHALL, FS, 1.5, 0.5, 0.5).is_err());
    }

    #[test]
    fn one_pole_filters_have_expected_corners() {
        let mut hp = OnePoleHighPass::new(FS, 100.0);
        let mut lp = OnePoleLowPass::new(FS, 100.0);
        // DC: high-pass settles to 0, low-pass to 1.
        let (mut h, mut l) = (0.0, 0.0);
        for _ in 0..44_100 {
            h = hp.run(1.0);
            l = lp.run(1.0);
        }
        assert!(h.abs() < 1e-6 && (l - 1.0).abs() < 1e-6);
    }

    #[test]
    fn biquad_lowpass_rolls_off() {
        let bq = Biquad::new(Shape::LowPass, FS, 1000.0, 0.707).unwrap();
        assert!((bq.magnitude(FS, 50.0) - 1.0).abs() < 0.01);
        assert!(db(bq.magnitude(FS, 10_000.0)) < -35.0);
        assert!(Biquad::new(Shape::LowPass, FS, 30_000.0, 0.7).is_err());
        let ap = Biquad::low_pass_all_pole(FS, 1000.0, 0.707).unwrap();
        assert!((ap.magnitude(FS, 10.0) - 1.0).abs() < 0.01);
        assert!(db(ap.magnitude(FS, 10_000.0)) < -25.0);
    }

    #[test]
    fn delay_delays() {
        let mut d = Delay::new(3);
        let out: Vec<f64> = (1..=6).map(|i| d.run(i as f64)).collect();
        assert_eq!(out, vec![0.0, 0.0, 0.0, 1.0, 2.0, 3.0]);
    }
}
