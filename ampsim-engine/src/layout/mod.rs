//! What the models' files say: each architecture's hyperparameters in `.nam`'s keys (shared
//! with ampsim's libtorch models) and a reader of NAM's flat weight list.

pub mod a2;
pub mod lstm;
pub mod wavenet;

/// NAM's flat weight list, read front to back as each layer takes its share (as NAM's C++
/// engine reads it).
pub(crate) struct Weights<'a> {
    all: &'a [f32],
    at: usize,
}

impl<'a> Weights<'a> {
    pub(crate) fn new(all: &'a [f32]) -> Self {
        Weights { all, at: 0 }
    }

    /// The next `n` weights.
    pub(crate) fn take(&mut self, n: usize) -> Result<Vec<f32>, String> {
        let end = self.at + n;
        let slice = self.all.get(self.at..end).ok_or_else(|| format!("{} weights, but the config needs more", self.all.len()))?;
        self.at = end;
        Ok(slice.to_vec())
    }

    /// Every weight was used.
    pub(crate) fn finish(self) -> Result<(), String> {
        if self.at == self.all.len() {
            Ok(())
        } else {
            Err(format!("{} weights, but the config needs {}", self.all.len(), self.at))
        }
    }
}
