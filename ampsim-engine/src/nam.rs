//! Neural Amp Modeler `.nam` files: JSON with `version`, `architecture` ("WaveNet", "LSTM" or
//! "SlimmableContainer"), `config`, `weights` (one flat list in NAM's order), `sample_rate` and
//! `metadata`. Versions 0.5 to 0.7 read, in both of their WaveNet layouts.

use crate::models::{Ensemble, GreyBox};
use crate::schema::ensemble::{self, ARCHITECTURE as ENSEMBLE};
use crate::schema::grey_box::{GreyBoxShape, ARCHITECTURE as GREY_BOX};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::controls::ControlSpec;
use crate::schema::lstm::LstmShape;
use crate::schema::wavenet::WaveNetConfig;
use crate::models::{slimmable, Container, Lstm, SlimmableWaveNet, WaveNet};
use crate::{Error, Renderer, Result};

/// NAM's name for a file that holds one model at several sizes; the plugin's "Slim" knob picks one.
pub use crate::schema::SLIMMABLE_CONTAINER;

/// Most sizes in one `SlimmableContainer` (NAM's have 2 or 3).
pub const MAX_SUBMODELS: usize = 16;

/// The architectures a `.nam` file may hold (besides containers and ensembles of them).
pub const ARCHITECTURES: [&str; 3] = ["WaveNet", "LSTM", crate::schema::grey_box::ARCHITECTURE];

/// A `.nam` document as stored: what this module reads and ampsim-core writes.
#[derive(Debug, Serialize, Deserialize)]
pub struct NamDocument {
    pub version: String,
    #[serde(default)]
    pub metadata: Value,
    pub architecture: String,
    pub config: Value,
    pub weights: Vec<f32>,
    /// Old files have none (NAM then assumes 48 kHz).
    #[serde(default)]
    pub sample_rate: Option<f64>,
    /// ampsim's: the controls a conditioned model reads beside the audio, in order (absent
    /// for a capture of one setting; NAM's tools ignore the key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<ControlSpec>,
}

#[derive(Debug, Deserialize)]
struct NamContainerConfig {
    submodels: Vec<NamSubmodel>,
}

#[derive(Debug, Deserialize)]
struct NamSubmodel {
    max_value: f64,
    model: Value,
}

/// A parsed and checked `.nam` file.
#[derive(Clone, Debug)]
pub struct NamFile {
    pub version: String,
    pub architecture: String,
    /// `sample_rate`; old files have none (NAM then assumes 48 kHz).
    pub sample_rate_hz: Option<u32>,
    pub metadata: Value,
    /// The architecture's `config` object.
    pub config: Value,
    /// A conditioned model's controls, in the order it reads them (empty: one setting).
    pub controls: Vec<ControlSpec>,
    weights: Vec<f32>,
    /// A `SlimmableContainer`'s submodels with their `max_value`, smallest first (else empty).
    submodels: Vec<(f64, NamFile)>,
    /// Where it came from, for errors.
    origin: String,
}

impl NamFile {
    /// The samples the amp lagged the DI by when the model was trained
    /// (`metadata.training.latency_samples`, written by ampsim), when the file says.
    pub fn trained_latency_samples(&self) -> Option<i64> {
        self.metadata.get("training")?.get("latency_samples")?.as_i64()
    }

    /// Read and check a `.nam` file.
    pub fn read(path: impl AsRef<Path>) -> Result<NamFile> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|cause| Error::Io { path: path.to_path_buf(), cause })?;
        NamFile::parse(&text, &path.display().to_string())
    }

    /// Parse `.nam` JSON; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<NamFile> {
        let v: Value = serde_json::from_str(text).map_err(|e| Error::model(origin, format!("not a .nam file: invalid JSON ({e})")))?;
        NamFile::from_value(v, origin)
    }

    /// Check a `.nam` JSON value; `origin` names it in errors.
    pub fn from_value(v: Value, origin: &str) -> Result<NamFile> {
        for k in ["version", "architecture", "config", "weights"] {
            if v.get(k).is_none() {
                return Err(Error::model(origin, format!("not a .nam file: no \"{k}\"")));
            }
        }
        let doc: NamDocument = serde_json::from_value(v).map_err(|e| Error::model(origin, format!("not a .nam file: {e}")))?;
        let mut parts = doc.version.split('.').map(|p| p.parse::<u32>().ok());
        if !matches!((parts.next().flatten(), parts.next().flatten()), (Some(0), Some(5..=7))) {
            return Err(Error::model(origin, format!("version {} is not supported (0.5 to 0.7 are)", doc.version)));
        }
        let sample_rate_hz = match doc.sample_rate {
            None => None,
            Some(r) if (8000.0..=384_000.0).contains(&r) => Some(r as u32),
            Some(r) => return Err(Error::model(origin, format!("sample_rate {r} is not a usable rate"))),
        };
        if let Some(i) = doc.weights.iter().position(|w| !w.is_finite()) {
            return Err(Error::model(origin, format!("weight {i} is not a finite number")));
        }
        let submodels = if doc.architecture == SLIMMABLE_CONTAINER {
            container_submodels(&doc.config, origin)?
        } else {
            let expected = weight_count(&doc.architecture, &doc.config).map_err(|e| Error::model(origin, e))?;
            if doc.weights.len() != expected {
                return Err(Error::model(origin, format!("{} weights, but its {} config needs {expected}", doc.weights.len(), doc.architecture)));
            }
            Vec::new()
        };
        if let Some(p) = doc.controls.iter().find_map(ControlSpec::problem) {
            return Err(Error::model(origin, p));
        }
        let inputs = match &submodels[..] {
            [] => control_inputs(&doc.architecture, &doc.config).map_err(|e| Error::model(origin, e))?,
            [.., (_, largest)] => largest.controls.len(),
        };
        if inputs != doc.controls.len() && !(doc.architecture == SLIMMABLE_CONTAINER && doc.controls.is_empty()) {
            let reason = match (inputs, doc.controls.len()) {
                (k, 0) => format!("a model conditioned on {k} control(s), but the file names none (no \"controls\" list)"),
                (0, n) => format!("the file names {n} control(s), but its model reads none (a capture of one setting)"),
                (k, n) => format!("a model conditioned on {k} control(s), but the file names {n}"),
            };
            return Err(Error::model(origin, reason));
        }
        let controls = if doc.controls.is_empty() { submodels.last().map_or(Vec::new(), |(_, m)| m.controls.clone()) } else { doc.controls };
        Ok(NamFile { version: doc.version, architecture: doc.architecture, sample_rate_hz, metadata: doc.metadata, config: doc.config, controls, weights: doc.weights, submodels, origin: origin.into() })
    }

    /// The model a `slim` value between 0 and 1 selects, as NAM's plugin does: in a
    /// `SlimmableContainer`, the smallest submodel whose `max_value` is at least `slim` (the
    /// full-size one above them all); any other file is its own model.
    pub fn slimmed(&self, slim: f64) -> &NamFile {
        match self.submodels.iter().find(|(max_value, _)| slim <= *max_value) {
            Some((_, m)) => m,
            None => self.submodels.last().map_or(self, |(_, m)| m),
        }
    }

    /// A `SlimmableContainer`'s submodels with their `max_value`, smallest first (empty for a
    /// single model).
    pub fn submodels(&self) -> &[(f64, NamFile)] {
        &self.submodels
    }

    /// The flat weights in NAM's order (empty for a container).
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Where the file came from (its path, or what the caller named it).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of weights of the model (a container's: its full-size submodel's).
    pub fn weight_count(&self) -> usize {
        self.submodels.last().map_or(self.weights.len(), |(_, m)| m.weight_count())
    }

    /// An ensemble's members, each with its share of the weights and the file's controls
    /// (empty for any other file).
    pub fn ensemble_members(&self) -> Result<Vec<NamFile>> {
        if self.architecture != ENSEMBLE {
            return Ok(Vec::new());
        }
        let parts = ensemble_parts(&self.config, &self.weights).map_err(|e| Error::model(&self.origin, e))?;
        let member = |(k, (m, weights)): (usize, (ensemble::Member, &[f32]))| NamFile {
            version: self.version.clone(),
            architecture: m.architecture,
            sample_rate_hz: self.sample_rate_hz,
            metadata: Value::Null,
            config: m.config,
            controls: self.controls.clone(),
            weights: weights.to_vec(),
            submodels: Vec::new(),
            origin: format!("{} (member {})", self.origin, k + 1),
        };
        Ok(parts.into_iter().enumerate().map(member).collect())
    }

    /// The model, ready to play (a container: every size, the largest playing).
    pub fn renderer(&self) -> Result<Box<dyn Renderer>> {
        let fail = |e: String| Error::model(&self.origin, e);
        Ok(match self.architecture.as_str() {
            SLIMMABLE_CONTAINER => {
                let sizes = self.submodels.iter().map(|(max, m)| Ok((*max, m.renderer()?))).collect::<Result<Vec<_>>>()?;
                Box::new(Container::new(sizes).map_err(fail)?)
            }
            "WaveNet" => {
                let (main, condition) = split_condition(&self.config);
                match (condition, slimmable::split_config(&main).map_err(fail)?) {
                    (Some(c), _) => {
                        let c = NamFile::from_value(c, &format!("{} (its condition DSP)", self.origin))?;
                        if c.architecture != "WaveNet" {
                            return Err(fail(format!("a {} condition DSP is not supported (a WaveNet one is)", c.architecture)));
                        }
                        let cnet = WaveNet::new(&wavenet_config(&c.config, &c.weights).map_err(fail)?, &c.weights).map_err(fail)?;
                        Box::new(WaveNet::conditioned(&wavenet_config(&main, &self.weights).map_err(fail)?, &self.weights, cnet).map_err(fail)?)
                    }
                    (None, Some((full, allowed))) => Box::new(SlimmableWaveNet::new(&wavenet_config(&full, &self.weights).map_err(fail)?, allowed, &self.weights).map_err(fail)?),
                    (None, None) => Box::new(WaveNet::new(&wavenet_config(&main, &self.weights).map_err(fail)?, &self.weights).map_err(fail)?),
                }
            }
            "LSTM" => Box::new(Lstm::new(LstmShape::from_nam(&self.config).map_err(fail)?, &self.weights).map_err(fail)?),
            ENSEMBLE => Box::new(Ensemble::new(self.ensemble_members()?.iter().map(NamFile::renderer).collect::<Result<Vec<_>>>()?).map_err(fail)?),
            GREY_BOX => Box::new(GreyBox::new(GreyBoxShape::from_nam(&self.config).map_err(fail)?, &self.weights).map_err(fail)?),
            other => return Err(fail(unsupported(other))),
        })
    }
}

/// A WaveNet's configuration; as NAM, the last weight (the head scale) wins over the config's.
pub fn wavenet_config(config: &Value, weights: &[f32]) -> Result<WaveNetConfig, String> {
    let mut cfg = WaveNetConfig::from_nam(config)?;
    if let Some(&tail) = weights.last() {
        if (tail as f64 - cfg.head_scale).abs() > 1e-5 {
            cfg.head_scale = tail as f64;
        }
    }
    Ok(cfg)
}

/// A WaveNet config without its condition network (NAM's `condition_dsp`: a complete `.nam`
/// object whose outputs the layers mix in instead of the input), and that network.
fn split_condition(config: &Value) -> (Value, Option<Value>) {
    match config.get("condition_dsp").filter(|c| !c.is_null()) {
        None => (config.clone(), None),
        Some(c) => {
            let mut main = config.clone();
            if let Some(obj) = main.as_object_mut() {
                obj.remove("condition_dsp");
            }
            (main, Some(c.clone()))
        }
    }
}

fn unsupported(name: &str) -> String {
    format!("architecture \"{name}\" is not supported ({}, and {SLIMMABLE_CONTAINER}s and {ENSEMBLE}s of them, are)", ARCHITECTURES.join(" and "))
}

/// An ensemble's members (its `config`) each with its share of `weights`, in order.
pub fn ensemble_parts<'w>(config: &Value, weights: &'w [f32]) -> Result<Vec<(ensemble::Member, &'w [f32])>, String> {
    let mut at = 0;
    let mut parts = Vec::new();
    for (k, m) in ensemble::members(config)?.into_iter().enumerate() {
        let count = weight_count(&m.architecture, &m.config).map_err(|e| format!("member {}: {e}", k + 1))?;
        let own = weights.get(at..at + count).ok_or_else(|| format!("member {}: the weights end before its {count}", k + 1))?;
        at += count;
        parts.push((m, own));
    }
    Ok(parts)
}

/// How many weights an architecture's `config` needs.
pub fn weight_count(architecture: &str, config: &Value) -> Result<usize, String> {
    match architecture {
        "WaveNet" => Ok(own_wavenet(config)?.0.nam_weight_count()),
        "LSTM" => Ok(LstmShape::from_nam(config)?.nam_weight_count()),
        GREY_BOX => Ok(GreyBoxShape::from_nam(config)?.nam_weight_count()),
        ENSEMBLE => ensemble::members(config)?.iter().map(|m| weight_count(&m.architecture, &m.config)).sum(),
        other => Err(unsupported(other)),
    }
}

/// A WaveNet `config`'s own network (a slimmable one at full size, without its condition
/// network) and whether another WaveNet conditions it (NAM's `condition_dsp`).
fn own_wavenet(config: &Value) -> Result<(WaveNetConfig, bool), String> {
    let (main, condition) = split_condition(config);
    let cfg = match slimmable::split_config(&main)? {
        Some((full, _)) => WaveNetConfig::from_nam(&full)?,
        None => WaveNetConfig::from_nam(&main)?,
    };
    Ok((cfg, condition.is_some()))
}

/// How many control values a model's `config` reads beside the audio: an LSTM's inputs after
/// the first, a WaveNet's condition channels after the audio (0 when another WaveNet conditions
/// it: NAM's `condition_dsp`).
pub fn control_inputs(architecture: &str, config: &Value) -> Result<usize, String> {
    match architecture {
        "WaveNet" => match own_wavenet(config)? {
            (_, true) => Ok(0),
            (cfg, false) => Ok(cfg.layers.first().map_or(1, |a| a.condition_size).saturating_sub(1)),
        },
        "LSTM" => Ok(LstmShape::from_nam(config)?.controls),
        GREY_BOX => Ok(GreyBoxShape::from_nam(config)?.controls),
        ENSEMBLE => {
            let counts = ensemble::members(config)?.iter().map(|m| control_inputs(&m.architecture, &m.config)).collect::<Result<Vec<_>, _>>()?;
            match counts.iter().position(|&k| k != counts[0]) {
                Some(k) => Err(format!("member {} reads {} control(s), member 1 {}: an ensemble's members read the same knobs", k + 1, counts[k], counts[0])),
                None => Ok(counts[0]),
            }
        }
        other => Err(unsupported(other)),
    }
}

/// A container's submodels, each a complete `.nam` object, checked and sorted by `max_value`.
fn container_submodels(config: &Value, origin: &str) -> Result<Vec<(f64, NamFile)>> {
    let c: NamContainerConfig = serde_json::from_value(config.clone()).map_err(|e| Error::model(origin, format!("{SLIMMABLE_CONTAINER} config: {e}")))?;
    if c.submodels.is_empty() {
        return Err(Error::model(origin, format!("a {SLIMMABLE_CONTAINER} without submodels")));
    }
    if c.submodels.len() > MAX_SUBMODELS {
        return Err(Error::model(origin, format!("{} submodels in a {SLIMMABLE_CONTAINER} (at most {MAX_SUBMODELS})", c.submodels.len())));
    }
    let mut out = Vec::with_capacity(c.submodels.len());
    for (k, s) in c.submodels.into_iter().enumerate() {
        let m = NamFile::from_value(s.model, &format!("{origin} (submodel {})", k + 1))?;
        if !m.submodels.is_empty() {
            return Err(Error::model(origin, "a container inside a container"));
        }
        out.push((s.max_value, m));
    }
    // One amp, one set of knobs: the Slim value must not change what a knob means.
    let named = |m: &NamFile| crate::controls::describe_controls(&m.controls);
    if let Some(k) = out.iter().position(|(_, m)| named(m) != named(&out[0].1)) {
        return Err(Error::model(origin, format!("submodel {} has {}, but submodel 1 has {}; every size of a container reads the same controls", k + 1, named(&out[k].1), named(&out[0].1))));
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(out)
}

/// Load a `.nam` file, ready to play.
pub fn load(path: impl AsRef<Path>) -> Result<Box<dyn Renderer>> {
    NamFile::read(path)?.renderer()
}
