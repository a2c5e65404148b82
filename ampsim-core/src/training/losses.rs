//! Losses and metrics.
//!
//! * mean squared error — the post's training loss;
//! * error-to-signal ratio, ESR = Σ(y − ŷ)² / Σy² — the field's standard measure: 0 is perfect,
//!   1 is as bad as predicting silence, and it does not depend on the level of the recording;
//! * pre-emphasis filters applied to both signals before the ESR, so the loss weighs frequencies
//!   as the ear does (the post's "midrange matters"): a first-order high-pass 1 − 0.85 z⁻¹, and an
//!   A-weighting-style FIR (Wright & Välimäki, ICASSP 2020);
//! * a DC loss, (mean y − mean ŷ)² / mean y²;
//! * a multi-resolution STFT loss — spectral convergence plus log-magnitude distance over several
//!   FFT sizes — which compares magnitudes and ignores phase (the post's "frequency accuracy").
//!
//! The `*_loss` functions take tensors shaped `[batch, time]` (or `[time]`) and are differentiable.

use tch::{Kind, Tensor};

use crate::{Error, Result};

fn check(y: &[f32], y_hat: &[f32]) -> Result<()> {
    if y.len() != y_hat.len() {
        return Err(Error::invalid("y_hat", format!("{} samples, but y has {}", y_hat.len(), y.len())));
    }
    if y.is_empty() {
        return Err(Error::invalid("y", "is empty"));
    }
    Ok(())
}

/// Mean squared error.
pub fn mse(y: &[f32], y_hat: &[f32]) -> Result<f64> {
    check(y, y_hat)?;
    Ok(y.iter().zip(y_hat).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum::<f64>() / y.len() as f64)
}

/// Error-to-signal ratio Σ(y − ŷ)² / Σy².
pub fn esr(y: &[f32], y_hat: &[f32]) -> Result<f64> {
    check(y, y_hat)?;
    let err: f64 = y.iter().zip(y_hat).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum();
    let energy: f64 = y.iter().map(|&a| (a as f64).powi(2)).sum();
    if energy == 0.0 {
        return Err(Error::invalid("y", "is silent: the ESR is undefined"));
    }
    Ok(err / energy)
}

/// ESR after first-order pre-emphasis `y[n] − coef·y[n−1]` of both signals (0.85 is the usual
/// coefficient): the error in the upper mids and treble, where the ear is most sensitive,
/// counts more than in the bass.
pub fn esr_pre_emphasised(y: &[f32], y_hat: &[f32], coef: f64) -> Result<f64> {
    if y.len() != y_hat.len() || y.len() < 2 {
        return Err(Error::invalid("y_hat", format!("{} samples vs {}; need two or more of each", y_hat.len(), y.len())));
    }
    let pre = |x: &[f32]| x.windows(2).map(|w| w[1] - coef as f32 * w[0]).collect::<Vec<f32>>();
    esr(&pre(y), &pre(y_hat))
}

/// Mean squared error of tensors (a training loss).
pub fn mse_loss(y_hat: &Tensor, y: &Tensor) -> Tensor {
    (y_hat - y).square().mean(tch::Kind::Float)
}

/// ESR of tensors (a training loss); a tiny epsilon keeps silent batches finite.
pub fn esr_loss(y_hat: &Tensor, y: &Tensor) -> Tensor {
    (y_hat - y).square().sum(tch::Kind::Float) / (y.square().sum(tch::Kind::Float) + 1e-8)
}

/// First-order pre-emphasis `y[n] − coef·y[n−1]` along the last axis (drops the first sample).
pub fn pre_emphasis(x: &Tensor, coef: f64) -> Tensor {
    let t = *x.size().last().unwrap_or(&0);
    x.narrow(-1, 1, t - 1) - x.narrow(-1, 0, t - 1) * coef
}

/// Taps of a linear-phase FIR whose magnitude follows the A-weighting curve (IEC 61672),
/// normalised to 0 dB at 1 kHz; designed by frequency sampling with a Hann window.
pub fn a_weighting_taps(sample_rate_hz: u32, taps: usize) -> Vec<f32> {
    let taps = taps | 1;
    let fs = sample_rate_hz as f64;
    let a = |f: f64| {
        let f2 = f * f;
        let num = 12194.0f64.powi(2) * f2 * f2;
        let den = (f2 + 20.6f64.powi(2)) * ((f2 + 107.7f64.powi(2)) * (f2 + 737.9f64.powi(2))).sqrt() * (f2 + 12194.0f64.powi(2));
        num / den
    };
    let norm = a(1000.0);
    let n = 4096;
    let half = (taps / 2) as i64;
    (0..taps as i64)
        .map(|i| {
            let m = i - half;
            // Inverse DFT of a real, even magnitude response sampled on n points.
            let mut h = 0.0;
            for k in 0..=n / 2 {
                let f = k as f64 * fs / n as f64;
                let w = if k == 0 || k == n / 2 { 1.0 } else { 2.0 };
                h += w * a(f) / norm * (2.0 * std::f64::consts::PI * k as f64 * m as f64 / n as f64).cos();
            }
            let hann = 0.5 + 0.5 * (std::f64::consts::PI * m as f64 / (half + 1) as f64).cos();
            (h / n as f64 * hann) as f32
        })
        .collect()
}

/// Filter `[batch, time]` (or `[time]`) with FIR `taps` (valid part only).
pub fn fir(x: &Tensor, taps: &[f32]) -> Tensor {
    let k = Tensor::from_slice(taps).flip([0]).view([1, 1, -1]).to_device(x.device()).to_kind(x.kind());
    let x3 = if x.dim() == 1 { x.view([1, 1, -1]) } else { x.unsqueeze(1) };
    let y = x3.conv1d(&k, None::<Tensor>, [1], [0], [1], 1);
    if x.dim() == 1 { y.view([-1]) } else { y.squeeze_dim(1) }
}

/// Pre-emphasis used before the ESR.
#[derive(Clone, Debug, PartialEq)]
pub enum PreEmphasis {
    None,
    /// `y[n] − coef·y[n−1]` (the usual coef is 0.85).
    HighPass { coef: f64 },
    /// The A-weighting-style FIR of [`a_weighting_taps`].
    AWeighting { taps: Vec<f32> },
}

impl PreEmphasis {
    pub fn apply(&self, x: &Tensor) -> Tensor {
        match self {
            PreEmphasis::None => x.shallow_clone(),
            PreEmphasis::HighPass { coef } => pre_emphasis(x, *coef),
            PreEmphasis::AWeighting { taps } => fir(x, taps),
        }
    }
}

/// ESR after the same pre-emphasis of prediction and target.
pub fn esr_pre_loss(y_hat: &Tensor, y: &Tensor, filter: &PreEmphasis) -> Tensor {
    esr_loss(&filter.apply(y_hat), &filter.apply(y))
}

/// (mean y − mean ŷ)² / mean y².
pub fn dc_loss(y_hat: &Tensor, y: &Tensor) -> Tensor {
    (y.mean(Kind::Float) - y_hat.mean(Kind::Float)).square() / (y.square().mean(Kind::Float) + 1e-8)
}

/// Multi-resolution STFT loss: for each FFT size n (hop n/4, Hann), spectral convergence
/// ‖|Y| − |Ŷ|‖ / ‖|Y|‖ plus the mean |log|Y| − log|Ŷ||; averaged over the sizes.
pub fn mrstft_loss(y_hat: &Tensor, y: &Tensor, fft_sizes: &[i64]) -> Tensor {
    let mut total = Tensor::zeros([], (Kind::Float, y.device()));
    for &n in fft_sizes {
        let window = Tensor::hann_window(n, (Kind::Float, y.device()));
        let mag = |x: &Tensor| {
            x.stft(n, n / 4, n, Some(&window), false, true, true, false).abs().clamp_min(1e-7)
        };
        let (my, mh) = (mag(y), mag(y_hat));
        let sc = (&my - &mh).square().sum(Kind::Float).sqrt() / (my.square().sum(Kind::Float).sqrt() + 1e-8);
        let lm = (my.log() - mh.log()).abs().mean(Kind::Float);
        total = total + sc + lm;
    }
    total / fft_sizes.len().max(1) as f64
}

/// Weights of a combined loss (`0` switches a term off). The default is ESR plus ESR after
/// the 0.85 high-pass pre-emphasis plus a little DC loss — like NAM's trainer, which adds a
/// pre-emphasised term to the plain one (why both: docs/experiments.md).
#[derive(Clone, Debug, PartialEq)]
pub struct LossConfig {
    pub mse: f64,
    pub esr: f64,
    /// Weight of the pre-emphasised ESR, and its filter.
    pub esr_pre: f64,
    pub pre_emphasis: PreEmphasis,
    pub dc: f64,
    /// Weight of the multi-resolution STFT loss, and its FFT sizes.
    pub mrstft: f64,
    pub mrstft_sizes: Vec<i64>,
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            mse: 0.0,
            esr: 1.0,
            esr_pre: 1.0,
            pre_emphasis: PreEmphasis::HighPass { coef: 0.85 },
            dc: 0.1,
            mrstft: 0.0,
            mrstft_sizes: vec![512, 1024, 2048],
        }
    }
}

impl LossConfig {
    /// The weighted sum of the enabled terms.
    pub fn loss(&self, y_hat: &Tensor, y: &Tensor) -> Tensor {
        let mut total = Tensor::zeros([], (Kind::Float, y.device()));
        if self.mse != 0.0 {
            total = total + mse_loss(y_hat, y) * self.mse;
        }
        if self.esr != 0.0 {
            total = total + esr_loss(y_hat, y) * self.esr;
        }
        if self.esr_pre != 0.0 {
            total = total + esr_pre_loss(y_hat, y, &self.pre_emphasis) * self.esr_pre;
        }
        if self.dc != 0.0 {
            total = total + dc_loss(y_hat, y) * self.dc;
        }
        if self.mrstft != 0.0 {
            total = total + mrstft_loss(y_hat, y, &self.mrstft_sizes) * self.mrstft;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_emphasised_esr_weights_treble() {
        let n = 20_000;
        let low: Vec<f32> = (0..n).map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 100.0 / 44_100.0).sin()).collect();
        let high: Vec<f32> = (0..n).map(|i| 0.1 * (i as f32 * 2.0 * std::f32::consts::PI * 8000.0 / 44_100.0).sin()).collect();
        let y: Vec<f32> = low.iter().zip(&high).map(|(a, b)| a + b).collect();
        // Missing the quiet treble costs 1 % plain but most of the pre-emphasised signal.
        assert!((esr(&y, &low).unwrap() - 0.01).abs() < 2e-3);
        let pre = esr_pre_emphasised(&y, &low, 0.85).unwrap();
        assert!((0.25..0.4).contains(&pre), "{pre}");
        assert!(esr_pre_emphasised(&y, &low[..10], 0.85).is_err());
    }

    #[test]
    fn esr_of_y_against_0_9_y_is_0_01() {
        let y: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.05).sin()).collect();
        let y9: Vec<f32> = y.iter().map(|v| 0.9 * v).collect();
        assert!((esr(&y, &y9).unwrap() - 0.01).abs() < 1e-6);
        assert!((esr(&y, &vec![0.0; 1000]).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(esr(&y, &y).unwrap(), 0.0);
        let t = esr_loss(&Tensor::from_slice(&y9), &Tensor::from_slice(&y)).double_value(&[]);
        assert!((t - 0.01).abs() < 1e-5);
    }

    #[test]
    fn mse_and_errors() {
        assert!((mse(&[1.0, 2.0], &[1.0, 4.0]).unwrap() - 2.0).abs() < 1e-12);
        assert!(mse(&[1.0], &[1.0, 2.0]).is_err());
        assert!(esr(&[0.0, 0.0], &[1.0, 1.0]).is_err());
        let l = mse_loss(&Tensor::from_slice(&[1.0f32, 4.0]), &Tensor::from_slice(&[1.0f32, 2.0])).double_value(&[]);
        assert!((l - 2.0).abs() < 1e-6);
    }

    fn sine(freq: f64, n: usize) -> Tensor {
        let v: Vec<f32> = (0..n).map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / 44_100.0).sin() as f32).collect();
        Tensor::from_slice(&v)
    }

    #[test]
    fn pre_emphasis_removes_dc_and_keeps_highs() {
        let dc = Tensor::ones([1000], (Kind::Float, tch::Device::Cpu)) * 0.7;
        let out = pre_emphasis(&dc, 1.0);
        assert!(out.abs().max().double_value(&[]) < 1e-7);
        assert!((pre_emphasis(&dc, 0.85).mean(Kind::Float).double_value(&[]) - 0.105).abs() < 1e-6);
        // 1 − 0.85 z⁻¹ passes 10 kHz far more than 100 Hz.
        let rms = |t: &Tensor| t.square().mean(Kind::Float).sqrt().double_value(&[]);
        let lo = rms(&pre_emphasis(&sine(100.0, 44_100), 0.85));
        let hi = rms(&pre_emphasis(&sine(10_000.0, 44_100), 0.85));
        assert!(hi / lo > 8.0, "{hi} / {lo}");
    }

    #[test]
    fn a_weighting_follows_the_curve() {
        let taps = a_weighting_taps(44_100, 1023);
        let rms = |f: f64| {
            let y = fir(&sine(f, 44_100), &taps);
            20.0 * y.square().mean(Kind::Float).sqrt().double_value(&[]).log10() + 3.0103
        };
        assert!(rms(1000.0).abs() < 1.0, "{}", rms(1000.0));
        assert!((rms(100.0) + 19.1).abs() < 2.0, "{}", rms(100.0));
        assert!((rms(4000.0) - 1.0).abs() < 1.5, "{}", rms(4000.0));
        // Pre-emphasised ESR of y vs 0.9 y is still 0.01 (a linear filter keeps the ratio).
        let y = sine(440.0, 8000).view([1, -1]);
        let f = PreEmphasis::AWeighting { taps };
        assert!((esr_pre_loss(&(&y * 0.9), &y, &f).double_value(&[]) - 0.01).abs() < 1e-4);
    }

    #[test]
    fn dc_and_mrstft_losses_on_known_inputs() {
        let y = sine(440.0, 8192).view([1, -1]);
        assert!(dc_loss(&y, &y).double_value(&[]) < 1e-12);
        let shifted = &y + 0.1;
        assert!((dc_loss(&shifted, &y).double_value(&[]) - 0.02).abs() < 2e-3);
        assert!(mrstft_loss(&y, &y, &[512, 1024]).double_value(&[]) < 1e-5);
        // Phase does not matter to the STFT loss, but it does to the ESR.
        let inverted = -&y;
        assert!(mrstft_loss(&inverted, &y, &[512, 1024]).double_value(&[]) < 1e-3);
        assert!(esr_loss(&inverted, &y).double_value(&[]) > 3.9);
        // Combined: defaults give ESR + pre-emphasised ESR (0.01 each for 0.9 y) + a small DC term.
        let l = LossConfig::default().loss(&(&y * 0.9), &y).double_value(&[]);
        assert!((l - 0.02).abs() < 1e-3, "{l}");
    }
}
