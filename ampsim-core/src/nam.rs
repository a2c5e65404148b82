//! Neural Amp Modeler `.nam` files: what the NAM plugin loads.
//!
//! A `.nam` file is JSON: `version`, `architecture` ("LSTM" or "WaveNet"), `config` (the
//! architecture's hyperparameters in NAM's keys), `weights` (one flat list in NAM's order),
//! `sample_rate` and `metadata`. [`export`] writes the layout of current NAM (version
//! 0.7.0: each WaveNet layer array carries a `head` object and per-layer `kernel_sizes` and
//! `activation` lists); [`NamFile::read`] also reads the legacy 0.5 layout (`head_size`,
//! `head_bias`, one `kernel_size` per array) that most published captures use.
//!
//! Weight order, as NAM's exporters write it:
//! - WaveNet, per layer array: rechannel (no bias); per layer the dilated convolution
//!   (weights then bias), the input mixer (no bias), the 1×1 (weights then bias); then the
//!   array's head 1×1 (weights, bias if any). Last, `head_scale`.
//! - LSTM, per layer: the input and recurrent matrices side by side (`[4H, in + H]`, row by
//!   row), one bias (the two libtorch biases summed), the initial hidden state, the initial
//!   cell state; then the head's weights and bias.

use std::path::Path;

use chrono::{Datelike, Timelike};
use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};

use crate::audio::write_atomic;
use crate::models::wavenet::LayerArrayConfig;
use crate::models::{Lstm, LstmConfig, WaveNet, WaveNetConfig};
use crate::train_seq::SequenceModel;
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
}

/// A model that can be written to a `.nam` file.
pub enum NamModelRef<'a> {
    Lstm(&'a Lstm),
    WaveNet(&'a WaveNet),
}

/// A model read from a `.nam` file, ready to render audio.
#[derive(Debug)]
pub enum NamModel {
    Lstm(Lstm),
    WaveNet(WaveNet),
}

impl SequenceModel for NamModel {
    fn warm_up_samples(&self) -> usize {
        match self {
            NamModel::Lstm(m) => m.warm_up_samples(),
            NamModel::WaveNet(m) => m.warm_up_samples(),
        }
    }
    fn forward_aligned(&self, xs: &Tensor) -> Tensor {
        match self {
            NamModel::Lstm(m) => m.forward_aligned(xs),
            NamModel::WaveNet(m) => m.forward_aligned(xs),
        }
    }
    fn process(&self, xs: &Tensor) -> Tensor {
        match self {
            NamModel::Lstm(m) => m.process(xs),
            NamModel::WaveNet(m) => m.process(xs),
        }
    }
    fn replica(&self, vs: &nn::Path) -> Result<Self> {
        Ok(match self {
            NamModel::Lstm(m) => NamModel::Lstm(m.replica(vs)?),
            NamModel::WaveNet(m) => NamModel::WaveNet(m.replica(vs)?),
        })
    }
}

/// One entry of NAM's flat weight list and where it lives in an ampsim model.
enum Slot {
    /// A tensor, flattened row by row.
    Plain(Tensor),
    /// An LSTM layer's `[w_ih | w_hh]`.
    LstmMatrix(Tensor, Tensor),
    /// An LSTM layer's two biases, stored summed.
    SummedBias(Tensor, Tensor),
    /// Row `i` of a `[layers, hidden]` state.
    Row(Tensor, i64),
}

impl Slot {
    fn len(&self) -> usize {
        match self {
            Slot::Plain(t) => t.numel(),
            Slot::LstmMatrix(a, b) => a.numel() + b.numel(),
            Slot::SummedBias(a, _) => a.numel(),
            Slot::Row(t, _) => t.size()[1] as usize,
        }
    }

    fn export(&self) -> Result<Vec<f32>> {
        let t = match self {
            Slot::Plain(t) => t.shallow_clone(),
            Slot::LstmMatrix(a, b) => Tensor::cat(&[a, b], 1),
            Slot::SummedBias(a, b) => a + b,
            Slot::Row(t, i) => t.get(*i),
        };
        Ok(Vec::<f32>::try_from(t.detach().to_device(Device::Cpu).to_kind(Kind::Float).flatten(0, -1))?)
    }

    fn import(&self, values: &[f32]) -> Result<()> {
        tch::no_grad(|| -> Result<()> {
            match self {
                Slot::Plain(t) => {
                    let mut t = t.shallow_clone();
                    t.copy_(&Tensor::from_slice(values).view(t.size().as_slice()));
                }
                Slot::LstmMatrix(a, b) => {
                    let (rows, cols_a) = (a.size()[0], a.size()[1]);
                    let m = Tensor::from_slice(values).view([rows, -1]);
                    a.shallow_clone().copy_(&m.narrow(1, 0, cols_a));
                    b.shallow_clone().copy_(&m.narrow(1, cols_a, b.size()[1]));
                }
                Slot::SummedBias(a, b) => {
                    a.shallow_clone().copy_(&Tensor::from_slice(values));
                    let _ = b.shallow_clone().zero_();
                }
                Slot::Row(t, i) => {
                    t.get(*i).copy_(&Tensor::from_slice(values));
                }
            }
            Ok(())
        })
    }
}

fn conv_slots(c: &nn::Conv1D, out: &mut Vec<Slot>) {
    out.push(Slot::Plain(c.ws.shallow_clone()));
    if let Some(b) = &c.bs {
        out.push(Slot::Plain(b.shallow_clone()));
    }
}

fn wavenet_slots(m: &WaveNet) -> Vec<Slot> {
    let mut out = Vec::new();
    for array in &m.arrays {
        conv_slots(&array.rechannel, &mut out);
        for layer in &array.layers {
            conv_slots(&layer.conv, &mut out);
            conv_slots(&layer.mixer, &mut out);
            conv_slots(&layer.one_by_one, &mut out);
        }
        conv_slots(&array.head, &mut out);
    }
    out
}

fn lstm_slots(m: &Lstm) -> Vec<Slot> {
    let mut out = Vec::new();
    for (i, l) in m.layers.iter().enumerate() {
        out.push(Slot::LstmMatrix(l.w_ih.shallow_clone(), l.w_hh.shallow_clone()));
        out.push(Slot::SummedBias(l.b_ih.shallow_clone(), l.b_hh.shallow_clone()));
        out.push(Slot::Row(m.h0.shallow_clone(), i as i64));
        out.push(Slot::Row(m.c0.shallow_clone(), i as i64));
    }
    out.push(Slot::Plain(m.head.ws.shallow_clone()));
    if let Some(b) = &m.head.bs {
        out.push(Slot::Plain(b.shallow_clone()));
    }
    out
}

fn export_weights(slots: &[Slot]) -> Result<Vec<f32>> {
    let mut w = Vec::new();
    for s in slots {
        w.extend(s.export()?);
    }
    Ok(w)
}

fn wavenet_config_json(cfg: &WaveNetConfig) -> Value {
    let film = json!({"active": false, "shift": true, "groups": 1});
    let layers: Vec<Value> = cfg
        .layers
        .iter()
        .map(|a| {
            let n = a.dilations.len();
            json!({
                "input_size": a.input_size,
                "condition_size": a.condition_size,
                "head": {"out_channels": a.head_size, "kernel_size": 1, "bias": a.head_bias},
                "channels": a.channels,
                "kernel_sizes": vec![a.kernel_size; n],
                "dilations": a.dilations,
                "activation": vec![json!({"type": "Tanh"}); n],
                "bottleneck": a.channels,
                "head1x1": {"active": false, "out_channels": 1, "groups": 1},
                "layer1x1": {"active": true, "groups": 1},
                "groups_input": 1,
                "groups_input_mixin": 1,
                "conv_pre_film": film, "conv_post_film": film,
                "input_mixin_pre_film": film, "input_mixin_post_film": film,
                "activation_pre_film": film, "activation_post_film": film,
                "layer1x1_post_film": film, "head1x1_post_film": film,
                "gating_mode": vec!["none"; n],
                "secondary_activation": vec![Value::Null; n],
                "slimmable": Value::Null,
            })
        })
        .collect();
    json!({"layers": layers, "head": Value::Null, "head_scale": cfg.head_scale})
}

fn metadata_json(meta: &NamMetadata) -> Value {
    let t = chrono::Local::now();
    let mut m = json!({
        "date": {"year": t.year(), "month": t.month(), "day": t.day(), "hour": t.hour(), "minute": t.minute(), "second": t.second()},
        "name": meta.name, "modeled_by": meta.modeled_by, "gear_type": meta.gear_type, "tone_type": meta.tone_type,
    });
    if let Some(esr) = meta.validation_esr {
        m["training"] = json!({"trainer": format!("ampsim {}", env!("CARGO_PKG_VERSION")), "validation_esr": esr});
    }
    m
}

/// The `.nam` JSON of a model (current layout, version [`NAM_VERSION`]).
pub fn export(model: NamModelRef<'_>, sample_rate_hz: u32, meta: &NamMetadata) -> Result<Value> {
    let (architecture, config, weights) = match model {
        NamModelRef::WaveNet(m) => {
            let mut w = export_weights(&wavenet_slots(m))?;
            w.push(m.config.head_scale as f32);
            ("WaveNet", wavenet_config_json(&m.config), w)
        }
        NamModelRef::Lstm(m) => {
            if m.config.input_skip {
                return Err(Error::invalid("model", "an LSTM with an input skip has no .nam equivalent (NAM's LSTM has none)"));
            }
            let c = json!({"input_size": 1, "hidden_size": m.config.hidden_size, "num_layers": m.config.num_layers});
            ("LSTM", c, export_weights(&lstm_slots(m))?)
        }
    };
    Ok(json!({
        "version": NAM_VERSION,
        "metadata": metadata_json(meta),
        "architecture": architecture,
        "config": config,
        "weights": weights,
        "sample_rate": sample_rate_hz,
    }))
}

/// Write a model as a `.nam` file, atomically.
pub fn write(path: impl AsRef<Path>, model: NamModelRef<'_>, sample_rate_hz: u32, meta: &NamMetadata) -> Result<()> {
    let value = export(model, sample_rate_hz, meta)?;
    let text = serde_json::to_string(&value).map_err(|e| Error::invalid("model", e.to_string()))?;
    write_atomic(path.as_ref(), text.as_bytes())
}

/// A parsed `.nam` file.
#[derive(Clone, Debug)]
pub struct NamFile {
    pub version: String,
    pub architecture: String,
    /// `sample_rate`; old files have none (NAM then assumes 48 kHz).
    pub sample_rate_hz: Option<u32>,
    pub metadata: Value,
    config: Value,
    weights: Vec<f32>,
}

/// What a `.nam` file's config describes, in ampsim's terms.
#[derive(Clone, Debug, PartialEq)]
pub enum NamArchitecture {
    Lstm(LstmConfig),
    WaveNet(WaveNetConfig),
}

fn unsupported(path: &str, reason: impl Into<String>) -> Error {
    Error::invalid("nam", format!("{path}: {}", reason.into()))
}

impl NamFile {
    /// Read and check a `.nam` file.
    pub fn read(path: impl AsRef<Path>) -> Result<NamFile> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        NamFile::parse(&text, &path.display().to_string())
    }

    /// Parse `.nam` JSON; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<NamFile> {
        let v: Value = serde_json::from_str(text).map_err(|e| unsupported(origin, format!("not a .nam file: invalid JSON ({e})")))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string).ok_or_else(|| unsupported(origin, format!("not a .nam file: no \"{k}\"")));
        let version = s("version")?;
        let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
        match (parts.next().flatten(), parts.next().flatten()) {
            (Some(0), Some(5..=7)) => {}
            _ => return Err(unsupported(origin, format!("version {version} is not supported (0.5 to 0.7 are)"))),
        }
        let architecture = s("architecture")?;
        let weights = v
            .get("weights")
            .and_then(Value::as_array)
            .ok_or_else(|| unsupported(origin, "no \"weights\" list"))?
            .iter()
            .map(|w| w.as_f64().map(|x| x as f32))
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(|| unsupported(origin, "\"weights\" holds something other than numbers"))?;
        let sample_rate_hz = match v.get("sample_rate") {
            None | Some(Value::Null) => None,
            Some(r) => Some(r.as_f64().filter(|r| *r >= 8000.0 && *r <= 384_000.0).ok_or_else(|| unsupported(origin, format!("sample_rate {r} is not a usable rate")))? as u32),
        };
        let file = NamFile {
            version,
            architecture,
            sample_rate_hz,
            metadata: v.get("metadata").cloned().unwrap_or(Value::Null),
            config: v.get("config").cloned().ok_or_else(|| unsupported(origin, "no \"config\""))?,
            weights,
        };
        let arch = file.describe(origin)?;
        let expected = match &arch {
            NamArchitecture::Lstm(c) => c.nam_weight_count(),
            NamArchitecture::WaveNet(c) => c.nam_weight_count(),
        };
        if file.weights.len() != expected {
            return Err(unsupported(origin, format!("{} weights, but its {} config needs {expected}", file.weights.len(), file.architecture)));
        }
        Ok(file)
    }

    /// The architecture in ampsim's terms (only what ampsim can run is accepted).
    pub fn architecture_config(&self) -> Result<NamArchitecture> {
        self.describe("nam")
    }

    fn describe(&self, origin: &str) -> Result<NamArchitecture> {
        let c = &self.config;
        let int = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).map(|x| x as usize).ok_or_else(|| unsupported(origin, format!("config has no whole number \"{k}\"")));
        match self.architecture.as_str() {
            "LSTM" => {
                if int(c, "input_size")? != 1 {
                    return Err(unsupported(origin, "only LSTMs with one input (no parametric inputs) are supported"));
                }
                Ok(NamArchitecture::Lstm(LstmConfig { hidden_size: int(c, "hidden_size")?, num_layers: int(c, "num_layers")?, ..LstmConfig::default() }))
            }
            "WaveNet" => {
                if c.get("head").is_some_and(|h| !h.is_null()) || c.get("condition_dsp").is_some_and(|h| !h.is_null()) {
                    return Err(unsupported(origin, "WaveNets with a post-head or a condition DSP are not supported (NAM's A1 layout is)"));
                }
                let arrays = c.get("layers").and_then(Value::as_array).ok_or_else(|| unsupported(origin, "WaveNet config has no \"layers\" list"))?;
                let layers = arrays.iter().enumerate().map(|(i, a)| layer_array_config(a, i, origin)).collect::<Result<Vec<_>>>()?;
                let mut head_scale = c.get("head_scale").and_then(Value::as_f64).ok_or_else(|| unsupported(origin, "WaveNet config has no \"head_scale\""))?;
                // As NAM: the last weight is head_scale; it wins when it differs.
                if let Some(&tail) = self.weights.last() {
                    if (tail as f64 - head_scale).abs() > 1e-5 {
                        head_scale = tail as f64;
                    }
                }
                let cfg = WaveNetConfig { layers, head_scale };
                cfg.validate().map_err(|e| unsupported(origin, e.to_string()))?;
                Ok(NamArchitecture::WaveNet(cfg))
            }
            other => Err(unsupported(origin, format!("architecture \"{other}\" is not supported (LSTM and WaveNet are)"))),
        }
    }

    /// Build the model on `vs` and load the weights into it.
    pub fn build(&self, vs: &nn::Path) -> Result<NamModel> {
        match self.architecture_config()? {
            NamArchitecture::Lstm(cfg) => {
                let m = Lstm::new(vs, &cfg)?;
                import_weights(&lstm_slots(&m), &self.weights)?;
                Ok(NamModel::Lstm(m))
            }
            NamArchitecture::WaveNet(cfg) => {
                let m = WaveNet::new(vs, &cfg)?;
                import_weights(&wavenet_slots(&m), &self.weights[..self.weights.len() - 1])?;
                Ok(NamModel::WaveNet(m))
            }
        }
    }

    /// The number of weights in the file.
    pub fn weight_count(&self) -> usize {
        self.weights.len()
    }
}

fn import_weights(slots: &[Slot], weights: &[f32]) -> Result<()> {
    let total: usize = slots.iter().map(Slot::len).sum();
    if total != weights.len() {
        return Err(Error::invalid("weights", format!("{} weights for a model of {total}", weights.len())));
    }
    let mut at = 0;
    for s in slots {
        s.import(&weights[at..at + s.len()])?;
        at += s.len();
    }
    Ok(())
}

/// One WaveNet layer array from either layout; anything ampsim's A1 WaveNet cannot run is an error.
fn layer_array_config(a: &Value, index: usize, origin: &str) -> Result<LayerArrayConfig> {
    let bad = |reason: String| unsupported(origin, format!("layer array {index}: {reason}"));
    let int = |k: &str| a.get(k).and_then(Value::as_u64).map(|x| x as usize).ok_or_else(|| bad(format!("no whole number \"{k}\"")));
    let dilations: Vec<usize> = a
        .get("dilations")
        .and_then(Value::as_array)
        .and_then(|d| d.iter().map(|x| x.as_u64().map(|x| x as usize)).collect())
        .ok_or_else(|| bad("no \"dilations\" list".into()))?;
    let channels = int("channels")?;
    // Kernel size: one for the array (legacy) or one per layer (current), all equal here.
    let kernel_size = match (a.get("kernel_size"), a.get("kernel_sizes")) {
        (Some(k), _) if k.is_u64() => k.as_u64().unwrap_or(0) as usize,
        (Some(Value::Array(ks)), _) | (None, Some(Value::Array(ks))) => {
            let ks: Vec<u64> = ks.iter().filter_map(Value::as_u64).collect();
            if ks.is_empty() || ks.iter().any(|&k| k != ks[0]) {
                return Err(bad(format!("kernel sizes {ks:?} differ between layers (ampsim supports one per array)")));
            }
            ks[0] as usize
        }
        _ => return Err(bad("no kernel size".into())),
    };
    // Head: legacy head_size/head_bias or current {"out_channels", "kernel_size", "bias"}.
    let (head_size, head_bias) = match a.get("head") {
        Some(h) if h.is_object() => {
            if h.get("kernel_size").and_then(Value::as_u64).unwrap_or(1) != 1 {
                return Err(bad("a head kernel size other than 1 is not supported".into()));
            }
            (h.get("out_channels").and_then(Value::as_u64).ok_or_else(|| bad("head has no out_channels".into()))? as usize, h.get("bias").and_then(Value::as_bool).unwrap_or(false))
        }
        _ => (int("head_size")?, a.get("head_bias").and_then(Value::as_bool).unwrap_or(false)),
    };
    // Activation: "Tanh", or a per-layer list of "Tanh" / {"type": "Tanh"}.
    let is_tanh = |v: &Value| v.as_str() == Some("Tanh") || v.get("type").and_then(Value::as_str) == Some("Tanh") || v.get("name").and_then(Value::as_str) == Some("Tanh");
    let activation_ok = match a.get("activation") {
        Some(Value::Array(list)) => list.iter().all(is_tanh),
        Some(v) => is_tanh(v),
        None => false,
    };
    if !activation_ok {
        return Err(bad(format!("activation {} is not supported (Tanh is)", a.get("activation").unwrap_or(&Value::Null))));
    }
    let gated = a.get("gated").and_then(Value::as_bool).unwrap_or(false)
        || a.get("gating_mode").and_then(Value::as_array).is_some_and(|g| g.iter().any(|m| m.as_str() != Some("none")));
    if gated {
        return Err(bad("gated activations are not supported".into()));
    }
    let active = |k: &str| a.get(k).and_then(|v| v.get("active")).and_then(Value::as_bool);
    if active("head1x1") == Some(true) || active("layer1x1") == Some(false) {
        return Err(bad("only the A1 layer (1×1 on the residual, none on the head) is supported".into()));
    }
    let film_keys = ["conv_pre_film", "conv_post_film", "input_mixin_pre_film", "input_mixin_post_film", "activation_pre_film", "activation_post_film", "layer1x1_post_film", "head1x1_post_film"];
    if film_keys.iter().any(|k| active(k) == Some(true)) {
        return Err(bad("FiLM conditioning is not supported".into()));
    }
    for k in ["groups_input", "groups_input_mixin"] {
        if a.get(k).and_then(Value::as_u64).unwrap_or(1) != 1 {
            return Err(bad(format!("grouped convolutions ({k}) are not supported")));
        }
    }
    if a.get("bottleneck").and_then(Value::as_u64).is_some_and(|b| b as usize != channels) {
        return Err(bad("a bottleneck narrower than the channels is not supported".into()));
    }
    if a.get("slimmable").is_some_and(|s| !s.is_null()) {
        return Err(bad("slimmable layer arrays are not supported".into()));
    }
    Ok(LayerArrayConfig { input_size: int("input_size")?, condition_size: int("condition_size")?, head_size, channels, kernel_size, dilations, head_bias })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train_seq::process_signal;

    fn signal(n: usize) -> Vec<f32> {
        (0..n).map(|i| 0.5 * (i as f32 * 0.031).sin() * (i as f32 * 0.0011).cos() + 0.1 * (i as f32 * 0.27).sin()).collect()
    }

    fn round_trip(model: NamModelRef<'_>, x: &[f32], before: &[f32]) {
        let dir = crate::test_util::tmpdir("nam", "round_trip");
        let path = dir.join("m.nam");
        write(&path, model, 48_000, &NamMetadata { name: Some("test".into()), validation_esr: Some(0.01), ..Default::default() }).unwrap();
        let file = NamFile::read(&path).unwrap();
        assert_eq!((file.version.as_str(), file.sample_rate_hz), (NAM_VERSION, Some(48_000)));
        assert_eq!(file.metadata["training"]["validation_esr"], 0.01);
        let vs = nn::VarStore::new(Device::Cpu);
        let loaded = file.build(&vs.root()).unwrap();
        let after = process_signal(&loaded, x, Device::Cpu).unwrap();
        let max = crate::compare::max_abs_difference(before, &after).unwrap();
        assert!(max < 1e-6, "max difference {max}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn every_preset_survives_export_and_import_with_nams_weight_count() {
        let x = signal(6000);
        for preset in ["standard", "lite", "feather", "nano"] {
            let vs = nn::VarStore::new(Device::Cpu);
            let m = WaveNet::new(&vs.root(), &WaveNetConfig::preset(preset).unwrap()).unwrap();
            let v = export(NamModelRef::WaveNet(&m), 48_000, &NamMetadata::default()).unwrap();
            assert_eq!(v["weights"].as_array().unwrap().len(), m.config.nam_weight_count(), "{preset}");
            round_trip(NamModelRef::WaveNet(&m), &x, &process_signal(&m, &x, Device::Cpu).unwrap());

            let vs = nn::VarStore::new(Device::Cpu);
            let m = Lstm::new(&vs.root(), &LstmConfig::preset(preset).unwrap()).unwrap();
            // A non-zero initial state, as training leaves it.
            tch::no_grad(|| {
                let _ = m.h0.shallow_clone().fill_(0.1);
                let _ = m.c0.shallow_clone().fill_(-0.2);
            });
            let v = export(NamModelRef::Lstm(&m), 48_000, &NamMetadata::default()).unwrap();
            assert_eq!(v["weights"].as_array().unwrap().len(), m.config.nam_weight_count(), "{preset}");
            round_trip(NamModelRef::Lstm(&m), &x, &process_signal(&m, &x, Device::Cpu).unwrap());
        }
    }

    #[test]
    fn the_legacy_layout_reads_as_the_current_one() {
        let vs = nn::VarStore::new(Device::Cpu);
        let m = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let mut v = export(NamModelRef::WaveNet(&m), 48_000, &NamMetadata::default()).unwrap();
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
        assert_eq!(file.architecture_config().unwrap(), NamArchitecture::WaveNet(m.config.clone()));
        let vs2 = nn::VarStore::new(Device::Cpu);
        let loaded = file.build(&vs2.root()).unwrap();
        let x = signal(5000);
        assert_eq!(process_signal(&loaded, &x, Device::Cpu).unwrap(), process_signal(&m, &x, Device::Cpu).unwrap());
    }

    #[test]
    fn unsupported_files_are_refused_with_a_reason() {
        let vs = nn::VarStore::new(Device::Cpu);
        let m = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let good = export(NamModelRef::WaveNet(&m), 48_000, &NamMetadata::default()).unwrap();
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
        refuse(v, "gated");
        let mut v = good.clone();
        v["config"]["layers"][1]["activation"][2] = json!({"type": "ReLU"});
        refuse(v, "ReLU");
        let mut v = good;
        v["sample_rate"] = json!(-1);
        refuse(v, "sample_rate");
        let e = NamFile::parse("{ not json", "x.nam").unwrap_err().to_string();
        assert!(e.contains("invalid JSON"), "{e}");
    }
}
