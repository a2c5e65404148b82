//! # ampsim-plugin
//!
//! ampsim's models in a DAW, as LV2 and CLAP plugins, played by [`ampsim_engine`] (pure Rust,
//! no libtorch). One shared library serves every format and every model:
//! - **a model as its own plugin**: `ampsim plugin --model amp.nam --name "…" --out DIR` appends
//!   the model to a copy of the library ([`embedded`]) and writes an LV2 bundle and a `.clap`
//!   file ([`bundle`]); the host lists the plugin under its name, with the model's controls
//!   (bass 0–10 …) as its own parameters beside input gain, output level and on/off
//!   ([`params`]);
//! - **the loader**: the plain library (`ampsim plugin --loader`, `make plugin`) plays any `.nam`
//!   its host gives it — LV2: a `patch:Set` of its *Model* path, loaded on the host's worker;
//!   CLAP: a preset location; both: kept with the session — with 8 knobs for the model's
//!   controls in order.
//!
//! What plays inside, in every format, is an [`amp::Amp`]: the model at its own sample rate
//! (resampled when the host's differs: [`resample`]), gains and knobs that glide, a bypass that
//! fades, no allocation, lock or system call while playing, denormals flushed. A model that
//! fails to load leaves the plugin passing its input through, with one message in the host's log.
//!
//! Formats: [`lv2`] (hand-written C ABI; why there) and [`clap`] (through `clack-plugin`).

pub mod amp;
pub mod bundle;
pub mod embedded;
pub mod lv2;
pub mod params;
pub mod clap;
pub mod resample;
