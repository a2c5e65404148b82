//! # ampsim-engine
//!
//! Play ampsim's and Neural Amp Modeler's models in real time, in pure Rust: no libtorch, no
//! allocation, lock or system call while playing.
//!
//! ```no_run
//! let mut amp = ampsim_engine::nam::load("my_amp.nam")?;
//! let (input, mut output) = (vec![0.0f32; 64], vec![0.0f32; 64]);
//! amp.process(&input, &mut output); // call once per audio block, any length
//! # Ok::<(), ampsim_engine::Error>(())
//! ```
//!
//! What it plays: NAM's WaveNet (A1 presets and A2: per-layer kernels, gating, LeakyReLU and
//! the other activations, head kernels), LSTMs of any size, `SlimmableContainer`s of them
//! (the Slim value switchable while playing), LSTMs and WaveNets conditioned on an amp's knobs
//! ([`Renderer::set_controls`], named in the file: [`ControlSpec`]), all from `.nam` files of
//! versions 0.5 to 0.7;
//! and the dense network of "Guitar Amp Simulation with Tensorflow and Keras" from ampsim's
//! checkpoints ([`models::dense::from_safetensors`]), which answers `latency_samples()` late.
//!
//! Every model streams: state carries over from one [`Renderer::process`] call to the next,
//! so a guitar played in 64-sample blocks sounds exactly as the whole take rendered at once.
//! The WaveNet keeps each layer's input in a delay line and never recomputes its context.
//! On x86-64 CPUs with AVX-512 or AVX2 and FMA (checked once, at load: [`Simd`]) the arithmetic
//! runs in vector code; elsewhere in portable code.

pub mod activation;
pub mod circuit;
pub mod controls;
pub mod error;
mod kernels;
pub mod schema;
pub mod models;
pub mod nam;

pub use activation::Activation;
pub use controls::ControlSpec;
pub use error::{Error, Result};
pub use kernels::Simd;
pub use schema::lstm::LstmShape;
pub use schema::wavenet::{LayerArrayConfig, WaveNetConfig};

/// A model that plays audio block by block.
///
/// Real-time contract: `process` never allocates, locks, makes a system call or panics, for
/// any input and any block length. A non-finite input sample (NaN, ±∞) is played as silence
/// (0.0), so one bad sample cannot poison the model's state.
pub trait Renderer: Send {
    /// Play `input` into `output` (block length from 1 sample up; any length works, cut into
    /// the model's internal steps). When the lengths differ, the shorter one counts and the
    /// rest of `output` is zeroed.
    fn process(&mut self, input: &[f32], output: &mut [f32]);
    /// Forget the past: back to the state at load (silence before the first sample).
    fn reset(&mut self);
    /// Samples by which the output trails the input (0 for causal models).
    fn latency_samples(&self) -> usize;
    /// Input samples that one output sample depends on through a fixed window (1 for a
    /// recurrent model, whose state reaches back without a fixed limit).
    fn receptive_field(&self) -> usize;
    /// Pick a size of a `SlimmableContainer` (0 to 1, as NAM's "Slim" knob); `false` for a
    /// model with one size, which ignores it.
    fn set_slim(&mut self, _slim: f64) -> bool {
        false
    }
    /// Set the control values (an amp's knobs, normalised as the model was trained): before the
    /// first block after a reset they apply at once, later the model glides to them over
    /// [`controls::RAMP_SAMPLES`] so that a knob turned while playing does not click. `false`
    /// for a model without controls, which ignores them. Allocation-free: call it between blocks.
    fn set_controls(&mut self, _values: &[f32]) -> bool {
        false
    }
}
