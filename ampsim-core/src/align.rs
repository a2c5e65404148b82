//! Latency alignment between the direct (DI) and amp channels.
//!
//! A re-amped or mic'd recording reaches the converter later than the DI: converter latency,
//! the distance from speaker to microphone. A causal model must never be asked to predict
//! the future, so the lag has to be measured and removed.
//!
//! The estimator identifies the linear part of the path from DI to amp: cross- and
//! auto-spectra averaged over overlapping Hann-windowed segments (Welch), their regularised
//! ratio is the frequency response, and its inverse FFT the impulse response h over lags
//! −max..=max. Distortion adds harmonics but leaves the linear part in place, and a polarity
//! inversion only flips the sign of h, so both are robust. The reported lag is the onset of
//! h — the first lag whose magnitude reaches a quarter of the peak, at most 64 samples before
//! the peak — because a system cannot answer before it is excited; the peak itself sits later
//! by the group delay of the amp's filters. The plain cross-correlation peak is reported too.

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
    /// Peak |h| over the RMS of h away from the peak: how clearly the response stands out.
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
    let window: Vec<f64> = (0..n).map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()).collect();
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
    let lambda = 1e-3 * mean_sxx;
    let mut h: Vec<Complex<f64>> = (0..n).map(|k| sxy[k] / (sxx[k] + lambda)).collect();
    let mut xc: Vec<Complex<f64>> = sxy.clone();
    ifft.process(&mut h);
    ifft.process(&mut xc);
    let at = |v: &[Complex<f64>], lag: i64| v[((lag + n as i64) % n as i64) as usize].re;
    let max = max_lag_samples as i64;
    let lags = -max..=max;
    let peak = lags.clone().max_by(|&a, &b| at(&h, a).abs().total_cmp(&at(&h, b).abs())).unwrap_or(0);
    let xcorr_peak = lags.clone().max_by(|&a, &b| at(&xc, a).abs().total_cmp(&at(&xc, b).abs())).unwrap_or(0);
    let peak_value = at(&h, peak);
    let threshold = 0.25 * peak_value.abs();
    let onset = (peak.saturating_sub(64).max(-max)..=peak).find(|&l| at(&h, l).abs() >= threshold).unwrap_or(peak);
    let far: Vec<f64> = lags.filter(|l| (l - peak).abs() > 128).map(|l| at(&h, l)).collect();
    let far_rms = (far.iter().map(|v| v * v).sum::<f64>() / far.len().max(1) as f64).sqrt();
    Ok(LagEstimate {
        lag_samples: onset,
        polarity: if peak_value >= 0.0 { Polarity::Normal } else { Polarity::Inverted },
        response_peak_lag_samples: peak,
        xcorr_peak_lag_samples: xcorr_peak,
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
        for latency in [0usize, 23, 37, 60] {
            let amp = render(&di, &AmpConfig { latency_samples: latency, ..AmpConfig::default() }, 44_100).unwrap();
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
