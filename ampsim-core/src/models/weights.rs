//! NAM's flat weight list, as each model reads and writes it: in order, one tensor after
//! another, as NAM's C++ core builds each layer from a weight iterator. The reader refuses to
//! run past the end, and [`NamWeights::finish`] refuses weights left over.

use tch::{Device, Kind, Tensor};

use crate::Result;

/// Reads a `.nam` weight list in order.
pub struct NamWeights<'a> {
    weights: &'a [f32],
    at: usize,
}

/// What went wrong reading a weight list (the `.nam` reader names the file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WeightsError(pub String);

impl<'a> NamWeights<'a> {
    pub fn new(weights: &'a [f32]) -> NamWeights<'a> {
        NamWeights { weights, at: 0 }
    }

    /// The next `n` weights.
    pub fn take(&mut self, n: usize) -> Result<&'a [f32], WeightsError> {
        let left = self.weights.len() - self.at;
        if n > left {
            return Err(WeightsError(format!("the weight list ends after {} weights, but the model needs more (at least {})", self.weights.len(), self.at + n)));
        }
        let out = &self.weights[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    /// The next weight.
    pub fn scalar(&mut self) -> Result<f32, WeightsError> {
        Ok(self.take(1)?[0])
    }

    /// Copy the next `t.numel()` weights into `t`, row by row.
    pub fn fill(&mut self, t: &Tensor) -> Result<(), WeightsError> {
        let values = self.take(t.numel())?;
        tch::no_grad(|| t.shallow_clone().copy_(&Tensor::from_slice(values).view(t.size().as_slice()).to_device(t.device())));
        Ok(())
    }

    /// Weights read so far.
    pub fn used(&self) -> usize {
        self.at
    }

    /// Check that every weight was used.
    pub fn finish(self) -> Result<(), WeightsError> {
        if self.at != self.weights.len() {
            return Err(WeightsError(format!("{} weights, but the model uses {}", self.weights.len(), self.at)));
        }
        Ok(())
    }
}

/// Collects a `.nam` weight list in order.
#[derive(Debug, Default)]
pub struct NamWeightsOut(Vec<f32>);

impl NamWeightsOut {
    pub fn new() -> NamWeightsOut {
        NamWeightsOut::default()
    }

    /// Append `t`, flattened row by row.
    pub fn push(&mut self, t: &Tensor) -> Result<()> {
        let flat = t.detach().to_device(Device::Cpu).to_kind(Kind::Float).flatten(0, -1);
        self.0.extend(Vec::<f32>::try_from(flat)?);
        Ok(())
    }

    /// Append one number.
    pub fn push_scalar(&mut self, x: f32) {
        self.0.push(x);
    }

    pub fn into_vec(self) -> Vec<f32> {
        self.0
    }
}
