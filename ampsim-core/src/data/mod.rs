//! Recordings and what is done to them before a model sees them.
//!
//! * [`audio`] — WAV in and out, written atomically;
//! * [`recording`] — [`Recording`]: direct + amp at one sample rate; load, align, takes;
//! * [`captures`] — one rig at several settings: control values from file names, normalised;
//! * [`checks`] — what must hold before training (no NaN, signal in both channels, …);
//! * [`align`] — the amp's latency behind the DI: calibration clicks, or a vote of stretches;
//! * [`windows`] — the post's windows as lazy tensor views; [`split`] — the train/validation/test split;
//! * [`synth`], [`amp`], [`dsp`] — the built-in guitar and reference amp that make the default
//!   recording, and their filters; [`knob_synth`] — that amp recorded at many settings.

pub mod align;
pub mod amp;
pub mod audio;
pub mod captures;
pub mod checks;
pub mod dsp;
pub mod knob_synth;
pub mod recording;
pub mod split;
pub mod synth;
pub mod windows;

pub use recording::Recording;
