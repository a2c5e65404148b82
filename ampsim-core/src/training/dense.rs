//! Training and prediction for window models (the post's `model.fit` and `model.predict`).
//!
//! The loop is short and explicit: shuffle row positions, gather a batch of windows, forward
//! with dropout, loss, backward, optimizer step; validate by ESR; report through the same
//! [`RunControl`] and [`History`] as the causal models' trainer.

use std::time::Instant;

use polars::prelude::*;
use tch::nn::{self, OptimizerConfig};
use tch::Tensor;

use crate::training::checkpoint::save_safetensors;
use crate::training::history::{Epoch, History};
use crate::training::losses::mse_loss;
use crate::training::run::{epoch_rng, ProgressLog, RunControl};
use crate::training::seed_everything;
use crate::models::Mlp;
use crate::data::windows::Windows;
use crate::{Error, Result};

/// A model that maps a batch of windows `[batch, window]` to samples `[batch, 1]`.
pub trait WindowModel {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor;
    /// The real-time engine's copy, when the engine plays this kind of model.
    fn engine(&self, _future_samples: usize) -> Option<Result<Box<dyn ampsim_engine::Renderer>>> {
        None
    }
}

impl WindowModel for Mlp {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        Mlp::forward_t(self, xs, train)
    }
    fn engine(&self, future_samples: usize) -> Option<Result<Box<dyn ampsim_engine::Renderer>>> {
        Some(Mlp::engine(self, future_samples).map(|m| Box::new(m) as Box<dyn ampsim_engine::Renderer>))
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

/// Hyper-parameters of [`fit`]. Defaults are the post's: 2 epochs, batch 256, RMSprop,
/// shuffled, MSE. Where the run writes and who may stop it: a [`RunControl`].
#[derive(Clone, Debug)]
pub struct FitConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    pub shuffle: bool,
    /// Seeds libtorch (dropout) and the shuffling, as [`crate::training::fit_sequence`] does.
    pub seed: u64,
    /// Stop once this many seconds of training have passed, mid-epoch if need be (the
    /// last epoch is then recorded as far as it went). Default: none.
    pub max_seconds: Option<f64>,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig { epochs: 2, batch_size: 256, optimizer: Optimizer::keras_rmsprop(), shuffle: true, seed: 0, max_seconds: None }
    }
}

impl Optimizer {
    fn learning_rate(&self) -> f64 {
        match *self {
            Optimizer::RmsProp { learning_rate, .. } | Optimizer::Sgd { learning_rate, .. } | Optimizer::Adam { learning_rate } => learning_rate,
        }
    }
}

/// Train `model` (whose variables live in `vs`) on `train`, minimising the mean squared error;
/// validated by ESR on `validation` after every epoch when given. The weights of the last
/// epoch are kept (as Keras does), and written to `run.checkpoint` after every epoch when set.
pub fn fit<M: WindowModel>(model: &M, vs: &nn::VarStore, train: &Windows, validation: Option<&Windows>, cfg: &FitConfig, run: &RunControl) -> Result<History> {
    if cfg.epochs == 0 || cfg.batch_size == 0 {
        return Err(Error::invalid("cfg", "epochs and batch_size must be positive"));
    }
    if train.is_empty() {
        return Err(Error::invalid("train", "has no windows"));
    }
    if run.resume {
        return Err(Error::invalid("resume", "the dense network trains from scratch; resuming is for the LSTM and WaveNet"));
    }
    seed_everything(cfg.seed);
    let mut opt = cfg.optimizer.build(vs)?;
    let mut history = History { stopped_because: format!("{} epochs done", cfg.epochs), ..History::default() };
    let mut log = ProgressLog::new(cfg.epochs, cfg.max_seconds, 0.0);
    let started = Instant::now();
    let out_of_time = || cfg.max_seconds.is_some_and(|m| started.elapsed().as_secs_f64() >= m);
    for epoch in 1..=cfg.epochs {
        let epoch_started = Instant::now();
        let Some((loss, windows)) = train_epoch(model, &mut opt, train, cfg, run, epoch, &out_of_time)? else {
            history.stopped_because = "stopped by request".into();
            break;
        };
        let seconds = epoch_started.elapsed().as_secs_f64();
        let val_esr = validation.map(|v| evaluate_esr(model, v)).transpose()?;
        let e = Epoch { epoch, loss, val_esr, learning_rate: cfg.optimizer.learning_rate(), elapsed_seconds: started.elapsed().as_secs_f64(), samples_per_second: windows as f64 / seconds };
        run.record(&mut log, &mut history, e);
        if let Some(path) = &run.checkpoint {
            save_safetensors(vs, path)?;
        }
        if run.stop_requested() {
            history.stopped_because = "stopped by request".into();
            break;
        }
        if out_of_time() {
            history.stopped_because = format!("time budget of {:.0} s reached", cfg.max_seconds.unwrap_or(0.0));
            break;
        }
    }
    run.finish(&history);
    Ok(history)
}

/// One pass over the shuffled windows (or as far as the budget or a stop request allows);
/// the mean loss per window and the windows seen, or `None` when stopped before the first step.
fn train_epoch<M: WindowModel>(model: &M, opt: &mut nn::Optimizer, train: &Windows, cfg: &FitConfig, run: &RunControl, epoch: usize, out_of_time: &dyn Fn() -> bool) -> Result<Option<(f64, usize)>> {
    let mut rng = epoch_rng(cfg.seed, epoch);
    let batches = train.batches(cfg.batch_size, cfg.shuffle.then_some(&mut rng));
    let (mut total, mut count) = (0.0f64, 0usize);
    for (step, rows) in batches.iter().enumerate() {
        if run.stop_requested() || (step > 0 && out_of_time()) {
            break;
        }
        let (x, y) = train.batch(rows);
        let loss = mse_loss(&model.forward_t(&x, true), &y);
        opt.backward_step(&loss);
        let value = loss.double_value(&[]);
        if !value.is_finite() {
            return Err(Error::Diverged { epoch, loss: value });
        }
        let n = rows.size()[0] as usize;
        total += value * n as f64;
        count += n;
    }
    Ok((count > 0).then(|| (total / count as f64, count)))
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

/// ESR over `windows` with dropout off.
pub fn evaluate_esr<M: WindowModel>(model: &M, windows: &Windows) -> Result<f64> {
    let y_hat = predict(model, windows, PREDICT_BATCH)?;
    crate::training::losses::esr(&windows.target_samples()?, &y_hat)
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
pub fn trial(name: &str, config: &crate::models::MlpConfig, fit_cfg: &FitConfig, run: &RunControl, train: &Windows, test: &Windows) -> Result<(Trial, nn::VarStore)> {
    seed_everything(fit_cfg.seed);
    let vs = nn::VarStore::new(train.device);
    let model = Mlp::new(&vs.root(), config)?;
    if run.verbose {
        println!("== {name} ==");
    }
    let history = fit(&model, &vs, train, None, fit_cfg, run)?;
    let predictions = predict(&model, test, PREDICT_BATCH)?;
    let y = test.target_samples()?;
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

    use crate::models::MlpConfig;
    use crate::training::run::EpochHook;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use tch::Device;

    #[test]
    fn the_dense_run_is_driven_like_the_causal_ones_hook_checkpoint_and_stop() {
        let x: Vec<f32> = (0..6000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        let y: Vec<f32> = x.iter().map(|v| (3.0 * v).tanh()).collect();
        let spec = crate::data::windows::WindowSpec { window_samples: 16, future_samples: 2 };
        let w = crate::data::windows::make_xy(&x, &y, 0, 4000, spec, Device::Cpu).unwrap();
        let v = crate::data::windows::make_xy(&x, &y, 4000, 5900, spec, Device::Cpu).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let m = Mlp::new(&vs.root(), &MlpConfig { input_samples: 16, hidden: vec![8], dropout: 0.0, ..MlpConfig::default() }).unwrap();
        let dir = std::env::temp_dir().join(format!("ampsim-dense-run-{}", std::process::id()));
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(AtomicUsize::new(0));
        let (f, n) = (stop.clone(), seen.clone());
        let hook = EpochHook(Arc::new(move |e: &Epoch| {
            assert!(e.val_esr.is_some_and(f64::is_finite) && e.samples_per_second > 0.0);
            if n.fetch_add(1, Ordering::Relaxed) + 1 == 3 {
                f.store(true, Ordering::Relaxed);
            }
        }));
        let run = RunControl { checkpoint: Some(dir.join("m.safetensors")), stop: Some(stop), on_epoch: Some(hook), ..RunControl::quiet() };
        let h = fit(&m, &vs, &w, Some(&v), &FitConfig { epochs: 10, batch_size: 64, ..FitConfig::default() }, &run).unwrap();
        assert_eq!((h.epochs.len(), seen.load(Ordering::Relaxed), h.stopped_because.as_str()), (3, 3, "stopped by request"));
        assert!(dir.join("m.safetensors").exists());
        assert!(h.best_epoch >= 1 && h.best_val_esr == h.epochs[h.best_epoch - 1].val_esr.unwrap());
        let err = fit(&m, &vs, &w, None, &FitConfig::default(), &RunControl { resume: true, ..RunControl::quiet() }).unwrap_err();
        assert!(err.to_string().contains("from scratch"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

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
