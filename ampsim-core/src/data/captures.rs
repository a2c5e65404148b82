//! Recordings of one rig at several settings of its controls, loaded for training. The
//! manifest itself (its format, [`Captures::read`], the held-out settings) is the torch-free
//! `ampsim-captures` crate, re-exported here; this module loads and aligns the audio
//! ([`LoadedCaptures`]) and records the built-in amp over a grid of settings.

pub use ampsim_captures::{same, Capture, Captures, ControlSpec, NamePattern, Role};

use std::collections::BTreeMap;
use std::path::Path;

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

/// The built-in amp's controls, by name (each 0..=1).
pub const AMP_CONTROLS: [&str; 6] = ["gain", "bass", "middle", "treble", "master", "sag"];

/// `cfg` with the built-in amp's control `name` at `value`.
pub fn set_amp_control(cfg: &mut crate::data::amp::AmpConfig, name: &str, value: f64) -> Result<()> {
    let slot = match name {
        "gain" => &mut cfg.gain,
        "bass" => &mut cfg.bass,
        "middle" => &mut cfg.middle,
        "treble" => &mut cfg.treble,
        "master" => &mut cfg.master,
        "sag" => &mut cfg.sag,
        other => return Err(Error::invalid("knobs", format!("the built-in amp has no control `{other}` (it has {})", AMP_CONTROLS.join(", ")))),
    };
    if !(0.0..=1.0).contains(&value) {
        return Err(Error::invalid("knobs", format!("{name} = {value}: the built-in amp's controls go from 0 to 1")));
    }
    *slot = value;
    Ok(())
}

/// `base` with `knobs` at `values`.
fn amp_at(base: &crate::data::amp::AmpConfig, knobs: &[&str], values: &[f64]) -> Result<crate::data::amp::AmpConfig> {
    let mut cfg = base.clone();
    for (k, &v) in knobs.iter().zip(values) {
        set_amp_control(&mut cfg, k, v)?;
    }
    Ok(cfg)
}

/// A setting of the built-in amp to record: its control values, what it is for, and the seed
/// of the guitar part played through it.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthSetting {
    pub values: Vec<f64>,
    pub role: Role,
    pub seed: u64,
}

/// Settings of `knobs` controls: a grid of `grid` values per control from 0 to 1 (training; the
/// middle one validates), each played with its own guitar part (seeds `seed + 1`, `seed + 2`,
/// …), and `random` settings to test on, all played with one more part (`seed`) that no
/// training setting plays. The test settings are a Latin hypercube (seeded): each control's
/// range cut into `random` equal strata, one setting in each stratum of every control, so
/// they spread over the whole range of each knob.
pub fn synth_settings(knobs: usize, grid: usize, random: usize, seed: u64) -> Vec<SynthSetting> {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    let mut out = Vec::new();
    let points = grid.max(1);
    for i in 0..points.pow(knobs as u32) {
        let values = (0..knobs).map(|k| if points == 1 { 0.5 } else { ((i / points.pow(k as u32)) % points) as f64 / (points - 1) as f64 }).collect();
        out.push(SynthSetting { values, role: Role::Train, seed: seed + 1 + i as u64 });
    }
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed ^ 0x6b6e_6f62);
    let strata: Vec<Vec<usize>> = (0..knobs)
        .map(|_| {
            let mut order: Vec<usize> = (0..random).collect();
            order.shuffle(&mut rng);
            order
        })
        .collect();
    for j in 0..random {
        let values = strata.iter().map(|order| (((order[j] as f64 + rng.random_range(0.0..1.0f64)) / random as f64) * 1000.0).floor() / 1000.0).collect();
        out.push(SynthSetting { values, role: Role::Test, seed });
    }
    out
}

/// Record the built-in guitar through the built-in amp at each of `settings` (the values of
/// `knobs`, the other controls as in `base`), `seconds` each, into `dir` — one stereo WAV per
/// setting, written atomically — and return them as [`Captures`]. One recorder gain for all
/// (the loudest setting peaks at `base.output_peak_dbfs`), so the knobs' level changes stay;
/// that gain is returned too, to record more settings alike ([`record_setting`]).
pub fn synthesise(dir: &Path, knobs: &[&str], settings: &[SynthSetting], base: &crate::data::amp::AmpConfig, seconds: f64) -> Result<(Captures, f64)> {
    use crate::data::synth::{guitar_di, GuitarConfig};
    use crate::data::amp::{level_gain, play, record, AmpConfig};
    let guitar = GuitarConfig::default();
    let configs = settings.iter().map(|s| amp_at(base, knobs, &s.values)).collect::<Result<Vec<_>>>()?;
    let mut dis = BTreeMap::new();
    for s in settings {
        if !dis.contains_key(&s.seed) {
            dis.insert(s.seed, guitar_di(seconds, s.seed, &guitar)?);
        }
    }
    let wets = settings.iter().zip(&configs).map(|(s, cfg)| play(&dis[&s.seed], cfg, guitar.sample_rate_hz)).collect::<Result<Vec<_>>>()?;
    let gain = wets.iter().map(|w| level_gain(w, base.output_peak_dbfs)).fold(f64::INFINITY, f64::min);
    std::fs::create_dir_all(dir).map_err(|e| Error::Io { path: dir.to_path_buf(), cause: e })?;
    let mut captures = Vec::with_capacity(settings.len());
    for ((s, cfg), wet) in settings.iter().zip(&configs).zip(&wets) {
        let name = knobs.iter().zip(&s.values).map(|(k, v)| format!("{k}{v:.3}")).collect::<Vec<_>>().join("_");
        let path = dir.join(format!("builtin_{name}_seed{}.wav", s.seed));
        let amp = record(wet, &AmpConfig { output_gain: Some(gain), ..cfg.clone() });
        crate::Recording::new(path.display().to_string(), dis[&s.seed].clone(), amp, guitar.sample_rate_hz)?.save(&path)?;
        captures.push(Capture { path, values: s.values.clone(), role: s.role });
    }
    Ok((Captures::new(knobs.iter().map(|k| ControlSpec::new(*k, 0.0, 1.0)).collect(), captures)?, gain))
}

/// The built-in amp recorded playing `direct` with `knobs` at `values` (the rest as in
/// `base`), at `recorder_gain` ([`synthesise`]'s), and aligned by `lag_samples` as the
/// captures were ([`LoadedCaptures::lag_samples`]): what a model trained on them should play
/// at that setting.
pub fn record_setting(direct: &[f32], knobs: &[&str], values: &[f64], base: &crate::data::amp::AmpConfig, recorder_gain: f64, lag_samples: i64, sample_rate_hz: u32) -> Result<crate::Recording> {
    let cfg = crate::data::amp::AmpConfig { output_gain: Some(recorder_gain), ..amp_at(base, knobs, values)? };
    let amp = crate::data::amp::render(direct, &cfg, sample_rate_hz)?;
    crate::Recording::new(format!("the built-in amp at {}", describe(knobs, values)), direct.to_vec(), amp, sample_rate_hz)?.aligned_by(lag_samples)
}

fn describe(names: &[&str], values: &[f64]) -> String {
    names.iter().zip(values).map(|(n, v)| format!("{n} {v}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_settings_spread_over_every_control() {
        let settings = synth_settings(3, 3, 5, 2019);
        let tests: Vec<&SynthSetting> = settings.iter().filter(|s| s.role == Role::Test).collect();
        assert_eq!((settings.len(), tests.len()), (27 + 5, 5));
        for k in 0..3 {
            let mut strata: Vec<usize> = tests.iter().map(|s| (s.values[k] * 5.0) as usize).collect();
            strata.sort();
            assert_eq!(strata, vec![0, 1, 2, 3, 4], "control {k}: {:?}", tests.iter().map(|s| s.values[k]).collect::<Vec<_>>());
        }
        assert!(tests.iter().all(|s| s.seed == 2019) && settings[..27].iter().all(|s| s.seed > 2019));
        assert_ne!(synth_settings(3, 3, 5, 7)[27..], settings[27..], "the seed draws the settings");
    }

    #[test]
    fn the_built_in_amp_is_recorded_over_a_grid_and_its_manifest_reads_back() {
        let dir = std::env::temp_dir().join(format!("ampsim-synth-set-{}", std::process::id()));
        let settings = synth_settings(2, 2, 1, 5);
        assert_eq!(settings.len(), 5);
        let (caps, _) = synthesise(&dir, &["gain", "treble"], &settings, &crate::data::amp::AmpConfig::default(), 4.0).unwrap();
        let manifest = dir.join("captures.toml");
        std::fs::write(&manifest, caps.manifest(&dir)).unwrap();
        let back = Captures::read(&manifest).unwrap();
        assert_eq!(back, caps);
        assert_eq!((back.settings(Role::Train).len(), back.settings(Role::Validation).len(), back.settings(Role::Test).len()), (3, 1, 1));
        // One recorder gain: the low-gain setting is quieter than the high-gain one, and nothing clips.
        let (loaded, _) = LoadedCaptures::load(back, None).unwrap();
        let rms = |values: &[f64]| {
            let i = loaded.captures.captures.iter().position(|c| same(&c.values, values)).unwrap();
            let a = &loaded.recordings[i].amp;
            (a.iter().map(|v| (v * v) as f64).sum::<f64>() / a.len() as f64).sqrt()
        };
        assert!(rms(&[1.0, 0.0]) > 1.5 * rms(&[0.0, 0.0]), "gain 1 {} vs gain 0 {}", rms(&[1.0, 0.0]), rms(&[0.0, 0.0]));
        assert!(loaded.recordings.iter().all(|r| r.amp.iter().all(|v| v.abs() < 0.99)));
        assert!(set_amp_control(&mut crate::data::amp::AmpConfig::default(), "volume", 0.5).unwrap_err().to_string().contains("no control `volume`"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
