//! The reference amplifier: a "virtual mic'd tube amp" whose output depends on history, not
//! only on the current sample — the property that makes amp modelling hard.
//!
//! ```text
//!  DI ─► input coupling (HP 20 Hz)
//!     ─► V1a triode: gain, asymmetric soft clip, grid-conduction bias shift, coupling HP, Miller LP
//!     ─► volume ─► V1b triode (same model, other values)
//!     ─► V2a cathode follower (mild clip)
//!     ─► passive tone stack (bass / middle / treble, Yeh & Smith 2006)
//!     ─► master ─► push-pull power stage with supply sag (envelope-dependent headroom)
//!     ─► output transformer (HP 45 Hz, LP 9 kHz)
//!     ─► 4x12 cabinet + close mic (HP 75 Hz, resonance 110 Hz, box dip 400 Hz,
//!        presence 2.2 kHz and 4 kHz, 4th-order roll-off at 5 kHz, LP 7.5 kHz)
//!     ─► room (early reflections 3–23 ms) ─► recording level ─► noise floor
//!     ─► converter/mic latency (whole samples) ─► "amp" channel
//! ```
//!
//! Memory lives in the coupling filters, the grid-conduction bias shift, the supply sag, the
//! cabinet resonances and the room. [`AmpConfig::default`] is a crunch setting.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use crate::data::dsp::{Biquad, Delay, Envelope, OnePoleHighPass, OnePoleLowPass, Shape, ToneStack, ToneStackParts};
use crate::{Error, Result};

/// Knobs and recording settings of the reference amp. Knobs run 0..=1.
#[derive(Clone, Debug)]
pub struct AmpConfig {
    /// Preamp gain (default 0.6: crunch).
    pub gain: f64,
    /// Tone stack bass (default 0.5).
    pub bass: f64,
    /// Tone stack middle (default 0.6).
    pub middle: f64,
    /// Tone stack treble (default 0.7).
    pub treble: f64,
    /// Power-amp drive (default 0.5).
    pub master: f64,
    /// Depth of power-supply sag (default 0.5; 0 = stiff supply).
    pub sag: f64,
    /// Level of the room's early reflections relative to the direct sound (default 0.08).
    pub room_mix: f64,
    /// Peak level of the recorded amp channel in dBFS (default −3 dBFS).
    pub output_peak_dbfs: f64,
    /// A fixed gain from the amp to the recording instead (default `None`: level to
    /// `output_peak_dbfs`): recordings of several settings keep the level differences the
    /// knobs make.
    pub output_gain: Option<f64>,
    /// White-noise floor added to the recording, dBFS RMS (default −78 dBFS).
    pub noise_floor_dbfs: f64,
    /// Converter and mic latency in whole samples (default 37).
    pub latency_samples: usize,
    /// Seed of the noise floor (default 1).
    pub seed: u64,
}

impl Default for AmpConfig {
    fn default() -> Self {
        AmpConfig {
            gain: 0.6,
            bass: 0.5,
            middle: 0.6,
            treble: 0.7,
            master: 0.5,
            sag: 0.5,
            room_mix: 0.08,
            output_peak_dbfs: -3.0,
            output_gain: None,
            noise_floor_dbfs: -78.0,
            latency_samples: 37,
            seed: 1,
        }
    }
}

impl AmpConfig {
    fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("gain", self.gain),
            ("bass", self.bass),
            ("middle", self.middle),
            ("treble", self.treble),
            ("master", self.master),
            ("sag", self.sag),
            ("room_mix", self.room_mix),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::invalid(name, format!("{v} is outside 0..=1")));
            }
        }
        if self.latency_samples > 48_000 {
            return Err(Error::invalid("latency_samples", format!("{} is over one second", self.latency_samples)));
        }
        Ok(())
    }
}

/// Asymmetric triode curve: hard towards grid conduction (positive), soft towards cut-off.
#[inline]
fn triode(u: f64) -> f64 {
    if u >= 0.0 {
        u.tanh()
    } else {
        (0.6 * u).tanh() / 0.6
    }
}

/// One common-cathode triode stage with coupling-capacitor bias shift.
#[derive(Clone, Debug)]
struct TriodeStage {
    gain: f64,
    bias: f64,
    shift: f64,
    shift_decay: f64,
    shift_rate: f64,
    coupling: OnePoleHighPass,
    miller: OnePoleLowPass,
}

impl TriodeStage {
    fn new(fs: f64, gain: f64, bias: f64, coupling_hz: f64, miller_hz: f64) -> Self {
        TriodeStage {
            gain,
            bias,
            shift: 0.0,
            shift_decay: (-1.0 / (0.03 * fs)).exp(),
            shift_rate: 200.0 / fs,
            coupling: OnePoleHighPass::new(fs, coupling_hz),
            miller: OnePoleLowPass::new(fs, miller_hz),
        }
    }

    #[inline]
    fn run(&mut self, x: f64) -> f64 {
        let u = self.gain * self.coupling.run(x) + self.bias + self.shift;
        // Grid conduction charges the coupling capacitor and pushes the bias negative.
        if u > 0.3 {
            self.shift -= self.shift_rate * (u - 0.3);
        }
        self.shift *= self.shift_decay;
        let y = triode(u) - triode(self.bias);
        -self.miller.run(y)
    }
}

/// The reference amplifier with all its state. Feed it one sample at a time.
#[derive(Clone, Debug)]
pub struct ReferenceAmp {
    input: OnePoleHighPass,
    v1a: TriodeStage,
    v1b: TriodeStage,
    volume: f64,
    follower_gain: f64,
    tone: ToneStack,
    tone_makeup: f64,
    drive: f64,
    sag_depth: f64,
    sag_env: Envelope,
    ot_hp: OnePoleHighPass,
    ot_lp: Biquad,
    cab: Vec<Biquad>,
    room: Delay,
    room_taps: Vec<(usize, f64)>,
    room_hist: Vec<f64>,
    room_pos: usize,
}

impl ReferenceAmp {
    pub fn new(cfg: &AmpConfig, sample_rate_hz: u32) -> Result<Self> {
        cfg.validate()?;
        if sample_rate_hz < 22_050 {
            return Err(Error::invalid("sample_rate_hz", format!("{sample_rate_hz} Hz is below 22050 Hz")));
        }
        let fs = sample_rate_hz as f64;
        let tone = ToneStack::new(ToneStackParts::MARSHALL, fs, cfg.bass, cfg.middle, cfg.treble)?;
        let tone_makeup = 1.0 / tone.magnitude(fs, 1000.0).max(1e-3);
        let cab = vec![
            Biquad::new(Shape::HighPass, fs, 75.0, 0.8)?,
            Biquad::new(Shape::Peak { gain_db: 6.0 }, fs, 110.0, 1.4)?,
            Biquad::new(Shape::Peak { gain_db: -3.0 }, fs, 400.0, 1.0)?,
            Biquad::new(Shape::Peak { gain_db: 3.0 }, fs, 2200.0, 1.5)?,
            Biquad::new(Shape::Peak { gain_db: 2.0 }, fs, 4000.0, 2.0)?,
            Biquad::low_pass_all_pole(fs, 5000.0, 0.9)?,
            Biquad::low_pass_all_pole(fs, 5000.0, 0.6)?,
            Biquad::low_pass_all_pole(fs, 7500.0, 0.7)?,
        ];
        let room_ms = [3.1, 5.3, 7.9, 11.7, 16.4, 23.2];
        let room_taps = room_ms
            .iter()
            .enumerate()
            .map(|(i, ms)| ((ms * fs / 1000.0) as usize, cfg.room_mix * 0.75f64.powi(i as i32) * if i % 2 == 0 { 1.0 } else { -1.0 }))
            .collect::<Vec<_>>();
        let hist_len = room_taps.iter().map(|t| t.0).max().unwrap_or(0) + 1;
        Ok(ReferenceAmp {
            input: OnePoleHighPass::new(fs, 20.0),
            v1a: TriodeStage::new(fs, 2.0 + 8.0 * cfg.gain, -0.25, 30.0, 9000.0),
            v1b: TriodeStage::new(fs, 1.5 + 4.0 * cfg.gain, -0.35, 90.0, 7000.0),
            volume: 0.5,
            follower_gain: 1.3,
            tone,
            tone_makeup,
            drive: 0.6 + 2.4 * cfg.master,
            sag_depth: 0.55 * cfg.sag,
            sag_env: Envelope::new(fs, 0.008, 0.15),
            ot_hp: OnePoleHighPass::new(fs, 45.0),
            ot_lp: Biquad::low_pass_all_pole(fs, 9000.0, 0.707)?,
            cab,
            room: Delay::new(0),
            room_taps,
            room_hist: vec![0.0; hist_len],
            room_pos: 0,
        })
    }

    /// Process one sample (before recording level, noise and latency).
    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        let x = self.input.run(x);
        let x = self.v1a.run(x) * self.volume;
        let x = self.v1b.run(x);
        let x = (self.follower_gain * x).tanh();
        let x = self.tone.run(x) * self.tone_makeup;
        // Power stage: headroom drops as the supply sags under sustained load.
        let headroom = (1.0 - self.sag_depth * self.sag_env.value).max(0.35);
        let y = headroom * (self.drive * x / headroom).tanh();
        self.sag_env.run(y.abs());
        let y = self.ot_lp.run(self.ot_hp.run(y));
        let mut y = y;
        for bq in &mut self.cab {
            y = bq.run(y);
        }
        // Early reflections.
        let n = self.room_hist.len();
        self.room_hist[self.room_pos] = y;
        let mut out = self.room.run(y);
        for &(d, g) in &self.room_taps {
            out += g * self.room_hist[(self.room_pos + n - d) % n];
        }
        self.room_pos = (self.room_pos + 1) % n;
        out
    }
}

/// Play `direct` through the reference amp and "record" it: level to `output_peak_dbfs` (or
/// by `output_gain`), add the noise floor, then delay by `latency_samples` (the output keeps
/// the input length).
pub fn render(direct: &[f32], cfg: &AmpConfig, sample_rate_hz: u32) -> Result<Vec<f32>> {
    Ok(record(&play(direct, cfg, sample_rate_hz)?, cfg))
}

/// The amp's output before it is recorded (no level, noise or latency): what [`record`] takes.
pub fn play(direct: &[f32], cfg: &AmpConfig, sample_rate_hz: u32) -> Result<Vec<f64>> {
    let mut amp = ReferenceAmp::new(cfg, sample_rate_hz)?;
    Ok(direct.iter().map(|&x| amp.process(x as f64)).collect())
}

/// Record the amp's output `wet` as [`render`] does: level, noise floor, latency.
pub fn record(wet: &[f64], cfg: &AmpConfig) -> Vec<f32> {
    let scale = cfg.output_gain.unwrap_or_else(|| level_gain(wet, cfg.output_peak_dbfs));
    let mut rng = Pcg64::seed_from_u64(cfg.seed);
    let noise_rms = 10f64.powf(cfg.noise_floor_dbfs / 20.0);
    // Uniform noise in [-a, a] has RMS a / sqrt(3).
    let noise_a = noise_rms * 3f64.sqrt();
    let mut latency = Delay::new(cfg.latency_samples);
    wet.iter().map(|&v| latency.run(v * scale + rng.random_range(-noise_a..noise_a)) as f32).collect()
}

/// The gain that brings the amp's output `wet` to a peak of `peak_dbfs` (0 for silence).
pub fn level_gain(wet: &[f64], peak_dbfs: f64) -> f64 {
    let peak = wet.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if peak > 0.0 {
        10f64.powf(peak_dbfs / 20.0) / peak
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth::{guitar_di, GuitarConfig};

    #[test]
    fn output_is_not_a_memoryless_function_of_the_input() {
        let fs = 44_100;
        let di = guitar_di(10.0, 3, &GuitarConfig::default()).unwrap();
        let cfg = AmpConfig { latency_samples: 0, ..AmpConfig::default() };
        let amp = render(&di, &cfg, fs).unwrap();
        // The best static curve y = f(x) in the least-squares sense is the conditional mean of
        // y given x: estimate it on 400 bins of x and measure what it leaves unexplained.
        let bins = 400;
        let lim = di.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
        let bin = |x: f32| (((x as f64 / lim + 1.0) * 0.5 * (bins - 1) as f64).round() as usize).min(bins - 1);
        let mut sum = vec![0.0f64; bins];
        let mut cnt = vec![0usize; bins];
        for (&x, &y) in di.iter().zip(&amp) {
            sum[bin(x)] += y as f64;
            cnt[bin(x)] += 1;
        }
        let (mut err, mut energy) = (0.0, 0.0);
        for (&x, &y) in di.iter().zip(&amp) {
            let b = bin(x);
            let f = sum[b] / cnt[b] as f64;
            err += (y as f64 - f).powi(2);
            energy += (y as f64).powi(2);
        }
        let unexplained = err / energy;
        assert!(unexplained > 0.5, "a static curve explains too much: residual {unexplained:.3}");
    }

    #[test]
    fn amp_distorts_and_compresses() {
        let fs = 44_100u32;
        let tone = |amp: f32| -> Vec<f32> { (0..fs).map(|i| amp * (2.0 * std::f32::consts::PI * 220.0 * i as f32 / fs as f32).sin()).collect() };
        let cfg = AmpConfig { latency_samples: 0, noise_floor_dbfs: -200.0, ..AmpConfig::default() };
        let run = |x: &[f32]| {
            let mut a = ReferenceAmp::new(&cfg, fs).unwrap();
            x.iter().map(|&v| a.process(v as f64)).skip(fs as usize / 2).collect::<Vec<f64>>()
        };
        let rms = |y: &[f64]| (y.iter().map(|v| v * v).sum::<f64>() / y.len() as f64).sqrt();
        let soft = run(&tone(0.02));
        let hard = run(&tone(0.8));
        // 32 dB more input gives far less than 32 dB more output: the amp compresses.
        let gain_db = 20.0 * (rms(&hard) / rms(&soft)).log10();
        assert!(gain_db < 20.0, "output rose {gain_db:.1} dB for 32 dB more input");
        // Knob validation.
        assert!(ReferenceAmp::new(&AmpConfig { gain: 1.2, ..AmpConfig::default() }, fs).is_err());
    }

    #[test]
    fn latency_is_a_pure_delay() {
        let fs = 44_100;
        let di = guitar_di(2.0, 5, &GuitarConfig::default()).unwrap();
        let a0 = render(&di, &AmpConfig { latency_samples: 0, ..AmpConfig::default() }, fs).unwrap();
        let a37 = render(&di, &AmpConfig { latency_samples: 37, ..AmpConfig::default() }, fs).unwrap();
        assert_eq!(a0.len(), a37.len());
        // Same noise sequence, so the delayed output equals the undelayed one shifted.
        for i in 0..1000 {
            assert_eq!(a37[i + 37 + 5000], a0[i + 5000]);
        }
        assert!(a37[..37].iter().all(|&v| v == 0.0));
    }
}
