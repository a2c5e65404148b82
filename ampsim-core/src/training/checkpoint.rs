//! Checkpoints: weights as safetensors (written atomically), and the training state beside
//! them from which a run resumes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use crate::files::write_atomic_with;
use crate::training::history::History;
use crate::{Error, Result};

/// Training state saved beside a checkpoint after every epoch, so that a run can resume.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct TrainState {
    /// Epochs completed.
    pub(crate) epoch: usize,
    pub(crate) learning_rate: f64,
    pub(crate) since_best: usize,
    pub(crate) history: History,
}

/// `model.safetensors` → `model.<tag>` beside it.
fn sibling(path: &Path, tag: &str) -> PathBuf {
    path.with_extension(tag)
}

/// The files a checkpointed run writes: best weights, latest weights, training state (JSON).
pub fn checkpoint_files(checkpoint: &Path) -> [PathBuf; 3] {
    [checkpoint.to_path_buf(), sibling(checkpoint, "last.safetensors"), sibling(checkpoint, "train.json")]
}

/// The training history saved beside a checkpoint by [`crate::training::fit_sequence`] (e.g. to report the
/// validation ESR of a saved model).
pub fn saved_history(checkpoint: impl AsRef<Path>) -> Result<History> {
    let [_, _, state] = checkpoint_files(checkpoint.as_ref());
    let text = std::fs::read_to_string(&state).map_err(|e| Error::io(&state, e))?;
    let st: TrainState = serde_json::from_str(&text).map_err(|e| Error::ModelFile { path: state.display().to_string(), reason: format!("not a training state ({e})") })?;
    Ok(st.history)
}

pub(crate) fn load_state(checkpoint: &Path, vs: &mut nn::VarStore) -> Result<Option<TrainState>> {
    let [_, last, state] = checkpoint_files(checkpoint);
    if !state.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&state).map_err(|e| Error::io(&state, e))?;
    let st: TrainState = serde_json::from_str(&text).map_err(|e| Error::ModelFile { path: state.display().to_string(), reason: format!("not a training state ({e})") })?;
    load_safetensors(vs, &last)?;
    Ok(Some(st))
}

pub(crate) fn snapshot(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    vs.variables().into_iter().map(|(k, t)| (k, t.detach().copy())).collect()
}

pub(crate) fn restore(vs: &nn::VarStore, values: Vec<(String, Tensor)>) {
    tch::no_grad(|| {
        let vars = vs.variables();
        for (name, value) in values {
            if let Some(t) = vars.get(&name) {
                let mut t = t.shallow_clone();
                t.copy_(&value);
            }
        }
    });
}


/// Save a var store as safetensors, atomically; creates the folder.
pub fn save_safetensors(vs: &nn::VarStore, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    if path.extension().is_none_or(|e| e != "safetensors") {
        return Err(Error::invalid("path", format!("{} must end in .safetensors", path.display())));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    write_atomic_with(path, |tmp| Ok(vs.save(tmp)?))
}

/// Load a var store's values from a safetensors file written by [`save_safetensors`].
pub fn load_safetensors(vs: &mut nn::VarStore, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    if !path.exists() {
        return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such model file")));
    }
    vs.load(path)?;
    Ok(())
}
