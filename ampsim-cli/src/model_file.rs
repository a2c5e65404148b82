//! Finding and loading a trained model given on the command line: a `.nam` file, or a
//! checkpoint (`.safetensors`) written by `ampsim train` beside its `.nam` card.

use std::path::{Path, PathBuf};

use ampsim_core::models::CausalModel;
use ampsim_core::interop::nam::{BuildModel, NamFile};
use ampsim_core::tch::{nn, Device};
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

/// Load a model for rendering (on `device`); `slim` picks a container's submodel as NAM's
/// plugin does (default: the full-size one).
pub fn load(path: &Path, device: Device, slim: Option<f64>) -> Result<LoadedModel> {
    if !path.exists() {
        bail!("{}: no such model file", path.display());
    }
    let (card, checkpoint) = card_of(path)?;
    let mut file = NamFile::read(&card)?;
    if let Some(s) = slim {
        if !(0.0..=1.0).contains(&s) {
            bail!("--slim {s}: give a value from 0 to 1");
        }
        if file.submodels().is_empty() {
            bail!("{}: --slim needs a SlimmableContainer, but this file holds one {} model", card.display(), file.architecture);
        }
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
