//! What a training run leaves behind, for every model alike: one row per epoch, the best
//! epoch, why it stopped.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Result;

/// One epoch of training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Epoch {
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub loss: f64,
    /// ESR on the validation data after the epoch, when the run had validation data.
    pub val_esr: Option<f64>,
    pub learning_rate: f64,
    /// Seconds since training started, at the end of this epoch.
    pub elapsed_seconds: f64,
    /// Training samples processed per second in this epoch: with their warm-up for the causal
    /// models, one output sample per window for the dense network.
    pub samples_per_second: f64,
}

/// History of a training run ([`crate::training::fit`] or [`crate::training::fit_sequence`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct History {
    pub epochs: Vec<Epoch>,
    /// The lowest validation ESR of any epoch (infinite before any was validated).
    pub best_val_esr: f64,
    /// The epoch that reached it (0 before any).
    pub best_epoch: usize,
    pub stopped_because: String,
}

impl Default for History {
    fn default() -> Self {
        History { epochs: Vec::new(), best_val_esr: f64::INFINITY, best_epoch: 0, stopped_because: String::new() }
    }
}

impl History {
    /// Seconds trained, at the end of the last epoch.
    pub fn seconds(&self) -> f64 {
        self.epochs.last().map_or(0.0, |e| e.elapsed_seconds)
    }

    /// Training seconds at the end of the best epoch (0 before any).
    pub fn best_seconds(&self) -> f64 {
        self.epochs.iter().find(|e| e.epoch == self.best_epoch).map_or(0.0, |e| e.elapsed_seconds)
    }

    /// The last epoch's training loss.
    pub fn final_loss(&self) -> Option<f64> {
        self.epochs.last().map(|e| e.loss)
    }

    /// Add an epoch; returns whether its validation ESR is the best so far.
    pub(crate) fn push(&mut self, e: Epoch) -> bool {
        let best = e.val_esr.is_some_and(|v| v < self.best_val_esr);
        if let (true, Some(v)) = (best, e.val_esr) {
            (self.best_val_esr, self.best_epoch) = (v, e.epoch);
        }
        self.epochs.push(e);
        best
    }

    /// Whether the time since the best epoch is at least `fraction` of all the time trained.
    pub(crate) fn waited_long_enough(&self, fraction: f64) -> bool {
        self.seconds() - self.best_seconds() >= fraction * self.seconds()
    }

    /// The last epoch in one line (loss, validation ESR and the best so far when validated,
    /// learning rate, time, speed), as verbose runs print it.
    pub fn progress_line(&self) -> String {
        let Some(e) = self.epochs.last() else { return String::new() };
        let val = match e.val_esr {
            Some(v) => format!("  val ESR {v:.5}  best {:.5} (epoch {})", self.best_val_esr, self.best_epoch),
            None => String::new(),
        };
        format!("epoch {:>4}  loss {:.5}{val}  lr {:.2e}  {:.0}s  ({:.0} samples/s)", e.epoch, e.loss, e.learning_rate, e.elapsed_seconds, e.samples_per_second)
    }

    /// One line for the end of a run.
    pub fn summary(&self) -> String {
        let best = match self.best_epoch {
            0 => String::from("not validated"),
            e => format!("best validation ESR {:.5} at epoch {e} ({:.0} s)", self.best_val_esr, self.best_seconds()),
        };
        format!("{} epochs in {:.0} s; {best}; {}", self.epochs.len(), self.seconds(), self.stopped_because)
    }

    /// The history as CSV text, one row per epoch (the columns of [`Self::to_dataframe`]; an
    /// epoch without validation has an empty `val_esr`).
    pub fn to_csv(&self) -> String {
        let mut s = String::from("epoch,loss,val_esr,learning_rate,elapsed_seconds,samples_per_second\n");
        for e in &self.epochs {
            let val = e.val_esr.map(|v| v.to_string()).unwrap_or_default();
            s.push_str(&format!("{},{},{val},{},{},{}\n", e.epoch, e.loss, e.learning_rate, e.elapsed_seconds, e.samples_per_second));
        }
        s
    }

    pub fn to_dataframe(&self) -> Result<DataFrame> {
        Ok(df!(
            "epoch" => self.epochs.iter().map(|e| e.epoch as u32).collect::<Vec<_>>(),
            "loss" => self.epochs.iter().map(|e| e.loss).collect::<Vec<_>>(),
            "val_esr" => self.epochs.iter().map(|e| e.val_esr).collect::<Vec<_>>(),
            "learning_rate" => self.epochs.iter().map(|e| e.learning_rate).collect::<Vec<_>>(),
            "elapsed_seconds" => self.epochs.iter().map(|e| e.elapsed_seconds).collect::<Vec<_>>(),
            "samples_per_second" => self.epochs.iter().map(|e| e.samples_per_second).collect::<Vec<_>>(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_epoch_is_the_lowest_validated_one_and_the_csv_has_a_row_per_epoch() {
        let e = |epoch, val_esr| Epoch { epoch, loss: 0.5, val_esr, learning_rate: 0.001, elapsed_seconds: 2.0 * epoch as f64, samples_per_second: 10.0 };
        let mut h = History::default();
        assert_eq!([h.push(e(1, Some(0.25))), h.push(e(2, None)), h.push(e(3, Some(0.5))), h.push(e(4, Some(0.125)))], [true, false, false, true]);
        assert_eq!((h.best_epoch, h.best_val_esr, h.best_seconds(), h.seconds()), (4, 0.125, 8.0, 8.0));
        let csv = h.to_csv();
        assert_eq!(csv.lines().nth(2), Some("2,0.5,,0.001,4,10"));
        assert_eq!(csv.lines().count(), 5);
        assert_eq!(h.to_dataframe().unwrap().column("val_esr").unwrap().null_count(), 1);
    }
}
