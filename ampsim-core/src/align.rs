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

/// What [`estimate_lag`] found.
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

/// Estimate by how many samples `amp` lags `direct`, searching −`max_lag_samples`..=`max_lag_samples`.
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
    let n = SEGMENT;
    let hop = n / 2;
    let window = crate::spectrum::hann(n);
    let mut planner = FftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let ifft = planner.plan_fft_inverse(n);
    let mut sxy = vec![Complex::new(0.0, 0.0); n];
    let mut sxx = vec![0.0f64; n];
    let mut syy = vec![0.0f64; n];
    let mut start = 0;
    let mut segments = 0;
    while start + n <= direct.len() {
        let mut x: Vec<Complex<f64>> = (0..n).map(|i| Complex::new(direct[start + i] as f64 * window[i], 0.0)).collect();
        let mut y: Vec<Complex<f64>> = (0..n).map(|i| Complex::new(amp[start + i] as f64 * window[i], 0.0)).collect();
        fft.process(&mut x);
        fft.process(&mut y);
        for k in 0..n {
            sxy[k] += x[k].conj() * y[k];
            sxx[k] += x[k].norm_sqr();
            syy[k] += y[k].norm_sqr();
        }
        start += hop;
        segments += 1;
    }
    let mean_sxx = sxx.iter().sum::<f64>() / n as f64;
    let mean_syy = syy.iter().sum::<f64>() / n as f64;
    if segments == 0 || mean_sxx <= 0.0 || mean_syy <= 0.0 {
        return Err(Error::invalid("direct", "one of the channels is silent: nothing to align"));
    }
    // 1. Linear response, regularised where the input has no energy.
    let lambda = 1e-6 * mean_sxx;
    let h: Vec<Complex<f64>> = (0..n).map(|k| sxy[k] / (sxx[k] + lambda)).collect();
    // Magnitude-squared coherence: how much of each bin the linear part explains.
    let coherence: Vec<f64> =
        (0..n).map(|k| sxy[k].norm_sqr() / (sxx[k] * syy[k] + lambda * mean_syy).max(1e-300)).collect();
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
            let hmin = cep[k].exp();
            let e = h[k] / hmin;
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
    Ok(LagEstimate {
        lag_samples: lag,
        polarity: if peak_value >= 0.0 { Polarity::Normal } else { Polarity::Inverted },
        response_peak_lag_samples: response_peak,
        xcorr_peak_lag_samples: argmax(&xc),
        clarity: peak_value.abs() / far_rms.max(1e-30),
    })
}

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
    use crate::amp::{render, AmpConfig};
    use crate::synth::{guitar_di, GuitarConfig};

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
