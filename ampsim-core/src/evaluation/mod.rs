//! How a model compares with the real amp, and how the notebooks show it.
//!
//! * [`compare`] — scores (ESR, pre-emphasised ESR, spectral distance), the comparison table,
//!   NAM's verdict, training curves;
//! * [`spectrum`] — spectrograms and long-term average spectra;
//! * [`plot`], [`plot_spectra`] — the post's figures and the spectral views;
//! * [`knobs`] — a model of the whole amp at held-out settings, and as one knob turns;
//! * [`display`] — inline figures, audio players and tables for Jupyter.

pub mod compare;
pub mod display;
pub mod knobs;
pub mod plot;
pub mod plot_spectra;
pub mod spectrum;
