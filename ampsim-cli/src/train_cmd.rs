//! `ampsim train`: the arguments become a capture (`ampsim_core::capture`), trained under a
//! progress bar that Ctrl-C stops; the run folder is the library's.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ampsim_core::capture::{Architecture, Capture, CaptureConfig, Finding, Source};
use ampsim_core::training::losses::LossConfig;
use ampsim_core::training::{Epoch, EpochHook, RunControl};
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
    Wavenet,
    Lstm,
    /// The post's dense network (4000-sample window with 300 future samples; no .nam).
    Mlp,
    /// With --captures: preamp LSTM → the amp's tone stack as its circuit, turned by the
    /// treble, middle and bass → power-amp LSTM (a model of the knobs from few settings).
    Greybox,
    /// An LSTM and a WaveNet of the preset, half the time each, their outputs averaged: plays
    /// takes it never heard better than either (ampsim's engine and plugin play it; NAM's do not).
    Ensemble,
}

impl ModelKind {
    fn architecture(self) -> Architecture {
        match self {
            ModelKind::Wavenet => Architecture::WaveNet,
            ModelKind::Lstm => Architecture::Lstm,
            ModelKind::Mlp => Architecture::Dense,
            ModelKind::Greybox => Architecture::GreyBox,
            ModelKind::Ensemble => Architecture::Ensemble,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LossKind {
    /// ESR + pre-emphasised ESR + DC (the default).
    EsrPre,
    /// Pre-emphasised ESR + DC.
    Pre,
    /// Plain ESR + DC.
    Esr,
    /// Mean squared error (the post's loss).
    Mse,
    /// The default plus a multi-resolution STFT term.
    EsrPreStft,
}

impl LossKind {
    fn config(self) -> LossConfig {
        let d = LossConfig::default();
        match self {
            LossKind::EsrPre => d,
            LossKind::Pre => LossConfig { esr: 0.0, ..d },
            LossKind::Esr => LossConfig { esr_pre: 0.0, ..d },
            LossKind::Mse => LossConfig { mse: 1.0, esr: 0.0, esr_pre: 0.0, dc: 0.0, ..d },
            LossKind::EsrPreStft => LossConfig { mrstft: 1.0, ..d },
        }
    }
}

pub struct TrainArgs {
    /// The recording, or with `captures` the manifest.
    pub data: PathBuf,
    /// `data` is a manifest of captures at several settings (a conditioned model).
    pub captures: bool,
    pub data_amp: Option<PathBuf>,
    /// Further stereo recordings used whole for training (sequence models).
    pub more_data: Vec<PathBuf>,
    /// Takes never trained on: the test of playing the model never heard.
    pub test_data: Vec<PathBuf>,
    /// None: the default for the source (LSTM for a recording, FiLM WaveNet for a captures set).
    pub model: Option<ModelKind>,
    pub preset: String,
    pub epochs: usize,
    pub minutes: f64,
    pub loss: LossKind,
    pub out: PathBuf,
    pub resume: bool,
    pub name: Option<String>,
    pub seed: u64,
    /// The amp's latency behind the DI in samples, when the user knows it (else estimated).
    pub latency: Option<i64>,
}

/// Fail early (before any training) when `dir` cannot hold our files.
fn prepare_out_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create the output folder", dir.display()))?;
    let probe = dir.join(format!(".ampsim-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| format!("{}: cannot write into the output folder", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn progress_bar(budget_seconds: f64) -> ProgressBar {
    let bar = ProgressBar::new(budget_seconds.ceil() as u64);
    bar.set_style(ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {msg} (ETA {eta})").unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}

/// How every model's run is driven: quiet but for a progress bar moved by each epoch, stopped
/// by Ctrl-C, its best (or, for the dense network, latest) weights in `checkpoint`.
fn run_control(budget_seconds: f64, checkpoint: &Path, resume: bool, stop: Arc<AtomicBool>) -> (RunControl, ProgressBar) {
    let bar = progress_bar(budget_seconds);
    let hook_bar = bar.clone();
    let hook = EpochHook(Arc::new(move |e: &Epoch| {
        hook_bar.set_position((e.elapsed_seconds as u64).min(hook_bar.length().unwrap_or(u64::MAX)));
        let val = e.val_esr.map(|v| format!(" val ESR {v:.4}")).unwrap_or_default();
        hook_bar.set_message(format!("epoch {} loss {:.4}{val}", e.epoch, e.loss));
    }));
    let control = RunControl { checkpoint: Some(checkpoint.to_path_buf()), resume, stop: Some(stop), on_epoch: Some(hook), verbose: false };
    (control, bar)
}

/// Train as `args` say. A run that fails leaves nothing behind: an output folder it created
/// is removed again.
pub fn run(args: TrainArgs) -> Result<()> {
    let created = !args.out.exists();
    let result = train(&args);
    if result.is_err() && created {
        let _ = std::fs::remove_dir_all(&args.out);
    }
    result
}

/// `args` as a capture: where its data comes from and how it trains.
fn capture_of(args: &TrainArgs) -> Result<(Source, CaptureConfig)> {
    let model = args.model.unwrap_or(if args.captures { ModelKind::Wavenet } else { ModelKind::Lstm });
    if model == ModelKind::Mlp {
        if args.captures {
            bail!("--captures trains an LSTM or a WaveNet conditioned on the controls; the dense network has no controls");
        }
        if !args.more_data.is_empty() {
            bail!("--more-data works for the LSTM and WaveNet; the dense network trains on --data only");
        }
        if args.resume {
            bail!("--resume works for the LSTM and WaveNet; the dense network trains from scratch");
        }
    }
    let source = if args.captures { Source::Captures(args.data.clone()) } else { Source::Recording { path: args.data.clone(), amp: args.data_amp.clone(), more: args.more_data.clone(), unheard: args.test_data.clone() } };
    let config = CaptureConfig {
        architecture: model.architecture(),
        preset: args.preset.clone(),
        model: None,
        hold_out_last_take: true,
        budget_seconds: args.minutes * 60.0,
        max_epochs: args.epochs,
        loss: args.loss.config(),
        seed: args.seed,
        latency_samples: args.latency,
        name: args.name.clone(),
    };
    Ok((source, config))
}

fn train(args: &TrainArgs) -> Result<()> {
    let (source, config) = capture_of(args)?;
    let capture = Capture::prepare(source, config)?;
    for finding in capture.findings() {
        match finding {
            Finding::Note(s) => println!("{s}"),
            Finding::Warning(_) => eprintln!("{finding}"),
        }
    }
    prepare_out_dir(&args.out)?;
    let stop = stop_on_ctrl_c();
    let (control, bar) = run_control(args.minutes * 60.0, &args.out.join("model.safetensors"), args.resume, stop);
    let trained = capture.fit(&control);
    bar.finish_and_clear();
    print!("{}", trained?.write_to(&args.out)?);
    Ok(())
}

/// A flag Ctrl-C sets: training finishes the current step, keeps the best checkpoint and
/// writes everything.
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    stop
}
