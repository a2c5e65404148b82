//! What a training run leaves behind: one row per epoch, the best epoch, why it stopped.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Result;

/// One epoch of sequence training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeqEpoch {
    pub epoch: usize,
    pub loss: f64,
    pub val_esr: f64,
    pub learning_rate: f64,
    /// Seconds since training started, at the end of this epoch.
    pub elapsed_seconds: f64,
    /// Training samples (scored and warm-up) processed per second in this epoch.
    pub samples_per_second: f64,
}

/// History of [`fit_sequence`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SeqHistory {
    pub epochs: Vec<SeqEpoch>,
    pub best_val_esr: f64,
    pub best_epoch: usize,
    pub stopped_because: String,
}

impl SeqHistory {
    pub fn seconds(&self) -> f64 {
        self.epochs.last().map_or(0.0, |e| e.elapsed_seconds)
    }

    /// Training seconds at the end of the best epoch (0 before any).
    pub fn best_seconds(&self) -> f64 {
        self.epochs.iter().find(|e| e.epoch == self.best_epoch).map_or(0.0, |e| e.elapsed_seconds)
    }

    /// Whether the time since the best epoch is at least `fraction` of all the time trained.
    pub(crate) fn waited_long_enough(&self, fraction: f64) -> bool {
        self.seconds() - self.best_seconds() >= fraction * self.seconds()
    }

    /// The history as CSV text, one row per epoch (the columns of [`Self::to_dataframe`]).
    pub fn to_csv(&self) -> String {
        let mut s = String::from("epoch,loss,val_esr,learning_rate,elapsed_seconds,samples_per_second\n");
        for e in &self.epochs {
            s.push_str(&format!("{},{},{},{},{},{}\n", e.epoch, e.loss, e.val_esr, e.learning_rate, e.elapsed_seconds, e.samples_per_second));
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

