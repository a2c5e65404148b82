//! Training and prediction for window models (the post's `model.fit` and `model.predict`).
//!
//! The loop is short and explicit: shuffle row positions, gather a batch of windows, forward
//! with dropout, loss, backward, optimizer step; print a Keras-like line per epoch; return the
//! history as a polars `DataFrame`.

use std::time::Instant;

use polars::prelude::*;
use tch::nn::{self, OptimizerConfig};
use tch::Tensor;

use crate::training::losses::mse_loss;
use crate::training::seed_everything;
use crate::models::Mlp;
use crate::data::windows::Windows;
use crate::{Error, Result};

/// A model that maps a batch of windows `[batch, window]` to samples `[batch, 1]`.
pub trait WindowModel {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor;
}

impl WindowModel for Mlp {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        Mlp::forward_t(self, xs, train)
    }
}

/// Optimizers, with Keras's defaults available as constructors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// RMSprop: `v = rho v + (1 - rho) g²; w -= lr g / (sqrt(v) + eps)`.
    RmsProp { learning_rate: f64, rho: f64, eps: f64 },
    /// Plain stochastic gradient descent (with optional momentum).
    Sgd { learning_rate: f64, momentum: f64 },
    /// Adam with the usual betas (0.9, 0.999).
    Adam { learning_rate: f64 },
}

impl Optimizer {
    /// Keras's `RMSprop()` defaults: lr 0.001, rho 0.9, epsilon 1e-7 (the post's optimizer).
    pub fn keras_rmsprop() -> Optimizer {
        Optimizer::RmsProp { learning_rate: 1e-3, rho: 0.9, eps: 1e-7 }
    }

    /// Keras's `SGD()` defaults: lr 0.01, no momentum.
    pub fn keras_sgd() -> Optimizer {
        Optimizer::Sgd { learning_rate: 0.01, momentum: 0.0 }
    }

    /// Short name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::RmsProp { .. } => "RMSprop",
            Optimizer::Sgd { .. } => "SGD",
            Optimizer::Adam { .. } => "Adam",
        }
    }

    fn build(&self, vs: &nn::VarStore) -> Result<nn::Optimizer> {
        Ok(match *self {
            Optimizer::RmsProp { learning_rate, rho, eps } => {
                nn::RmsProp { alpha: rho, eps, wd: 0.0, momentum: 0.0, centered: false }.build(vs, learning_rate)?
            }
            Optimizer::Sgd { learning_rate, momentum } => {
                nn::Sgd { momentum, dampening: 0.0, wd: 0.0, nesterov: false }.build(vs, learning_rate)?
            }
            Optimizer::Adam { learning_rate } => nn::Adam::default().build(vs, learning_rate)?,
        })
    }
}

/// Settings of [`fit`]. Defaults are the post's: 2 epochs, batch 256, RMSprop, shuffled, MSE.
#[derive(Clone, Debug)]
pub struct FitConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    pub shuffle: bool,
    /// Seeds libtorch (dropout) and the shuffling.
    pub seed: u64,
    /// Print a line per epoch (and progress within long epochs).
    pub verbose: bool,
    /// Stop once this many seconds of training have passed, mid-epoch if need be (the
    /// last epoch is then recorded as far as it went). Default: none.
    pub max_seconds: Option<f64>,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig { epochs: 2, batch_size: 256, optimizer: Optimizer::keras_rmsprop(), shuffle: true, seed: 0, verbose: true, max_seconds: None }
    }
}

/// What one epoch did.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by batch size), as Keras reports.
    pub loss: f64,
    /// Loss on the validation windows with dropout off, when given.
    pub val_loss: Option<f64>,
    pub seconds: f64,
    pub windows_per_second: f64,
}

/// Training history.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub epochs: Vec<EpochStats>,
}

impl History {
    /// Total training time in seconds.
    pub fn seconds(&self) -> f64 {
        self.epochs.iter().map(|e| e.seconds).sum()
    }

    /// The final epoch's training loss.
    pub fn final_loss(&self) -> Option<f64> {
        self.epochs.last().map(|e| e.loss)
    }

    /// The history as CSV text, one row per epoch (a missing validation loss is `NaN`).
    pub fn to_csv(&self) -> String {
        let mut s = String::from("epoch,loss,val_loss,seconds,windows_per_second\n");
        for e in &self.epochs {
            s.push_str(&format!("{},{},{},{},{}\n", e.epoch, e.loss, e.val_loss.unwrap_or(f64::NAN), e.seconds, e.windows_per_second));
        }
        s
    }

    /// One row per epoch: epoch, loss, val_loss, seconds, windows_per_second.
    pub fn to_dataframe(&self) -> Result<DataFrame> {
        Ok(df!(
            "epoch" => self.epochs.iter().map(|e| e.epoch as u32).collect::<Vec<_>>(),
            "loss" => self.epochs.iter().map(|e| e.loss).collect::<Vec<_>>(),
            "val_loss" => self.epochs.iter().map(|e| e.val_loss).collect::<Vec<_>>(),
            "seconds" => self.epochs.iter().map(|e| e.seconds).collect::<Vec<_>>(),
            "windows_per_second" => self.epochs.iter().map(|e| e.windows_per_second).collect::<Vec<_>>(),
        )?)
    }
}

/// Train `model` (whose variables live in `vs`) on `train`, minimising the mean squared error.
pub fn fit<M: WindowModel>(model: &M, vs: &nn::VarStore, train: &Windows, validation: Option<&Windows>, cfg: &FitConfig) -> Result<History> {
    if cfg.epochs == 0 || cfg.batch_size == 0 {
        return Err(Error::invalid("cfg", "epochs and batch_size must be positive"));
    }
    if train.is_empty() {
        return Err(Error::invalid("train", "has no windows"));
    }
    seed_everything(cfg.seed);
    let mut opt = cfg.optimizer.build(vs)?;
    let mut history = History::default();
    let run_started = Instant::now();
    let out_of_time = || cfg.max_seconds.is_some_and(|m| run_started.elapsed().as_secs_f64() >= m);
    for epoch in 1..=cfg.epochs {
        if out_of_time() {
            break;
        }
        let started = Instant::now();
        let batches = train.batches(cfg.batch_size, cfg.shuffle, cfg.seed.wrapping_mul(1000).wrapping_add(epoch as u64));
        let steps = batches.len();
        if cfg.verbose {
            println!("Epoch {epoch}/{}", cfg.epochs);
        }
        let (mut total, mut count) = (0.0f64, 0usize);
        let mut done_steps = 0;
        for (step, rows) in batches.iter().enumerate() {
            if step > 0 && out_of_time() {
                break;
            }
            done_steps += 1;
            let (x, y) = train.batch(rows);
            let loss = mse_loss(&model.forward_t(&x, true), &y);
            opt.backward_step(&loss);
            let n = rows.size()[0] as usize;
            let value = loss.double_value(&[]);
            if !value.is_finite() {
                return Err(Error::Diverged { epoch, loss: value });
            }
            total += value * n as f64;
            count += n;
            if cfg.verbose && steps >= 400 && (step + 1) % (steps / 4) == 0 && step + 1 < steps {
                println!("{:>6}/{steps} - {:.0}s - loss: {:.4}", step + 1, started.elapsed().as_secs_f64(), total / count as f64);
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let val_loss = match validation {
            Some(v) => Some(evaluate_mse(model, v, PREDICT_BATCH)?),
            None => None,
        };
        let stats = EpochStats { epoch, loss: total / count as f64, val_loss, seconds, windows_per_second: count as f64 / seconds };
        if cfg.verbose {
            let val = stats.val_loss.map(|v| format!(" - val_loss: {v:.4}")).unwrap_or_default();
            println!(
                "{done_steps}/{steps} - {:.0}s - {:.0}ms/step - loss: {:.4}{val} ({:.0} windows/s)",
                seconds,
                1000.0 * seconds / done_steps as f64,
                stats.loss,
                stats.windows_per_second
            );
        }
        history.epochs.push(stats);
    }
    Ok(history)
}

/// Windows per batch when predicting: large enough to keep libtorch busy, small enough for
/// memory (4096 windows of 4000 samples are 65 MB).
pub const PREDICT_BATCH: usize = 4096;

/// Predict one sample per window, `batch_size` windows at a time, without gradients and with
/// dropout off.
pub fn predict<M: WindowModel>(model: &M, windows: &Windows, batch_size: usize) -> Result<Vec<f32>> {
    if batch_size == 0 {
        return Err(Error::invalid("batch_size", "must be positive"));
    }
    let n = windows.len() as i64;
    let mut out = Vec::with_capacity(windows.len());
    tch::no_grad(|| -> Result<()> {
        let mut i = 0;
        while i < n {
            let b = (batch_size as i64).min(n - i);
            let y = model.forward_t(&windows.rows(i as usize, b as usize), false).to_device(tch::Device::Cpu).view([-1]);
            out.extend(Vec::<f32>::try_from(&y)?);
            i += b;
        }
        Ok(())
    })?;
    Ok(out)
}

/// Seconds of audio per second of wall time when predicting every window (one output sample
/// each) on one libtorch thread.
pub fn real_time_factor<M: WindowModel>(model: &M, windows: &Windows, sample_rate_hz: u32) -> Result<f64> {
    crate::runtime::one_thread_real_time_factor(windows.len() as f64 / sample_rate_hz as f64, || predict(model, windows, PREDICT_BATCH))
}

/// Mean squared error over `windows` with dropout off.
pub fn evaluate_mse<M: WindowModel>(model: &M, windows: &Windows, batch_size: usize) -> Result<f64> {
    let y_hat = predict(model, windows, batch_size)?;
    let y = Vec::<f32>::try_from(windows.y().to_device(tch::Device::Cpu).view([-1]))?;
    crate::training::losses::mse(&y, &y_hat)
}

/// One trained variant of the dense model and how it did on the test windows.
#[derive(Debug)]
pub struct Trial {
    pub name: String,
    pub config: crate::models::MlpConfig,
    pub optimizer: Optimizer,
    pub parameters: i64,
    pub history: History,
    pub test_mse: f64,
    pub test_esr: f64,
    /// Model output for every test window.
    pub predictions: Vec<f32>,
}

/// Build, train and evaluate one variant (seeded with `fit_cfg.seed`).
pub fn trial(name: &str, config: &crate::models::MlpConfig, fit_cfg: &FitConfig, train: &Windows, test: &Windows) -> Result<(Trial, nn::VarStore)> {
    seed_everything(fit_cfg.seed);
    let vs = nn::VarStore::new(train.device);
    let model = Mlp::new(&vs.root(), config)?;
    if fit_cfg.verbose {
        println!("== {name} ==");
    }
    let history = fit(&model, &vs, train, None, fit_cfg)?;
    let predictions = predict(&model, test, 4096)?;
    let y = Vec::<f32>::try_from(test.y().to_device(tch::Device::Cpu).view([-1]))?;
    let trial = Trial {
        name: name.to_string(),
        config: config.clone(),
        optimizer: fit_cfg.optimizer,
        parameters: crate::models::parameter_count(&vs),
        test_mse: crate::training::losses::mse(&y, &predictions)?,
        test_esr: crate::training::losses::esr(&y, &predictions)?,
        history,
        predictions,
    };
    Ok((trial, vs))
}

/// A comparison table: model, hidden layers, optimizer, parameters, test MSE, test ESR,
/// final training loss and training time.
pub fn trials_table(trials: &[&Trial]) -> Result<DataFrame> {
    Ok(df!(
        "model" => trials.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
        "hidden_layers" => trials.iter().map(|t| t.config.hidden.len() as u32).collect::<Vec<_>>(),
        "optimizer" => trials.iter().map(|t| t.optimizer.name().to_string()).collect::<Vec<_>>(),
        "parameters" => trials.iter().map(|t| t.parameters).collect::<Vec<_>>(),
        "test_mse" => trials.iter().map(|t| t.test_mse).collect::<Vec<_>>(),
        "test_esr" => trials.iter().map(|t| t.test_esr).collect::<Vec<_>>(),
        "final_train_loss" => trials.iter().map(|t| t.history.final_loss().unwrap_or(f64::NAN)).collect::<Vec<_>>(),
        "train_seconds" => trials.iter().map(|t| t.history.seconds()).collect::<Vec<_>>(),
    )?)
}

/// [`trials_table`] of `first` followed by `others` (no borrowed list to keep in a notebook).
pub fn trials_table_with(first: &Trial, others: &[Trial]) -> Result<DataFrame> {
    let all: Vec<&Trial> = std::iter::once(first).chain(others.iter()).collect();
    trials_table(&all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::checkpoint::{load_safetensors, save_safetensors};

    #[test]
    fn history_csv_has_a_row_per_epoch() {
        let e = |epoch, val_loss| EpochStats { epoch, loss: 0.5, val_loss, seconds: 2.0, windows_per_second: 10.0 };
        let csv = History { epochs: vec![e(1, Some(0.25)), e(2, None)] }.to_csv();
        assert_eq!(csv, "epoch,loss,val_loss,seconds,windows_per_second\n1,0.5,0.25,2,10\n2,0.5,NaN,2,10\n");
    }
    use crate::models::MlpConfig;
    use tch::Device;

    #[test]
    fn safetensors_roundtrip_and_errors() {
        let dir = std::env::temp_dir().join(format!("ampsim-train-{}", std::process::id()));
        let vs = nn::VarStore::new(Device::Cpu);
        let m = Mlp::new(&vs.root(), &MlpConfig { input_samples: 8, hidden: vec![4], ..MlpConfig::default() }).unwrap();
        let p = dir.join("m.safetensors");
        save_safetensors(&vs, &p).unwrap();
        let mut vs2 = nn::VarStore::new(Device::Cpu);
        let m2 = Mlp::new(&vs2.root(), &m.config).unwrap();
        load_safetensors(&mut vs2, &p).unwrap();
        let x = Tensor::ones([2, 8], (tch::Kind::Float, Device::Cpu));
        assert!(m.forward_t(&x, false).equal(&m2.forward_t(&x, false)));
        assert!(save_safetensors(&vs, dir.join("m.bin")).is_err());
        assert!(load_safetensors(&mut vs2, dir.join("absent.safetensors")).unwrap_err().to_string().contains("absent"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
