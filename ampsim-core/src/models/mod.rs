//! Models, in the style of tch-rs's examples: a config struct with documented defaults, a
//! constructor taking an `nn::Path`, and `forward_t`.
//!
//! * [`Mlp`] — the post's dense network over a window of samples.

pub mod mlp;

pub use mlp::{Activation, Mlp, MlpConfig};

/// Number of trainable scalars in a var store.
pub fn parameter_count(vs: &tch::nn::VarStore) -> i64 {
    vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
}
