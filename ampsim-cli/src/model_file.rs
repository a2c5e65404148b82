//! Finding and loading a trained model given on the command line: a `.nam` file, or a
//! checkpoint (`.safetensors`) written by `ampsim train` beside its `.nam` card.

use std::path::{Path, PathBuf};

use ampsim_core::models::CausalModel;
use ampsim_core::interop::nam::{BuildModel, ControlSpec, NamFile};
use ampsim_core::tch::{nn, Device};
use ampsim_core::data::windows::WindowSpec;
use ampsim_core::training::load_safetensors;
use anyhow::{bail, Context, Result};

/// A model ready to render, with what its file says about it.
pub struct LoadedModel {
    pub model: Box<dyn CausalModel>,
    pub file: NamFile,
    /// NAM assumes 48 kHz when a file has no sample rate.
    pub sample_rate_hz: u32,
}

/// The `.nam` card describing `path`: itself, or `<stem>.nam` beside a checkpoint.
fn card_of(path: &Path) -> Result<(PathBuf, Option<PathBuf>)> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("nam") => Ok((path.to_path_buf(), None)),
        Some("safetensors") => {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            // `model.last.safetensors` belongs to `model.nam` too.
            let base = stem.strip_suffix(".last").unwrap_or(stem);
            let card = path.with_file_name(format!("{base}.nam"));
            if !card.exists() {
                bail!("{}: no {} beside it to say which architecture the checkpoint holds", path.display(), card.display());
            }
            Ok((card, Some(path.to_path_buf())))
        }
        _ => bail!("{}: expected a .nam file or a .safetensors checkpoint written by `ampsim train`", path.display()),
    }
}

/// A model loaded into the real-time engine.
pub struct PlayingModel {
    pub renderer: Box<dyn ampsim_engine::Renderer>,
    /// `None` for a dense network's checkpoint, which does not store it.
    pub sample_rate_hz: Option<u32>,
    pub weight_count: usize,
    /// A conditioned model's controls (empty: one setting).
    pub controls: Vec<ControlSpec>,
}

/// Load a model into the real-time engine: a `.nam` file directly; a checkpoint through its
/// libtorch model (its weights exported in memory). `slim` as in [`load`].
pub fn load_engine(path: &Path, slim: Option<f64>) -> Result<PlayingModel> {
    if path.extension().and_then(|e| e.to_str()) == Some("nam") {
        if !path.exists() {
            bail!("{}: no such model file", path.display());
        }
        let file = ampsim_engine::nam::NamFile::read(path)?;
        // A container picks a submodel; a slimmable WaveNet slims itself.
        let chosen = match slim {
            Some(s) if !file.submodels().is_empty() => file.slimmed(s),
            _ => &file,
        };
        let mut renderer = chosen.renderer()?;
        if let Some(s) = slim {
            if !(0.0..=1.0).contains(&s) {
                bail!("--slim {s}: give a value from 0 to 1");
            }
            if file.submodels().is_empty() && !renderer.set_slim(s) {
                bail!("{}: --slim needs a SlimmableContainer or a slimmable WaveNet, but this file holds one {} model", path.display(), file.architecture);
            }
        }
        return Ok(PlayingModel { renderer, sample_rate_hz: Some(file.sample_rate_hz.unwrap_or(48_000)), weight_count: chosen.weight_count(), controls: chosen.controls.clone() });
    }
    // A checkpoint without a .nam card beside it: the dense network's (`train --model mlp`).
    if path.extension().and_then(|e| e.to_str()) == Some("safetensors") && card_of(path).is_err() && path.exists() {
        if slim.is_some() {
            bail!("{}: --slim needs a SlimmableContainer", path.display());
        }
        let dense = ampsim_engine::models::dense::from_safetensors(path, WindowSpec::default().future_samples)?;
        let weight_count = dense.weight_count();
        return Ok(PlayingModel { renderer: Box::new(dense), sample_rate_hz: None, weight_count, controls: Vec::new() });
    }
    let loaded = load(path, Device::Cpu, slim)?;
    let renderer = ampsim_core::interop::render::engine_renderer(&*loaded.model, loaded.sample_rate_hz)?;
    Ok(PlayingModel { renderer, sample_rate_hz: Some(loaded.sample_rate_hz), weight_count: loaded.file.weight_count(), controls: loaded.file.controls.clone() })
}

fn check_slim(card: &Path, s: f64, file: &NamFile) -> Result<()> {
    if !(0.0..=1.0).contains(&s) {
        bail!("--slim {s}: give a value from 0 to 1");
    }
    if file.submodels().is_empty() {
        bail!("{}: --slim needs a SlimmableContainer, but this file holds one {} model", card.display(), file.architecture);
    }
    Ok(())
}

/// Load a model for rendering (on `device`); `slim` picks a container's submodel as NAM's
/// plugin does (default: the full-size one).
pub fn load(path: &Path, device: Device, slim: Option<f64>) -> Result<LoadedModel> {
    if !path.exists() {
        bail!("{}: no such model file", path.display());
    }
    let (card, checkpoint) = card_of(path)?;
    let mut file = NamFile::read(&card)?;
    if let Some(s) = slim {
        check_slim(&card, s, &file)?;
        file = file.slimmed(s).clone();
    }
    let mut vs = nn::VarStore::new(device);
    let model = file.build(&vs.root())?;
    if let Some(ckpt) = checkpoint {
        load_safetensors(&mut vs, &ckpt).with_context(|| format!("{}: does not fit the architecture in {}", ckpt.display(), card.display()))?;
    }
    let sample_rate_hz = file.sample_rate_hz.unwrap_or(48_000);
    // The model's tensors stay alive without the VarStore.
    Ok(LoadedModel { model, file, sample_rate_hz })
}

/// A setting (`--set name=value`, repeatable) as the normalised values `controls` read, in
/// their order: one clear error for a missing, unknown or repeated control, or a value outside
/// the trained range unless `extrapolate` (then a warning each).
pub fn setting(model: &Path, controls: &[ControlSpec], set: &[(String, f64)], extrapolate: bool) -> Result<Vec<f32>> {
    let (values, warnings) = ampsim_core::interop::nam::normalise_setting(controls, set, extrapolate).map_err(|e| anyhow::anyhow!("{}: {}", model.display(), e.replace("ask for it explicitly", "give --extrapolate")))?;
    for w in warnings {
        eprintln!("warning: {}: {w}", model.display());
    }
    Ok(values)
}

/// `name=value` from the command line.
pub fn parse_setting(text: &str) -> std::result::Result<(String, f64), String> {
    let (name, value) = text.split_once('=').ok_or_else(|| format!("`{text}`: write name=value, e.g. treble=7.5"))?;
    let v: f64 = value.trim().parse().map_err(|_| format!("`{text}`: `{value}` is not a number"))?;
    Ok((name.trim().to_string(), v))
}
