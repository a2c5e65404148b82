//! Recordings of one rig at several settings of its controls (an amp's knobs), for models
//! conditioned on them: a manifest names the controls, the recordings and their values (listed,
//! or read from file names by a pattern), and which whole settings are held out.
//!
//! ```toml
//! # captures.toml (paths relative to this file)
//! controls = [{ name = "bass", min = 0, max = 10 }, { name = "treble", min = 0, max = 10 }]
//! # Either every recording with its values …
//! [[capture]]
//! file = "bass2_treble5.wav"
//! bass = 2
//! treble = 5
//! # … or folders whose WAV files carry the values in their names:
//! folders = ["takes"]
//! pattern = "amp_b{bass}_t{treble}_take*"
//! # Whole settings held out: one to pick the best epoch, others to score the model on.
//! validation = [{ bass = 5, treble = 5 }]
//! test = [{ bass = 4, treble = 8 }]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use ampsim_engine::ControlSpec;

use crate::{Error, Result};

/// A file-name pattern that names the controls: literal text with `{name}` where a number
/// stands, and `*` for any text — e.g. `jvm410h_gain5_b{bass}_m{middle}_t{treble}_take*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamePattern {
    /// Alternating literal text and control names: `literals[i]` comes before `names[i]`;
    /// `literals` has one more entry (the text after the last control).
    literals: Vec<String>,
    names: Vec<String>,
}

impl NamePattern {
    /// Read a pattern; an error if it names no control, names one twice, or leaves a `{` open.
    pub fn new(pattern: &str) -> Result<NamePattern> {
        let (mut literals, mut names, mut rest) = (Vec::new(), Vec::new(), pattern);
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').ok_or_else(|| Error::invalid("pattern", format!("`{pattern}`: a `{{` is not closed")))? + open;
            let name = rest[open + 1..close].trim();
            if name.is_empty() || names.iter().any(|n| n == name) {
                return Err(Error::invalid("pattern", format!("`{pattern}`: control names must be non-empty and distinct")));
            }
            literals.push(rest[..open].to_string());
            names.push(name.to_string());
            rest = &rest[close + 1..];
        }
        literals.push(rest.to_string());
        if names.is_empty() {
            return Err(Error::invalid("pattern", format!("`{pattern}` names no control (write e.g. `b{{bass}}`)")));
        }
        Ok(NamePattern { literals, names })
    }

    /// The controls the pattern names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The control values in `file_stem` (the file name without its extension), in the order
    /// of [`NamePattern::names`]; an error saying where the name departs from the pattern.
    pub fn values(&self, file_stem: &str) -> Result<Vec<f64>> {
        let fail = |why: String| Error::invalid("file name", format!("`{file_stem}` does not fit the pattern: {why}"));
        let mut at = 0;
        let mut values = Vec::with_capacity(self.names.len());
        for (i, name) in self.names.iter().enumerate() {
            at = matches_literal(file_stem, at, &self.literals[i]).ok_or_else(|| fail(format!("no `{}` before {{{name}}}", self.literals[i])))?;
            let len = file_stem[at..].find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(file_stem.len() - at);
            let text = &file_stem[at..at + len];
            values.push(text.parse::<f64>().map_err(|_| fail(format!("`{text}` is not a number for {name}")))?);
            at += len;
        }
        matches_literal(file_stem, at, self.literals.last().map_or("", String::as_str)).ok_or_else(|| fail("the end differs".into()))?;
        Ok(values)
    }
}

/// Match `literal` (where `*` is any text, shortest first) in `s` from `at`; the position after it.
fn matches_literal(s: &str, at: usize, literal: &str) -> Option<usize> {
    let mut parts = literal.split('*');
    let first = parts.next().unwrap_or("");
    let mut pos = at + first.len();
    if !s[at..].starts_with(first) {
        return None;
    }
    let rest: Vec<&str> = parts.collect();
    for (i, part) in rest.iter().enumerate() {
        // After a trailing `*`, everything matches.
        if i + 1 == rest.len() && part.is_empty() {
            return Some(s.len());
        }
        pos = s[pos..].find(part).map(|p| pos + p + part.len())?;
    }
    Some(pos)
}

/// What a capture is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Train,
    /// Picks the best epoch (a whole setting the model does not train on).
    Validation,
    /// Scored after training (a whole setting the model never sees).
    Test,
}

/// One recording and the control values it was made at.
#[derive(Clone, Debug, PartialEq)]
pub struct Capture {
    pub path: PathBuf,
    /// In the order of [`Captures::controls`], in the controls' own units.
    pub values: Vec<f64>,
    pub role: Role,
}

/// Recordings of one rig at several settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Captures {
    /// The controls, with the range the model reads as 0..1 and (once read) the range the
    /// training captures cover.
    pub controls: Vec<ControlSpec>,
    pub captures: Vec<Capture>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    controls: Vec<ManifestControl>,
    #[serde(default)]
    capture: Vec<BTreeMap<String, toml::Value>>,
    #[serde(default)]
    folders: Vec<PathBuf>,
    pattern: Option<String>,
    #[serde(default)]
    validation: Vec<BTreeMap<String, f64>>,
    #[serde(default)]
    test: Vec<BTreeMap<String, f64>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestControl {
    name: String,
    min: f64,
    max: f64,
}

fn number(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

impl Captures {
    /// Read a manifest (TOML, see the module's documentation); relative paths are relative to
    /// its folder. Errors name the manifest and what is wrong: an unknown or missing control,
    /// a file that does not fit the pattern, a held-out setting no recording has, no
    /// training recording left.
    pub fn read(manifest: &Path) -> Result<Captures> {
        let origin = manifest.display().to_string();
        let fail = |why: String| Error::invalid("captures", format!("{origin}: {why}"));
        let text = std::fs::read_to_string(manifest).map_err(|e| Error::Io { path: manifest.to_path_buf(), cause: e })?;
        let m: Manifest = toml::from_str(&text).map_err(|e| fail(e.message().to_string()))?;
        let base = manifest.parent().unwrap_or(Path::new(""));
        let controls: Vec<ControlSpec> = m.controls.iter().map(|c| ControlSpec::new(c.name.clone(), c.min, c.max)).collect();
        if controls.is_empty() {
            return Err(fail("no controls (write e.g. controls = [{ name = \"treble\", min = 0, max = 10 }])".into()));
        }
        if let Some(p) = controls.iter().find_map(ControlSpec::problem) {
            return Err(fail(p));
        }
        let names: Vec<&str> = controls.iter().map(|c| c.name.as_str()).collect();
        if let Some((i, n)) = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)) {
            return Err(fail(format!("control `{n}` is named twice (entry {})", i + 1)));
        }
        let values_of = |what: &str, map: &BTreeMap<String, f64>| -> Result<Vec<f64>> {
            if let Some(k) = map.keys().find(|k| !names.contains(&k.as_str())) {
                return Err(fail(format!("{what}: unknown control `{k}` (the controls: {})", names.join(", "))));
            }
            names.iter().map(|n| map.get(*n).copied().ok_or_else(|| fail(format!("{what}: no value for `{n}`")))).collect()
        };
        let mut captures = Vec::new();
        for (i, entry) in m.capture.iter().enumerate() {
            let what = format!("capture {}", i + 1);
            let file = entry.get("file").and_then(toml::Value::as_str).ok_or_else(|| fail(format!("{what}: no `file`")))?;
            let mut map = BTreeMap::new();
            for (k, v) in entry.iter().filter(|(k, _)| k.as_str() != "file") {
                map.insert(k.clone(), number(v).ok_or_else(|| fail(format!("{what} ({file}): `{k}` is not a number")))?);
            }
            captures.push(Capture { path: base.join(file), values: values_of(&format!("{what} ({file})"), &map)?, role: Role::Train });
        }
        match (&m.pattern, m.folders.is_empty()) {
            (Some(pattern), false) => {
                let pattern = NamePattern::new(pattern)?;
                if pattern.names() != names.as_slice() {
                    return Err(fail(format!("the pattern names {} but the controls are {} (same names, same order)", pattern.names().join(", "), names.join(", "))));
                }
                for folder in &m.folders {
                    let dir = base.join(folder);
                    let entries = std::fs::read_dir(&dir).map_err(|e| Error::Io { path: dir.clone(), cause: e })?;
                    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav"))).collect();
                    files.sort();
                    for path in files {
                        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                        let values = pattern.values(stem).map_err(|e| fail(format!("{}: {e}", path.display())))?;
                        captures.push(Capture { path, values, role: Role::Train });
                    }
                }
            }
            (Some(_), true) => return Err(fail("a `pattern` needs `folders` to read the files from".into())),
            (None, false) => return Err(fail("`folders` need a `pattern` that reads the values from the file names".into())),
            (None, true) => {}
        }
        if captures.is_empty() {
            return Err(fail("no recordings (list them as [[capture]], or give `folders` and a `pattern`)".into()));
        }
        for (list, role) in [(&m.validation, Role::Validation), (&m.test, Role::Test)] {
            for setting in list {
                let values = values_of(&format!("{role:?} setting"), setting)?;
                let mut found = false;
                for c in captures.iter_mut().filter(|c| same(&c.values, &values)) {
                    c.role = role;
                    found = true;
                }
                if !found {
                    return Err(fail(format!("no recording at the {} setting {}", format!("{role:?}").to_lowercase(), describe(&names, &values))));
                }
            }
        }
        Captures::new(controls, captures).map_err(|e| fail(e.to_string()))
    }

    /// Captures at `controls` (their trained range set from the training captures); without a
    /// validation setting, the training setting nearest the middle of all is held out for it.
    pub fn new(mut controls: Vec<ControlSpec>, mut captures: Vec<Capture>) -> Result<Captures> {
        if let Some(c) = captures.iter().find(|c| c.values.len() != controls.len()) {
            return Err(Error::invalid("captures", format!("{}: {} values for {} controls", c.path.display(), c.values.len(), controls.len())));
        }
        if !captures.iter().any(|c| c.role == Role::Validation) {
            let centre: Vec<f64> = controls.iter().map(|c| (c.min + c.max) / 2.0).collect();
            let from_centre = |v: &[f64]| distance(&controls, v, &centre);
            let pick = captures.iter().filter(|c| c.role == Role::Train).min_by(|a, b| from_centre(&a.values).total_cmp(&from_centre(&b.values))).map(|c| c.values.clone());
            if let Some(v) = pick {
                captures.iter_mut().filter(|c| same(&c.values, &v)).for_each(|c| c.role = Role::Validation);
            }
        }
        let train: Vec<&Capture> = captures.iter().filter(|c| c.role == Role::Train).collect();
        if train.is_empty() {
            return Err(Error::invalid("captures", "every setting is held out: none is left to train on"));
        }
        for (i, c) in controls.iter_mut().enumerate() {
            c.trained_min = train.iter().map(|t| t.values[i]).fold(f64::INFINITY, f64::min);
            c.trained_max = train.iter().map(|t| t.values[i]).fold(f64::NEG_INFINITY, f64::max);
        }
        Ok(Captures { controls, captures })
    }

    /// The captures of one role.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &Capture> {
        self.captures.iter().filter(move |c| c.role == role)
    }

    /// The distinct settings of one role, in order of first appearance.
    pub fn settings(&self, role: Role) -> Vec<Vec<f64>> {
        let mut out: Vec<Vec<f64>> = Vec::new();
        for c in self.with_role(role) {
            if !out.iter().any(|v| same(v, &c.values)) {
                out.push(c.values.clone());
            }
        }
        out
    }

    /// `bass 2, treble 5`.
    pub fn describe(&self, values: &[f64]) -> String {
        describe(&self.controls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), values)
    }

    /// `values` normalised as the model reads them.
    pub fn normalised(&self, values: &[f64]) -> Vec<f32> {
        self.controls.iter().zip(values).map(|(c, &v)| c.normalise(v)).collect()
    }
}

/// The recordings of [`Captures`], loaded and aligned as one rig (one latency for all).
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

impl Captures {
    /// Load every recording (stereo: left DI, right amp), run the data checks (warnings
    /// returned), and align all by one lag: `latency_samples` when given, else the smallest of
    /// their estimates ([`crate::Recording::aligned_together`]). All must share a sample rate.
    pub fn load(self, latency_samples: Option<i64>) -> Result<(LoadedCaptures, Vec<String>)> {
        let raw = self.captures.iter().map(|c| crate::Recording::load(&c.path)).collect::<Result<Vec<_>>>()?;
        let rate = raw[0].sample_rate_hz;
        if let Some((c, r)) = self.captures.iter().zip(&raw).find(|(_, r)| r.sample_rate_hz != rate) {
            return Err(Error::invalid("captures", format!("{}: {} Hz, but {} is {rate} Hz; one rig, one sample rate", c.path.display(), r.sample_rate_hz, self.captures[0].path.display())));
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
        Ok((LoadedCaptures { captures: self, recordings, lag_samples, estimated_lags_samples, sample_rate_hz: rate }, warnings))
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

    /// The recordings of one role as conditioned training data (each a piece with its
    /// normalised control values beside the audio).
    pub fn data(&self, role: Role, device: tch::Device) -> Result<crate::training::SeqData> {
        self.data_where(|c| c.role == role, None, device)
    }

    /// The recordings at one setting.
    pub fn setting_data(&self, values: &[f64], device: tch::Device) -> Result<crate::training::SeqData> {
        self.data_where(|c| same(&c.values, values), None, device)
    }

    /// The recordings at `values`, told they were made at `told` instead (what a model plays
    /// when its knobs are set elsewhere: e.g. at the nearest training setting).
    pub fn setting_data_told(&self, values: &[f64], told: &[f64], device: tch::Device) -> Result<crate::training::SeqData> {
        self.data_where(|c| same(&c.values, values), Some(told), device)
    }

    /// The recordings `keep` picks, each with its own control values or all with `told`.
    fn data_where(&self, keep: impl Fn(&Capture) -> bool, told: Option<&[f64]>, device: tch::Device) -> Result<crate::training::SeqData> {
        let kept: Vec<(&crate::Recording, Vec<f32>)> = self
            .captures
            .captures
            .iter()
            .zip(&self.recordings)
            .filter(|(c, _)| keep(c))
            .map(|(c, r)| (r, self.captures.normalised(told.unwrap_or(&c.values))))
            .collect();
        let takes: Vec<(&[f32], &[f32], &[f32])> = kept.iter().map(|(r, k)| (r.direct.as_slice(), r.amp.as_slice(), k.as_slice())).collect();
        crate::training::SeqData::from_conditioned_takes(&takes, device)
    }

    /// The training setting nearest to `values` (each control's range counted as 1).
    pub fn nearest_training_setting(&self, values: &[f64]) -> Option<Vec<f64>> {
        let c = &self.captures;
        c.settings(Role::Train).into_iter().min_by(|a, b| distance(&c.controls, a, values).total_cmp(&distance(&c.controls, b, values)))
    }

    /// Seconds of audio in the recordings of one role.
    pub fn seconds(&self, role: Role) -> f64 {
        self.captures.captures.iter().zip(&self.recordings).filter(|(c, _)| c.role == role).map(|(_, r)| r.duration_seconds()).sum()
    }
}

impl Captures {
    /// The manifest (TOML) that [`Captures::read`] reads back: every capture listed with its
    /// values (paths relative to `dir`, where the manifest goes), the held-out settings named.
    pub fn manifest(&self, dir: &Path) -> String {
        let mut t = String::from("# Recordings of one rig at several settings of its controls (ampsim train --captures).\ncontrols = [");
        let specs: Vec<String> = self.controls.iter().map(|c| format!("{{ name = \"{}\", min = {:?}, max = {:?} }}", c.name, c.min, c.max)).collect();
        t.push_str(&specs.join(", "));
        t.push_str("]\n");
        let setting = |v: &[f64]| format!("{{ {} }}", self.controls.iter().zip(v).map(|(c, x)| format!("{} = {x:?}", c.name)).collect::<Vec<_>>().join(", "));
        for (key, role) in [("validation", Role::Validation), ("test", Role::Test)] {
            let list: Vec<String> = self.settings(role).iter().map(|v| setting(v)).collect();
            t.push_str(&format!("{key} = [{}]\n", list.join(", ")));
        }
        for c in &self.captures {
            let file = c.path.strip_prefix(dir).unwrap_or(&c.path);
            t.push_str(&format!("\n[[capture]]\nfile = {:?}\n", file.display().to_string()));
            for (spec, v) in self.controls.iter().zip(&c.values) {
                t.push_str(&format!("{} = {v:?}\n", spec.name));
            }
        }
        t
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

/// The squared distance of two settings, each control's range counted as 1.
fn distance(controls: &[ControlSpec], a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).zip(controls).map(|((x, y), c)| ((x - y) / (c.max - c.min)).powi(2)).sum()
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
}

fn describe(names: &[&str], values: &[f64]) -> String {
    names.iter().zip(values).map(|(n, v)| format!("{n} {v}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_knobs_from_file_names_and_says_what_does_not_fit() {
        let p = NamePattern::new("jvm410h_gain5_b{bass}_m{middle}_t{treble}_take*").unwrap();
        assert_eq!(p.names(), ["bass", "middle", "treble"]);
        assert_eq!(p.values("jvm410h_gain5_b10_m0_t2.5_take9").unwrap(), vec![10.0, 0.0, 2.5]);
        let err = p.values("jvm410h_gain5_b10_x0_t2_take9").unwrap_err().to_string();
        assert!(err.contains("b10_x0") && err.contains("middle"), "{err}");
        assert!(p.values("jvm410h_gain5_b1_m2_t3").is_err(), "no `_take`");
        assert!(NamePattern::new("no controls").is_err() && NamePattern::new("b{bass}_{bass}").is_err() && NamePattern::new("b{bass").is_err());
        let c = ControlSpec::new("treble", 0.0, 10.0);
        assert_eq!((c.normalise(0.0), c.normalise(5.0), c.normalise(10.0)), (0.0, 0.5, 1.0));
    }

    #[test]
    fn a_manifest_lists_or_patterns_its_captures_and_holds_whole_settings_out() {
        let dir = std::env::temp_dir().join(format!("ampsim-captures-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("takes")).unwrap();
        for f in ["amp_b2_t5_take1.wav", "amp_b2_t5_take2.wav", "amp_b5_t5_take1.wav", "amp_b8_t0_take1.wav", "notes.txt"] {
            std::fs::write(dir.join("takes").join(f), b"").unwrap();
        }
        let write = |text: &str| {
            let p = dir.join("captures.toml");
            std::fs::write(&p, text).unwrap();
            Captures::read(&p)
        };
        let controls = "controls = [{ name = \"bass\", min = 0, max = 10 }, { name = \"treble\", min = 0, max = 10 }]\n";
        let c = write(&format!("{controls}folders = [\"takes\"]\npattern = \"amp_b{{bass}}_t{{treble}}_take*\"\ntest = [{{ bass = 8, treble = 0 }}]\n")).unwrap();
        assert_eq!(c.captures.len(), 4, "the text file is not a recording");
        assert_eq!(c.settings(Role::Test), vec![vec![8.0, 0.0]]);
        // No validation setting given: the training setting nearest the middle.
        assert_eq!(c.settings(Role::Validation), vec![vec![5.0, 5.0]]);
        assert_eq!(c.settings(Role::Train), vec![vec![2.0, 5.0]]);
        assert_eq!((c.controls[0].trained_min, c.controls[0].trained_max), (2.0, 2.0));
        // Listed captures.
        let c = write(&format!("{controls}validation = [{{ bass = 1, treble = 2 }}]\n[[capture]]\nfile = \"a.wav\"\nbass = 1\ntreble = 2\n[[capture]]\nfile = \"b.wav\"\nbass = 3.5\ntreble = 9\n")).unwrap();
        assert_eq!(c.captures[1], Capture { path: dir.join("b.wav"), values: vec![3.5, 9.0], role: Role::Train });
        // What is wrong is said.
        for (text, needle) in [
            (format!("{controls}[[capture]]\nfile = \"a.wav\"\nbass = 1\n"), "no value for `treble`"),
            (format!("{controls}[[capture]]\nfile = \"a.wav\"\nbass = 1\ntreble = 1\nmiddle = 3\n"), "unknown control `middle`"),
            (format!("{controls}folders = [\"takes\"]\npattern = \"amp_b{{bass}}_take*\"\n"), "the pattern names bass"),
            (format!("{controls}folders = [\"takes\"]\npattern = \"amp_b{{bass}}_t{{treble}}_take*\"\ntest = [{{ bass = 7, treble = 7 }}]\n"), "no recording at the test setting bass 7, treble 7"),
            (format!("{controls}[[capture]]\nfile = \"a.wav\"\nbass = 1\ntreble = 1\n"), "none is left to train on"),
            ("controls = []\n".to_string(), "no controls"),
        ] {
            let err = write(&text).unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains("captures.toml"), "{needle}: {err}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

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
        let (loaded, _) = back.load(None).unwrap();
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
