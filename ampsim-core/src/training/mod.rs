//! Fitting models to a recording.
//!
//! * [`losses`] — MSE, ESR, pre-emphasis, DC, multi-resolution STFT;
//! * [`dense`] — the post's `fit` for the dense network over windows (RMSprop, MSE);
//! * [`sequence`] — [`fit_sequence`] for causal models over segments, run by a [`Trainer`]:
//!   Adam, weight averaging, validation ESR, early stopping, a time budget;
//! * [`seq_data`] — the causal models' data in pieces, and their output scored;
//! * [`history`] — what a run leaves behind, epoch by epoch (both trainers);
//! * [`run`] — how a run is driven (both trainers): checkpoint, stop flag, epoch hook,
//!   progress lines, the seed of each epoch's draws;
//! * [`checkpoint`] — safetensors weights and the training state a run resumes from;
//! * `averaging`, `parallel` — the running average of the weights, and one step of a batch
//!   split over CPU worker threads.

mod averaging;
pub mod checkpoint;
pub mod dense;
pub mod history;
pub mod losses;
mod parallel;
pub mod run;
pub mod seq_data;
pub mod sequence;

pub use checkpoint::{checkpoint_files, load_safetensors, save_safetensors, saved_history};
pub use dense::{fit, predict, FitConfig, Optimizer, WindowModel, PREDICT_BATCH};
pub use history::{Epoch, History};
pub use run::{EpochHook, RunControl};
pub use seq_data::{predict_scored, process_signal, validation_esr, SeqData};
pub use sequence::{fit_sequence, SeqFitConfig, Trainer};

/// Seed libtorch's generator (weight initialisation, dropout). Call before building a model;
/// the trainers seed their own draws from their config's `seed`.
pub fn seed_everything(seed: u64) {
    tch::manual_seed(seed as i64);
}
