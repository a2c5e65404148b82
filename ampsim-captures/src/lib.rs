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
//!
//! This crate reads and writes the manifest only; it links no libtorch, so the fuzzer
//! (`tools/fuzz.sh`, target `captures_manifest`) and any tool can reach it. Loading the audio
//! and training on it is `ampsim-core`'s (`data::captures::LoadedCaptures`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use ampsim_engine::ControlSpec;

/// What was wrong, with which manifest or file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manifest or a folder it names could not be read.
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    /// The manifest (`origin`) says something that cannot be: the reason names the entry.
    #[error("{origin}: {reason}")]
    Manifest { origin: String, reason: String },
    /// A file-name pattern that cannot be read, or a file name that does not fit it.
    #[error("{0}")]
    Pattern(String),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
        let fail = |why: String| Error::Pattern(format!("pattern `{pattern}`: {why}"));
        let (mut literals, mut names, mut rest) = (Vec::new(), Vec::new(), pattern);
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').ok_or_else(|| fail("a `{` is not closed".into()))? + open;
            let name = rest[open + 1..close].trim();
            if name.is_empty() || names.iter().any(|n| n == name) {
                return Err(fail("control names must be non-empty and distinct".into()));
            }
            literals.push(rest[..open].to_string());
            names.push(name.to_string());
            rest = &rest[close + 1..];
        }
        literals.push(rest.to_string());
        if names.is_empty() {
            return Err(fail("names no control (write e.g. `b{bass}`)".into()));
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
        let fail = |why: String| Error::Pattern(format!("`{file_stem}` does not fit the pattern: {why}"));
        let mut at = 0;
        let mut values = Vec::with_capacity(self.names.len());
        for (i, name) in self.names.iter().enumerate() {
            at = matches_literal(file_stem, at, &self.literals[i]).ok_or_else(|| fail(format!("no `{}` before {{{name}}}", self.literals[i])))?;
            let len = file_stem[at..].find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(file_stem.len() - at);
            let text = &file_stem[at..at + len];
            let value = text.parse::<f64>().ok().filter(|v| v.is_finite());
            values.push(value.ok_or_else(|| fail(format!("`{text}` is not a number for {name}")))?);
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
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64)).filter(|v| v.is_finite())
}

/// Lists the WAV files of a folder, sorted (what [`Captures::read`] gives [`Captures::parse`]).
pub fn wav_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav"))).collect();
    files.sort();
    Ok(files)
}

impl Captures {
    /// Read a manifest (TOML, see the crate's documentation); relative paths are relative to
    /// its folder. Errors name the manifest and what is wrong: an unknown or missing control,
    /// a file that does not fit the pattern, a held-out setting no recording has, no
    /// training recording left.
    pub fn read(manifest: &Path) -> Result<Captures> {
        let text = std::fs::read_to_string(manifest).map_err(|e| Error::Io { path: manifest.to_path_buf(), cause: e })?;
        Captures::parse(&text, manifest, &mut wav_files)
    }

    /// The manifest `text`, as if read from the file `manifest`; `list` gives the WAV files of
    /// a folder the manifest names (files whose names do not fit the pattern are an error).
    /// Reads no file itself.
    pub fn parse(text: &str, manifest: &Path, list: &mut dyn FnMut(&Path) -> std::io::Result<Vec<PathBuf>>) -> Result<Captures> {
        let origin = manifest.display().to_string();
        let fail = |why: String| Error::Manifest { origin: origin.clone(), reason: why };
        let m: Manifest = toml::from_str(text).map_err(|e| fail(e.message().to_string()))?;
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
            let value = |n: &str| match map.get(n) {
                Some(v) if v.is_finite() => Ok(*v),
                Some(v) => Err(fail(format!("{what}: `{n}` = {v} is not a setting"))),
                None => Err(fail(format!("{what}: no value for `{n}`"))),
            };
            names.iter().map(|n| value(n)).collect()
        };
        let mut captures = Vec::new();
        for (i, entry) in m.capture.iter().enumerate() {
            let what = format!("capture {}", i + 1);
            let file = entry.get("file").and_then(toml::Value::as_str).filter(|f| !f.trim().is_empty()).ok_or_else(|| fail(format!("{what}: no `file`")))?;
            let mut map = BTreeMap::new();
            for (k, v) in entry.iter().filter(|(k, _)| k.as_str() != "file") {
                map.insert(k.clone(), number(v).ok_or_else(|| fail(format!("{what} ({file}): `{k}` is not a number")))?);
            }
            captures.push(Capture { path: base.join(file), values: values_of(&format!("{what} ({file})"), &map)?, role: Role::Train });
        }
        match (&m.pattern, m.folders.is_empty()) {
            (Some(pattern), false) => captures.extend(from_folders(pattern, &names, &m.folders, base, list).map_err(|e| match e {
                Error::Pattern(why) => fail(why),
                other => other,
            })?),
            (Some(_), true) => return Err(fail("a `pattern` needs `folders` to read the files from".into())),
            (None, false) => return Err(fail("`folders` need a `pattern` that reads the values from the file names".into())),
            (None, true) => {}
        }
        if captures.is_empty() {
            return Err(fail("no recordings (list them as [[capture]], or give `folders` and a `pattern`)".into()));
        }
        let mut held_out: Vec<Vec<f64>> = Vec::new();
        for (list, role) in [(&m.validation, Role::Validation), (&m.test, Role::Test)] {
            let role_name = format!("{role:?}").to_lowercase();
            for setting in list {
                let values = values_of(&format!("{role_name} setting"), setting)?;
                if held_out.iter().any(|h| same(h, &values)) {
                    return Err(fail(format!("the setting {} is held out twice", describe_setting(&names, &values))));
                }
                let mut found = false;
                for c in captures.iter_mut().filter(|c| same(&c.values, &values)) {
                    c.role = role;
                    found = true;
                }
                if !found {
                    return Err(fail(format!("no recording at the {role_name} setting {}", describe_setting(&names, &values))));
                }
                held_out.push(values);
            }
        }
        Captures::new(controls, captures).map_err(|e| match e {
            Error::Manifest { reason, .. } => fail(reason),
            other => other,
        })
    }

    /// Captures at `controls` (their trained range set from the training captures); without a
    /// validation setting, the training setting nearest the middle of all is held out for it.
    pub fn new(mut controls: Vec<ControlSpec>, mut captures: Vec<Capture>) -> Result<Captures> {
        let fail = |why: String| Error::Manifest { origin: "captures".into(), reason: why };
        if let Some(c) = captures.iter().find(|c| c.values.len() != controls.len()) {
            return Err(fail(format!("{}: {} values for {} controls", c.path.display(), c.values.len(), controls.len())));
        }
        if let Some(p) = controls.iter().find_map(ControlSpec::problem) {
            return Err(fail(p));
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
            return Err(fail("every setting is held out: none is left to train on".into()));
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

    /// The setting of `role` nearest to `values` (each control's range counted as 1).
    pub fn nearest(&self, role: Role, values: &[f64]) -> Option<Vec<f64>> {
        let d = |s: &[f64]| distance(&self.controls, s, values);
        self.settings(role).into_iter().min_by(|a, b| d(a).total_cmp(&d(b)))
    }

    /// `bass 2, treble 5`.
    pub fn describe(&self, values: &[f64]) -> String {
        describe_setting(&self.controls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), values)
    }

    /// The distinct settings of one role in words, each in brackets: `[bass 2, treble 5] [bass 8, treble 0]`.
    pub fn describe_settings(&self, role: Role) -> String {
        self.settings(role).iter().map(|v| format!("[{}]", self.describe(v))).collect::<Vec<_>>().join(" ")
    }

    /// `values` normalised as the model reads them.
    pub fn normalised(&self, values: &[f64]) -> Vec<f32> {
        self.controls.iter().zip(values).map(|(c, &v)| c.normalise(v)).collect()
    }

    /// The manifest (TOML) that [`Captures::read`] reads back: every capture listed with its
    /// values (paths relative to `dir`, where the manifest goes), the held-out settings named.
    pub fn manifest(&self, dir: &Path) -> String {
        let mut t = String::from("# Recordings of one rig at several settings of its controls (ampsim train --captures).\ncontrols = [");
        let specs: Vec<String> = self.controls.iter().map(|c| format!("{{ name = {}, min = {:?}, max = {:?} }}", quoted(&c.name), c.min, c.max)).collect();
        t.push_str(&specs.join(", "));
        t.push_str("]\n");
        let setting = |v: &[f64]| format!("{{ {} }}", self.controls.iter().zip(v).map(|(c, x)| format!("{} = {x:?}", key(&c.name))).collect::<Vec<_>>().join(", "));
        for (name, role) in [("validation", Role::Validation), ("test", Role::Test)] {
            let list: Vec<String> = self.settings(role).iter().map(|v| setting(v)).collect();
            t.push_str(&format!("{name} = [{}]\n", list.join(", ")));
        }
        for c in &self.captures {
            let file = c.path.strip_prefix(dir).unwrap_or(&c.path);
            t.push_str(&format!("\n[[capture]]\nfile = {}\n", quoted(&file.display().to_string())));
            for (spec, v) in self.controls.iter().zip(&c.values) {
                t.push_str(&format!("{} = {v:?}\n", key(&spec.name)));
            }
        }
        t
    }
}

/// The recordings in `folders` (relative to `base`, listed by `list`), their values read from
/// their names by `pattern`, which must name the `controls` in order.
fn from_folders(pattern: &str, controls: &[&str], folders: &[PathBuf], base: &Path, list: &mut dyn FnMut(&Path) -> std::io::Result<Vec<PathBuf>>) -> Result<Vec<Capture>> {
    let pattern = NamePattern::new(pattern)?;
    if pattern.names() != controls {
        return Err(Error::Pattern(format!("the pattern names {} but the controls are {} (same names, same order)", pattern.names().join(", "), controls.join(", "))));
    }
    let mut captures = Vec::new();
    for folder in folders {
        let dir = base.join(folder);
        for path in list(&dir).map_err(|e| Error::Io { path: dir.clone(), cause: e })? {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            let values = pattern.values(stem).map_err(|e| Error::Pattern(format!("{}: {e}", path.display())))?;
            captures.push(Capture { path, values, role: Role::Train });
        }
    }
    Ok(captures)
}

/// `s` as a TOML string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `s` as a TOML key: bare where TOML allows it, quoted otherwise.
fn key(s: &str) -> String {
    let bare = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        s.to_string()
    } else {
        quoted(s)
    }
}

/// The squared distance of two settings, each control's range counted as 1.
fn distance(controls: &[ControlSpec], a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).zip(controls).map(|((x, y), c)| ((x - y) / (c.max - c.min)).powi(2)).sum()
}

/// Whether two settings are the same (to 1e-9 in the controls' units).
pub fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
}

/// A setting in words: `bass 2, treble 5`.
pub fn describe_setting(names: &[&str], values: &[f64]) -> String {
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
        assert_eq!(c.nearest(Role::Train, &[9.0, 9.0]), Some(vec![2.0, 5.0]));
        // Listed captures.
        let c = write(&format!("{controls}validation = [{{ bass = 1, treble = 2 }}]\n[[capture]]\nfile = \"a.wav\"\nbass = 1\ntreble = 2\n[[capture]]\nfile = \"b.wav\"\nbass = 3.5\ntreble = 9\n")).unwrap();
        assert_eq!(c.captures[1], Capture { path: dir.join("b.wav"), values: vec![3.5, 9.0], role: Role::Train });
        // What is wrong is said.
        for (text, needle) in [
            (format!("{controls}[[capture]]\nfile = \"a.wav\"\nbass = 1\n"), "no value for `treble`"),
            (format!("{controls}[[capture]]\nfile = \"a.wav\"\nbass = 1\ntreble = 1\nmiddle = 3\n"), "unknown control `middle`"),
            (format!("{controls}[[capture]]\nfile = \"a.wav\"\nbass = nan\ntreble = 1\n"), "`bass` is not a number"),
            (format!("{controls}folders = [\"takes\"]\npattern = \"amp_b{{bass}}_take*\"\n"), "the pattern names bass"),
            (format!("{controls}folders = [\"takes\"]\npattern = \"amp_b{{bass}}_t{{treble}}_take*\"\ntest = [{{ bass = 7, treble = 7 }}]\n"), "no recording at the test setting bass 7, treble 7"),
            (format!("{controls}folders = [\"takes\"]\npattern = \"amp_b{{bass}}_t{{treble}}_take*\"\ntest = [{{ bass = 8, treble = 0 }}]\nvalidation = [{{ bass = 8, treble = 0 }}]\n"), "held out twice"),
            (format!("{controls}[[capture]]\nfile = \"a.wav\"\nbass = 1\ntreble = 1\n"), "none is left to train on"),
            ("controls = []\n".to_string(), "no controls"),
        ] {
            let err = write(&text).unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains("captures.toml"), "{needle}: {err}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn what_it_writes_it_reads_back_whatever_the_names() {
        let controls = vec![ControlSpec::new("bass \"low\" end", 0.0, 10.0), ControlSpec::new("tré-ble", -1.0, 1.0)];
        let dir = PathBuf::from("/rig");
        let captures = vec![
            Capture { path: dir.join("takes/a \"1\".wav"), values: vec![1.0, 0.25], role: Role::Train },
            Capture { path: dir.join("b.wav"), values: vec![9.5, -1e-7], role: Role::Test },
            Capture { path: PathBuf::from("/elsewhere/c.wav"), values: vec![5.0, 0.0], role: Role::Train },
        ];
        let c = Captures::new(controls, captures).unwrap();
        let text = c.manifest(&dir);
        let back = Captures::parse(&text, &dir.join("captures.toml"), &mut |_| Ok(Vec::new())).unwrap();
        assert_eq!(back, c, "{text}");
    }
}
