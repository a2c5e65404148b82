//! Training causal sequence models (LSTM, WaveNet) the way the field does: random segments
//! of the training range with a warm-up region excluded from the loss, Adam with an
//! exponentially decaying learning rate, validation ESR every epoch, the best checkpoint
//! kept, early stopping, a wall-clock budget, seeded; CUDA when libtorch sees a GPU.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Tensor};

use crate::losses::{esr, LossConfig};
use crate::models::CausalModel;
use crate::parallel_step::Workers;
use crate::audio::write_atomic;
use crate::train::{load_safetensors, save_safetensors};
use crate::{Error, Result};


/// Settings of [`fit_sequence`]. Defaults follow NAM's trainer where it has one: Adam at
/// 0.004 decaying ×0.993 per epoch, segments of 8192 in batches of 16, ESR plus
/// pre-emphasised ESR (see [`LossConfig`]); then a running average of the weights is what gets
/// validated and kept, and each batch is split over the CPU cores.
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
    /// With a time budget (`max_seconds`): the learning rate also falls exponentially with the
    /// time spent, to this fraction of its value by the end of the budget (default `None`: off —
    /// in a 10-minute CPU budget the models are still far from converged, and a falling rate
    /// slowed them down in our runs).
    pub lr_final_factor: Option<f64>,
    pub loss: LossConfig,
    /// Stop after this many epochs without a better validation ESR (default 20) — and only once
    /// that wait is also at least `patience_fraction` of the training time so far.
    pub patience: usize,
    /// Early stopping also waits this fraction of the time trained so far (default 0.33): a run
    /// stops when neither the last `patience` epochs nor the last third of its time brought a
    /// better validation ESR. Epochs differ in length between models (1.5 s for LSTM standard,
    /// 4.5 s for WaveNet standard on 2 cores), so an epoch count alone stopped the LSTM of
    /// notebook 04 at 337 s of 540 and a WaveNet at 449 s, after one loss spike. 0 = epochs only.
    pub patience_fraction: f64,
    /// Stop once this many seconds of training have passed in this run (default: none).
    pub max_seconds: Option<f64>,
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
    /// Validate and keep an exponential moving average of the weights instead of the latest
    /// ones, updated after every step with this factor (Polyak averaging; default `Some(0.99)`,
    /// about the last hundred steps; `None` validates the latest weights). The average irons
    /// out Adam's step-to-step noise: WaveNet standard, 540 s on 2 cores, reached a validation
    /// ESR of 0.026 with it against 0.030 without (test 0.041 against 0.045; both with early
    /// stopping off). Its validation curve is smooth, but a loss spike can still set it back for
    /// longer than `patience` epochs (the same run with patience 20 stopped at 449 s, 0.030). A
    /// resumed run restarts the average from the latest weights.
    pub weight_average: Option<f64>,
    /// Threads that each run a part of every batch with one libtorch thread apiece (default
    /// `None`: libtorch's thread count on CPU, one on CUDA). On CPU this is faster than
    /// libtorch's own threading for these small models (1.7× on 2 cores for WaveNet standard);
    /// `Some(1)` trains undivided. Results are repeatable for a given count.
    pub workers: Option<usize>,
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
            lr_final_factor: None,
            loss: LossConfig::default(),
            patience: 20,
            patience_fraction: 0.33,
            max_seconds: None,
            checkpoint: None,
            resume: false,
            stop: None,
            on_epoch: None,
            weight_average: Some(0.99),
            workers: None,
            seed: 0,
            verbose: true,
        }
    }
}

/// A function called with every finished epoch.
#[derive(Clone)]
pub struct EpochHook(pub Arc<dyn Fn(&SeqEpoch) + Send + Sync>);

impl std::fmt::Debug for EpochHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EpochHook")
    }
}

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
    fn waited_long_enough(&self, fraction: f64) -> bool {
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

/// Aligned direct/amp pieces (takes, or ranges of one recording) on a device. Training draws
/// segments from within pieces; evaluation runs each piece whole and scores it after the
/// model's warm-up.
pub struct SeqData {
    pieces: Vec<(Tensor, Tensor)>,
}

fn check_pair(what: &str, direct: &[f32], amp: &[f32]) -> Result<()> {
    if direct.len() != amp.len() || direct.is_empty() {
        return Err(Error::invalid("amp", format!("{what}: {} amp samples vs {} direct", amp.len(), direct.len())));
    }
    Ok(())
}

impl SeqData {
    /// One piece.
    pub fn new(direct: &[f32], amp: &[f32], device: Device) -> Result<SeqData> {
        SeqData::from_takes(&[(direct, amp)], device)
    }

    /// One piece per take (direct, amp).
    pub fn from_takes(takes: &[(&[f32], &[f32])], device: Device) -> Result<SeqData> {
        if takes.is_empty() {
            return Err(Error::invalid("takes", "no takes given"));
        }
        let mut data = SeqData { pieces: Vec::with_capacity(takes.len()) };
        for (d, a) in takes {
            data.push_on(device, d, a)?;
        }
        Ok(data)
    }

    fn push_on(&mut self, device: Device, direct: &[f32], amp: &[f32]) -> Result<()> {
        check_pair(&format!("take {}", self.pieces.len()), direct, amp)?;
        self.pieces.push((Tensor::from_slice(direct).to_device(device), Tensor::from_slice(amp).to_device(device)));
        Ok(())
    }

    /// One piece per range of a recording, each extended back by up to `context_samples` of
    /// the signal before it. Pass the model's warm-up as the context and every sample of the
    /// ranges is scored (except at the very start of the recording, where there is no context).
    pub fn from_ranges(direct: &[f32], amp: &[f32], ranges: &[std::ops::Range<usize>], context_samples: usize, device: Device) -> Result<SeqData> {
        check_pair("recording", direct, amp)?;
        let mut takes = Vec::new();
        for r in ranges {
            if r.start >= r.end || r.end > direct.len() {
                return Err(Error::invalid("ranges", format!("{r:?} is empty or outside the recording's {} samples", direct.len())));
            }
            let from = r.start.saturating_sub(context_samples);
            takes.push((&direct[from..r.end], &amp[from..r.end]));
        }
        SeqData::from_takes(&takes, device)
    }

    /// Training, validation and test data of one recording split by `split`: training pieces
    /// as they are, validation and test pieces with `warm_up_samples` of context before them
    /// (pass the model's [`CausalModel::warm_up_samples`]) so that exactly their ranges are scored.
    pub fn from_split(direct: &[f32], amp: &[f32], split: &crate::windows::Split, warm_up_samples: usize, device: Device) -> Result<[SeqData; 3]> {
        Ok([
            SeqData::from_ranges(direct, amp, &split.train, 0, device)?,
            SeqData::from_ranges(direct, amp, &split.validation, warm_up_samples, device)?,
            SeqData::from_ranges(direct, amp, &split.test, warm_up_samples, device)?,
        ])
    }

    /// Add one more take (e.g. a further recording for training), on the device of the others.
    pub fn push_take(&mut self, direct: &[f32], amp: &[f32]) -> Result<()> {
        let device = self.pieces.first().map_or(Device::Cpu, |(d, _)| d.device());
        self.push_on(device, direct, amp)
    }

    /// Total samples over all pieces (context included).
    pub fn len(&self) -> usize {
        self.pieces.iter().map(|(d, _)| d.size()[0] as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn pieces(&self) -> &[(Tensor, Tensor)] {
        &self.pieces
    }
}

/// The scored samples of every piece, concatenated: `(real amp, model output)`. Pieces no
/// longer than the model's warm-up are skipped; an error if that leaves nothing.
pub fn predict_scored<M: CausalModel + ?Sized>(model: &M, data: &SeqData) -> Result<(Vec<f32>, Vec<f32>)> {
    let scored = data.pieces().iter().map(|(d, a)| score_piece(model, d, a)).collect::<Result<Vec<_>>>()?;
    join_scored(scored, model.warm_up_samples())
}

/// One piece's scored samples `(real amp, model output)`; `None` when the piece is no longer
/// than the model's warm-up.
pub(crate) fn score_piece<M: CausalModel + ?Sized>(model: &M, direct: &Tensor, amp: &Tensor) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
    let warm = model.warm_up_samples() as i64;
    let n = direct.size()[0];
    if n <= warm {
        return Ok(None);
    }
    let y_hat = tch::no_grad(|| model.forward_aligned(&direct.view([1, -1])));
    let real = Vec::<f32>::try_from(amp.narrow(0, warm, n - warm).to_device(Device::Cpu))?;
    Ok(Some((real, Vec::<f32>::try_from(y_hat.view([-1]).to_device(Device::Cpu))?)))
}

/// Pieces' scored samples in order, concatenated.
pub(crate) fn join_scored(scored: Vec<Option<(Vec<f32>, Vec<f32>)>>, warm_up_samples: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    let (mut real, mut predicted) = (Vec::new(), Vec::new());
    for (r, p) in scored.into_iter().flatten() {
        real.extend(r);
        predicted.extend(p);
    }
    if real.is_empty() {
        return Err(Error::invalid("data", format!("no piece is longer than the model's warm-up of {warm_up_samples} samples")));
    }
    Ok((real, predicted))
}

/// ESR of `model` over all pieces of `data` (Σe² / Σy² over the scored samples).
pub fn validation_esr<M: CausalModel + ?Sized>(model: &M, data: &SeqData) -> Result<f64> {
    let (y, y_hat) = predict_scored(model, data)?;
    esr(&y, &y_hat)
}

/// Training state saved beside a checkpoint after every epoch, so that a run can resume.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TrainState {
    /// Epochs completed.
    epoch: usize,
    learning_rate: f64,
    since_best: usize,
    history: SeqHistory,
}

/// `model.safetensors` → `model.<tag>` beside it.
fn sibling(path: &Path, tag: &str) -> PathBuf {
    path.with_extension(tag)
}

/// The files a checkpointed run writes: best weights, latest weights, training state (JSON).
pub fn checkpoint_files(checkpoint: &Path) -> [PathBuf; 3] {
    [checkpoint.to_path_buf(), sibling(checkpoint, "last.safetensors"), sibling(checkpoint, "train.json")]
}

/// The training history saved beside a checkpoint by [`fit_sequence`] (e.g. to report the
/// validation ESR of a saved model).
pub fn saved_history(checkpoint: impl AsRef<Path>) -> Result<SeqHistory> {
    let [_, _, state] = checkpoint_files(checkpoint.as_ref());
    let text = std::fs::read_to_string(&state).map_err(|e| Error::io(&state, e))?;
    let st: TrainState = serde_json::from_str(&text).map_err(|e| Error::ModelFile { path: state.display().to_string(), reason: format!("not a training state ({e})") })?;
    Ok(st.history)
}

fn load_state(checkpoint: &Path, vs: &mut nn::VarStore) -> Result<Option<TrainState>> {
    let [_, last, state] = checkpoint_files(checkpoint);
    if !state.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&state).map_err(|e| Error::io(&state, e))?;
    let st: TrainState = serde_json::from_str(&text).map_err(|e| Error::ModelFile { path: state.display().to_string(), reason: format!("not a training state ({e})") })?;
    load_safetensors(vs, &last)?;
    Ok(Some(st))
}

fn snapshot(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    vs.variables().into_iter().map(|(k, t)| (k, t.detach().copy())).collect()
}

fn restore(vs: &nn::VarStore, values: Vec<(String, Tensor)>) {
    tch::no_grad(|| {
        let vars = vs.variables();
        for (name, value) in values {
            if let Some(t) = vars.get(&name) {
                let mut t = t.shallow_clone();
                t.copy_(&value);
            }
        }
    });
}

/// An exponential moving average of a model's trainable weights.
struct WeightAverage {
    /// (variable, its average)
    pairs: Vec<(Tensor, Tensor)>,
    steps: u64,
}

impl WeightAverage {
    fn new(vs: &nn::VarStore) -> WeightAverage {
        WeightAverage { pairs: vs.trainable_variables().into_iter().map(|v| { let a = v.detach().copy(); (v, a) }).collect(), steps: 0 }
    }

    fn update(&mut self, factor: f64) {
        self.steps += 1;
        // A shorter memory over the first steps, so the average forgets the random start.
        let f = factor.min((1 + self.steps) as f64 / (10 + self.steps) as f64);
        tch::no_grad(|| {
            for (v, a) in &mut self.pairs {
                let next = &*a * f + v.detach() * (1.0 - f);
                a.copy_(&next);
            }
        });
    }

    /// Put the average into the variables; returns the latest weights for [`Self::swap_out`].
    fn swap_in(&self) -> Vec<Tensor> {
        tch::no_grad(|| {
            self.pairs
                .iter()
                .map(|(v, a)| {
                    let latest = v.detach().copy();
                    v.shallow_clone().copy_(a);
                    latest
                })
                .collect()
        })
    }

    fn swap_out(&self, latest: Vec<Tensor>) {
        tch::no_grad(|| {
            for ((v, _), w) in self.pairs.iter().zip(latest) {
                v.shallow_clone().copy_(&w);
            }
        });
    }
}

/// Train a sequence model whose variables live in `vs`; keeps the best weights (by validation
/// ESR) in `vs` at the end, and in `cfg.checkpoint` when set.
pub fn fit_sequence<M: CausalModel + ?Sized>(model: &M, vs: &mut nn::VarStore, train: &SeqData, validation: &SeqData, cfg: &SeqFitConfig) -> Result<SeqHistory> {
    let warm = model.warm_up_samples();
    let seg = warm + cfg.segment_samples;
    if cfg.segment_samples == 0 || cfg.batch_size == 0 || cfg.max_epochs == 0 {
        return Err(Error::invalid("cfg", "segment_samples, batch_size and max_epochs must be positive"));
    }
    // Segment starts are drawn uniformly over all pieces long enough to hold one.
    let offsets: Vec<usize> = train.pieces().iter().map(|(d, _)| (d.size()[0] as usize + 1).saturating_sub(seg)).collect();
    let total_offsets: usize = offsets.iter().sum();
    if total_offsets == 0 {
        let longest = train.pieces().iter().map(|(d, _)| d.size()[0]).max().unwrap_or(0);
        return Err(Error::invalid("train", format!("the longest training piece ({longest} samples) is shorter than one segment ({seg} = warm-up {warm} + {})", cfg.segment_samples)));
    }
    if validation.pieces().iter().all(|(d, _)| d.size()[0] as usize <= warm) {
        return Err(Error::invalid("validation", format!("no validation piece is longer than the model's warm-up of {warm} samples")));
    }
    if cfg.resume && cfg.checkpoint.is_none() {
        return Err(Error::invalid("resume", "resuming needs the checkpoint path of the earlier run"));
    }
    let device = train.pieces()[0].0.device();
    let count = match (cfg.workers, device) {
        (Some(n), _) => n.min(cfg.batch_size),
        (None, Device::Cpu) => (tch::get_num_threads().max(1) as usize).min(cfg.batch_size),
        (None, _) => 1,
    };
    // Replicas are made before seeding, so the seeded stream is the same with any count.
    let mut workers = if count > 1 { Workers::new(model, vs, count)? } else { None };
    tch::manual_seed(cfg.seed as i64);
    let mut state = TrainState { epoch: 0, learning_rate: cfg.learning_rate, since_best: 0, history: SeqHistory { best_val_esr: f64::INFINITY, ..Default::default() } };
    let mut best: Option<Vec<(String, Tensor)>> = None;
    if let (true, Some(path)) = (cfg.resume, &cfg.checkpoint) {
        if let Some(st) = load_state(path, vs)? {
            let mut best_vs = snapshot(vs);
            if path.exists() {
                let current = snapshot(vs);
                load_safetensors(vs, path)?;
                best_vs = snapshot(vs);
                restore(vs, current);
            }
            best = Some(best_vs);
            if cfg.verbose {
                println!("resuming after epoch {} (best validation ESR {:.5} at epoch {})", st.epoch, st.history.best_val_esr, st.history.best_epoch);
            }
            state = st;
        }
    }
    let mut opt = nn::Adam::default().build(vs, state.learning_rate)?;
    let mut averaged = cfg.weight_average.map(|_| WeightAverage::new(vs));
    let steps = cfg.steps_per_epoch.unwrap_or((train.len() / (cfg.segment_samples * cfg.batch_size)).max(1));
    let started = Instant::now();
    let elapsed_before = state.history.seconds();
    let stopped = || cfg.stop.as_ref().is_some_and(|f| f.load(Ordering::Relaxed));
    let out_of_time = || cfg.max_seconds.is_some_and(|m| started.elapsed().as_secs_f64() >= m);
    state.history.stopped_because = format!("{} epochs done", cfg.max_epochs);
    let mut log = ProgressLog::new(cfg.max_epochs, cfg.max_seconds, elapsed_before);
    for epoch in state.epoch + 1..=cfg.max_epochs {
        let epoch_start = Instant::now();
        // One generator per epoch, so a resumed run draws the segments a whole run would have.
        let mut rng = Pcg64::seed_from_u64(cfg.seed.wrapping_mul(0x9e37_79b9).wrapping_add(epoch as u64));
        let mut total = 0.0;
        let mut done = 0;
        for _ in 0..steps {
            // The budget is checked every step: an epoch over a long recording can take minutes.
            if stopped() || (done > 0 && out_of_time()) {
                break;
            }
            if let (Some(budget), Some(f)) = (cfg.max_seconds, cfg.lr_final_factor) {
                let progress = (started.elapsed().as_secs_f64() / budget).min(1.0);
                opt.set_lr(state.learning_rate * f.powf(progress));
            }
            let (mut xs, mut ys) = (Vec::with_capacity(cfg.batch_size), Vec::with_capacity(cfg.batch_size));
            for _ in 0..cfg.batch_size {
                let mut k = rng.random_range(0..total_offsets);
                let piece = offsets.iter().position(|&o| if k < o { true } else { k -= o; false }).unwrap_or(0);
                let (d, a) = &train.pieces()[piece];
                xs.push(d.narrow(0, k as i64, seg as i64));
                ys.push(a.narrow(0, (k + warm) as i64, cfg.segment_samples as i64));
            }
            let (x, y) = (Tensor::stack(&xs, 0), Tensor::stack(&ys, 0));
            let v = match &mut workers {
                Some(w) => {
                    opt.zero_grad();
                    let v = w.gradients(&x, &y, |y_hat, y| cfg.loss.loss(y_hat, y))?;
                    opt.step();
                    v
                }
                None => {
                    let y_hat = model.forward_aligned(&x);
                    let loss = cfg.loss.loss(&y_hat, &y);
                    opt.backward_step(&loss);
                    loss.double_value(&[])
                }
            };
            if let (Some(a), Some(factor)) = (&mut averaged, cfg.weight_average) {
                a.update(factor);
            }
            if !v.is_finite() {
                return Err(Error::Diverged { epoch, loss: v });
            }
            total += v;
            done += 1;
        }
        if done == 0 {
            state.history.stopped_because = "stopped by request".into();
            break;
        }
        // With averaging, the average is validated (and kept if best); training goes on from the latest weights.
        let latest = averaged.as_ref().map(|a| a.swap_in());
        let val = match &mut workers {
            Some(w) => w.validation_esr(validation)?,
            None => validation_esr(model, validation)?,
        };
        let epoch_seconds = epoch_start.elapsed().as_secs_f64();
        let lr = match (cfg.max_seconds, cfg.lr_final_factor) {
            (Some(budget), Some(f)) => state.learning_rate * f.powf((started.elapsed().as_secs_f64() / budget).min(1.0)),
            _ => state.learning_rate,
        };
        let e = SeqEpoch {
            epoch,
            loss: total / done as f64,
            val_esr: val,
            learning_rate: lr,
            elapsed_seconds: elapsed_before + started.elapsed().as_secs_f64(),
            samples_per_second: (done * cfg.batch_size * seg) as f64 / epoch_seconds,
        };
        let improved = val < state.history.best_val_esr;
        if improved {
            state.history.best_val_esr = val;
            state.history.best_epoch = epoch;
            state.since_best = 0;
            best = Some(snapshot(vs));
            if let Some(path) = &cfg.checkpoint {
                save_safetensors(vs, path)?;
            }
        } else {
            state.since_best += 1;
        }
        if let (Some(a), Some(latest)) = (&averaged, latest) {
            a.swap_out(latest);
        }
        if cfg.verbose && log.due(epoch, e.elapsed_seconds) {
            println!(
                "epoch {epoch:>4}  loss {:.5}  val ESR {:.5}  best {:.5} (epoch {})  lr {lr:.2e}  {:.0}s  ({:.0} samples/s)",
                e.loss,
                e.val_esr,
                state.history.best_val_esr,
                state.history.best_epoch,
                e.elapsed_seconds,
                e.samples_per_second
            );
        }
        if let Some(hook) = &cfg.on_epoch {
            (hook.0)(&e);
        }
        state.history.epochs.push(e);
        state.epoch = epoch;
        state.learning_rate *= cfg.lr_decay;
        opt.set_lr(state.learning_rate);
        if let Some(path) = &cfg.checkpoint {
            let [_, last, state_file] = checkpoint_files(path);
            save_safetensors(vs, &last)?;
            let json = serde_json::to_string_pretty(&state).map_err(|e| Error::invalid("checkpoint", e.to_string()))?;
            write_atomic(&state_file, json.as_bytes())?;
        }
        if stopped() {
            state.history.stopped_because = "stopped by request".into();
            break;
        }
        if state.since_best >= cfg.patience && state.history.waited_long_enough(cfg.patience_fraction) {
            let h = &state.history;
            state.history.stopped_because = format!("no better validation ESR for {} epochs ({:.0} s of {:.0} s)", state.since_best, h.seconds() - h.best_seconds(), h.seconds());
            break;
        }
        if out_of_time() {
            state.history.stopped_because = format!("time budget of {:.0} s reached", cfg.max_seconds.unwrap_or(0.0));
            break;
        }
    }
    if let Some(best) = best {
        restore(vs, best);
    }
    if cfg.verbose {
        let h = &state.history;
        println!("{} epochs in {:.0} s; best validation ESR {:.5} at epoch {} ({:.0} s); {}", h.epochs.len(), h.seconds(), h.best_val_esr, h.best_epoch, h.best_seconds(), h.stopped_because);
    }
    Ok(state.history)
}

/// When a verbose run prints an epoch: the first, then about every tenth of the time budget
/// (or of the epochs, without one) — a dozen lines per run, not one per epoch.
struct ProgressLog {
    every_epochs: usize,
    every_seconds: Option<f64>,
    next_seconds: f64,
    last_epoch: usize,
}

impl ProgressLog {
    fn new(max_epochs: usize, max_seconds: Option<f64>, elapsed_before: f64) -> ProgressLog {
        ProgressLog { every_epochs: (max_epochs / 10).max(1), every_seconds: max_seconds.map(|s| s / 10.0), next_seconds: elapsed_before, last_epoch: 0 }
    }

    fn due(&mut self, epoch: usize, elapsed_seconds: f64) -> bool {
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

/// Run a whole signal through a sequence model (no gradients); output has the input's length.
pub fn process_signal<M: CausalModel + ?Sized>(model: &M, x: &[f32], device: Device) -> Result<Vec<f32>> {
    let xs = Tensor::from_slice(x).to_device(device);
    let y = tch::no_grad(|| model.process(&xs));
    Ok(Vec::<f32>::try_from(y.view([-1]).to_device(Device::Cpu))?)
}

/// Seconds of audio processed per second of wall time with one libtorch thread.
pub fn real_time_factor<M: CausalModel + ?Sized>(model: &M, x: &[f32], sample_rate_hz: u32) -> Result<f64> {
    crate::runtime::one_thread_real_time_factor(x.len() as f64 / sample_rate_hz as f64, || process_signal(model, x, Device::Cpu))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Lstm, LstmConfig, WaveNet, WaveNetConfig};

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
        // From NAM's narrow initial weights the LSTM starts slowly: 80 steps rather than 30.
        let cfg = SeqFitConfig { segment_samples: 512, batch_size: 8, max_epochs: 16, steps_per_epoch: Some(5), ..cfg };
        let h = fit_sequence(&lstm, &mut vs, &train, &val, &cfg).unwrap();
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
        let cfg = SeqFitConfig { segment_samples: 512, batch_size: 4, max_epochs: 2, steps_per_epoch: Some(3), verbose: false, seed: 3, checkpoint: Some(ckpt.clone()), ..SeqFitConfig::default() };
        let mut vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let first = fit_sequence(&wn, &mut vs, &train, &val, &cfg).unwrap();
        assert_eq!(first.epochs.len(), 2);
        for f in checkpoint_files(&ckpt) {
            assert!(f.exists(), "{} missing", f.display());
        }
        assert_eq!(saved_history(&ckpt).unwrap().epochs.len(), 2);
        // A fresh model resumes from the saved state and goes on with epochs 3 and 4.
        let mut vs2 = nn::VarStore::new(Device::Cpu);
        let wn2 = WaveNet::new(&vs2.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let cfg2 = SeqFitConfig { max_epochs: 4, resume: true, ..cfg.clone() };
        let second = fit_sequence(&wn2, &mut vs2, &train, &val, &cfg2).unwrap();
        let epochs: Vec<usize> = second.epochs.iter().map(|e| e.epoch).collect();
        assert_eq!(epochs, vec![1, 2, 3, 4]);
        for (a, b) in second.epochs.iter().zip(&first.epochs) {
            assert!((a.val_esr - b.val_esr).abs() < 1e-12 && (a.loss - b.loss).abs() < 1e-12);
        }
        assert!((second.epochs[2].learning_rate - cfg.learning_rate * cfg.lr_decay.powi(2)).abs() < 1e-12);
        assert!(second.best_val_esr <= first.best_val_esr);
        assert!((validation_esr(&wn2, &val).unwrap() - second.best_val_esr).abs() < 1e-6);
        // Resuming needs to know where the earlier run saved its state.
        let err = fit_sequence(&wn2, &mut vs2, &train, &val, &SeqFitConfig { checkpoint: None, ..cfg2 }).unwrap_err().to_string();
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
        let cfg = SeqFitConfig { segment_samples: 512, batch_size: 4, max_epochs: 5, steps_per_epoch: Some(8), verbose: false, seed: 2, weight_average: Some(0.9), checkpoint: Some(ckpt.clone()), ..SeqFitConfig::default() };
        let mut vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let before = validation_esr(&wn, &val).unwrap();
        let h = fit_sequence(&wn, &mut vs, &train, &val, &cfg).unwrap();
        assert!(h.best_val_esr < before * 0.8, "{before} -> {}", h.best_val_esr);
        // The model holds the best average: its ESR is the recorded one, and its weights are
        // not the latest weights of training (saved for resuming).
        assert!((validation_esr(&wn, &val).unwrap() - h.best_val_esr).abs() < 1e-6);
        let latest_vs = nn::VarStore::new(Device::Cpu);
        let latest = WaveNet::new(&latest_vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let mut latest_vs = latest_vs;
        crate::train::load_safetensors(&mut latest_vs, &checkpoint_files(&ckpt)[1]).unwrap();
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
        let cfg = SeqFitConfig { segment_samples: 512, batch_size: 2, steps_per_epoch: Some(2), verbose: false, stop: Some(flag.clone()), ..SeqFitConfig::default() };
        let h = fit_sequence(&wn, &mut vs, &d, &d, &cfg).unwrap();
        assert_eq!((h.epochs.len(), h.stopped_because.as_str()), (0, "stopped by request"));
        // A request made during training (here by the epoch hook, as Ctrl-C would) stops after that epoch.
        flag.store(false, Ordering::Relaxed);
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (f, s) = (flag.clone(), seen.clone());
        let hook = EpochHook(Arc::new(move |e: &SeqEpoch| {
            s.fetch_add(1, Ordering::Relaxed);
            if e.epoch == 2 {
                f.store(true, Ordering::Relaxed);
            }
        }));
        let h = fit_sequence(&wn, &mut vs, &d, &d, &SeqFitConfig { on_epoch: Some(hook), ..cfg }).unwrap();
        assert_eq!((h.epochs.len(), seen.load(Ordering::Relaxed), h.stopped_because.as_str()), (2, 2, "stopped by request"));
    }

    #[test]
    fn early_stopping_waits_for_a_share_of_the_run_not_only_for_epochs() {
        // Short epochs of 1.5 s, best at epoch 100 (150 s).
        let history = |last: usize| SeqHistory {
            epochs: (1..=last).map(|epoch| SeqEpoch { epoch, loss: 0.1, val_esr: 0.1, learning_rate: 1e-3, elapsed_seconds: 1.5 * epoch as f64, samples_per_second: 1.0 }).collect(),
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
        let cfg = SeqFitConfig { segment_samples: 512, batch_size: 2, steps_per_epoch: Some(10_000_000), max_seconds: Some(1.0), verbose: false, ..SeqFitConfig::default() };
        let t = Instant::now();
        let h = fit_sequence(&wn, &mut vs, &d, &d, &cfg).unwrap();
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
        let err = fit_sequence(&wn, &mut vs, &d, &d, &SeqFitConfig::default()).unwrap_err().to_string();
        assert!(err.contains("shorter than one segment"), "{err}");
    }
}
