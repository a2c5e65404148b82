//! The built-in amp recorded at many settings of its knobs, as a guitarist would record a real
//! one: a grid of settings (one held out to validate) and random test settings spread over
//! every knob, each playing its own guitar part, all through one recorder gain; with the
//! captures manifest that `ampsim train --captures` reads.

use std::collections::BTreeMap;
use std::path::Path;

use ampsim_captures::{describe_setting, Capture, Captures, ControlSpec, Role};
use crate::{Error, Result};

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
    crate::Recording::new(format!("the built-in amp at {}", describe_setting(knobs, values)), direct.to_vec(), amp, sample_rate_hz)?.aligned_by(lag_samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ampsim_captures::same;
    use crate::data::captures::LoadedCaptures;

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
