//! Spectra with rustfft: the spectrogram (short-time Fourier transform, Hann window, dB) and
//! the long-term average spectrum (Welch).
//!
//! Levels are in dB relative to full scale: a full-scale sine reads 0 dB in its bin (the
//! window's coherent gain is divided out).

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use crate::{Error, Result};

/// Settings of [`spectrogram`]. Defaults: 2048-sample frames (46 ms at 44.1 kHz), hop 512,
/// Hann window, levels floored at −120 dB.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpectrogramConfig {
    pub fft_size: usize,
    pub hop_samples: usize,
    pub floor_db: f64,
}

impl Default for SpectrogramConfig {
    fn default() -> Self {
        SpectrogramConfig { fft_size: 2048, hop_samples: 512, floor_db: -120.0 }
    }
}

/// Magnitudes in dB over time (frames) and frequency (bins 0..=fft_size/2).
#[derive(Clone, Debug)]
pub struct Spectrogram {
    pub sample_rate_hz: u32,
    pub fft_size: usize,
    pub hop_samples: usize,
    /// Centre time of each frame in seconds.
    pub times_s: Vec<f64>,
    /// Frequency of each bin in Hz.
    pub freqs_hz: Vec<f64>,
    /// `db[frame][bin]`.
    pub db: Vec<Vec<f32>>,
}

impl Spectrogram {
    /// The bin whose frequency is closest to `freq_hz`.
    pub fn bin_of(&self, freq_hz: f64) -> usize {
        ((freq_hz * self.fft_size as f64 / self.sample_rate_hz as f64).round() as usize).min(self.freqs_hz.len() - 1)
    }

    /// Largest level in dB.
    pub fn max_db(&self) -> f32 {
        self.db.iter().flatten().fold(f32::MIN, |m, &v| m.max(v))
    }
}

/// Hann-windowed FFT of every `fft_size` frame of `x`, `hop` apart: calls `each(start, bins)`
/// with the frame's first sample and its bins 0..=fft_size/2, scaled so that a full-scale
/// sine reads magnitude 1 (the window's coherent gain divided out).
fn for_each_frame(x: &[f32], fft_size: usize, hop: usize, mut each: impl FnMut(usize, &[Complex<f64>])) {
    let win = crate::data::dsp::hann(fft_size);
    let gain = win.iter().sum::<f64>() / 2.0;
    let fft = FftPlanner::<f64>::new().plan_fft_forward(fft_size);
    let mut buf = vec![Complex::new(0.0, 0.0); fft_size];
    let mut start = 0;
    while start + fft_size <= x.len() {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = Complex::new(x[start + i] as f64 * win[i] / gain, 0.0);
        }
        fft.process(&mut buf);
        each(start, &buf[..=fft_size / 2]);
        start += hop;
    }
}

fn check(x: &[f32], sample_rate_hz: u32, fft_size: usize) -> Result<()> {
    if sample_rate_hz == 0 {
        return Err(Error::invalid("sample_rate_hz", "must be positive"));
    }
    if fft_size < 16 || !fft_size.is_power_of_two() {
        return Err(Error::invalid("fft_size", format!("{fft_size} is not a power of two of at least 16")));
    }
    if x.len() < fft_size {
        return Err(Error::invalid("x", format!("{} samples is shorter than one {fft_size}-sample frame", x.len())));
    }
    Ok(())
}

/// Short-time Fourier transform magnitudes in dBFS.
pub fn spectrogram(x: &[f32], sample_rate_hz: u32, cfg: &SpectrogramConfig) -> Result<Spectrogram> {
    check(x, sample_rate_hz, cfg.fft_size)?;
    if cfg.hop_samples == 0 {
        return Err(Error::invalid("hop_samples", "must be positive"));
    }
    let n = cfg.fft_size;
    let mut db = Vec::new();
    let mut times_s = Vec::new();
    for_each_frame(x, n, cfg.hop_samples, |start, bins| {
        db.push(bins.iter().map(|c| (20.0 * c.norm().max(1e-30).log10()).max(cfg.floor_db) as f32).collect());
        times_s.push((start + n / 2) as f64 / sample_rate_hz as f64);
    });
    let freqs_hz = (0..=n / 2).map(|k| k as f64 * sample_rate_hz as f64 / n as f64).collect();
    Ok(Spectrogram { sample_rate_hz, fft_size: n, hop_samples: cfg.hop_samples, times_s, freqs_hz, db })
}

/// Long-term average spectrum: mean power over 50 %-overlapping Hann frames, in dBFS.
/// Returns (frequencies in Hz, levels in dB) for bins 0..=fft_size/2.
pub fn average_spectrum(x: &[f32], sample_rate_hz: u32, fft_size: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    check(x, sample_rate_hz, fft_size)?;
    let mut power = vec![0.0f64; fft_size / 2 + 1];
    let mut frames = 0usize;
    for_each_frame(x, fft_size, fft_size / 2, |_, bins| {
        for (p, c) in power.iter_mut().zip(bins) {
            *p += c.norm_sqr();
        }
        frames += 1;
    });
    let freqs = (0..power.len()).map(|k| k as f64 * sample_rate_hz as f64 / fft_size as f64).collect();
    let db = power.iter().map(|p| 10.0 * (p / frames as f64).max(1e-30).log10()).collect();
    Ok((freqs, db))
}

/// Mean absolute difference in dB between two spectra over the bins in `lo_hz..hi_hz`.
pub fn spectral_distance_db(freqs_hz: &[f64], a_db: &[f64], b_db: &[f64], lo_hz: f64, hi_hz: f64) -> Result<f64> {
    if a_db.len() != freqs_hz.len() || b_db.len() != freqs_hz.len() {
        return Err(Error::invalid("b_db", "spectra have different numbers of bins"));
    }
    let d: Vec<f64> = freqs_hz
        .iter()
        .zip(a_db.iter().zip(b_db))
        .filter(|(f, _)| (lo_hz..hi_hz).contains(*f))
        .map(|(_, (a, b))| (a - b).abs())
        .collect();
    if d.is_empty() {
        return Err(Error::invalid("lo_hz", format!("no bins between {lo_hz} and {hi_hz} Hz")));
    }
    Ok(d.iter().sum::<f64>() / d.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, amp: f64, n: usize, sr: u32) -> Vec<f32> {
        (0..n).map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / sr as f64).sin()) as f32).collect()
    }

    #[test]
    fn a_sine_lands_in_its_bin_at_its_level() {
        let sr = 44_100;
        let x = sine(1000.0, 0.5, sr as usize, sr);
        let s = spectrogram(&x, sr, &SpectrogramConfig::default()).unwrap();
        let frame = &s.db[s.db.len() / 2];
        let peak = frame.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(peak, s.bin_of(1000.0));
        assert!((s.freqs_hz[peak] - 1000.0).abs() <= sr as f64 / 2048.0 / 2.0);
        // 0.5 amplitude = −6 dBFS (a bin-centred tone reads exactly; this one is off-centre by < 0.5 bin).
        assert!((frame[peak] as f64 + 6.02).abs() < 1.5, "{} dB", frame[peak]);
        assert_eq!(s.times_s.len(), (sr as usize - 2048) / 512 + 1);
        let (f, db) = average_spectrum(&x, sr, 4096).unwrap();
        let k = db.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert!((f[k] - 1000.0).abs() < 11.0);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(spectrogram(&[0.0; 100], 44_100, &SpectrogramConfig::default()).is_err());
        assert!(spectrogram(&[0.0; 4096], 44_100, &SpectrogramConfig { fft_size: 1000, ..Default::default() }).is_err());
        assert!(average_spectrum(&[0.0; 4096], 0, 1024).is_err());
        assert!(spectral_distance_db(&[1.0], &[1.0], &[1.0, 2.0], 0.0, 2.0).is_err());
        assert_eq!(spectral_distance_db(&[100.0, 200.0], &[1.0, 2.0], &[2.0, 4.0], 0.0, 1000.0).unwrap(), 1.5);
    }
}
