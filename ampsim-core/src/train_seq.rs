//! Training causal sequence models (LSTM, WaveNet) the way the field does: random segments
//! of the training range with a warm-up region excluded from the loss, Adam with an
//! exponentially decaying learning rate, validation ESR every epoch, the best checkpoint
//! kept, early stopping, a wall-clock budget, seeded; CUDA when libtorch sees a GPU.

use std::path::PathBuf;
use std::time::Instant;

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::losses::{esr, LossConfig};
use crate::models::{Lstm, WaveNet};
use crate::train::save_safetensors;
use crate::{Error, Result};

/// A causal model over whole segments.
pub trait SequenceModel {
    /// Leading samples of a segment whose outputs are not scored: the receptive field minus one
    /// (WaveNet) or a burn-in for the recurrent state (LSTM).
    fn warm_up_samples(&self) -> usize;
    /// `[batch, time]` → `[batch, time − warm_up]`, aligned with the last inputs.
    fn forward_aligned(&self, xs: &Tensor) -> Tensor;
    /// The whole signal: `[time]` → `[time]` (zeros before the start for a WaveNet; the stored
    /// initial state for an LSTM).
    fn process(&self, xs: &Tensor) -> Tensor;
}

impl SequenceModel for WaveNet {
    fn warm_up_samples(&self) -> usize {
        self.receptive_field() - 1
    }
    fn forward_aligned(&self, xs: &Tensor) -> Tensor {
        self.forward(xs)
    }
    fn process(&self, xs: &Tensor) -> Tensor {
        let pad = Tensor::zeros([self.receptive_field() as i64 - 1], (xs.kind(), xs.device()));
        self.forward(&Tensor::cat(&[&pad, xs], 0))
    }
}

impl SequenceModel for Lstm {
    fn warm_up_samples(&self) -> usize {
        self.config.burn_in_samples
    }
    fn forward_aligned(&self, xs: &Tensor) -> Tensor {
        let (t, warm) = (xs.size()[1], self.config.burn_in_samples as i64);
        self.forward(xs).narrow(1, warm, t - warm)
    }
    fn process(&self, xs: &Tensor) -> Tensor {
        self.forward(xs)
    }
}

/// Settings of [`fit_sequence`]. Defaults follow NAM's trainer where it has one: Adam at
/// 0.004 decaying ×0.993 per epoch, the pre-emphasised ESR loss.
#[derive(Clone, Debug)]
pub struct SeqFitConfig {
    /// Scored samples per segment (default 8192); each segment also carries the warm-up.
    pub segment_samples: usize,
    /// Segments per batch (default 16).
    pub batch_size: usize,
    /// Upper bound on epochs (default 1000; the time budget usually ends training first).
    pub max_epochs: usize,
    /// Optimizer steps per epoch (default: one pass over the training range in expectation).
    pub steps_per_epoch: Option<usize>,
    pub learning_rate: f64,
    /// Learning-rate factor applied after every epoch (default 0.993).
    pub lr_decay: f64,
    pub loss: LossConfig,
    /// Stop after this many epochs without a better validation ESR (default 20).
    pub patience: usize,
    /// Stop once this many seconds of training have passed (default: none).
    pub max_seconds: Option<f64>,
    /// Where the best weights are written (safetensors), if anywhere.
    pub checkpoint: Option<PathBuf>,
    pub seed: u64,
    pub verbose: bool,
}

impl Default for SeqFitConfig {
    fn default() -> Self {
        SeqFitConfig {
            segment_samples: 8192,
            batch_size: 16,
            max_epochs: 1000,
            steps_per_epoch: None,
            learning_rate: 0.004,
            lr_decay: 0.993,
            loss: LossConfig::default(),
            patience: 20,
            max_seconds: None,
            checkpoint: None,
            seed: 0,
            verbose: true,
        }
    }
}

/// One epoch of sequence training.
#[derive(Clone, Debug, PartialEq)]
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
#[derive(Clone, Debug, Default)]
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

/// Aligned direct/amp samples of one range, on a device.
pub struct SeqData {
    pub direct: Tensor,
    pub amp: Tensor,
}

impl SeqData {
    pub fn new(direct: &[f32], amp: &[f32], device: Device) -> Result<SeqData> {
        if direct.len() != amp.len() || direct.is_empty() {
            return Err(Error::invalid("amp", format!("{} samples vs direct's {}", amp.len(), direct.len())));
        }
        Ok(SeqData { direct: Tensor::from_slice(direct).to_device(device), amp: Tensor::from_slice(amp).to_device(device) })
    }

    pub fn len(&self) -> usize {
        self.direct.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// ESR of `model` over a whole range (warm-up samples excluded).
pub fn validation_esr<M: SequenceModel>(model: &M, data: &SeqData) -> Result<f64> {
    let warm = model.warm_up_samples() as i64;
    let n = data.len() as i64;
    if n <= warm + 1 {
        return Err(Error::invalid("data", format!("{n} samples do not exceed the model's warm-up of {warm}")));
    }
    let y_hat = tch::no_grad(|| model.forward_aligned(&data.direct.view([1, -1])));
    let y = data.amp.narrow(0, warm, n - warm);
    let a = Vec::<f32>::try_from(y.to_device(Device::Cpu))?;
    let b = Vec::<f32>::try_from(y_hat.view([-1]).to_device(Device::Cpu))?;
    esr(&a, &b)
}

/// Train a sequence model whose variables live in `vs`; keeps the best weights (by validation
/// ESR) in `vs` at the end, and in `cfg.checkpoint` when set.
pub fn fit_sequence<M: SequenceModel>(model: &M, vs: &mut nn::VarStore, train: &SeqData, validation: &SeqData, cfg: &SeqFitConfig) -> Result<SeqHistory> {
    let warm = model.warm_up_samples();
    let seg = warm + cfg.segment_samples;
    if cfg.segment_samples == 0 || cfg.batch_size == 0 || cfg.max_epochs == 0 {
        return Err(Error::invalid("cfg", "segment_samples, batch_size and max_epochs must be positive"));
    }
    if train.len() < seg + 1 {
        return Err(Error::invalid("train", format!("{} samples is shorter than one segment ({seg} = warm-up {warm} + {})", train.len(), cfg.segment_samples)));
    }
    tch::manual_seed(cfg.seed as i64);
    let mut rng = Pcg64::seed_from_u64(cfg.seed);
    let mut opt = nn::Adam::default().build(vs, cfg.learning_rate)?;
    let steps = cfg.steps_per_epoch.unwrap_or((train.len() / (cfg.segment_samples * cfg.batch_size)).max(1));
    let started = Instant::now();
    let mut history = SeqHistory { best_val_esr: f64::INFINITY, ..Default::default() };
    let mut best: Option<Vec<(String, Tensor)>> = None;
    let mut lr = cfg.learning_rate;
    let mut since_best = 0usize;
    let offsets_max = train.len() - seg;
    for epoch in 1..=cfg.max_epochs {
        let epoch_start = Instant::now();
        let mut total = 0.0;
        for _ in 0..steps {
            let starts: Vec<i64> = (0..cfg.batch_size).map(|_| rng.random_range(0..=offsets_max) as i64).collect();
            let idx = Tensor::from_slice(&starts).to_device(train.direct.device()).unsqueeze(1)
                + Tensor::arange(seg as i64, (Kind::Int64, train.direct.device())).unsqueeze(0);
            let x = train.direct.take(&idx);
            let y = train.amp.take(&idx).narrow(1, warm as i64, cfg.segment_samples as i64);
            let y_hat = model.forward_aligned(&x);
            let loss = cfg.loss.loss(&y_hat, &y);
            opt.backward_step(&loss);
            let v = loss.double_value(&[]);
            if !v.is_finite() {
                return Err(Error::invalid("cfg", format!("training diverged (loss {v}) in epoch {epoch}; lower the learning rate")));
            }
            total += v;
        }
        let val = validation_esr(model, validation)?;
        let epoch_seconds = epoch_start.elapsed().as_secs_f64();
        let e = SeqEpoch {
            epoch,
            loss: total / steps as f64,
            val_esr: val,
            learning_rate: lr,
            elapsed_seconds: started.elapsed().as_secs_f64(),
            samples_per_second: (steps * cfg.batch_size * seg) as f64 / epoch_seconds,
        };
        if val < history.best_val_esr {
            history.best_val_esr = val;
            history.best_epoch = epoch;
            since_best = 0;
            best = Some(vs.variables().into_iter().map(|(k, t)| (k, t.detach().copy())).collect());
            if let Some(path) = &cfg.checkpoint {
                save_safetensors(vs, path)?;
            }
        } else {
            since_best += 1;
        }
        if cfg.verbose {
            println!(
                "epoch {epoch:>4}  loss {:.5}  val ESR {:.5}{}  lr {lr:.2e}  {:.0}s  ({:.0} samples/s)",
                e.loss,
                e.val_esr,
                if since_best == 0 { " *" } else { "  " },
                e.elapsed_seconds,
                e.samples_per_second
            );
        }
        history.epochs.push(e);
        lr *= cfg.lr_decay;
        opt.set_lr(lr);
        if since_best >= cfg.patience {
            history.stopped_because = format!("no better validation ESR for {} epochs", cfg.patience);
            break;
        }
        if cfg.max_seconds.is_some_and(|m| started.elapsed().as_secs_f64() >= m) {
            history.stopped_because = format!("time budget of {:.0} s reached", cfg.max_seconds.unwrap_or(0.0));
            break;
        }
        if epoch == cfg.max_epochs {
            history.stopped_because = format!("{} epochs done", cfg.max_epochs);
        }
    }
    if let Some(best) = best {
        tch::no_grad(|| {
            let vars = vs.variables();
            for (name, value) in best {
                if let Some(t) = vars.get(&name) {
                    let mut t = t.shallow_clone();
                    t.copy_(&value);
                }
            }
        });
    }
    Ok(history)
}

/// Run a whole signal through a sequence model (no gradients); output has the input's length.
pub fn process_signal<M: SequenceModel>(model: &M, x: &[f32], device: Device) -> Result<Vec<f32>> {
    let xs = Tensor::from_slice(x).to_device(device);
    let y = tch::no_grad(|| model.process(&xs));
    Ok(Vec::<f32>::try_from(y.view([-1]).to_device(Device::Cpu))?)
}

/// Seconds of audio processed per second of wall time with one libtorch thread (restores the
/// thread count after measuring).
pub fn real_time_factor<M: SequenceModel>(model: &M, x: &[f32], sample_rate_hz: u32) -> Result<f64> {
    let threads = tch::get_num_threads();
    tch::set_num_threads(1);
    let t = Instant::now();
    let out = process_signal(model, x, Device::Cpu);
    let seconds = t.elapsed().as_secs_f64();
    tch::set_num_threads(threads);
    out?;
    Ok(x.len() as f64 / sample_rate_hz as f64 / seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{LstmConfig, WaveNetConfig};

    fn toy(n: usize) -> (Vec<f32>, Vec<f32>) {
        // A soft clipper with a one-pole low-pass after it: causal, with memory.
        let x: Vec<f32> = (0..n).map(|i| 0.6 * (i as f32 * 0.013).sin() * (i as f32 * 0.0007).cos() + 0.2 * (i as f32 * 0.09).sin()).collect();
        let mut s = 0.0f32;
        let y = x.iter().map(|&v| { s = 0.7 * s + 0.3 * (2.5 * v).tanh(); 0.8 * s }).collect();
        (x, y)
    }

    #[test]
    fn wavenet_and_lstm_learn_a_toy_amp() {
        let (x, y) = toy(60_000);
        let train = SeqData::new(&x[..40_000], &y[..40_000], Device::Cpu).unwrap();
        let val = SeqData::new(&x[40_000..], &y[40_000..], Device::Cpu).unwrap();
        let cfg = SeqFitConfig { segment_samples: 1024, batch_size: 8, max_epochs: 8, steps_per_epoch: Some(8), verbose: false, seed: 1, ..SeqFitConfig::default() };
        let mut vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let before = validation_esr(&wn, &val).unwrap();
        let h = fit_sequence(&wn, &mut vs, &train, &val, &cfg).unwrap();
        assert!(h.best_val_esr < before * 0.2, "WaveNet: {before} -> {}", h.best_val_esr);
        // The best weights are the ones left in the model.
        assert!((validation_esr(&wn, &val).unwrap() - h.best_val_esr).abs() < 1e-6);
        let out = process_signal(&wn, &x[..5000], Device::Cpu).unwrap();
        assert_eq!(out.len(), 5000);

        let mut vs = nn::VarStore::new(Device::Cpu);
        let lstm = Lstm::new(&vs.root(), &LstmConfig::preset("nano").unwrap()).unwrap();
        let before = validation_esr(&lstm, &val).unwrap();
        let cfg = SeqFitConfig { segment_samples: 512, batch_size: 8, max_epochs: 6, steps_per_epoch: Some(5), ..cfg };
        let h = fit_sequence(&lstm, &mut vs, &train, &val, &cfg).unwrap();
        assert!(h.best_val_esr < before * 0.5, "LSTM: {before} -> {}", h.best_val_esr);
        assert_eq!(h.to_dataframe().unwrap().height(), h.epochs.len());
    }

    #[test]
    fn segments_longer_than_the_data_are_an_error() {
        let (x, y) = toy(3000);
        let d = SeqData::new(&x, &y, Device::Cpu).unwrap();
        let mut vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let err = fit_sequence(&wn, &mut vs, &d, &d, &SeqFitConfig::default()).unwrap_err().to_string();
        assert!(err.contains("shorter than one segment"), "{err}");
    }
}
