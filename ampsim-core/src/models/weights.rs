//! NAM's flat weight list, as each model reads and writes it: in order, one tensor after
//! another, as NAM's C++ core builds each layer from a weight iterator. Reading is the engine's
//! [`NamWeights`] (one reader for both crates), with [`FillTensor`] for tensors.

use tch::{Device, Kind, Tensor};

use crate::Result;

/// The one reader of a `.nam` weight list, the engine's: the libtorch models read their
/// weights exactly as the real-time engine does.
pub use ampsim_engine::schema::{NamWeights, WeightsError};

/// Weights read straight into a tensor.
pub trait FillTensor {
    /// Copy the next `t.numel()` weights into `t`, row by row.
    fn fill(&mut self, t: &Tensor) -> Result<(), WeightsError>;
}

impl FillTensor for NamWeights<'_> {
    fn fill(&mut self, t: &Tensor) -> Result<(), WeightsError> {
        let values = self.take(t.numel())?;
        tch::no_grad(|| t.shallow_clone().copy_(&Tensor::from_slice(values).view(t.size().as_slice()).to_device(t.device())));
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
