//! Recordings of one rig at several settings of its controls, loaded for training. The
//! manifest itself (its format, [`Captures::read`], the held-out settings) is the torch-free
//! `ampsim-captures` crate, re-exported here; this module loads and aligns the audio
//! ([`LoadedCaptures`]).

pub use ampsim_captures::{same, Capture, Captures, ControlSpec, NamePattern, Role};
/// The built-in amp recorded at many settings lives in [`super::knob_synth`]; named here too.
pub use super::knob_synth::{record_setting, set_amp_control, synth_settings, synthesise, SynthSetting, AMP_CONTROLS};

use crate::{Error, Result};

/// The recordings of [`Captures`], loaded and aligned as one rig (one latency for all).
#[derive(Clone, Debug)]
pub struct LoadedCaptures {
    pub captures: Captures,
    /// One per capture, in order, aligned.
    pub recordings: Vec<crate::Recording>,
    /// The lag every recording was shifted by.
    pub lag_samples: i64,
    /// Each recording's own estimate (what `ampsim info` prints for it), in order; empty when
    /// the latency was given. The shift is the smallest of them: no recording's amp may lead.
    pub estimated_lags_samples: Vec<i64>,
    pub sample_rate_hz: u32,
}

impl LoadedCaptures {
    /// Load every recording (stereo: left DI, right amp), run the data checks (warnings
    /// returned), and align all by one lag: `latency_samples` when given, else the smallest of
    /// their estimates ([`crate::Recording::aligned_together`]). All must share a sample rate.
    pub fn load(captures: Captures, latency_samples: Option<i64>) -> Result<(LoadedCaptures, Vec<String>)> {
        let raw = captures.captures.iter().map(|c| crate::Recording::load(&c.path)).collect::<Result<Vec<_>>>()?;
        let rate = raw[0].sample_rate_hz;
        if let Some((c, r)) = captures.captures.iter().zip(&raw).find(|(_, r)| r.sample_rate_hz != rate) {
            return Err(Error::invalid("captures", format!("{}: {} Hz, but {} is {rate} Hz; one rig, one sample rate", c.path.display(), r.sample_rate_hz, captures.captures[0].path.display())));
        }
        let mut warnings = Vec::new();
        for r in &raw {
            warnings.extend(crate::data::checks::check(r)?.into_iter().map(|w| format!("{}: {w}", r.name)));
        }
        let (recordings, lag_samples, estimated_lags_samples) = match latency_samples {
            Some(lag) => (raw.iter().map(|r| r.aligned_by(lag)).collect::<Result<Vec<_>>>()?, lag, Vec::new()),
            None => {
                let (aligned, lag, estimates) = crate::Recording::aligned_together(&raw)?;
                (aligned, lag, estimates.iter().map(|e| e.lag_samples).collect())
            }
        };
        Ok((LoadedCaptures { captures, recordings, lag_samples, estimated_lags_samples, sample_rate_hz: rate }, warnings))
    }
}

impl LoadedCaptures {
    /// How the recordings were aligned, in words: the one shift, and why it can differ from a
    /// recording's own estimate.
    pub fn describe_alignment(&self) -> String {
        let lags = &self.estimated_lags_samples;
        match (lags.iter().min(), lags.iter().max()) {
            (Some(lo), Some(hi)) if lo != hi => {
                let mut counts = std::collections::BTreeMap::new();
                lags.iter().for_each(|l| *counts.entry(*l).or_insert(0) += 1);
                let most = counts.iter().max_by_key(|(l, n)| (**n, -**l)).map_or(*lo, |(l, _)| *l);
                format!(
                    "every recording shifted by {} samples, the smallest of their own lags ({lo} to {hi}, most often {most}, as `ampsim info` finds each): one rig, one latency, and no amp ahead of its DI",
                    self.lag_samples
                )
            }
            (Some(_), _) => format!("every recording shifted by {} samples, each one's own lag (one rig, one latency)", self.lag_samples),
            _ => format!("every recording shifted by {} samples, as given", self.lag_samples),
        }
    }

    /// The recordings `keep` picks, each with the control values the model is told (its own,
    /// or `told` for all), normalised as the model reads them: what
    /// `training::SeqData::from_captures` and `SeqData::at_setting` train and score on.
    pub fn takes_where(&self, keep: impl Fn(&Capture) -> bool, told: Option<&[f64]>) -> Vec<(&crate::Recording, Vec<f32>)> {
        self.captures
            .captures
            .iter()
            .zip(&self.recordings)
            .filter(|(c, _)| keep(c))
            .map(|(c, r)| (r, self.captures.normalised(told.unwrap_or(&c.values))))
            .collect()
    }

    /// The training setting nearest to `values` (each control's range counted as 1).
    pub fn nearest_training_setting(&self, values: &[f64]) -> Option<Vec<f64>> {
        self.captures.nearest(Role::Train, values)
    }

    /// Seconds of audio in the recordings of one role.
    pub fn seconds(&self, role: Role) -> f64 {
        self.captures.captures.iter().zip(&self.recordings).filter(|(c, _)| c.role == role).map(|(_, r)| r.duration_seconds()).sum()
    }
}
