//! Training causal models (LSTM, WaveNet) the way the field does: random segments of the
//! training pieces with a warm-up excluded from the loss, Adam with an exponentially decaying
//! learning rate, a running average of the weights validated every epoch, the best weights
//! kept, early stopping, a wall-clock budget, seeded; CUDA when libtorch sees a GPU.
//!
//! [`fit_sequence`] runs a [`Trainer`] epoch by epoch; the hyper-parameters are a
//! [`SeqFitConfig`], where the run writes and who may stop it a [`RunControl`].

use std::time::Instant;

use rand::Rng;
use rand_pcg::Pcg64;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Tensor};

use crate::files::write_atomic;
use crate::models::CausalModel;
use crate::training::averaging::WeightAverage;
use crate::training::checkpoint::{checkpoint_files, load_safetensors, load_state, restore, save_safetensors, snapshot, TrainState};
use crate::training::history::{Epoch, History};
use crate::training::losses::LossConfig;
use crate::training::parallel::Workers;
use crate::training::run::{epoch_rng, ProgressLog, RunControl};
use crate::training::seq_data::{validation_esr, SeqData};
use crate::{Error, Result};

/// Hyper-parameters of [`fit_sequence`]. Defaults follow NAM's trainer where it has one: Adam
/// at 0.004 decaying ×0.993 per epoch, segments of 8192 in batches of 16, ESR plus
/// pre-emphasised ESR (see [`LossConfig`]); a running average of the weights is what gets
/// validated and kept, and each batch is split over the CPU cores. Why these values:
/// docs/experiments.md.
#[derive(Clone, Debug)]
pub struct SeqFitConfig {
    /// Scored samples per segment (default 8192); each segment also carries the warm-up.
    pub segment_samples: usize,
    /// Segments per batch (default 16).
    pub batch_size: usize,
    /// Upper bound on epochs (default 1000; the time budget usually ends training first).
    pub max_epochs: usize,
    /// Optimizer steps per epoch (default: one pass over the training pieces in expectation).
    pub steps_per_epoch: Option<usize>,
    /// Adam's learning rate at the start (default 0.004).
    pub learning_rate: f64,
    /// Learning-rate factor applied after every epoch (default 0.993).
    pub lr_decay: f64,
    /// With a time budget (`max_seconds`): the learning rate also falls exponentially with the
    /// time spent, to this fraction of its value by the end of the budget (default `None`: off).
    pub lr_final_factor: Option<f64>,
    pub loss: LossConfig,
    /// Stop after this many epochs without a better validation ESR (default 20) — and only once
    /// that wait is also at least `patience_fraction` of the training time so far.
    pub patience: usize,
    /// Early stopping also waits this fraction of the time trained so far (default 0.33), so
    /// that models with short epochs are not stopped early by a loss spike. 0 = epochs only.
    pub patience_fraction: f64,
    /// Stop once this many seconds of training have passed in this run (default: none).
    pub max_seconds: Option<f64>,
    /// Validate and keep an exponential moving average of the weights instead of the latest
    /// ones, updated after every step with this factor (Polyak averaging; default `Some(0.99)`,
    /// about the last hundred steps; `None` validates the latest weights). A resumed run
    /// restarts the average from the latest weights.
    pub weight_average: Option<f64>,
    /// Threads that each run a part of every batch with one libtorch thread apiece (default
    /// `None`: libtorch's thread count on CPU, one on CUDA); `Some(1)` trains undivided.
    /// Results are repeatable for a given count.
    pub workers: Option<usize>,
    /// Seeds libtorch and the segment draws (default 0).
    pub seed: u64,
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
            lr_final_factor: None,
            loss: LossConfig::default(),
            patience: 20,
            patience_fraction: 0.33,
            max_seconds: None,
            weight_average: Some(0.99),
            workers: None,
            seed: 0,
        }
    }
}

impl SeqFitConfig {
    /// The defaults for `model`: its own learning rate and decay where it has them (the
    /// LSTM's, see [`CausalModel::learning_rate_schedule`]), the rest as [`Default`].
    pub fn for_model<M: CausalModel + ?Sized>(model: &M) -> SeqFitConfig {
        let d = SeqFitConfig::default();
        let (learning_rate, lr_decay) = model.learning_rate_schedule().unwrap_or((d.learning_rate, d.lr_decay));
        SeqFitConfig { learning_rate, lr_decay, ..d }
    }
}

/// Train a causal model whose variables live in `vs`; keeps the best weights (by validation
/// ESR) in `vs` at the end, and in `run.checkpoint` when set.
pub fn fit_sequence<M: CausalModel + ?Sized>(model: &M, vs: &mut nn::VarStore, train: &SeqData, validation: &SeqData, cfg: &SeqFitConfig, run: &RunControl) -> Result<History> {
    let mut trainer = Trainer::new(model, vs, train, validation, cfg, run)?;
    for epoch in trainer.epochs() {
        let Some(loss) = trainer.train_epoch(epoch)? else {
            trainer.stop_because("stopped by request");
            break;
        };
        let val_esr = trainer.validate()?;
        trainer.end_epoch(epoch, loss, val_esr)?;
        if let Some(reason) = trainer.should_stop() {
            trainer.stop_because(&reason);
            break;
        }
    }
    Ok(trainer.finish())
}

/// One training run, epoch by epoch: [`Trainer::train_epoch`] (steps), [`Trainer::validate`],
/// [`Trainer::end_epoch`] (bookkeeping, checkpoints), [`Trainer::should_stop`].
pub struct Trainer<'a, M: CausalModel + ?Sized> {
    model: &'a M,
    vs: &'a mut nn::VarStore,
    train: &'a SeqData,
    validation: &'a SeqData,
    cfg: &'a SeqFitConfig,
    run: &'a RunControl,
    /// Segment starts per training piece (uniform over all of them), and their sum.
    offsets: Vec<usize>,
    total_offsets: usize,
    steps: usize,
    /// Steps taken in the current epoch.
    done_steps: usize,
    workers: Option<Workers>,
    opt: nn::Optimizer,
    averaged: Option<WeightAverage>,
    /// The latest weights while the average is swapped in for validation.
    latest: Option<Vec<Tensor>>,
    state: TrainState,
    best: Option<Vec<(String, Tensor)>>,
    started: Instant,
    epoch_started: Instant,
    elapsed_before: f64,
    log: ProgressLog,
}

impl<'a, M: CausalModel + ?Sized> Trainer<'a, M> {
    /// Check the data against the model and the settings, set up workers and the optimizer,
    /// and resume from the checkpoint when asked.
    pub fn new(model: &'a M, vs: &'a mut nn::VarStore, train: &'a SeqData, validation: &'a SeqData, cfg: &'a SeqFitConfig, run: &'a RunControl) -> Result<Self> {
        let offsets = segment_offsets(model, train, validation, cfg)?;
        if run.resume && run.checkpoint.is_none() {
            return Err(Error::invalid("resume", "resuming needs the checkpoint path of the earlier run"));
        }
        let device = train.pieces()[0].0.device();
        let count = match (cfg.workers, device) {
            (Some(n), _) => n.min(cfg.batch_size),
            (None, Device::Cpu) => (tch::get_num_threads().max(1) as usize).min(cfg.batch_size),
            (None, _) => 1,
        };
        // Replicas are made before seeding, so the seeded stream is the same with any count.
        let workers = if count > 1 { Workers::new(model, vs, count)? } else { None };
        tch::manual_seed(cfg.seed as i64);
        let (state, best) = resumed_state(vs, cfg, run)?;
        let opt = nn::Adam::default().build(vs, state.learning_rate)?;
        let averaged = cfg.weight_average.map(|_| WeightAverage::new(vs));
        let steps = cfg.steps_per_epoch.unwrap_or((train.len() / (cfg.segment_samples * cfg.batch_size)).max(1));
        let elapsed_before = state.history.seconds();
        let log = ProgressLog::new(cfg.max_epochs, cfg.max_seconds, elapsed_before);
        let total_offsets = offsets.iter().sum();
        let now = Instant::now();
        let mut t = Trainer { model, vs, train, validation, cfg, run, offsets, total_offsets, steps, done_steps: 0, workers, opt, averaged, latest: None, state, best, started: now, epoch_started: now, elapsed_before, log };
        t.state.history.stopped_because = format!("{} epochs done", cfg.max_epochs);
        Ok(t)
    }

    /// The epochs still to run.
    pub fn epochs(&self) -> std::ops::RangeInclusive<usize> {
        self.state.epoch + 1..=self.cfg.max_epochs
    }

    fn out_of_time(&self) -> bool {
        self.cfg.max_seconds.is_some_and(|m| self.started.elapsed().as_secs_f64() >= m)
    }

    /// The learning rate now: the epoch's, lowered with the time spent when
    /// `lr_final_factor` is set.
    fn learning_rate(&self) -> f64 {
        match (self.cfg.max_seconds, self.cfg.lr_final_factor) {
            (Some(budget), Some(f)) => self.state.learning_rate * f.powf((self.started.elapsed().as_secs_f64() / budget).min(1.0)),
            _ => self.state.learning_rate,
        }
    }

    /// A batch of random segments: inputs with their warm-up, targets without.
    fn batch(&self, rng: &mut Pcg64) -> (Tensor, Tensor) {
        let warm = self.model.warm_up_samples();
        let seg = warm + self.cfg.segment_samples;
        let (mut xs, mut ys) = (Vec::with_capacity(self.cfg.batch_size), Vec::with_capacity(self.cfg.batch_size));
        for _ in 0..self.cfg.batch_size {
            let mut k = rng.random_range(0..self.total_offsets);
            let piece = self.offsets.iter().position(|&o| if k < o { true } else { k -= o; false }).unwrap_or(0);
            let (d, a) = &self.train.pieces()[piece];
            xs.push(d.narrow(0, k as i64, seg as i64));
            ys.push(a.narrow(0, (k + warm) as i64, self.cfg.segment_samples as i64));
        }
        (Tensor::stack(&xs, 0), Tensor::stack(&ys, 0))
    }

    /// One optimizer step on `x` → `y`; returns the loss.
    pub fn step(&mut self, x: &Tensor, y: &Tensor) -> Result<f64> {
        if self.cfg.lr_final_factor.is_some() {
            self.opt.set_lr(self.learning_rate());
        }
        let loss = &self.cfg.loss;
        let value = match &mut self.workers {
            Some(w) => {
                self.opt.zero_grad();
                let v = w.gradients(x, y, |y_hat, y| loss.loss(y_hat, y))?;
                self.opt.step();
                v
            }
            None => {
                let l = loss.loss(&self.model.forward_aligned(x), y);
                self.opt.backward_step(&l);
                l.double_value(&[])
            }
        };
        if let (Some(a), Some(factor)) = (&mut self.averaged, self.cfg.weight_average) {
            a.update(factor);
        }
        Ok(value)
    }

    /// The steps of one epoch; the mean loss, or `None` when stopped before the first step.
    /// The budget is checked every step: an epoch over a long recording can take minutes.
    pub fn train_epoch(&mut self, epoch: usize) -> Result<Option<f64>> {
        // One generator per epoch, so a resumed run draws the segments a whole run would have.
        self.epoch_started = Instant::now();
        let mut rng = epoch_rng(self.cfg.seed, epoch);
        let (mut total, mut done) = (0.0, 0);
        for _ in 0..self.steps {
            if self.run.stop_requested() || (done > 0 && self.out_of_time()) {
                break;
            }
            let (x, y) = self.batch(&mut rng);
            let v = self.step(&x, &y)?;
            if !v.is_finite() {
                return Err(Error::Diverged { epoch, loss: v });
            }
            total += v;
            done += 1;
        }
        self.done_steps = done;
        Ok((done > 0).then(|| total / done as f64))
    }

    /// Validation ESR of the weights that would be kept: the average when averaging (swapped
    /// in until [`Trainer::end_epoch`]), else the latest.
    pub fn validate(&mut self) -> Result<f64> {
        self.latest = self.averaged.as_ref().map(|a| a.swap_in());
        match &mut self.workers {
            Some(w) => w.validation_esr(self.validation),
            None => validation_esr(self.model, self.validation),
        }
    }

    /// Record the epoch, keep the weights if best, report, decay the learning rate and save
    /// the checkpoint.
    pub fn end_epoch(&mut self, epoch: usize, loss: f64, val_esr: f64) -> Result<()> {
        let seg = self.model.warm_up_samples() + self.cfg.segment_samples;
        let elapsed = self.started.elapsed().as_secs_f64();
        let epoch_seconds = self.epoch_started.elapsed().as_secs_f64();
        let e = Epoch {
            epoch,
            loss,
            val_esr: Some(val_esr),
            learning_rate: self.learning_rate(),
            elapsed_seconds: self.elapsed_before + elapsed,
            samples_per_second: (self.done_steps * self.cfg.batch_size * seg) as f64 / epoch_seconds.max(1e-9),
        };
        if self.run.record(&mut self.log, &mut self.state.history, e) {
            self.state.since_best = 0;
            self.best = Some(snapshot(self.vs));
            if let Some(path) = &self.run.checkpoint {
                save_safetensors(self.vs, path)?;
            }
        } else {
            self.state.since_best += 1;
        }
        if let (Some(a), Some(latest)) = (&self.averaged, self.latest.take()) {
            a.swap_out(latest);
        }
        self.state.epoch = epoch;
        self.state.learning_rate *= self.cfg.lr_decay;
        self.opt.set_lr(self.state.learning_rate);
        self.save_state()
    }

    /// Latest weights and the training state beside the checkpoint, for `resume`.
    fn save_state(&self) -> Result<()> {
        let Some(path) = &self.run.checkpoint else { return Ok(()) };
        let [_, last, state_file] = checkpoint_files(path);
        save_safetensors(self.vs, &last)?;
        let json = serde_json::to_string_pretty(&self.state).map_err(|e| Error::invalid("checkpoint", e.to_string()))?;
        write_atomic(&state_file, json.as_bytes())
    }

    /// Why the run should stop now, if it should: a stop request, no better validation ESR
    /// for long enough, or the time budget.
    pub fn should_stop(&self) -> Option<String> {
        let h = &self.state.history;
        if self.run.stop_requested() {
            return Some("stopped by request".into());
        }
        if self.state.since_best >= self.cfg.patience && h.waited_long_enough(self.cfg.patience_fraction) {
            return Some(format!("no better validation ESR for {} epochs ({:.0} s of {:.0} s)", self.state.since_best, h.seconds() - h.best_seconds(), h.seconds()));
        }
        if self.out_of_time() {
            return Some(format!("time budget of {:.0} s reached", self.cfg.max_seconds.unwrap_or(0.0)));
        }
        None
    }

    fn stop_because(&mut self, reason: &str) {
        self.state.history.stopped_because = reason.to_string();
    }

    /// Put the best weights back into the var store and return the history.
    pub fn finish(mut self) -> History {
        if let Some(best) = self.best.take() {
            restore(self.vs, best);
        }
        self.run.finish(&self.state.history);
        self.state.history
    }
}

/// Where segments may start in each training piece; checks that the data fits the model.
fn segment_offsets<M: CausalModel + ?Sized>(model: &M, train: &SeqData, validation: &SeqData, cfg: &SeqFitConfig) -> Result<Vec<usize>> {
    let warm = model.warm_up_samples();
    let seg = warm + cfg.segment_samples;
    if cfg.segment_samples == 0 || cfg.batch_size == 0 || cfg.max_epochs == 0 {
        return Err(Error::invalid("cfg", "segment_samples, batch_size and max_epochs must be positive"));
    }
    let offsets: Vec<usize> = train.pieces().iter().map(|(d, _)| (d.size()[0] as usize + 1).saturating_sub(seg)).collect();
    if offsets.iter().sum::<usize>() == 0 {
        let longest = train.pieces().iter().map(|(d, _)| d.size()[0]).max().unwrap_or(0);
        return Err(Error::invalid("train", format!("the longest training piece ({longest} samples) is shorter than one segment ({seg} = warm-up {warm} + {})", cfg.segment_samples)));
    }
    if validation.pieces().iter().all(|(d, _)| d.size()[0] as usize <= warm) {
        return Err(Error::invalid("validation", format!("no validation piece is longer than the model's warm-up of {warm} samples")));
    }
    Ok(offsets)
}

/// A fresh training state, or the one saved beside the checkpoint when resuming (the latest
/// weights loaded into `vs`; the best weights returned).
fn resumed_state(vs: &mut nn::VarStore, cfg: &SeqFitConfig, run: &RunControl) -> Result<(TrainState, Option<Vec<(String, Tensor)>>)> {
    let fresh = TrainState { epoch: 0, learning_rate: cfg.learning_rate, since_best: 0, history: History::default() };
    let (true, Some(path)) = (run.resume, &run.checkpoint) else { return Ok((fresh, None)) };
    let Some(st) = load_state(path, vs)? else { return Ok((fresh, None)) };
    let mut best = snapshot(vs);
    if path.exists() {
        let current = snapshot(vs);
        load_safetensors(vs, path)?;
        best = snapshot(vs);
        restore(vs, current);
    }
    if run.verbose {
        println!("resuming after epoch {} (best validation ESR {:.5} at epoch {})", st.epoch, st.history.best_val_esr, st.history.best_epoch);
    }
    Ok((st, Some(best)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Lstm, LstmConfig, WaveNet, WaveNetConfig};
    use crate::training::checkpoint::saved_history;
    use crate::training::run::EpochHook;
    use crate::training::seq_data::process_signal;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

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
        let cfg = SeqFitConfig { segment_samples: 1024, batch_size: 8, max_epochs: 8, steps_per_epoch: Some(8), seed: 1, ..SeqFitConfig::default() };
        let mut vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let before = validation_esr(&wn, &val).unwrap();
        let h = fit_sequence(&wn, &mut vs, &train, &val, &cfg, &RunControl::quiet()).unwrap();
        assert!(h.best_val_esr < before * 0.2, "WaveNet: {before} -> {}", h.best_val_esr);
        // The best weights are the ones left in the model.
        assert!((validation_esr(&wn, &val).unwrap() - h.best_val_esr).abs() < 1e-6);
        let out = process_signal(&wn, &x[..5000], Device::Cpu).unwrap();
        assert_eq!(out.len(), 5000);

        let mut vs = nn::VarStore::new(Device::Cpu);
        let lstm = Lstm::new(&vs.root(), &LstmConfig::preset("nano").unwrap()).unwrap();
        let before = validation_esr(&lstm, &val).unwrap();
        // From NAM's narrow initial weights the LSTM starts slowly: 80 steps rather than 30.
        let cfg = SeqFitConfig { segment_samples: 512, batch_size: 8, max_epochs: 16, steps_per_epoch: Some(5), ..cfg };
        let h = fit_sequence(&lstm, &mut vs, &train, &val, &cfg, &RunControl::quiet()).unwrap();
        assert!(h.best_val_esr < before * 0.5, "LSTM: {before} -> {}", h.best_val_esr);
        assert_eq!(h.to_dataframe().unwrap().height(), h.epochs.len());
        let csv = h.to_csv();
        assert_eq!(csv.lines().count(), h.epochs.len() + 1);
        assert!(csv.lines().nth(1).unwrap().starts_with("1,"));
    }

    #[test]
    fn a_checkpointed_run_resumes_where_it_stopped() {
        let (x, y) = toy(30_000);
        let train = SeqData::new(&x[..20_000], &y[..20_000], Device::Cpu).unwrap();
        let val = SeqData::new(&x[20_000..], &y[20_000..], Device::Cpu).unwrap();
        let dir = crate::test_util::tmpdir("train_seq", "resume");
        let ckpt = dir.join("wn.safetensors");
        let cfg = SeqFitConfig { segment_samples: 512, batch_size: 4, max_epochs: 2, steps_per_epoch: Some(3), seed: 3, ..SeqFitConfig::default() };
        let run = RunControl { checkpoint: Some(ckpt.clone()), ..RunControl::quiet() };
        let mut vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let first = fit_sequence(&wn, &mut vs, &train, &val, &cfg, &run).unwrap();
        assert_eq!(first.epochs.len(), 2);
        for f in checkpoint_files(&ckpt) {
            assert!(f.exists(), "{} missing", f.display());
        }
        assert_eq!(saved_history(&ckpt).unwrap().epochs.len(), 2);
        // A fresh model resumes from the saved state and goes on with epochs 3 and 4.
        let mut vs2 = nn::VarStore::new(Device::Cpu);
        let wn2 = WaveNet::new(&vs2.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let cfg2 = SeqFitConfig { max_epochs: 4, ..cfg.clone() };
        let resume = RunControl { resume: true, ..run.clone() };
        let second = fit_sequence(&wn2, &mut vs2, &train, &val, &cfg2, &resume).unwrap();
        let epochs: Vec<usize> = second.epochs.iter().map(|e| e.epoch).collect();
        assert_eq!(epochs, vec![1, 2, 3, 4]);
        for (a, b) in second.epochs.iter().zip(&first.epochs) {
            assert!((a.val_esr.unwrap() - b.val_esr.unwrap()).abs() < 1e-12 && (a.loss - b.loss).abs() < 1e-12);
        }
        assert!((second.epochs[2].learning_rate - cfg.learning_rate * cfg.lr_decay.powi(2)).abs() < 1e-12);
        assert!(second.best_val_esr <= first.best_val_esr);
        assert!((validation_esr(&wn2, &val).unwrap() - second.best_val_esr).abs() < 1e-6);
        // Resuming needs to know where the earlier run saved its state.
        let err = fit_sequence(&wn2, &mut vs2, &train, &val, &cfg2, &RunControl { checkpoint: None, ..resume }).unwrap_err().to_string();
        assert!(err.contains("checkpoint"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn weight_averaging_validates_and_keeps_the_average_not_the_latest_weights() {
        let (x, y) = toy(30_000);
        let train = SeqData::new(&x[..20_000], &y[..20_000], Device::Cpu).unwrap();
        let val = SeqData::new(&x[20_000..], &y[20_000..], Device::Cpu).unwrap();
        let dir = crate::test_util::tmpdir("train_seq", "average");
        let ckpt = dir.join("wn.safetensors");
        let cfg = SeqFitConfig { segment_samples: 512, batch_size: 4, max_epochs: 5, steps_per_epoch: Some(8), seed: 2, weight_average: Some(0.9), ..SeqFitConfig::default() };
        let run = RunControl { checkpoint: Some(ckpt.clone()), ..RunControl::quiet() };
        let mut vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let before = validation_esr(&wn, &val).unwrap();
        let h = fit_sequence(&wn, &mut vs, &train, &val, &cfg, &run).unwrap();
        assert!(h.best_val_esr < before * 0.8, "{before} -> {}", h.best_val_esr);
        // The model holds the best average: its ESR is the recorded one, and its weights are
        // not the latest weights of training (saved for resuming).
        assert!((validation_esr(&wn, &val).unwrap() - h.best_val_esr).abs() < 1e-6);
        let latest_vs = nn::VarStore::new(Device::Cpu);
        let latest = WaveNet::new(&latest_vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let mut latest_vs = latest_vs;
        load_safetensors(&mut latest_vs, &checkpoint_files(&ckpt)[1]).unwrap();
        let differ = vs.variables().iter().any(|(k, v)| (v - &latest_vs.variables()[k]).abs().max().double_value(&[]) > 1e-6);
        assert!(differ, "the kept weights equal the latest ones");
        assert_ne!(validation_esr(&latest, &val).unwrap(), h.best_val_esr);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_stop_request_ends_training_cleanly() {
        let (x, y) = toy(20_000);
        let d = SeqData::new(&x, &y, Device::Cpu).unwrap();
        let flag = Arc::new(AtomicBool::new(true));
        let mut vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let cfg = SeqFitConfig { segment_samples: 512, batch_size: 2, steps_per_epoch: Some(2), ..SeqFitConfig::default() };
        let run = RunControl { stop: Some(flag.clone()), ..RunControl::quiet() };
        let h = fit_sequence(&wn, &mut vs, &d, &d, &cfg, &run).unwrap();
        assert_eq!((h.epochs.len(), h.stopped_because.as_str()), (0, "stopped by request"));
        // A request made during training (here by the epoch hook, as Ctrl-C would) stops after that epoch.
        flag.store(false, Ordering::Relaxed);
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (f, s) = (flag.clone(), seen.clone());
        let hook = EpochHook(Arc::new(move |e: &Epoch| {
            s.fetch_add(1, Ordering::Relaxed);
            if e.epoch == 2 {
                f.store(true, Ordering::Relaxed);
            }
        }));
        let h = fit_sequence(&wn, &mut vs, &d, &d, &cfg, &RunControl { on_epoch: Some(hook), ..run }).unwrap();
        assert_eq!((h.epochs.len(), seen.load(Ordering::Relaxed), h.stopped_because.as_str()), (2, 2, "stopped by request"));
    }

    #[test]
    fn early_stopping_waits_for_a_share_of_the_run_not_only_for_epochs() {
        // Short epochs of 1.5 s, best at epoch 100 (150 s).
        let history = |last: usize| History {
            epochs: (1..=last).map(|epoch| Epoch { epoch, loss: 0.1, val_esr: Some(0.1), learning_rate: 1e-3, elapsed_seconds: 1.5 * epoch as f64, samples_per_second: 1.0 }).collect(),
            best_val_esr: 0.05,
            best_epoch: 100,
            stopped_because: String::new(),
        };
        assert_eq!(history(120).best_seconds(), 150.0);
        // 20 epochs are only 30 s of a 180-s run: not yet.
        assert!(!history(120).waited_long_enough(0.33));
        assert!(history(120).waited_long_enough(0.0));
        // 75 epochs later (112 s of 262 s) it has waited a third of the run.
        assert!(!history(148).waited_long_enough(0.33));
        assert!(history(175).waited_long_enough(0.33));
    }

    #[test]
    fn a_time_budget_ends_even_an_epoch_that_would_take_hours() {
        let (x, y) = toy(20_000);
        let d = SeqData::new(&x, &y, Device::Cpu).unwrap();
        let mut vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let cfg = SeqFitConfig { segment_samples: 512, batch_size: 2, steps_per_epoch: Some(10_000_000), max_seconds: Some(1.0), ..SeqFitConfig::default() };
        let t = Instant::now();
        let h = fit_sequence(&wn, &mut vs, &d, &d, &cfg, &RunControl::quiet()).unwrap();
        assert!(t.elapsed().as_secs_f64() < 30.0, "took {:?}", t.elapsed());
        assert_eq!((h.epochs.len(), h.stopped_because.as_str()), (1, "time budget of 1 s reached"));
        assert!(h.best_val_esr.is_finite());
    }

    #[test]
    fn more_takes_join_the_training_data_and_bad_pairs_are_refused() {
        let (x, y) = toy(5000);
        let mut d = SeqData::new(&x[..3000], &y[..3000], Device::Cpu).unwrap();
        d.push_take(&x[3000..], &y[3000..]).unwrap();
        assert_eq!((d.len(), d.pieces().len()), (5000, 2));
        assert_eq!(Vec::<f32>::try_from(&d.pieces()[1].1).unwrap(), y[3000..].to_vec());
        let err = d.push_take(&x[..100], &y[..99]).unwrap_err().to_string();
        assert!(err.contains("take 2") && err.contains("99 amp samples vs 100 direct"), "{err}");
        assert_eq!(d.pieces().len(), 2);
    }

    #[test]
    fn segments_longer_than_the_data_are_an_error() {
        let (x, y) = toy(3000);
        let d = SeqData::new(&x, &y, Device::Cpu).unwrap();
        let mut vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let err = fit_sequence(&wn, &mut vs, &d, &d, &SeqFitConfig::default(), &RunControl::quiet()).unwrap_err().to_string();
        assert!(err.contains("shorter than one segment"), "{err}");
    }
}
