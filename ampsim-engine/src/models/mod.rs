//! The models the engine plays, each streaming with its own state.

pub mod container;
pub mod dense;
pub mod ensemble;
pub mod grey_box;
pub mod lstm;
pub mod slimmable;
pub mod wavenet;

pub use container::Container;
pub use dense::{DenseConfig, DenseLayer, DenseNet};
pub use ensemble::Ensemble;
pub use grey_box::GreyBox;
pub use lstm::Lstm;
pub use slimmable::SlimmableWaveNet;
pub use wavenet::WaveNet;
