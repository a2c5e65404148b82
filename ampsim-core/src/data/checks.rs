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
