//! Latency alignment between the direct (DI) and amp channels.
//!
//! A re-amped or mic'd recording reaches the converter later than the DI: converter latency,
//! the distance from speaker to microphone. A causal model must never be asked to predict
//! the future, so the lag has to be measured and removed.
//!
//! The estimator separates that pure delay from the amp's own filtering:
//!
//! 1. the linear part of the path DI → amp, H(f), from cross- and auto-spectra averaged over
//!    overlapping Hann-windowed segments (Welch). Distortion adds harmonics that are
//!    uncorrelated with the input's phase, so the linear part survives it;
//! 2. the minimum-phase filter with the same magnitude, H_min(f), from the real cepstrum of
//!    log|H|. An amp, a speaker and a close mic are (close to) minimum phase: what is left,
//!    H / H_min, is an all-pass — essentially the pure delay e^{-j2πfd};
//! 3. the inverse FFT of that excess phase, weighted by the fourth power of each bin's
//!    coherence (so that bins the linear part explains well dominate), peaks at d.
//!
//! Polarity inversion flips the sign of the peak (reported, not corrected). The peak of the
//! plain impulse response (the delay plus the filters' group delay) and of the raw
//! cross-correlation are reported too, for comparison.

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use crate::{Error, Result};

/// Polarity of the amp channel relative to the DI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polarity {
    Normal,
    Inverted,
}

/// What [`estimate_lag`] found on one stretch of audio.
#[derive(Clone, Debug)]
pub struct LagEstimate {
    /// Samples by which the amp channel lags the DI (negative: the amp leads).
    pub lag_samples: i64,
    /// Sign of the linear response's peak.
    pub polarity: Polarity,
    /// Lag of the impulse response's largest tap (onset plus the filters' group delay).
    pub response_peak_lag_samples: i64,
    /// Lag of the plain cross-correlation's largest |value|, for reference.
    pub xcorr_peak_lag_samples: i64,
    /// Height of the excess-phase peak over the RMS away from it: how clearly the delay stands out.
    pub clarity: f64,
    /// Magnitude-squared coherence of amp and DI, averaged over frequency weighted by the DI's
    /// power: the share of the amp that a linear filter of the DI explains (1 for a pure filter,
    /// lower with distortion and noise, near 0 for unrelated signals).
    pub coherence: f64,
}

impl std::fmt::Display for LagEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "amp lags the DI by {} samples (polarity {:?}; response peak at {}, cross-correlation peak at {}, clarity {:.1})",
            self.lag_samples, self.polarity, self.response_peak_lag_samples, self.xcorr_peak_lag_samples, self.clarity
        )
    }
}

/// Segment length of the spectral averaging; lags up to a quarter of it can be measured.
const SEGMENT: usize = 8192;
/// Largest lag [`estimate_lag`] accepts.
pub const MAX_LAG_SAMPLES: usize = SEGMENT / 4;

/// Estimate by how many samples `amp` lags `direct` over the whole of both signals (one Welch
/// average), searching −`max_lag_samples`..=`max_lag_samples`. Assumes one latency throughout;
/// for real recordings prefer [`estimate_latency`], which asks many stretches and combines them.
pub fn estimate_lag(direct: &[f32], amp: &[f32], max_lag_samples: usize) -> Result<LagEstimate> {
    if direct.len() != amp.len() {
        return Err(Error::invalid("amp", format!("length {} differs from the DI's {}", amp.len(), direct.len())));
    }
    if max_lag_samples == 0 || max_lag_samples > MAX_LAG_SAMPLES {
        return Err(Error::invalid("max_lag_samples", format!("{max_lag_samples} is outside 1..={MAX_LAG_SAMPLES}")));
    }
    if direct.len() < SEGMENT {
        return Err(Error::invalid("direct", format!("{} samples is too short to align (need {SEGMENT})", direct.len())));
    }
    let spectra = Welch::of(direct, amp);
    if spectra.is_silent() {
        return Err(Error::invalid("direct", "one of the channels is silent: nothing to align"));
    }
    Ok(spectra.lag(max_lag_samples))
}

/// Averaged auto- and cross-spectra of DI (x) and amp (y) over Hann-windowed segments.
struct Welch {
    sxy: Vec<Complex<f64>>,
    sxx: Vec<f64>,
    syy: Vec<f64>,
}

impl Welch {
    fn of(direct: &[f32], amp: &[f32]) -> Welch {
        let n = SEGMENT;
        let window = crate::data::dsp::hann(n);
        let fft = FftPlanner::<f64>::new().plan_fft_forward(n);
        let mut w = Welch { sxy: vec![Complex::new(0.0, 0.0); n], sxx: vec![0.0; n], syy: vec![0.0; n] };
        let mut start = 0;
        while start + n <= direct.len() {
            let mut x: Vec<Complex<f64>> = (0..n).map(|i| Complex::new(direct[start + i] as f64 * window[i], 0.0)).collect();
            let mut y: Vec<Complex<f64>> = (0..n).map(|i| Complex::new(amp[start + i] as f64 * window[i], 0.0)).collect();
            fft.process(&mut x);
            fft.process(&mut y);
            for k in 0..n {
                w.sxy[k] += x[k].conj() * y[k];
                w.sxx[k] += x[k].norm_sqr();
                w.syy[k] += y[k].norm_sqr();
            }
            start += n / 2;
        }
        w
    }

    fn mean(v: &[f64]) -> f64 {
        v.iter().sum::<f64>() / v.len() as f64
    }

    fn is_silent(&self) -> bool {
        !(Welch::mean(&self.sxx) > 0.0 && Welch::mean(&self.syy) > 0.0)
    }

    fn lag(&self, max_lag_samples: usize) -> LagEstimate {
        let n = SEGMENT;
        let (sxy, sxx, syy) = (&self.sxy, &self.sxx, &self.syy);
        let (mean_sxx, mean_syy) = (Welch::mean(sxx), Welch::mean(syy));
        let mut planner = FftPlanner::<f64>::new();
        let fft = planner.plan_fft_forward(n);
        let ifft = planner.plan_fft_inverse(n);
        // 1. Linear response, regularised where the input has no energy.
        let lambda = 1e-6 * mean_sxx;
        let h: Vec<Complex<f64>> = (0..n).map(|k| sxy[k] / (sxx[k] + lambda)).collect();
        // Magnitude-squared coherence: how much of each bin the linear part explains.
        let coherence: Vec<f64> =
            (0..n).map(|k| sxy[k].norm_sqr() / (sxx[k] * syy[k] + lambda * mean_syy).max(1e-300)).collect();
        let weighted_coherence = (1..n / 2).map(|k| coherence[k] * sxx[k]).sum::<f64>() / (1..n / 2).map(|k| sxx[k]).sum::<f64>().max(1e-300);
        // 2. Minimum-phase counterpart from the folded real cepstrum of log|H| (floored at -100 dB
        //    below its peak so that empty bins do not dominate).
        let log_peak = h.iter().map(|v| v.norm().max(1e-300).ln()).fold(f64::MIN, f64::max);
        let floor = log_peak - 100.0 / 20.0 * std::f64::consts::LN_10;
        let mut cep: Vec<Complex<f64>> = h.iter().map(|v| Complex::new(v.norm().max(1e-300).ln().max(floor), 0.0)).collect();
        ifft.process(&mut cep);
        for (i, c) in cep.iter_mut().enumerate() {
            let fold = if i == 0 || i == n / 2 { 1.0 } else if i < n / 2 { 2.0 } else { 0.0 };
            *c *= fold / n as f64;
        }
        fft.process(&mut cep);
        // 3. Excess phase, coherence-weighted, back to lags.
        let mut excess: Vec<Complex<f64>> = (0..n)
            .map(|k| {
                let e = h[k] / cep[k].exp();
                let norm = e.norm();
                if norm > 0.0 && norm.is_finite() { e / norm * coherence[k].powi(4) } else { Complex::new(0.0, 0.0) }
            })
            .collect();
        ifft.process(&mut excess);
        let mut impulse = h.clone();
        ifft.process(&mut impulse);
        let mut xc: Vec<Complex<f64>> = sxy.clone();
        ifft.process(&mut xc);
        let at = |v: &[Complex<f64>], lag: i64| v[((lag + n as i64) % n as i64) as usize].re;
        let max = max_lag_samples as i64;
        let argmax = |v: &[Complex<f64>]| (-max..=max).max_by(|&a, &b| at(v, a).abs().total_cmp(&at(v, b).abs())).unwrap_or(0);
        // The pure delay cannot come after the response's peak (delay + the filters' group
        // delay), nor long before it: search the 64 samples up to that peak.
        let response_peak = argmax(&impulse);
        let lag = ((response_peak - 64).max(-max)..=response_peak)
            .max_by(|&a, &b| at(&excess, a).abs().total_cmp(&at(&excess, b).abs()))
            .unwrap_or(response_peak);
        let peak_value = at(&excess, lag);
        let far: Vec<f64> = (-max..=max).filter(|l| (l - lag).abs() > 8).map(|l| at(&excess, l)).collect();
        let far_rms = (far.iter().map(|v| v * v).sum::<f64>() / far.len().max(1) as f64).sqrt();
        LagEstimate {
            lag_samples: lag,
            polarity: if peak_value >= 0.0 { Polarity::Normal } else { Polarity::Inverted },
            response_peak_lag_samples: response_peak,
            xcorr_peak_lag_samples: argmax(&xc),
            clarity: peak_value.abs() / far_rms.max(1e-30),
            coherence: weighted_coherence,
        }
    }
}

/// Length of one stretch of [`estimate_latency`] (about 1.5 s at 44.1 kHz).
pub const STRETCH_SAMPLES: usize = 8 * SEGMENT;
/// Frames of this many samples decide where a recording carries signal.
const FRAME: usize = 1024;
/// A frame carries signal when both channels are within this many dB of their loud passages.
pub const ACTIVE_RANGE_DB: f64 = 40.0;
/// A stretch is estimated when at least this share of its frames carries signal.
pub const ACTIVE_SHARE: f64 = 0.5;
/// Stretches whose clarity is below this do not vote (unless none reaches it).
pub const MIN_CLARITY: f64 = 3.0;
/// Stretches whose lags lie within this many samples of each other agree.
pub const AGREEMENT_SAMPLES: i64 = 2;
/// The longest latency a DI → amp chain plausibly has without the estimate being very
/// confident: a converter's round trip plus a few metres of air (10 ms).
pub const PLAUSIBLE_LAG_SECONDS: f64 = 0.010;
/// Up to this latency an uncertain estimate is still applied, with a warning (2 ms).
pub const UNCERTAIN_LAG_SECONDS: f64 = 0.002;

/// How far an estimate can be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    /// Few stretches agree, or the delay hardly stands out.
    Low,
    /// Most stretches agree on a clear delay.
    High,
    /// Nearly every stretch agrees on a very clear delay.
    VeryHigh,
}

/// Where a recording's latency came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatencySource {
    /// Estimated from the playing ([`estimate_latency`]).
    Estimated,
    /// Measured on the calibration clicks at the start of the DI ([`find_clicks`]).
    Clicks,
    /// Given by the user.
    Given,
}

/// The latency of a recording, combined from many stretches that carry signal.
#[derive(Clone, Debug)]
pub struct LatencyEstimate {
    /// Samples by which the amp lags the DI: the median lag of the largest group of stretches
    /// that agree within [`AGREEMENT_SAMPLES`].
    pub lag_samples: i64,
    pub polarity: Polarity,
    /// Median |stretch lag − `lag_samples`| over the voting stretches.
    pub spread_samples: f64,
    /// Stretches that voted: those that carried signal in both channels and were clear
    /// enough, and the whole recording.
    pub stretches: usize,
    /// How many of them agree with `lag_samples`.
    pub agreeing: usize,
    /// Median clarity of the agreeing stretches (for clicks: the response's peak over the
    /// averaged noise floor).
    pub clarity: f64,
    /// Median coherence of all stretches (see [`LagEstimate::coherence`]).
    pub coherence: f64,
    pub confidence: Confidence,
    pub source: LatencySource,
    /// The sample rate the lag is counted at.
    pub sample_rate_hz: u32,
    /// Each stretch's own estimate, with its first sample.
    pub per_stretch: Vec<(usize, LagEstimate)>,
}

/// Below this coherence (see [`LagEstimate::coherence`]) the amp channel does not
/// follow the DI: a distorted amp through a microphone keeps well above it, the amp of another
/// performance falls far below.
pub const MIN_COHERENCE: f64 = 0.2;

impl LatencyEstimate {
    /// A latency the user gave: taken as it is.
    pub fn given(lag_samples: i64, sample_rate_hz: u32) -> LatencyEstimate {
        LatencyEstimate {
            lag_samples,
            polarity: Polarity::Normal,
            spread_samples: 0.0,
            stretches: 0,
            agreeing: 0,
            clarity: f64::INFINITY,
            coherence: f64::NAN,
            confidence: Confidence::VeryHigh,
            source: LatencySource::Given,
            sample_rate_hz,
            per_stretch: Vec::new(),
        }
    }

    /// The lag in milliseconds.
    pub fn lag_ms(&self) -> f64 {
        self.lag_samples as f64 * 1000.0 / self.sample_rate_hz as f64
    }

    /// Whether the estimate should be applied only with a warning.
    pub fn is_uncertain(&self) -> bool {
        self.confidence == Confidence::Low
    }

    /// Why the amp channel looks unrelated to the DI (coherence below [`MIN_COHERENCE`]), or `None`.
    pub fn unrelated(&self) -> Option<String> {
        (self.source == LatencySource::Estimated && self.coherence < MIN_COHERENCE).then(|| {
            format!(
                "the amp channel hardly follows the DI (coherence {:.3}, below {MIN_COHERENCE}): is the left channel really the DI and the right the amp of the same performance?",
                self.coherence
            )
        })
    }

    /// Why this lag must not be applied without the user's word, or `None` when it may be:
    /// a negative lag (the amp cannot lead its DI), an uncertain one beyond
    /// [`UNCERTAIN_LAG_SECONDS`], or one beyond [`PLAUSIBLE_LAG_SECONDS`] that is not very confident.
    pub fn implausible(&self) -> Option<String> {
        if self.source == LatencySource::Given {
            return None;
        }
        let ms = self.lag_ms();
        if self.lag_samples < 0 {
            return Some(format!("the amp would lead the DI by {} samples ({:.2} ms), which no DI → amp chain can do: is the left channel the DI and the right the amp?", -self.lag_samples, -ms));
        }
        if self.confidence == Confidence::Low && ms > UNCERTAIN_LAG_SECONDS * 1000.0 {
            return Some(format!("{} samples ({ms:.2} ms) is uncertain (only {} of {} stretches agree, clarity {:.1})", self.lag_samples, self.agreeing, self.stretches, self.clarity));
        }
        if self.confidence != Confidence::VeryHigh && ms > PLAUSIBLE_LAG_SECONDS * 1000.0 {
            return Some(format!("{} samples ({ms:.2} ms) is longer than a converter and a microphone explain, and the estimate is not certain enough to apply it unasked", self.lag_samples));
        }
        None
    }
}

impl std::fmt::Display for LatencyEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lag = format!("amp lags the DI by {} samples ({:.2} ms)", self.lag_samples, self.lag_ms());
        match self.source {
            LatencySource::Given => write!(f, "{lag}, as given"),
            LatencySource::Clicks => write!(f, "{lag}, measured on the calibration clicks (polarity {:?})", self.polarity),
            LatencySource::Estimated => write!(
                f,
                "{lag}; confidence {:?}: {} of {} votes agree (spread {:.1} samples, clarity {:.1}, coherence {:.2}); polarity {:?}",
                self.confidence, self.agreeing, self.stretches, self.spread_samples, self.clarity, self.coherence, self.polarity
            ),
        }
    }
}

/// RMS in dB of each `FRAME`-sample frame of `x` (−∞ for digital silence).
fn frame_db(x: &[f32]) -> Vec<f64> {
    x.chunks(FRAME).map(level_db).collect()
}

/// RMS level of `x` in dB (−∞ for digital silence).
pub fn level_db(x: &[f32]) -> f64 {
    10.0 * (x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / x.len().max(1) as f64).log10()
}

/// The level of a signal's loud passages in dB: the 90th percentile of its frames' RMS.
pub fn loud_level_db(x: &[f32]) -> f64 {
    loud_db(&frame_db(x))
}

/// The 90th percentile of frame levels in dB (finite ones only).
fn loud_db(frames: &[f64]) -> f64 {
    let mut v: Vec<f64> = frames.iter().copied().filter(|d| d.is_finite()).collect();
    if v.is_empty() {
        return f64::NEG_INFINITY;
    }
    v.sort_by(f64::total_cmp);
    v[(v.len() * 9 / 10).min(v.len() - 1)]
}

/// Whether each frame carries signal in both channels: within [`ACTIVE_RANGE_DB`] of the
/// channel's loud passages.
pub(crate) fn active_frames(direct: &[f32], amp: &[f32]) -> Vec<bool> {
    let (d, a) = (frame_db(direct), frame_db(amp));
    let (ld, la) = (loud_db(&d), loud_db(&a));
    d.iter().zip(&a).map(|(&x, &y)| x > ld - ACTIVE_RANGE_DB && y > la - ACTIVE_RANGE_DB).collect()
}

/// Stretches of [`STRETCH_SAMPLES`], half overlapping, in which at least [`ACTIVE_SHARE`] of
/// the frames carry signal in both channels (a recording shorter than one stretch is one
/// stretch, if it carries signal).
pub fn active_stretches(direct: &[f32], amp: &[f32]) -> Vec<std::ops::Range<usize>> {
    let n = direct.len().min(amp.len());
    let active = active_frames(&direct[..n], &amp[..n]);
    let carries = |r: &std::ops::Range<usize>| {
        let frames = &active[r.start / FRAME..r.end.div_ceil(FRAME).min(active.len())];
        frames.iter().filter(|&&a| a).count() as f64 >= ACTIVE_SHARE * frames.len() as f64
    };
    if n < 2 * SEGMENT {
        return Vec::new();
    }
    let mut stretches: Vec<std::ops::Range<usize>> = (0..)
        .map(|i| i * STRETCH_SAMPLES / 2)
        .take_while(|&s| s + STRETCH_SAMPLES <= n)
        .map(|s| s..s + STRETCH_SAMPLES)
        .collect();
    // The end of the recording, or all of a short one.
    if stretches.last().is_none_or(|r| r.end < n) {
        stretches.push(n.saturating_sub(STRETCH_SAMPLES)..n);
    }
    stretches.retain(carries);
    stretches
}

/// The latency of `amp` behind `direct`, robust to silence, pauses, joins between takes and
/// passages the excess-phase method reads wrong: every stretch that carries signal in both
/// channels ([`active_stretches`]) is estimated on its own ([`estimate_lag`]), and the
/// largest group of stretches that agree within [`AGREEMENT_SAMPLES`] gives the lag (its
/// median) and the confidence (how many agree, how clearly).
pub fn estimate_latency(direct: &[f32], amp: &[f32], max_lag_samples: usize, sample_rate_hz: u32) -> Result<LatencyEstimate> {
    if direct.len() != amp.len() {
        return Err(Error::invalid("amp", format!("length {} differs from the DI's {}", amp.len(), direct.len())));
    }
    let max_lag_samples = max_lag_samples.clamp(1, MAX_LAG_SAMPLES);
    let stretches = active_stretches(direct, amp);
    let mut per_stretch: Vec<(usize, LagEstimate)> = stretches
        .iter()
        .filter_map(|r| {
            let w = Welch::of(&direct[r.clone()], &amp[r.clone()]);
            (!w.is_silent()).then(|| (r.start, w.lag(max_lag_samples)))
        })
        .collect();
    // The whole recording votes once too: on one take it has the most data of all.
    if stretches.len() > 1 {
        let w = Welch::of(direct, amp);
        if !w.is_silent() {
            per_stretch.push((0, w.lag(max_lag_samples)));
        }
    }
    if per_stretch.is_empty() {
        return Err(Error::invalid(
            "direct",
            format!("no stretch of {SEGMENT} samples or more carries signal in both channels: nothing to align"),
        ));
    }
    Ok(consensus(per_stretch, sample_rate_hz))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[(v.len() - 1) / 2] }
}

/// Combine per-stretch estimates: stretches of at least [`MIN_CLARITY`] vote (all of them when
/// none is that clear) with their clarity as weight; the heaviest group within
/// [`AGREEMENT_SAMPLES`] of one vote's lag wins, and its lower median lag, majority polarity
/// and share of the weight make the estimate.
fn consensus(per_stretch: Vec<(usize, LagEstimate)>, sample_rate_hz: u32) -> LatencyEstimate {
    let clear = per_stretch.iter().any(|(_, e)| e.clarity >= MIN_CLARITY);
    let voters: Vec<&LagEstimate> = per_stretch.iter().map(|(_, e)| e).filter(|e| !clear || e.clarity >= MIN_CLARITY).collect();
    let group = |lag: i64| voters.iter().copied().filter(move |e| (e.lag_samples - lag).abs() <= AGREEMENT_SAMPLES);
    let weight = |lag: i64| group(lag).map(|e| e.clarity).sum::<f64>();
    let centre = voters.iter().map(|e| e.lag_samples).max_by(|&a, &b| weight(a).total_cmp(&weight(b))).unwrap_or(0);
    let agreeing: Vec<&LagEstimate> = group(centre).collect();
    let lag = median(agreeing.iter().map(|e| e.lag_samples as f64).collect()) as i64;
    let inverted = agreeing.iter().filter(|e| e.polarity == Polarity::Inverted).count();
    let clarity = median(agreeing.iter().map(|e| e.clarity).collect());
    let share = weight(centre) / voters.iter().map(|e| e.clarity).sum::<f64>().max(1e-30);
    let confidence = if share >= 0.8 && agreeing.len() >= 3 && clarity >= 5.0 {
        Confidence::VeryHigh
    } else if share >= 0.6 && clarity >= MIN_CLARITY {
        Confidence::High
    } else {
        Confidence::Low
    };
    LatencyEstimate {
        lag_samples: lag,
        polarity: if 2 * inverted > agreeing.len() { Polarity::Inverted } else { Polarity::Normal },
        spread_samples: median(voters.iter().map(|e| (e.lag_samples - lag).abs() as f64).collect()),
        stretches: voters.len(),
        agreeing: agreeing.len(),
        clarity,
        coherence: median(per_stretch.iter().map(|(_, e)| e.coherence).collect()),
        confidence,
        source: LatencySource::Estimated,
        sample_rate_hz,
        per_stretch,
    }
}

/// Calibration clicks: silence, [`CLICKS`] single-sample impulses of [`CLICK_LEVEL`] every
/// half second, and silence for the amp to ring out — [`CLICK_PREAMBLE_SECONDS`] in all.
pub const CLICKS: usize = 4;
pub const CLICK_LEVEL: f32 = 0.9;
pub const CLICK_PREAMBLE_SECONDS: f64 = 3.0;
const CLICK_LEAD_SECONDS: f64 = 0.5;
const CLICK_SPACING_SECONDS: f64 = 0.5;

fn click_positions(sample_rate_hz: u32) -> Vec<usize> {
    let sr = sample_rate_hz as f64;
    (0..CLICKS).map(|i| ((CLICK_LEAD_SECONDS + i as f64 * CLICK_SPACING_SECONDS) * sr).round() as usize).collect()
}

/// Samples of the click preamble at `sample_rate_hz`.
pub fn click_preamble_samples(sample_rate_hz: u32) -> usize {
    (CLICK_PREAMBLE_SECONDS * sample_rate_hz as f64).round() as usize
}

/// The calibration preamble that begins a DI file meant for re-amping: played through the
/// amp and recorded beside the DI, its clicks give the latency to the sample ([`find_clicks`]),
/// as the blips of NAM's standard input file do.
pub fn calibration_clicks(sample_rate_hz: u32) -> Vec<f32> {
    let mut x = vec![0.0f32; click_preamble_samples(sample_rate_hz)];
    for p in click_positions(sample_rate_hz) {
        x[p] = CLICK_LEVEL;
    }
    x
}

/// Whether `direct` begins with [`calibration_clicks`]: the clicks where they belong and
/// silence (below −40 dBFS) everywhere else in the preamble.
pub fn has_clicks(direct: &[f32], sample_rate_hz: u32) -> bool {
    let n = click_preamble_samples(sample_rate_hz);
    if direct.len() <= n {
        return false;
    }
    let clicks = click_positions(sample_rate_hz);
    let quiet = direct[..n].iter().enumerate().filter(|(i, _)| !clicks.contains(i)).all(|(_, v)| v.abs() < 0.01);
    quiet && clicks.iter().all(|&p| (direct[p] - CLICK_LEVEL).abs() < 0.01)
}

/// The latency measured on the calibration clicks at the start of `direct` (see
/// [`calibration_clicks`]), or `None` when the DI does not begin with them or the amp does not
/// answer them. The amp's answers to the clicks are averaged into one impulse response; the
/// latency is its onset, the first sample that rises [`CLICK_ONSET_OVER_NOISE`] times above the
/// amp's noise floor (measured in the silence before the first click). Nothing in a causal
/// chain answers before the delay, and a click excites every frequency at once, so the onset
/// is sharp: exact on the built-in amp at every tone setting.
pub fn find_clicks(direct: &[f32], amp: &[f32], sample_rate_hz: u32) -> Option<LatencyEstimate> {
    if !has_clicks(direct, sample_rate_hz) || amp.len() != direct.len() {
        return None;
    }
    let clicks = click_positions(sample_rate_hz);
    let span = MAX_LAG_SAMPLES + 64;
    let mut response = vec![0.0f64; span];
    for &p in &clicks {
        for (t, r) in response.iter_mut().enumerate() {
            *r += amp.get(p + t).copied().unwrap_or(0.0) as f64 / clicks.len() as f64;
        }
    }
    // The noise floor before the first click, and what is left of it after averaging.
    let lead = &amp[clicks[0] / 10..clicks[0]];
    let noise_rms = (lead.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / lead.len() as f64).sqrt() / (clicks.len() as f64).sqrt();
    let peak = response.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let threshold = (CLICK_ONSET_OVER_NOISE * noise_rms).max(1e-4 * peak);
    let onset = response[..=MAX_LAG_SAMPLES].iter().position(|v| v.abs() > threshold)?;
    let strongest = (onset..onset + 64).max_by(|&a, &b| response[a].abs().total_cmp(&response[b].abs())).unwrap_or(onset);
    Some(LatencyEstimate {
        lag_samples: onset as i64,
        polarity: if response[strongest] >= 0.0 { Polarity::Normal } else { Polarity::Inverted },
        spread_samples: 0.0,
        stretches: clicks.len(),
        agreeing: clicks.len(),
        clarity: peak / noise_rms.max(1e-30),
        coherence: 1.0,
        confidence: Confidence::VeryHigh,
        source: LatencySource::Clicks,
        sample_rate_hz,
        per_stretch: Vec::new(),
    })
}

/// How far above the averaged noise floor the response to the clicks must rise to start.
pub const CLICK_ONSET_OVER_NOISE: f64 = 8.0;

/// Shift two equal-length signals so that `amp[k]` answers `direct[k]`: drops the first
/// `lag` samples of `amp` and the last `lag` of `direct` (the other way round for a negative lag).
pub fn shift_by_lag(direct: &[f32], amp: &[f32], lag_samples: i64) -> Result<(Vec<f32>, Vec<f32>)> {
    let n = direct.len().min(amp.len());
    let l = lag_samples.unsigned_abs() as usize;
    if l >= n {
        return Err(Error::invalid("lag_samples", format!("{lag_samples} is not shorter than the signals ({n} samples)")));
    }
    Ok(if lag_samples >= 0 {
        (direct[..n - l].to_vec(), amp[l..n].to_vec())
    } else {
        (direct[l..n].to_vec(), amp[..n - l].to_vec())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::amp::{render, AmpConfig};
    use crate::data::synth::{guitar_di, GuitarConfig};

    #[test]
    fn finds_the_synthetic_amps_latency_exactly() {
        let di = guitar_di(12.0, 11, &GuitarConfig::default()).unwrap();
        let hot = AmpConfig { gain: 1.0, master: 0.9, sag: 1.0, ..AmpConfig::default() };
        let clean = AmpConfig { gain: 0.0, master: 0.1, ..AmpConfig::default() };
        for (latency, base) in [(0usize, AmpConfig::default()), (23, hot), (37, AmpConfig::default()), (60, clean)] {
            let amp = render(&di, &AmpConfig { latency_samples: latency, ..base }, 44_100).unwrap();
            let est = estimate_lag(&di, &amp, 1000).unwrap();
            assert_eq!(est.lag_samples, latency as i64, "{est}");
            // Inverted polarity: same lag, polarity reported.
            let inv: Vec<f32> = amp.iter().map(|v| -v).collect();
            let est_inv = estimate_lag(&di, &inv, 1000).unwrap();
            assert_eq!(est_inv.lag_samples, latency as i64, "{est_inv}");
            assert_ne!(est.polarity, est_inv.polarity);
        }
    }

    /// The built-in amp at every extreme of its tone stack (bass, middle, treble at 0 and 10).
    fn extreme_tones() -> Vec<AmpConfig> {
        (0..8).map(|i| AmpConfig { bass: (i & 1) as f64, middle: (i >> 1 & 1) as f64, treble: (i >> 2 & 1) as f64, ..AmpConfig::default() }).collect()
    }

    #[test]
    fn latency_0_to_2000_samples_at_extreme_tone_settings_within_two_samples() {
        let di = guitar_di(8.0, 5, &GuitarConfig::default()).unwrap();
        for (i, tone) in extreme_tones().into_iter().enumerate() {
            for latency in [0usize, 1, 37, 480, 1111, 2000] {
                if i % 2 == 1 && ![0, 2000].contains(&latency) {
                    continue;
                }
                let amp = render(&di, &AmpConfig { latency_samples: latency, ..tone }, 44_100).unwrap();
                let est = estimate_latency(&di, &amp, MAX_LAG_SAMPLES, 44_100).unwrap();
                let context = format!("bass {} middle {} treble {}, latency {latency}: {est}", tone.bass, tone.middle, tone.treble);
                assert!((est.lag_samples - latency as i64).abs() <= 2, "{context}");
                assert!(est.confidence >= Confidence::High, "{context}");
                assert_eq!(est.implausible().is_some(), latency as f64 > PLAUSIBLE_LAG_SECONDS * 44_100.0 && est.confidence != Confidence::VeryHigh, "{context}");
            }
        }
    }

    #[test]
    fn calibration_clicks_give_the_latency_to_the_sample() {
        let guitar = guitar_di(4.0, 9, &GuitarConfig::default()).unwrap();
        let mut di = calibration_clicks(44_100);
        assert!(has_clicks(&[di.clone(), guitar.clone()].concat(), 44_100) && !has_clicks(&guitar, 44_100));
        di.extend_from_slice(&guitar);
        for (tone, latency) in extreme_tones().into_iter().zip([0usize, 3, 37, 128, 480, 999, 1500, 2000]) {
            let amp = render(&di, &AmpConfig { latency_samples: latency, ..tone }, 44_100).unwrap();
            let est = find_clicks(&di, &amp, 44_100).expect("clicks found");
            assert_eq!((est.lag_samples, est.source), (latency as i64, LatencySource::Clicks), "{est}");
            let inverted: Vec<f32> = amp.iter().map(|v| -v).collect();
            assert_eq!(find_clicks(&di, &inverted, 44_100).unwrap().lag_samples, latency as i64);
        }
        // A DI without clicks, or with a click missing, is not taken for one with them.
        let mut broken = di.clone();
        broken[click_positions(44_100)[2]] = 0.0;
        assert!(find_clicks(&broken, &broken, 44_100).is_none());
    }

    #[test]
    fn stretches_skip_silence_and_a_silent_recording_is_refused() {
        let di = guitar_di(6.0, 3, &GuitarConfig::default()).unwrap();
        let amp = render(&di, &AmpConfig::default(), 44_100).unwrap();
        // 1 s of digital silence in the middle: no stretch reaches into it.
        let gap = 44_100..88_200;
        let (mut d, mut a) = (di.clone(), amp.clone());
        d.splice(gap.start..gap.start, vec![0.0; gap.len()]);
        a.splice(gap.start..gap.start, vec![0.0; gap.len()]);
        let stretches = active_stretches(&d, &a);
        assert!(!stretches.is_empty());
        assert!(stretches.iter().all(|r| r.end <= gap.start + FRAME || r.start >= gap.end - FRAME), "{stretches:?}");
        assert!(estimate_latency(&vec![0.0; 100_000], &vec![0.0; 100_000], 1000, 44_100).is_err());
    }

    #[test]
    fn shift_by_lag_aligns_a_pure_delay() {
        let x: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let mut y = vec![0.0f32; 5];
        y.extend_from_slice(&x[..95]);
        let (d, a) = shift_by_lag(&x, &y, 5).unwrap();
        assert_eq!(d, a);
        let (a2, d2) = shift_by_lag(&y, &x, -5).unwrap();
        assert_eq!(d2, a2);
        assert!(shift_by_lag(&x, &y, 100).is_err());
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(estimate_lag(&[0.0; 10], &[0.0; 9], 5).is_err());
        assert!(estimate_lag(&[0.0; 100], &[0.0; 100], 5).is_err());
        assert!(estimate_lag(&vec![0.0; 20_000], &vec![0.0; 20_000], 5).is_err());
    }
}
