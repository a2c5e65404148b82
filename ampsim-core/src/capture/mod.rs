//! One capture, end to end — what `ampsim train` does, for the command line, a notebook or an
//! example alike: load the recording(s), check them, align the amp to the DI, split, build the
//! model, fit it, score it on NAM's scale and write the run folder.
//!
//! ```no_run
//! use ampsim_core::capture::{Capture, CaptureConfig, Source};
//! use ampsim_core::training::RunControl;
//! # fn main() -> ampsim_core::Result<()> {
//! let capture = Capture::prepare(Source::recording("data/GuitarTraining.wav"), CaptureConfig::default())?;
//! for finding in capture.findings() {
//!     println!("{finding}");
//! }
//! let trained = capture.fit(&RunControl::default())?;
//! print!("{}", trained.write_to("runs/crunch")?);
//! # Ok(())
//! # }
//! ```
//!
//! [`Capture::prepare`] does everything before training and says what it found
//! ([`Capture::findings`]: the data checks' warnings, the latency and its confidence, the split);
//! [`Capture::fit`] trains under a [`RunControl`] (budget, checkpoint, stop flag, progress hook);
//! [`Trained`] holds the history, the report and the model, and [`Trained::write_to`] writes
//! `model.safetensors`, `model.nam`, `history.csv` and `summary.txt`, each atomically.

mod prepare;
mod summary;

use std::path::{Path, PathBuf};

use tch::{nn, Device};

use crate::data::align::LatencyEstimate;
use crate::data::captures::LoadedCaptures;
use crate::data::split::Split;
use crate::data::windows::Windows;
use crate::evaluation::compare::{ModelReport, Scores};
use crate::data::captures::ControlSpec;
use crate::models::{CausalModel, Ensemble, GreyBox, GreyBoxConfig, Lstm, LstmConfig, Mlp, WaveNet, WaveNetConfig};
use crate::training::losses::LossConfig;
use crate::training::{History, RunControl, SeqData, SeqFitConfig};
use crate::{Error, Recording, Result};

/// The kind of model a capture trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// NAM's WaveNet (A1 presets, or A2: `a2`, `a2-nano`); with knobs, FiLM-conditioned.
    WaveNet,
    /// An LSTM (NAM's presets); with knobs, they are read beside the audio.
    Lstm,
    /// The post's dense network (a 4000-sample window with 300 future samples; no `.nam`).
    Dense,
    /// The grey-box knob model: preamp LSTM → the amp's tone stack as its circuit, turned by
    /// the `treble`, `middle` and `bass` controls → power-amp LSTM (captures sets only).
    GreyBox,
    /// An LSTM and a WaveNet of the preset, trained one after the other on half the budget
    /// each, their outputs averaged: on playing neither heard they go wrong in different
    /// places, and their mean is closer to the amp (docs/experiments.md).
    Ensemble,
}

impl Architecture {
    /// How run names and summaries call it (`Wavenet standard`, `Lstm nano`, `Mlp`).
    pub fn label(self) -> &'static str {
        match self {
            Architecture::WaveNet => "Wavenet",
            Architecture::Lstm => "Lstm",
            Architecture::Dense => "Mlp",
            Architecture::GreyBox => "GreyBox",
            Architecture::Ensemble => "Ensemble",
        }
    }
}

/// What a capture trains on.
#[derive(Debug)]
pub enum Source {
    /// A recording: a stereo file (left DI, right amp), or the DI with the amp in a second
    /// (mono) file; takes joined with digital silence are separate takes, the first holding
    /// the validation and test blocks. `more`: further stereo recordings of the same rig.
    /// `unheard`: takes of the same rig kept out of training altogether, the test of playing
    /// the model never heard; when none is given and there are several takes, the last one is
    /// (see [`CaptureConfig::hold_out_last_take`]).
    Recording { path: PathBuf, amp: Option<PathBuf>, more: Vec<PathBuf>, unheard: Vec<PathBuf> },
    /// A recording already loaded (e.g. by a notebook), as recorded (not yet aligned).
    Loaded(Recording),
    /// Takes already loaded, as recorded: the first holds the validation and test blocks;
    /// `unheard` as in [`Source::Recording`].
    Takes { takes: Vec<Recording>, unheard: Vec<Recording> },
    /// A captures manifest: the rig at several settings of its knobs (a conditioned model).
    Captures(PathBuf),
    /// A captures set already loaded and aligned (e.g. by a notebook).
    LoadedCaptures(LoadedCaptures),
}

impl Source {
    /// One stereo recording.
    pub fn recording(path: impl Into<PathBuf>) -> Source {
        Source::Recording { path: path.into(), amp: None, more: Vec::new(), unheard: Vec::new() }
    }

    /// A captures manifest (`captures.toml`).
    pub fn captures(manifest: impl Into<PathBuf>) -> Source {
        Source::Captures(manifest.into())
    }
}

/// A model's shape given in full, instead of by a preset (e.g. an experiment with the LSTM's
/// burn-in, or a WaveNet whose knobs only reach the input mixers).
#[derive(Clone, Debug)]
pub enum ModelConfig {
    /// Its `controls` are set to the captures set's.
    Lstm(LstmConfig),
    /// With a captures set and no controls of its own, FiLM-conditioned on the set's knobs
    /// (as a preset is); with controls, they must be as many as the set has.
    WaveNet(WaveNetConfig),
    /// Two or more of these, trained one after the other (the budget shared equally), their
    /// outputs averaged.
    Ensemble(Vec<ModelConfig>),
}

impl ModelConfig {
    /// The ensemble [`Architecture::Ensemble`] trains: an LSTM and a WaveNet of `preset`
    /// (`standard`, `lite`, `feather` or `nano`).
    pub fn lstm_and_wavenet(preset: &str) -> Result<ModelConfig> {
        Ok(ModelConfig::Ensemble(vec![ModelConfig::Lstm(LstmConfig::preset(preset)?), ModelConfig::WaveNet(WaveNetConfig::preset(preset)?)]))
    }
}

/// How a capture trains. Defaults: LSTM `standard` (on real takes it never heard, a JVM410H's,
/// it scored 1.75× lower than the WaveNet at 10 minutes on 2 cores: docs/experiments.md),
/// 10 minutes, up to 1000 epochs, the default loss (ESR + pre-emphasised ESR + DC), seed 0,
/// the latency estimated, the last of several takes held out as playing the model never heard.
#[derive(Clone, Debug)]
pub struct CaptureConfig {
    pub architecture: Architecture,
    /// NAM's preset: `standard`, `lite`, `feather`, `nano` (LSTM and WaveNet A1); `a2`, `a2-nano`.
    pub preset: String,
    /// The model's shape in full, instead of `architecture` and `preset` (default `None`).
    pub model: Option<ModelConfig>,
    /// With several takes and none given as `unheard`, keep the last one out of training: the
    /// test of playing the model never heard, which the verdict is given for (default true).
    pub hold_out_last_take: bool,
    /// The training time budget.
    pub budget_seconds: f64,
    pub max_epochs: usize,
    pub loss: LossConfig,
    /// Seeds the weights and the order of training.
    pub seed: u64,
    /// The amp's latency behind the DI, when known; else measured or estimated (and refused
    /// when implausible or uncertain).
    pub latency_samples: Option<i64>,
    /// The name written into the `.nam` (default: `ampsim <architecture> <preset>`).
    pub name: Option<String>,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig { architecture: Architecture::Lstm, preset: "standard".into(), model: None, hold_out_last_take: true, budget_seconds: 600.0, max_epochs: 1000, loss: LossConfig::default(), seed: 0, latency_samples: None, name: None }
    }
}

/// What [`Capture::prepare`] found, in order: notes, and warnings (training goes on, but the
/// user should look).
#[derive(Clone, Debug, PartialEq)]
pub enum Finding {
    Note(String),
    Warning(String),
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Note(s) => f.write_str(s),
            Finding::Warning(s) => write!(f, "warning: {s}"),
        }
    }
}

/// Takes kept out of training: the test of playing the model never heard.
struct Unheard<D> {
    data: D,
    names: Vec<String>,
}

/// The model being trained, and the data it trains and is scored on.
enum Job {
    /// A causal model on one rig at one setting: the aligned recording (validation and test
    /// blocks from it, as `split` says), the takes it never trains on, and the latency all were
    /// aligned by.
    Sequence { model: Box<dyn CausalModel>, train: SeqData, validation: SeqData, test: SeqData, unheard: Option<Unheard<SeqData>>, rec: Recording, split: Split, latency: LatencyEstimate },
    /// The post's dense network on windows of one recording (and of the takes it never hears).
    Dense { model: Mlp, train: Windows, validation: Windows, test: Windows, unheard: Option<Unheard<Windows>>, rec: Recording, split: Split, latency: LatencyEstimate },
    /// A causal model conditioned on the knobs of a captures set.
    Knobs { model: Box<dyn CausalModel>, train: SeqData, validation: SeqData, captures: LoadedCaptures },
}

/// A capture ready to train: data loaded, checked, aligned and split; the model built.
pub struct Capture {
    config: CaptureConfig,
    findings: Vec<Finding>,
    job: Job,
    /// How the LSTM or WaveNet trains (None for the dense network).
    training: Option<SeqFitConfig>,
    vs: nn::VarStore,
    device: Device,
}

impl Capture {
    /// Load, check, align and split `source`, and build the model `config` names (on the GPU
    /// when there is one). Errors say what is wrong with which file: an unreadable recording,
    /// a failed data check, an alignment that cannot be trusted, a preset that does not exist,
    /// a recording too short for the model.
    pub fn prepare(source: Source, config: CaptureConfig) -> Result<Capture> {
        prepare::prepare(source, config, Device::cuda_if_available())
    }

    /// What preparing found: warnings, the latency, the split, the training audio.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    pub fn config(&self) -> &CaptureConfig {
        &self.config
    }

    /// How the model will train: the defaults for it ([`SeqFitConfig::for_model`]) with the
    /// capture's budget, epochs, loss and seed. None for the dense network.
    pub fn training(&self) -> Option<&SeqFitConfig> {
        self.training.as_ref()
    }

    /// Change how the model trains (batch, segment, learning rate, …; an experiment's knobs).
    /// An error for the dense network, which trains by [`crate::training::FitConfig`].
    pub fn tune(&mut self, change: impl FnOnce(&mut SeqFitConfig)) -> Result<()> {
        let training = self.training.as_mut().ok_or_else(|| Error::invalid("training", "the dense network trains by the post's recipe; only the LSTM and WaveNet take training settings"))?;
        change(training);
        Ok(())
    }

    /// The recording as aligned for training (None for a captures set).
    pub fn recording(&self) -> Option<&Recording> {
        match &self.job {
            Job::Sequence { rec, .. } | Job::Dense { rec, .. } => Some(rec),
            Job::Knobs { .. } => None,
        }
    }

    /// How the aligned recording was shared out into training, validation and test blocks: the
    /// same for every architecture given the same recording (None for a captures set).
    pub fn split(&self) -> Option<&Split> {
        match &self.job {
            Job::Sequence { split, .. } | Job::Dense { split, .. } => Some(split),
            Job::Knobs { .. } => None,
        }
    }

    /// The model's name in reports: `Wavenet standard`, `Lstm nano with 3 control(s)`.
    pub fn title(&self) -> String {
        let base = match self.config.architecture {
            Architecture::GreyBox => "grey-box (LSTM, tone stack, LSTM)".to_string(),
            a => format!("{} {}", a.label(), self.config.preset),
        };
        match &self.job {
            Job::Knobs { captures, .. } => format!("{base} with {} control(s)", captures.captures.controls.len()).to_lowercase(),
            Job::Dense { .. } => "dense".into(),
            Job::Sequence { .. } => base,
        }
    }

    /// Train under `control` (its budget, checkpoint, resume, stop flag and epoch hook), then
    /// score the best weights on the held-out test data.
    pub fn fit(self, control: &RunControl) -> Result<Trained> {
        prepare::fit(self, control)
    }
}

/// Build the causal model `config` names in `vs`, reading the knobs `controls` (none: a capture
/// of one setting) of audio at `sample_rate_hz`.
pub fn build_model(vs: &nn::VarStore, config: &CaptureConfig, controls: &[ControlSpec], sample_rate_hz: u32) -> Result<Box<dyn CausalModel>> {
    if config.architecture == Architecture::GreyBox {
        return Ok(Box::new(GreyBox::new(&vs.root(), &grey_box_config(config, controls, sample_rate_hz)?)?));
    }
    let k = controls.len();
    let root = vs.root();
    if let Some(model) = &config.model {
        return build_configured(&root, model, k);
    }
    Ok(match (config.architecture, k) {
        (Architecture::Ensemble, _) => build_configured(&root, &ModelConfig::lstm_and_wavenet(&config.preset)?, k)?,
        (Architecture::WaveNet, 0) => Box::new(WaveNet::new(&root, &WaveNetConfig::preset(&config.preset)?)?),
        // FiLM as well as the input mixers: half the held-out error at the same time (docs/experiments.md).
        (Architecture::WaveNet, k) => Box::new(WaveNet::new(&root, &WaveNetConfig::preset(&config.preset)?.with_controls_film(k))?),
        (Architecture::Lstm, k) => Box::new(Lstm::new(&root, &LstmConfig { controls: k, ..LstmConfig::preset(&config.preset)? })?),
        (Architecture::Dense, _) => return Err(Error::invalid("architecture", "the dense network is not a causal model (it reads a window with future samples)")),
        (Architecture::GreyBox, _) => unreachable!("built above"),
    })
}

/// The model `model` describes at `path`, reading `controls` knobs (an ensemble's member `i`
/// under `path / i`).
fn build_configured(path: &nn::Path, model: &ModelConfig, controls: usize) -> Result<Box<dyn CausalModel>> {
    Ok(match model {
        ModelConfig::Lstm(c) => Box::new(Lstm::new(path, &LstmConfig { controls, ..c.clone() })?),
        ModelConfig::WaveNet(c) => {
            let c = if controls > 0 && c.layers[0].condition_size == 1 { c.clone().with_controls_film(controls) } else { c.clone() };
            if c.layers[0].condition_size != 1 + controls {
                return Err(Error::invalid("model", format!("the WaveNet reads {} control(s), the data has {controls}", c.layers[0].condition_size - 1)));
            }
            Box::new(WaveNet::new(path, &c)?)
        }
        ModelConfig::Ensemble(members) => {
            let built = members.iter().enumerate().map(|(i, m)| build_configured(&(path / i), m, controls)).collect::<Result<Vec<_>>>()?;
            Box::new(Ensemble::new(built)?)
        }
    })
}

/// The grey-box model for `controls`, whose treble, middle and bass turn its tone stack's pots
/// (named `treble`, `middle` or `mid`, `bass`; any other control has no place in the circuit).
fn grey_box_config(config: &CaptureConfig, controls: &[ControlSpec], sample_rate_hz: u32) -> Result<GreyBoxConfig> {
    let find = |names: &[&str]| controls.iter().position(|c| names.contains(&c.name.to_lowercase().as_str()));
    let (Some(treble), Some(middle), Some(bass)) = (find(&["treble"]), find(&["middle", "mid"]), find(&["bass"])) else {
        let named = controls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
        return Err(Error::invalid("architecture", format!("the grey-box model turns a tone stack's treble, middle and bass; the recordings have {}", if named.is_empty() { "no controls (train it on a captures set)".into() } else { named })));
    };
    if let Some(other) = controls.iter().find(|c| !["treble", "middle", "mid", "bass"].contains(&c.name.to_lowercase().as_str())) {
        return Err(Error::invalid("architecture", format!("the grey-box model turns treble, middle and bass only; `{}` has no place in its circuit (train an LSTM or a WaveNet)", other.name)));
    }
    let knobs = ampsim_engine::schema::grey_box::KnobInputs { treble, middle, bass };
    let mut c = GreyBoxConfig::new(controls.len(), knobs, sample_rate_hz as f64);
    if let Some(ModelConfig::Lstm(l)) = &config.model {
        (c.preamp, c.power_amp) = (LstmConfig { controls: 0, ..l.clone() }, LstmConfig { controls: 0, ..l.clone() });
    }
    Ok(c)
}

/// How a model played takes it never heard.
#[derive(Clone, Debug)]
pub struct UnheardScores {
    pub scores: Scores,
    /// The takes, as named when loaded.
    pub takes: Vec<String>,
    /// Scored audio, seconds.
    pub seconds: f64,
}

/// How the trained model did.
pub enum Scored {
    /// On the test blocks of the recording (takes it trained on), on the takes it never heard
    /// (when there were some), with the latency all were aligned by.
    Recording { report: Box<ModelReport>, unheard: Option<UnheardScores>, latency: LatencyEstimate, sample_rate_hz: u32 },
    /// At each held-out test setting of a captures set (`describe`, ESR).
    Settings { rows: Vec<(String, f64)>, captures: Box<LoadedCaptures>, parameters: i64 },
}

/// A trained capture: its history, scores and model, ready to write.
pub struct Trained {
    pub config: CaptureConfig,
    pub title: String,
    pub history: History,
    pub scored: Scored,
    /// The causal model (None for the dense network, which has no `.nam`).
    pub model: Option<Box<dyn CausalModel>>,
    pub vs: nn::VarStore,
    pub device: Device,
}

impl Trained {
    /// The same run under another name (in its report, tables and summary).
    pub fn named(mut self, name: &str) -> Trained {
        self.title = name.into();
        if let Scored::Recording { report, .. } = &mut self.scored {
            report.name = name.into();
        }
        self
    }

    /// One line on how it did: the best validation ESR, the test ESR on held-out blocks and on
    /// playing it never heard (or the mean over held-out settings), with the verdict.
    pub fn headline(&self) -> String {
        let h = &self.history;
        let mut s = format!("{}: best validation ESR {:.4} (epoch {} of {})", self.title, h.best_val_esr, h.best_epoch, h.epochs.len());
        if let Some(r) = self.report() {
            s.push_str(&format!("; test ESR {:.4} on held-out blocks of what it trained on", r.scores.esr));
        }
        if let Some(u) = self.unheard() {
            s.push_str(&format!(", {:.4} on {:.1} s it never heard", u.scores.esr, u.seconds));
        }
        if let Some(esr) = self.test_esr() {
            s.push_str(&format!(" → {}", crate::evaluation::compare::verdict(esr)));
        }
        s
    }

    /// The report on the test blocks of a recording (None for a captures set): what notebook
    /// 04's table, spectra and players show.
    pub fn report(&self) -> Option<&ModelReport> {
        match &self.scored {
            Scored::Recording { report, .. } => Some(report),
            Scored::Settings { .. } => None,
        }
    }

    /// How it played the takes it never heard, when there were some.
    pub fn unheard(&self) -> Option<&UnheardScores> {
        match &self.scored {
            Scored::Recording { unheard, .. } => unheard.as_ref(),
            Scored::Settings { .. } => None,
        }
    }

    /// The test ESR the verdict is given for: on the takes it never heard when there were some,
    /// else on the test blocks; or the mean over the held-out settings (None when none was held
    /// out).
    pub fn test_esr(&self) -> Option<f64> {
        match &self.scored {
            Scored::Recording { unheard: Some(u), .. } => Some(u.scores.esr),
            Scored::Recording { report, .. } => Some(report.scores.esr),
            Scored::Settings { rows, .. } if !rows.is_empty() => Some(rows.iter().map(|r| r.1).sum::<f64>() / rows.len() as f64),
            Scored::Settings { .. } => None,
        }
    }

    /// The sample rate the model was trained at.
    pub fn sample_rate_hz(&self) -> u32 {
        match &self.scored {
            Scored::Recording { sample_rate_hz, .. } => *sample_rate_hz,
            Scored::Settings { captures, .. } => captures.sample_rate_hz,
        }
    }

    /// Write the run folder `dir` (created if needed): `model.safetensors` (the best weights),
    /// `model.nam` (LSTM, WaveNet), `history.csv` and `summary.txt`, each atomically; returns
    /// the summary. A folder this call created is removed again if writing fails.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> Result<String> {
        let dir = dir.as_ref();
        let created = !dir.exists();
        let result = self.write_files(dir);
        if result.is_err() && created {
            let _ = std::fs::remove_dir_all(dir);
        }
        result
    }

    fn write_files(&self, dir: &Path) -> Result<String> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        crate::training::save_safetensors(&self.vs, dir.join("model.safetensors"))?;
        let nam_path = match &self.model {
            Some(model) => {
                let path = dir.join("model.nam");
                crate::interop::nam::write(&path, model.as_ref(), self.sample_rate_hz(), &self.nam_metadata())?;
                Some(path)
            }
            None => None,
        };
        let history_path = dir.join("history.csv");
        crate::files::write_atomic(&history_path, self.history.to_csv().as_bytes())?;
        let summary = summary::summary(self, dir, nam_path.as_deref(), &history_path);
        crate::files::write_atomic(&dir.join("summary.txt"), summary.as_bytes())?;
        Ok(summary)
    }

    fn nam_metadata(&self) -> crate::interop::nam::NamMetadata {
        let name = self.config.name.clone().or_else(|| Some(format!("ampsim {}", self.title).to_lowercase()));
        let controls = match &self.scored {
            Scored::Settings { captures, .. } => captures.captures.controls.clone(),
            Scored::Recording { .. } => Vec::new(),
        };
        let latency_samples = match &self.scored {
            Scored::Settings { captures, .. } => captures.lag_samples,
            Scored::Recording { latency, .. } => latency.lag_samples,
        };
        crate::interop::nam::NamMetadata { name, validation_esr: Some(self.history.best_val_esr), test_esr: self.test_esr(), latency_samples: Some(latency_samples), controls, ..Default::default() }
    }
}

/// One row per run: the test ESR on held-out blocks of the takes it trained on, on the takes it
/// never heard (NaN when it had none), and the verdict on each.
pub fn verdicts_table(runs: &[&Trained]) -> Result<polars::prelude::DataFrame> {
    use crate::evaluation::compare::verdict;
    let blocks: Vec<f64> = runs.iter().map(|t| t.report().map_or(f64::NAN, |r| r.scores.esr)).collect();
    let unheard: Vec<f64> = runs.iter().map(|t| t.unheard().map_or(f64::NAN, |u| u.scores.esr)).collect();
    let word = |v: &[f64]| v.iter().map(|&e| if e.is_nan() { "" } else { verdict(e) }).collect::<Vec<_>>();
    Ok(polars::df!(
        "model" => runs.iter().map(|t| t.title.clone()).collect::<Vec<_>>(),
        "test_esr_heard_takes" => blocks.clone(),
        "verdict_heard" => word(&blocks),
        "test_esr_never_heard" => unheard.clone(),
        "verdict_never_heard" => word(&unheard),
    )?)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    use super::*;
    use crate::data::captures::{synth_settings, synthesise};
    use crate::test_util::tmpdir;

    fn quick(architecture: Architecture) -> CaptureConfig {
        CaptureConfig { architecture, preset: "nano".into(), max_epochs: 1, ..CaptureConfig::default() }
    }

    #[test]
    fn a_recording_becomes_a_run_folder_whose_model_plays_as_it_trained() {
        let rec = Recording::synthetic(30.0, 3, &Default::default(), &Default::default()).unwrap();
        let capture = Capture::prepare(Source::Loaded(rec.clone()), quick(Architecture::Lstm)).unwrap();
        let said: Vec<String> = capture.findings().iter().map(ToString::to_string).collect();
        assert!(said.iter().any(|l| l.contains("amp lags the DI by")) && said.iter().any(|l| l.starts_with("split: ")), "{said:?}");
        let trained = capture.fit(&RunControl::quiet()).unwrap();
        assert_eq!(trained.history.epochs.len(), 1);
        let dir = tmpdir("capture", "recording");
        let summary = trained.write_to(&dir).unwrap();
        for file in ["model.safetensors", "model.nam", "history.csv", "summary.txt"] {
            assert!(dir.join(file).is_file(), "{file}");
        }
        let esr = trained.test_esr().unwrap();
        assert!(summary.contains(&format!("test ESR         : {esr:.4}")) && summary.contains("model            : Lstm nano"), "{summary}");
        assert_eq!(std::fs::read_to_string(dir.join("summary.txt")).unwrap(), summary);
        // The .nam plays in the real-time engine as the trained model renders in libtorch.
        let x: Vec<f32> = rec.direct[..20_000].to_vec();
        let mut engine = ampsim_engine::nam::load(dir.join("model.nam")).unwrap();
        let mut played = vec![0.0; x.len()];
        engine.process(&x, &mut played);
        let model = trained.model.as_ref().unwrap();
        let want = Vec::<f32>::try_from(tch::no_grad(|| model.process(&tch::Tensor::from_slice(&x)))).unwrap();
        let d = crate::evaluation::compare::max_abs_difference(&played, &want).unwrap();
        assert!(d < 1e-5, "engine vs libtorch {d}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_ensemble_trains_its_members_apart_and_plays_their_mean() {
        let rec = Recording::synthetic(30.0, 4, &Default::default(), &Default::default()).unwrap();
        let trained = Capture::prepare(Source::Loaded(rec.clone()), quick(Architecture::Ensemble)).unwrap().fit(&RunControl::quiet()).unwrap();
        let h = &trained.history;
        assert_eq!(h.epochs.len(), 2, "an epoch for each member");
        assert!(h.stopped_because.contains("member 1 (LSTM)") && h.stopped_because.contains("member 2 (WaveNet)"), "{}", h.stopped_because);
        assert!(h.epochs.windows(2).all(|w| w[1].elapsed_seconds >= w[0].elapsed_seconds && w[1].epoch == w[0].epoch + 1));
        // Each member keeps its best epoch; the mean of two models errs less than they do on
        // average (the squared error is convex), so the trained weights must be the ones played.
        let best = |rows: &[crate::training::Epoch]| rows.iter().filter_map(|e| e.val_esr).fold(f64::INFINITY, f64::min);
        let members_mean = (best(&h.epochs[..1]) + best(&h.epochs[1..])) / 2.0;
        assert!(h.best_val_esr <= members_mean + 1e-6, "ensemble {} vs its members' mean {members_mean}", h.best_val_esr);
        let model = trained.model.as_ref().unwrap();
        let x = tch::Tensor::from_slice(&rec.direct[..20_000]);
        let parts: Vec<tch::Tensor> = model.members().iter().map(|m| tch::no_grad(|| m.process(&x))).collect();
        let mean = (&parts[0] + &parts[1]) / 2.0;
        assert!(tch::no_grad(|| model.process(&x)).allclose(&mean, 1e-6, 1e-7, false));
        // Written and played by the engine, it renders as libtorch does.
        let dir = tmpdir("capture", "ensemble");
        trained.write_to(&dir).unwrap();
        let file = ampsim_engine::nam::NamFile::read(dir.join("model.nam")).unwrap();
        assert_eq!(file.architecture, "AmpsimEnsemble");
        let mut engine = file.renderer().unwrap();
        let input = rec.direct[..20_000].to_vec();
        let mut played = vec![0.0; input.len()];
        engine.process(&input, &mut played);
        let want = Vec::<f32>::try_from(tch::no_grad(|| model.process(&x))).unwrap();
        let d = crate::evaluation::compare::max_abs_difference(&played, &want).unwrap();
        assert!(d < 1e-5, "engine vs libtorch {d}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_captures_set_trains_one_model_of_the_knobs_scored_at_held_out_settings() {
        let dir = tmpdir("capture", "knobs");
        let (caps, _) = synthesise(&dir, &["gain"], &synth_settings(1, 3, 1, 5), &Default::default(), 4.0).unwrap();
        let manifest = dir.join("captures.toml");
        std::fs::write(&manifest, caps.manifest(&dir)).unwrap();
        let trained = Capture::prepare(Source::captures(&manifest), quick(Architecture::Lstm)).unwrap().fit(&RunControl::quiet()).unwrap();
        let Scored::Settings { rows, .. } = &trained.scored else { panic!("a captures set is scored per setting") };
        assert_eq!(rows.len(), 1, "one random test setting");
        let run = dir.join("run");
        let summary = trained.write_to(&run).unwrap();
        assert!(summary.contains("mean test ESR") && summary.contains("control          : gain") && summary.contains("--set gain=…"), "{summary}");
        let file = ampsim_engine::nam::NamFile::read(run.join("model.nam")).unwrap();
        assert_eq!(file.controls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["gain"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_last_of_several_takes_is_held_out_and_the_verdict_is_given_for_it() {
        let takes: Vec<Recording> = (0..3).map(|seed| Recording::synthetic(12.0, 10 + seed, &Default::default(), &Default::default()).unwrap()).collect();
        let unheard_name = takes[2].name.clone();
        let capture = Capture::prepare(Source::Takes { takes: takes.clone(), unheard: Vec::new() }, quick(Architecture::Lstm)).unwrap();
        let said: Vec<String> = capture.findings().iter().map(ToString::to_string).collect();
        assert!(said.iter().any(|l| l.starts_with("held out, never trained on: ") && l.contains(&unheard_name)), "{said:?}");
        let trained = capture.fit(&RunControl::quiet()).unwrap();
        let Scored::Recording { report, unheard: Some(u), latency, .. } = &trained.scored else { panic!("the last take is scored as unheard") };
        assert_eq!(u.takes.len(), 1);
        assert!(u.takes[0].starts_with(&unheard_name), "{:?}", u.takes);
        assert!((u.seconds - 12.0).abs() < 0.5, "the whole take is scored: {} s", u.seconds);
        assert_eq!(trained.test_esr(), Some(u.scores.esr), "the verdict is for the unheard take");
        assert_ne!(u.scores.esr, report.scores.esr);
        let dir = tmpdir("capture", "unheard");
        let summary = trained.write_to(&dir).unwrap();
        assert!(summary.contains(&format!("unheard ESR      : {:.4}", u.scores.esr)) && summary.contains("for playing it never heard"), "{summary}");
        let file = ampsim_engine::nam::NamFile::read(dir.join("model.nam")).unwrap();
        assert_eq!(file.trained_latency_samples(), Some(latency.lag_samples), "the latency it trained at is in the .nam");
        std::fs::remove_dir_all(dir).unwrap();
        // Told not to, it trains on every take; a given unheard take is held out instead.
        let all = Capture::prepare(Source::Takes { takes: takes.clone(), unheard: Vec::new() }, CaptureConfig { hold_out_last_take: false, ..quick(Architecture::Lstm) }).unwrap();
        assert!(all.findings().iter().all(|f| !f.to_string().starts_with("held out")));
        let given = Capture::prepare(Source::Takes { takes: takes[..2].to_vec(), unheard: vec![takes[2].clone()] }, quick(Architecture::Lstm)).unwrap();
        let said: Vec<String> = given.findings().iter().map(ToString::to_string).collect();
        assert!(said.iter().any(|l| l.starts_with("held out") && l.contains(&unheard_name)), "{said:?}");
        // The dense network is tested on a take it never heard too.
        let short = |seed| Recording::synthetic(4.0, seed, &Default::default(), &Default::default()).unwrap();
        let dense = Capture::prepare(Source::Takes { takes: vec![short(20)], unheard: vec![short(21)] }, quick(Architecture::Dense)).unwrap();
        let trained = dense.fit(&RunControl::quiet()).unwrap().named("dense (post)");
        let u = trained.unheard().expect("scored on the unheard take");
        assert!(trained.headline().starts_with("dense (post): ") && trained.headline().contains("never heard"), "{}", trained.headline());
        let table = verdicts_table(&[&trained]).unwrap();
        assert_eq!(table.column("test_esr_never_heard").unwrap().f64().unwrap().get(0), Some(u.scores.esr));
        assert!(u.seconds > 3.5 && u.scores.esr.is_finite() && trained.test_esr() == Some(u.scores.esr), "{u:?}");
    }

    #[test]
    fn every_architecture_is_split_alike_and_a_training_change_reaches_the_run() {
        let rec = Recording::synthetic(30.0, 5, &Default::default(), &Default::default()).unwrap();
        let dense = Capture::prepare(Source::Loaded(rec.clone()), quick(Architecture::Dense)).unwrap();
        let mut lstm = Capture::prepare(Source::Loaded(rec), quick(Architecture::Lstm)).unwrap();
        assert_eq!(dense.split(), lstm.split(), "the same test samples for every model");
        assert!(dense.training().is_none() && dense.recording().is_some());
        lstm.tune(|t| (t.max_epochs, t.steps_per_epoch) = (2, Some(2))).unwrap();
        assert_eq!(lstm.training().unwrap().steps_per_epoch, Some(2));
        let trained = lstm.fit(&RunControl::quiet()).unwrap();
        assert_eq!(trained.history.epochs.len(), 2, "the tuned run, not the configured one epoch");
    }

    #[test]
    fn a_run_stopped_before_its_first_epoch_has_nothing_to_write() {
        let rec = Recording::synthetic(30.0, 4, &Default::default(), &Default::default()).unwrap();
        let capture = Capture::prepare(Source::Loaded(rec), quick(Architecture::WaveNet)).unwrap();
        let stopped = RunControl { stop: Some(Arc::new(AtomicBool::new(true))), ..RunControl::quiet() };
        assert!(matches!(capture.fit(&stopped), Err(Error::Stopped)));
        let more = Source::Recording { path: "a.wav".into(), amp: None, more: vec!["b.wav".into()], unheard: Vec::new() };
        let e = Capture::prepare(more, quick(Architecture::Dense)).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("a.wav"), "the missing file is named: {e}");
    }
}
