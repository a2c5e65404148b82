//! # ampsim-core
//!
//! Learn the sound of a guitar amplifier from a recording and play any guitar signal
//! through the learned model. The library reads like the blog post
//! "Guitar Amp Simulation with Tensorflow and Keras":
//!
//! ```text
//!  data/          models/         training/          evaluation/           interop/
//!  load, check ─► Mlp, Lstm,   ─► fit (dense),    ─► scores, spectra,  ─► .nam files,
//!  align, split   WaveNet         fit_sequence       plots, players        block rendering
//! ```
//!
//! - [`data`]: recordings (WAV in and out, the stereo [`Recording`]), the data checks, the
//!   latency between DI and amp, windows and the train/validation/test split, and the
//!   built-in guitar and amp that make the default recording;
//! - [`models`]: the post's dense network and the causal models (LSTM, NAM's WaveNet) behind
//!   one protocol, [`models::CausalModel`];
//! - [`training`]: losses, the dense network's `fit`, the causal models' `fit_sequence` with
//!   checkpoints, weight averaging and worker threads;
//! - [`evaluation`]: scores against the real amp, spectra, figures, tables and audio players
//!   for the notebooks;
//! - [`interop`]: Neural Amp Modeler `.nam` files and block-by-block rendering;
//! - [`runtime`]: quick mode, paths and libtorch facts; [`files`]: atomic writes.
//!
//! The crates the notebooks need are re-exported so that one set of versions is used
//! everywhere: [`tch`], [`plotters`], [`hound`], [`polars`], [`rustfft`].

pub use hound;
pub use plotters;
pub use polars;
pub use rustfft;
pub use ampsim_engine;
pub use tch;

pub mod capture;
pub mod data;
pub mod error;
pub mod evaluation;
pub mod files;
pub mod interop;
pub mod models;
pub mod runtime;
pub mod training;

pub use data::recording::Recording;
pub use error::{Error, Result};

/// Helpers shared by the unit tests.
#[cfg(test)]
pub(crate) mod test_util {
    use std::path::PathBuf;

    /// A fresh folder under the system's temporary folder, unique to this process and `tag`.
    pub fn tmpdir(prefix: &str, tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ampsim-{prefix}-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
