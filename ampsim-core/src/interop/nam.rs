//! Neural Amp Modeler `.nam` files: what the NAM plugin loads.
//!
//! A `.nam` file is JSON: `version`, `architecture` ("LSTM" or "WaveNet"), `config` (the
//! architecture's hyperparameters in NAM's keys), `weights` (one flat list in NAM's order),
//! `sample_rate` and `metadata`. [`export`] writes the layout of current NAM (version 0.7.0);
//! [`NamFile::read`] also reads the legacy 0.5 layout that most published captures use.
//!
//! This module knows the file, not the models: each model writes and reads its own `config`
//! and weight order ([`CausalModel`]), and [`crate::models::ARCHITECTURES`] says which
//! architecture name builds which model.

use std::path::Path;

use chrono::{Datelike, Timelike};
use serde_json::{json, Value};
use tch::nn;

use crate::files::write_atomic;
use crate::models::{self, CausalModel, NamWeights, NamWeightsOut};
use crate::{Error, Result};

/// The `.nam` version this module writes.
pub const NAM_VERSION: &str = "0.7.0";

/// What a `.nam` file says about the capture (NAM's user metadata, plus training figures).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NamMetadata {
    pub name: Option<String>,
    pub modeled_by: Option<String>,
    /// NAM's gear types: "amp", "pedal", "pedal_amp", "amp_cab", "amp_pedal_cab", "preamp", "studio".
    pub gear_type: Option<String>,
    /// NAM's tone types: "clean", "overdrive", "crunch", "hi_gain", "fuzz".
    pub tone_type: Option<String>,
    /// Validation ESR of the training run, written under `metadata.training`.
    pub validation_esr: Option<f64>,
    /// The ESR the run's verdict was given for (on playing it never heard when it had some),
    /// written under `metadata.training`.
    pub test_esr: Option<f64>,
    /// The samples the amp lagged the DI by in the training data, which the model learned to
    /// leave out (`metadata.training.latency_samples`): a model's output is to be compared with
    /// the amp advanced by this much.
    pub latency_samples: Option<i64>,
    /// A conditioned model's controls, in the order it reads them (written as the top-level
    /// `controls` list). Left empty for a conditioned model, they are named `control1`, … over
    /// the normalised range 0..1.
    pub controls: Vec<ControlSpec>,
}

fn metadata_json(meta: &NamMetadata) -> Value {
    let t = chrono::Local::now();
    let mut m = json!({
        "date": {"year": t.year(), "month": t.month(), "day": t.day(), "hour": t.hour(), "minute": t.minute(), "second": t.second()},
        "name": meta.name, "modeled_by": meta.modeled_by, "gear_type": meta.gear_type, "tone_type": meta.tone_type,
    });
    if let Some(esr) = meta.validation_esr {
        m["training"] = json!({"trainer": format!("ampsim {}", env!("CARGO_PKG_VERSION")), "validation_esr": esr});
        if let Some(esr) = meta.test_esr {
            m["training"]["test_esr"] = json!(esr);
        }
        if let Some(lag) = meta.latency_samples {
            m["training"]["latency_samples"] = json!(lag);
        }
    }
    m
}

/// The `.nam` JSON of a model (current layout, version [`NAM_VERSION`]).
pub fn export<M: CausalModel + ?Sized>(model: &M, sample_rate_hz: u32, meta: &NamMetadata) -> Result<Value> {
    let mut weights = NamWeightsOut::new();
    model.write_nam_weights(&mut weights)?;
    let doc = NamDocument {
        version: NAM_VERSION.into(),
        metadata: metadata_json(meta),
        architecture: model.nam_architecture().into(),
        config: model.nam_config()?,
        weights: weights.into_vec(),
        sample_rate: Some(sample_rate_hz as f64),
        controls: controls_of(model, meta)?,
    };
    let mut v = serde_json::to_value(doc).map_err(|e| Error::invalid("model", e.to_string()))?;
    v["sample_rate"] = json!(sample_rate_hz);
    Ok(v)
}

/// The controls to write for `model`: `meta`'s, which must be one per control it reads.
fn controls_of<M: CausalModel + ?Sized>(model: &M, meta: &NamMetadata) -> Result<Vec<ControlSpec>> {
    let k = model.control_count();
    if meta.controls.is_empty() {
        return Ok((1..=k).map(|i| ControlSpec::new(format!("control{i}"), 0.0, 1.0)).collect());
    }
    if meta.controls.len() != k {
        return Err(Error::invalid("controls", format!("{} control(s) named for a model that reads {k}", meta.controls.len())));
    }
    Ok(meta.controls.clone())
}

/// Write a model as a `.nam` file, atomically.
pub fn write(path: impl AsRef<Path>, model: &dyn CausalModel, sample_rate_hz: u32, meta: &NamMetadata) -> Result<()> {
    write_json(path.as_ref(), &export(model, sample_rate_hz, meta)?)
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string(value).map_err(|e| Error::invalid("model", e.to_string()))?;
    write_atomic(path, text.as_bytes())
}

/// The `.nam` JSON of a `SlimmableContainer` holding `models` — one model at several sizes, as
/// NAM's trainer writes A2 — for the plugin's "Slim" knob: sorted by weight count, the `k`-th of
/// `n` answers slim values up to `k / n` (the largest, up to 1). Each submodel is a complete
/// `.nam` object with `meta`.
pub fn export_container(models: &[&dyn CausalModel], sample_rate_hz: u32, meta: &NamMetadata) -> Result<Value> {
    if models.is_empty() {
        return Err(Error::invalid("models", "a container needs at least one model"));
    }
    let mut sized = Vec::with_capacity(models.len());
    for m in models {
        let v = export(*m, sample_rate_hz, meta)?;
        let count = v["weights"].as_array().map_or(0, Vec::len);
        sized.push((count, v));
    }
    sized.sort_by_key(|(count, _)| *count);
    let n = sized.len();
    let submodels: Vec<Value> = sized.into_iter().enumerate().map(|(k, (_, model))| json!({"max_value": (k + 1) as f64 / n as f64, "model": model})).collect();
    Ok(json!({
        "version": NAM_VERSION,
        "metadata": metadata_json(meta),
        "architecture": SLIMMABLE_CONTAINER,
        "config": {"submodels": submodels},
        "weights": [],
        "sample_rate": sample_rate_hz,
    }))
}

/// Write [`export_container`]'s file, atomically.
pub fn write_container(path: impl AsRef<Path>, models: &[&dyn CausalModel], sample_rate_hz: u32, meta: &NamMetadata) -> Result<()> {
    write_json(path.as_ref(), &export_container(models, sample_rate_hz, meta)?)
}

pub use ampsim_engine::nam::{NamDocument, NamFile, SLIMMABLE_CONTAINER};
pub use ampsim_engine::controls::normalise_setting;
pub use ampsim_engine::ControlSpec;

/// A `.nam` file built as a libtorch model ([`NamFile`] is the engine's: it reads and checks
/// the file; this builds what ampsim trains and evaluates).
pub trait BuildModel {
    /// Build the model on `vs` and load the weights into it (every weight used, exactly). A
    /// `SlimmableContainer` builds its full-size submodel (as NAM's engine does by default;
    /// [`NamFile::slimmed`] picks another).
    fn build(&self, vs: &nn::Path) -> Result<Box<dyn CausalModel>>;
}

fn malformed(path: &str, reason: impl Into<String>) -> Error {
    Error::ModelFile { path: path.into(), reason: reason.into() }
}

impl BuildModel for NamFile {
    fn build(&self, vs: &nn::Path) -> Result<Box<dyn CausalModel>> {
        if let Some((_, full)) = self.submodels().last() {
            return full.build(vs);
        }
        let origin = self.origin();
        let arch = models::architecture(&self.architecture).ok_or_else(|| malformed(origin, format!("architecture \"{}\" has no libtorch model", self.architecture)))?;
        let model = (arch.from_nam)(&self.config, self.weights(), vs).map_err(|e| malformed(origin, e))?;
        let mut weights = NamWeights::new(self.weights());
        tch::no_grad(|| model.read_nam_weights(&mut weights)).map_err(|e| malformed(origin, e.to_string()))?;
        weights.finish().map_err(|e| malformed(origin, e.to_string()))?;
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Lstm, LstmConfig, WaveNet, WaveNetConfig};
    use crate::training::process_signal;
    use tch::Device;

    fn signal(n: usize) -> Vec<f32> {
        (0..n).map(|i| 0.5 * (i as f32 * 0.031).sin() * (i as f32 * 0.0011).cos() + 0.1 * (i as f32 * 0.27).sin()).collect()
    }

    fn round_trip(model: &dyn CausalModel, x: &[f32], before: &[f32]) {
        let dir = crate::test_util::tmpdir("nam", "round_trip");
        let path = dir.join("m.nam");
        write(&path, model, 48_000, &NamMetadata { name: Some("test".into()), validation_esr: Some(0.01), ..Default::default() }).unwrap();
        let file = NamFile::read(&path).unwrap();
        assert_eq!((file.version.as_str(), file.sample_rate_hz), (NAM_VERSION, Some(48_000)));
        assert_eq!(file.metadata["training"]["validation_esr"], 0.01);
        let vs = nn::VarStore::new(Device::Cpu);
        let loaded = file.build(&vs.root()).unwrap();
        let after = process_signal(&loaded, x, Device::Cpu).unwrap();
        let max = crate::evaluation::compare::max_abs_difference(before, &after).unwrap();
        assert!(max < 1e-6, "max difference {max}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn every_preset_survives_export_and_import_with_nams_weight_count() {
        let x = signal(6000);
        for preset in ["standard", "lite", "feather", "nano"] {
            let vs = nn::VarStore::new(Device::Cpu);
            let m = WaveNet::new(&vs.root(), &WaveNetConfig::preset(preset).unwrap()).unwrap();
            let v = export(&m, 48_000, &NamMetadata::default()).unwrap();
            assert_eq!(v["weights"].as_array().unwrap().len(), m.config().nam_weight_count(), "{preset}");
            round_trip(&m, &x, &process_signal(&m, &x, Device::Cpu).unwrap());

            let vs = nn::VarStore::new(Device::Cpu);
            let m = Lstm::new(&vs.root(), &LstmConfig::preset(preset).unwrap()).unwrap();
            // A non-zero initial state, as training leaves it.
            m.set_initial_state(0.1, -0.2);
            let v = export(&m, 48_000, &NamMetadata::default()).unwrap();
            assert_eq!(v["weights"].as_array().unwrap().len(), m.config().nam_weight_count(), "{preset}");
            round_trip(&m, &x, &process_signal(&m, &x, Device::Cpu).unwrap());
        }
    }

    #[test]
    fn the_legacy_layout_reads_as_the_current_one() {
        let vs = nn::VarStore::new(Device::Cpu);
        let m = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let mut v = export(&m, 48_000, &NamMetadata::default()).unwrap();
        // Rewrite the arrays the way NAM 0.5 wrote them.
        v["version"] = json!("0.5.4");
        for a in v["config"]["layers"].as_array_mut().unwrap() {
            let head = a["head"].clone();
            *a = json!({"input_size": a["input_size"], "condition_size": a["condition_size"], "head_size": head["out_channels"], "channels": a["channels"],
                         "kernel_size": 3, "dilations": a["dilations"], "activation": "Tanh", "gated": false, "head_bias": head["bias"]});
        }
        v.as_object_mut().unwrap().remove("sample_rate");
        let file = NamFile::parse(&v.to_string(), "legacy.nam").unwrap();
        assert_eq!(file.sample_rate_hz, None);
        assert_eq!(&WaveNetConfig::from_nam(&file.config).unwrap(), m.config());
        let vs2 = nn::VarStore::new(Device::Cpu);
        let loaded = file.build(&vs2.root()).unwrap();
        let x = signal(5000);
        assert_eq!(process_signal(&loaded, &x, Device::Cpu).unwrap(), process_signal(&m, &x, Device::Cpu).unwrap());
    }

    #[test]
    fn unsupported_files_are_refused_with_a_reason() {
        let vs = nn::VarStore::new(Device::Cpu);
        let m = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let good = export(&m, 48_000, &NamMetadata::default()).unwrap();
        let refuse = |v: Value, needle: &str| {
            let e = NamFile::parse(&v.to_string(), "x.nam").unwrap_err().to_string();
            assert!(e.contains("x.nam") && e.contains(needle), "{e}");
        };
        let mut v = good.clone();
        v["architecture"] = json!("ConvNet");
        refuse(v, "ConvNet");
        let mut v = good.clone();
        v["version"] = json!("0.4.0");
        refuse(v, "version 0.4.0");
        let mut v = good.clone();
        v["weights"].as_array_mut().unwrap().pop();
        refuse(v, "weights");
        let mut v = good.clone();
        v["config"]["layers"][0]["gating_mode"][0] = json!("gated");
        refuse(v, "config needs 898");
        let mut v = good.clone();
        v["config"]["layers"][0]["gating_mode"] = json!("sigmoid_tanh");
        refuse(v, "gating mode sigmoid_tanh is not supported");
        let mut v = good.clone();
        v["config"]["layers"][1]["activation"] = json!({"type": "Mish"});
        refuse(v, "Mish");
        // A layout the engine plays but ampsim cannot train: one layer with its own activation.
        let mut v = good.clone();
        v["config"]["layers"][1]["activation"][2] = json!({"type": "ReLU"});
        let file = NamFile::parse(&v.to_string(), "x.nam").unwrap();
        let e = file.build(&nn::VarStore::new(Device::Cpu).root()).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("x.nam") && e.contains("not supported for training"), "{e}");
        let mut v = good;
        v["sample_rate"] = json!(-1);
        refuse(v, "sample_rate");
        let e = NamFile::parse("{ not json", "x.nam").unwrap_err().to_string();
        assert!(e.contains("invalid JSON"), "{e}");
    }

    /// A container of two sizes of a model conditioned on two knobs: every size takes the
    /// knobs, so the Slim value picks a size and the knobs keep their meaning; a container whose
    /// sizes read different controls is refused on load.
    #[test]
    fn a_container_of_conditioned_models_plays_every_size_at_the_knobs() {
        use ampsim_engine::ControlSpec;
        tch::manual_seed(11);
        let vs = nn::VarStore::new(Device::Cpu);
        let big = WaveNet::new(&(&vs.root() / "big"), &WaveNetConfig::preset("feather").unwrap().with_controls(2)).unwrap();
        let small = WaveNet::new(&(&vs.root() / "small"), &WaveNetConfig::preset("nano").unwrap().with_controls_film(2)).unwrap();
        let controls = vec![ControlSpec::new("gain", 0.0, 10.0), ControlSpec::new("treble", 0.0, 10.0)];
        let dir = crate::test_util::tmpdir("nam", "conditioned_container");
        let path = dir.join("pack.nam");
        write_container(&path, &[&big, &small], 48_000, &NamMetadata { controls: controls.clone(), ..Default::default() }).unwrap();
        let file = NamFile::read(&path).unwrap();
        assert_eq!(file.controls, controls);
        let x = signal(6000);
        let at = |v: [f32; 2]| tch::Tensor::from_slice(&x.iter().flat_map(|&s| [s, v[0], v[1]]).collect::<Vec<f32>>()).view([x.len() as i64, 3]);
        let mut amp = file.renderer().unwrap();
        for (slim, model) in [(1.0, &big), (0.3, &small)] {
            assert!(amp.set_slim(slim));
            amp.reset();
            assert!(amp.set_controls(&[0.2, 0.9]), "slim {slim}");
            let mut played = vec![0.0; x.len()];
            amp.process(&x, &mut played);
            let want = Vec::<f32>::try_from(tch::no_grad(|| model.process(&at([0.2, 0.9])))).unwrap();
            let d = crate::evaluation::compare::max_abs_difference(&played, &want).unwrap();
            assert!(d < 1e-5, "slim {slim}: engine vs libtorch {d}");
        }
        // One size reads no controls: refused, saying which.
        let plain = WaveNet::new(&(&vs.root() / "plain"), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let mut doc = export_container(&[&big, &small], 48_000, &NamMetadata { controls: controls.clone(), ..Default::default() }).unwrap();
        doc["config"]["submodels"][0]["model"] = export(&plain, 48_000, &NamMetadata::default()).unwrap();
        let e = NamFile::parse(&doc.to_string(), "pack.nam").unwrap_err().to_string();
        assert!(e.contains("pack.nam") && e.contains("no controls") && e.contains("same controls"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
