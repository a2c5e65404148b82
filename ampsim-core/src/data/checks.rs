//! Checks of a paired recording before training, each naming the file and saying what to do —
//! a capture must never fail silently.
//!
//! | check | when | severity |
//! | --- | --- | --- |
//! | [`non_finite`](crate::data::audio::non_finite) | a NaN or infinite sample | error (at load: [`crate::Recording::new`]) |
//! | [`findings`] | a channel silent (peak below [`SILENT_DBFS`]) | error |
//! | [`findings`] | a channel nearly silent (peak below [`QUIET_DBFS`]) | warning |
//! | [`findings`] | runs of [`CLIP_RUN_SAMPLES`] or more samples at full scale | warning, with the count |
//! | [`long_enough`] | too short for the model's receptive field in every validation and test block | error |
//! | [`coverage`] | a take kept out for the test is played much brighter or darker, or much louder or softer, than every take the model trains on | warning (the unheard figure then measures extrapolation) |
//! | [`LatencyEstimate::unrelated`](crate::data::align::LatencyEstimate::unrelated) | the amp hardly follows the DI (coherence below [`MIN_COHERENCE`](crate::data::align::MIN_COHERENCE)) | error (when aligning: [`crate::Recording::aligned`]) |
//!
//! DI and amp of different lengths or sample rates are refused when the files are loaded.

use crate::data::recording::{ChannelStats, Recording};
use crate::{Error, Result};

/// A channel whose peak is below this is silent (error).
pub const SILENT_DBFS: f64 = -60.0;
/// A channel whose peak is below this is nearly silent (warning).
pub const QUIET_DBFS: f64 = -40.0;
/// A sample at or above this magnitude is at full scale (16-bit full scale is 32767/32768).
pub const FULL_SCALE: f32 = 0.999;
/// This many consecutive samples at full scale make a clipped run.
pub const CLIP_RUN_SAMPLES: usize = 3;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Training can go on; the user should know.
    Warning,
    /// Training would be meaningless.
    Error,
}

/// What a check found, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

fn at_seconds(index: usize, sample_rate_hz: u32) -> String {
    format!("{:.3} s (sample {index})", index as f64 / sample_rate_hz as f64)
}

/// Runs of at least [`CLIP_RUN_SAMPLES`] consecutive samples at full scale: (count, first start).
pub fn clipped_runs(x: &[f32]) -> (usize, Option<usize>) {
    let (mut count, mut first, mut run) = (0, None, 0);
    for (i, v) in x.iter().enumerate() {
        if v.abs() >= FULL_SCALE {
            run += 1;
            if run == CLIP_RUN_SAMPLES {
                count += 1;
                first.get_or_insert(i + 1 - CLIP_RUN_SAMPLES);
            }
        } else {
            run = 0;
        }
    }
    (count, first)
}

/// The level checks of both channels: silent (error), nearly silent and clipped (warnings).
pub fn findings(rec: &Recording) -> Vec<Finding> {
    let mut out = Vec::new();
    for (channel, x) in [("left (direct)", &rec.direct), ("right (amp)", &rec.amp)] {
        let peak = ChannelStats::of(x).peak_dbfs;
        if peak < SILENT_DBFS {
            out.push(Finding { severity: Severity::Error, message: format!("the {channel} channel is silent (peak {peak:.1} dBFS): was it recorded?") });
            continue;
        }
        if peak < QUIET_DBFS {
            out.push(Finding { severity: Severity::Warning, message: format!("the {channel} channel is nearly silent (peak {peak:.1} dBFS): its noise floor will weigh in the model; record it louder") });
        }
        if let (count @ 1.., Some(first)) = clipped_runs(x) {
            out.push(Finding {
                severity: Severity::Warning,
                message: format!("the {channel} channel clips: {count} runs of {CLIP_RUN_SAMPLES}+ samples at full scale, the first at {}; the model will learn the converter's clipping — lower the input gain and record again", at_seconds(first, rec.sample_rate_hz)),
            });
        }
    }
    out
}

/// The level checks as a result: `Err` naming the recording when any finding is an error,
/// otherwise the warnings' messages.
pub fn check(rec: &Recording) -> Result<Vec<String>> {
    let found = findings(rec);
    let errors: Vec<&str> = found.iter().filter(|f| f.severity == Severity::Error).map(|f| f.message.as_str()).collect();
    if !errors.is_empty() {
        return Err(Error::BadRecording { name: rec.name.clone(), reason: errors.join("; ") });
    }
    Ok(found.into_iter().map(|f| f.message).collect())
}

/// How bright a DI is: its RMS frequency in Hz, √(mean (Δx)² / mean x²) · rate / 2π — the
/// spread of its spectrum about 0 Hz, by its slope alone (low notes ~100 Hz, playing up the neck
/// over 1 kHz). 0 for silence.
pub fn brightness_hz(x: &[f32], sample_rate_hz: u32) -> f64 {
    let energy: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
    let slope: f64 = x.windows(2).map(|w| (w[1] as f64 - w[0] as f64).powi(2)).sum();
    if energy <= 0.0 || x.len() < 2 {
        return 0.0;
    }
    (slope / (x.len() - 1) as f64 / (energy / x.len() as f64)).sqrt() * sample_rate_hz as f64 / std::f64::consts::TAU
}

/// Takes this much brighter or darker (×) than every training take get a [`coverage`] warning.
pub const COVERAGE_BRIGHTNESS_RATIO: f64 = 2.0;
/// Takes this much louder or softer (dB, the DI's RMS) than every training take get one too.
pub const COVERAGE_LEVEL_DB: f64 = 6.0;

/// When `unheard`, a take kept out for the test, is played outside what `train` covers — its DI
/// [`COVERAGE_BRIGHTNESS_RATIO`] times brighter or darker, or [`COVERAGE_LEVEL_DB`] louder or
/// softer, than every training take — what to expect and what to do, in words.
pub fn coverage(train: &[&Recording], unheard: &Recording) -> Option<String> {
    let bright = |r: &Recording| brightness_hz(&r.direct, r.sample_rate_hz);
    let level = |r: &Recording| ChannelStats::of(&r.direct).rms_dbfs;
    let (lo, hi) = train.iter().map(|r| bright(r)).fold((f64::INFINITY, 0.0f64), |(lo, hi), b| (lo.min(b), hi.max(b)));
    let (quiet, loud) = train.iter().map(|r| level(r)).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), l| (lo.min(l), hi.max(l)));
    let (b, l) = (bright(unheard), level(unheard));
    let range = format!("the takes it trains on: {:.0}–{:.0} Hz, {quiet:.1} to {loud:.1} dBFS", lo, hi);
    let how = if b > hi * COVERAGE_BRIGHTNESS_RATIO {
        format!("much brighter (higher up the neck, or more treble; its DI's RMS frequency {b:.0} Hz)")
    } else if b < lo / COVERAGE_BRIGHTNESS_RATIO {
        format!("much darker (lower notes, or the tone knob down; {b:.0} Hz)")
    } else if l < quiet - COVERAGE_LEVEL_DB {
        format!("much softer ({l:.1} dBFS)")
    } else if l > loud + COVERAGE_LEVEL_DB {
        format!("much louder ({l:.1} dBFS)")
    } else {
        return None;
    };
    Some(format!("{} is played {how} than any take the model trains on ({range}): its figure measures how the model extrapolates; to capture playing like it, train on a take like it", unheard.name))
}

/// Samples a recording needs so that each of the standard split's validation and test parts
/// (a fifth of each of at least four blocks) holds `warm_up_samples` plus 0.1 s to score.
pub fn min_samples(warm_up_samples: usize, sample_rate_hz: u32) -> usize {
    4 * 5 * (warm_up_samples + sample_rate_hz as usize / 10)
}

/// An error when `rec` is too short for a model with `warm_up_samples` of receptive field.
pub fn long_enough(rec: &Recording, warm_up_samples: usize, model: &str) -> Result<()> {
    let need = min_samples(warm_up_samples, rec.sample_rate_hz);
    if rec.len_samples() < need {
        let sr = rec.sample_rate_hz as f64;
        return Err(Error::BadRecording {
            name: rec.name.clone(),
            reason: format!(
                "{:.2} s is too short for the {model}: it needs at least {:.2} s ({warm_up_samples} samples of receptive field in every validation and test block); record longer",
                rec.len_samples() as f64 / sr,
                need as f64 / sr
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(name: &str, freq_hz: f64, amplitude: f32) -> Recording {
        let x: Vec<f32> = (0..48_000).map(|i| amplitude * (std::f64::consts::TAU * freq_hz * i as f64 / 48_000.0).sin() as f32).collect();
        Recording::new(name, x.clone(), x, 48_000).unwrap()
    }

    #[test]
    fn brightness_is_the_frequency_of_a_tone_and_coverage_flags_what_training_never_had() {
        for f in [110.0, 440.0, 1500.0] {
            let b = brightness_hz(&tone("t", f, 0.5).direct, 48_000);
            assert!((b / f - 1.0).abs() < 0.01, "{f} Hz tone: {b}");
        }
        let train = [tone("low", 110.0, 0.3), tone("mid", 220.0, 0.3)];
        let refs: Vec<&Recording> = train.iter().collect();
        assert_eq!(coverage(&refs, &tone("like", 200.0, 0.2)), None);
        assert!(coverage(&refs, &tone("high", 1500.0, 0.3)).unwrap().contains("high is played much brighter"));
        assert!(coverage(&refs, &tone("deep", 40.0, 0.3)).unwrap().contains("much darker"));
        assert!(coverage(&refs, &tone("soft", 150.0, 0.03)).unwrap().contains("much softer"));
        assert!(coverage(&refs, &tone("loud", 150.0, 0.99)).unwrap().contains("much louder"));
    }
}
