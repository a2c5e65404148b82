//! The models the engine plays, each streaming with its own state.

pub mod container;
pub mod lstm;
pub mod wavenet;

pub use container::Container;
pub use lstm::Lstm;
pub use wavenet::WaveNet;
