//! How a training run is driven, for every trainer alike: where it writes, who may stop it,
//! who hears of each epoch, how often it prints, and how its random draws are seeded.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rand::SeedableRng;
use rand_pcg::Pcg64;

use crate::training::history::{Epoch, History};

/// The random generator of one epoch of a run seeded with `seed`: the same epoch draws the
/// same batches in a whole run and in a resumed one.
pub fn epoch_rng(seed: u64, epoch: usize) -> Pcg64 {
    Pcg64::seed_from_u64(seed.wrapping_mul(0x9e37_79b9).wrapping_add(epoch as u64))
}

/// Where a run writes, how it reports and who may stop it.
#[derive(Clone, Debug)]
pub struct RunControl {
    /// Where the best weights are written (safetensors), if anywhere. Beside it go the latest
    /// weights (`<name>.last.safetensors`) and the training state (`<name>.train.json`).
    pub checkpoint: Option<PathBuf>,
    /// Continue from the state saved beside `checkpoint` by an earlier run (latest weights,
    /// epoch, learning rate, best so far, history); starts afresh when there is none. Adam's
    /// moment estimates are not saved and restart from zero. Default false.
    pub resume: bool,
    /// Set from elsewhere (e.g. a Ctrl-C handler) to stop after the current step; the best
    /// weights are kept as usual.
    pub stop: Option<Arc<AtomicBool>>,
    /// Called after every epoch (e.g. to move a progress bar).
    pub on_epoch: Option<EpochHook>,
    /// Print about ten progress lines and a summary (default true).
    pub verbose: bool,
}

impl Default for RunControl {
    fn default() -> Self {
        RunControl { checkpoint: None, resume: false, stop: None, on_epoch: None, verbose: true }
    }
}

impl RunControl {
    /// A verbose run that keeps its best weights in `checkpoint`.
    pub fn checkpoint_to(checkpoint: impl Into<PathBuf>) -> RunControl {
        RunControl { checkpoint: Some(checkpoint.into()), ..RunControl::default() }
    }

    /// A run that prints nothing.
    pub fn quiet() -> RunControl {
        RunControl { verbose: false, ..RunControl::default() }
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.as_ref().is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// Report a finished epoch — to the hook, and as a progress line when `log` says so — and
    /// add it to `history`; returns whether its validation ESR is the best so far.
    pub(crate) fn record(&self, log: &mut ProgressLog, history: &mut History, e: Epoch) -> bool {
        if let Some(hook) = &self.on_epoch {
            (hook.0)(&e);
        }
        let due = self.verbose && log.due(e.epoch, e.elapsed_seconds);
        let best = history.push(e);
        if due {
            println!("{}", history.progress_line());
        }
        best
    }

    /// Print the run's summary line, if verbose.
    pub(crate) fn finish(&self, history: &History) {
        if self.verbose {
            println!("{}", history.summary());
        }
    }
}

/// A function called with every finished epoch.
#[derive(Clone)]
pub struct EpochHook(pub Arc<dyn Fn(&Epoch) + Send + Sync>);

impl std::fmt::Debug for EpochHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EpochHook")
    }
}

/// When a verbose run prints an epoch: the first, then about every tenth of the time budget
/// (or of the epochs, without one) — a dozen lines per run, not one per epoch.
pub(crate) struct ProgressLog {
    every_epochs: usize,
    every_seconds: Option<f64>,
    next_seconds: f64,
    last_epoch: usize,
}

impl ProgressLog {
    pub(crate) fn new(max_epochs: usize, max_seconds: Option<f64>, elapsed_before: f64) -> ProgressLog {
        ProgressLog { every_epochs: (max_epochs / 10).max(1), every_seconds: max_seconds.map(|s| s / 10.0), next_seconds: elapsed_before, last_epoch: 0 }
    }

    pub(crate) fn due(&mut self, epoch: usize, elapsed_seconds: f64) -> bool {
        let due = match self.every_seconds {
            Some(_) => elapsed_seconds >= self.next_seconds,
            None => self.last_epoch == 0 || epoch >= self.last_epoch + self.every_epochs,
        };
        if due {
            self.last_epoch = epoch;
            if let Some(every) = self.every_seconds {
                self.next_seconds = elapsed_seconds + every;
            }
        }
        due
    }
}
