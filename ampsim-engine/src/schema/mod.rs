//! What the models' files say: each architecture's hyperparameters in `.nam`'s keys (shared
//! with ampsim's libtorch models) and the reader of NAM's flat weight list, which both use.

pub mod a2;
pub mod ensemble;
pub mod grey_box;
pub mod lstm;
pub mod wavenet;

/// NAM's name for a file that holds one model at several sizes; the plugin's "Slim" knob picks one.
pub const SLIMMABLE_CONTAINER: &str = "SlimmableContainer";

/// NAM's flat weight list, read front to back as each layer takes its share (as NAM's C++
/// engine builds each layer from a weight iterator). The one reader of it: the engine's models
/// and `ampsim-core`'s libtorch models both read through it. It refuses to run past the end,
/// and [`NamWeights::finish`] refuses weights left over.
pub struct NamWeights<'a> {
    all: &'a [f32],
    at: usize,
}

/// What went wrong reading a weight list (the `.nam` reader names the file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WeightsError(pub String);

impl From<WeightsError> for String {
    fn from(e: WeightsError) -> String {
        e.0
    }
}

/// The engine's name for it.
pub(crate) type Weights<'a> = NamWeights<'a>;

impl<'a> NamWeights<'a> {
    pub fn new(all: &'a [f32]) -> Self {
        NamWeights { all, at: 0 }
    }

    /// The next `n` weights.
    pub fn take(&mut self, n: usize) -> Result<&'a [f32], WeightsError> {
        let slice = self.at.checked_add(n).and_then(|end| self.all.get(self.at..end));
        let slice = slice.ok_or_else(|| WeightsError(format!("the weight list ends after {} weights, but the model needs more (at least {})", self.all.len(), self.at.saturating_add(n))))?;
        self.at += n;
        Ok(slice)
    }

    /// The next `n` weights, copied.
    pub fn take_vec(&mut self, n: usize) -> Result<Vec<f32>, WeightsError> {
        Ok(self.take(n)?.to_vec())
    }

    /// The next weight.
    pub fn scalar(&mut self) -> Result<f32, WeightsError> {
        Ok(self.take(1)?[0])
    }

    /// Weights read so far.
    pub fn used(&self) -> usize {
        self.at
    }

    /// Check that every weight was used.
    pub fn finish(self) -> Result<(), WeightsError> {
        if self.at == self.all.len() {
            Ok(())
        } else {
            Err(WeightsError(format!("{} weights, but the model uses {}", self.all.len(), self.at)))
        }
    }
}
