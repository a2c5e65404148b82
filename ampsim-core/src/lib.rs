//! # ampsim-core
//!
//! Learn the sound of a guitar amplifier from a recording and play any guitar signal
//! through the learned model. The library reads like the blog post
//! "Guitar Amp Simulation with Tensorflow and Keras":
//!
//! load ([`recording`]) → plot ([`plot`]) → window → model → fit → predict → listen
//! ([`display`]) → compare.
//!
//! The default training data is synthesised ([`synth`] plays a guitar, [`amp`] is a
//! virtual mic'd tube amp), so every notebook runs on a fresh machine; your own
//! recordings load through [`recording::Recording`], are checked by [`checks`] and aligned
//! with [`align`] (calibration clicks, or a vote of every stretch that carries signal).
//!
//! The crates the notebooks need are re-exported so that one set of versions is used
//! everywhere: [`tch`], [`plotters`], [`hound`], [`polars`], [`rustfft`].

pub use hound;
pub use plotters;
pub use polars;
pub use rustfft;
pub use tch;

pub mod align;
pub mod amp;
pub mod audio;
pub mod checks;
pub mod compare;
pub mod display;
pub mod dsp;
pub mod error;
pub mod losses;
pub mod models;
pub mod nam;
pub mod plot;
pub mod plot_spectra;
pub mod recording;
pub mod render;
pub mod runtime;
pub mod spectrum;
pub mod synth;
pub mod train;
pub mod train_seq;
mod parallel_step;
pub mod windows;

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
pub use recording::Recording;
