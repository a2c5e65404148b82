//! `ampsim train`: align, split, train with a progress bar, write the checkpoint, the `.nam`,
//! the history and a summary.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ampsim_core::files::write_atomic;
use ampsim_core::data::align::LatencyEstimate;
use ampsim_core::data::checks;
use ampsim_core::evaluation::compare::{verdict, ModelReport};
use ampsim_core::training::losses::LossConfig;
use ampsim_core::models::{CausalModel, Lstm, LstmConfig, Mlp, MlpConfig, WaveNet, WaveNetConfig};
use ampsim_core::interop::nam::{self, NamMetadata};
use ampsim_core::tch::{nn, Device};
use ampsim_core::training::{self, checkpoint_files, fit, fit_sequence, Epoch, EpochHook, FitConfig, RunControl, SeqData, SeqFitConfig};
use ampsim_core::data::windows::{make_xy_ranges, Split, WindowSpec};
use ampsim_core::Recording;
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
    Wavenet,
    Lstm,
    /// The post's dense network (4000-sample window with 300 future samples; no .nam).
    Mlp,
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
    pub model: ModelKind,
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
    let result = if args.captures { train_captures(&args) } else { train(&args) };
    if result.is_err() && created {
        let _ = std::fs::remove_dir_all(&args.out);
    }
    result
}

fn train(args: &TrainArgs) -> Result<()> {
    let raw = match &args.data_amp {
        Some(amp) => Recording::load_pair(&args.data, amp)?,
        None => Recording::load(&args.data)?,
    };
    if args.model == ModelKind::Mlp && !args.more_data.is_empty() {
        bail!("--more-data works for the LSTM and WaveNet; the dense network trains on --data only");
    }
    let mut extra = load_more_data(args, &raw)?;
    // Takes joined with digital silence train as the takes they are (as with --more-data).
    let mut takes = raw.takes();
    let raw = takes.remove(0);
    if !takes.is_empty() {
        if args.model == ModelKind::Mlp {
            bail!("{}: {} takes joined with digital silence; the dense network trains on one recording (give one take)", args.data.display(), takes.len() + 1);
        }
        println!("{}: {} takes separated by digital silence: the first holds validation and test, the others train whole (as --more-data)", args.data.display(), takes.len() + 1);
        extra.splice(0..0, takes);
    }
    for rec in std::iter::once(&raw).chain(&extra) {
        for warning in checks::check(rec)? {
            eprintln!("warning: {}: {warning}", rec.name);
        }
    }
    let (rec, more, latency) = align_takes(args, raw, extra)?;
    let device = Device::cuda_if_available();
    let stop = stop_on_ctrl_c();
    training::seed_everything(args.seed);
    let mut vs = nn::VarStore::new(device);
    let run = Run { args, rec: &rec, more: &more, latency: &latency };
    match args.model {
        ModelKind::Wavenet => {
            let m = WaveNet::new(&vs.root(), &WaveNetConfig::preset(&args.preset)?)?;
            train_sequence(&run, &m, &mut vs, stop, device)
        }
        ModelKind::Lstm => {
            let m = Lstm::new(&vs.root(), &LstmConfig::preset(&args.preset)?)?;
            train_sequence(&run, &m, &mut vs, stop, device)
        }
        ModelKind::Mlp => train_mlp(&run, &vs, stop, device),
    }
}

/// A flag Ctrl-C sets: training finishes the current step, keeps the best checkpoint and
/// writes everything.
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    stop
}

/// What one training run works on: the arguments, the aligned recordings and their latency.
struct Run<'a> {
    args: &'a TrainArgs,
    rec: &'a Recording,
    more: &'a [Recording],
    latency: &'a LatencyEstimate,
}

/// The `--more-data` recordings, as recorded, at the sample rate of `--data`.
fn load_more_data(args: &TrainArgs, rec: &Recording) -> Result<Vec<Recording>> {
    let mut more = Vec::with_capacity(args.more_data.len());
    for path in &args.more_data {
        let extra = Recording::load(path)?;
        if extra.sample_rate_hz != rec.sample_rate_hz {
            bail!("{}: {} Hz, but {} is {} Hz; resample it first", path.display(), extra.sample_rate_hz, args.data.display(), rec.sample_rate_hz);
        }
        more.push(extra);
    }
    Ok(more)
}

/// `--data` and the `--more-data` recordings, all shifted by one lag: `--latency` when given,
/// else the smallest of their own estimates (one rig, one latency; see
/// `Recording::aligned_together`), which refuses an unrelated amp channel or an implausible lag.
fn align_takes(args: &TrainArgs, raw: Recording, extra: Vec<Recording>) -> Result<(Recording, Vec<Recording>, LatencyEstimate)> {
    let all: Vec<Recording> = std::iter::once(raw).chain(extra).collect();
    let names: Vec<String> = all.iter().map(|r| r.name.clone()).collect();
    if let Some(lag) = args.latency {
        let aligned = all.iter().map(|r| r.aligned_by(lag)).collect::<ampsim_core::Result<Vec<_>>>()?;
        let latency = LatencyEstimate::given(lag, all[0].sample_rate_hz);
        for (name, rec) in names.iter().zip(&aligned) {
            println!("{name}: {:.1} s at {} Hz; {latency}", rec.duration_seconds(), rec.sample_rate_hz);
        }
        let mut aligned = aligned.into_iter();
        let rec = aligned.next().context("no recording")?;
        return Ok((rec, aligned.collect(), latency));
    }
    let (mut aligned, lag, mut estimates) = Recording::aligned_together(&all)?;
    for ((name, est), rec) in names.iter().zip(&estimates).zip(&aligned) {
        println!("{name}: {:.1} s at {} Hz; {est}", rec.duration_seconds(), rec.sample_rate_hz);
        if est.is_uncertain() {
            eprintln!("warning: {name}: the latency estimate is uncertain; check it with `ampsim info`, or give it with --latency");
        }
    }
    if aligned.len() > 1 {
        println!("all {} recordings shifted by {lag} samples, the smallest of their lags (one rig, one latency)", aligned.len());
    }
    let rec = aligned.remove(0);
    let mut latency = estimates.remove(0);
    latency.lag_samples = lag;
    Ok((rec, aligned, latency))
}

fn train_sequence(run: &Run<'_>, model: &dyn CausalModel, vs: &mut nn::VarStore, stop: Arc<AtomicBool>, device: Device) -> Result<()> {
    let (args, rec, more) = (run.args, run.rec, run.more);
    checks::long_enough(rec, model.warm_up_samples(), &format!("{:?} {}", args.model, args.preset))?;
    prepare_out_dir(&args.out)?;
    let split = Split::standard_with_signal(&rec.amp, rec.sample_rate_hz)?;
    println!("split: {}", split.describe(rec.sample_rate_hz));
    let [mut train_d, val_d, test_d] = SeqData::from_split(&rec.direct, &rec.amp, &split, model.warm_up_samples(), device)?;
    for extra in more {
        train_d.push_take(&extra.direct, &extra.amp)?;
    }
    println!("training audio: {:.2} s", train_d.len() as f64 / rec.sample_rate_hz as f64);
    let checkpoint = args.out.join("model.safetensors");
    let budget = args.minutes * 60.0;
    let (control, bar) = run_control(budget, &checkpoint, args.resume, stop);
    let cfg = SeqFitConfig { max_epochs: args.epochs, max_seconds: Some(budget), loss: args.loss.config(), seed: args.seed, ..SeqFitConfig::for_model(model) };
    let history = fit_sequence(model, vs, &train_d, &val_d, &cfg, &control)?;
    bar.finish_and_clear();
    if history.epochs.is_empty() {
        bail!("stopped before the first epoch finished; nothing was written");
    }
    let report = ModelReport::for_sequence(&format!("{:?} {}", args.model, args.preset), model, vs, &history, &test_d, rec.sample_rate_hz)?;
    let meta = NamMetadata { name: args.name.clone().or_else(|| Some(format!("ampsim {:?} {}", args.model, args.preset).to_lowercase())), validation_esr: Some(history.best_val_esr), ..Default::default() };
    let nam_path = args.out.join("model.nam");
    nam::write(&nam_path, model, rec.sample_rate_hz, &meta)?;
    write_outputs(run, &history.to_csv(), &report, &history.stopped_because, Some(&nam_path), history.best_val_esr, &checkpoint_files(&checkpoint))
}

fn train_mlp(run: &Run<'_>, vs: &nn::VarStore, stop: Arc<AtomicBool>, device: Device) -> Result<()> {
    let (args, rec) = (run.args, run.rec);
    if args.resume {
        bail!("--resume works for the LSTM and WaveNet; the dense network trains from scratch");
    }
    let spec = WindowSpec::default();
    let usable = rec.len_samples().checked_sub(spec.future_samples + 1).filter(|&n| n > spec.window_samples * 2).with_context(|| format!("{}: too short for the dense network's {}-sample window", args.data.display(), spec.window_samples))?;
    checks::long_enough(rec, spec.window_samples, "dense network")?;
    prepare_out_dir(&args.out)?;
    let split = Split::standard_with_signal(&rec.amp[..usable], rec.sample_rate_hz)?;
    println!("split: {}", split.describe(rec.sample_rate_hz));
    let model = Mlp::new(&vs.root(), &MlpConfig::default())?;
    let w = |r: &[std::ops::Range<usize>]| make_xy_ranges(&rec.direct, &rec.amp, r, spec, device);
    let (train_w, val_w, test_w) = (w(&split.train)?, w(&split.validation)?, w(&split.test)?);
    let checkpoint = args.out.join("model.safetensors");
    let (control, bar) = run_control(args.minutes * 60.0, &checkpoint, false, stop);
    let cfg = FitConfig { epochs: args.epochs, max_seconds: Some(args.minutes * 60.0), seed: args.seed, ..FitConfig::default() };
    let history = fit(&model, vs, &train_w, Some(&val_w), &cfg, &control)?;
    bar.finish_and_clear();
    if history.epochs.is_empty() {
        bail!("stopped before the first epoch finished; nothing was written");
    }
    let report = ModelReport::for_windows("dense", &model, vs, &history, &test_w, rec.sample_rate_hz)?;
    write_outputs(run, &history.to_csv(), &report, &history.stopped_because, None, history.best_val_esr, &[checkpoint])
}

fn write_outputs(run: &Run<'_>, csv: &str, report: &ModelReport, stopped: &str, nam: Option<&Path>, best_val_esr: f64, checkpoints: &[PathBuf]) -> Result<()> {
    let args = run.args;
    let history_path = args.out.join("history.csv");
    write_atomic(&history_path, csv.as_bytes())?;
    let mut summary = String::new();
    summary.push_str(&format!("model            : {}\n", report.name));
    summary.push_str(&format!("parameters       : {}\n", report.parameters));
    summary.push_str(&format!("training         : {:.0} s, {} epochs ({stopped})\n", report.train_seconds, report.epochs));
    summary.push_str(&format!("validation ESR   : {best_val_esr:.4} (best)\n"));
    summary.push_str(&format!("test ESR         : {:.4} (pre-emphasised {:.4}, spectral distance {:.2} dB)\n", report.scores.esr, report.scores.esr_pre_emphasised, report.scores.spectral_distance_db));
    summary.push_str(&format!("verdict          : {} (NAM's scale for the test ESR: < 0.01 great, < 0.035 not bad, < 0.1 might sound OK, < 0.3 probably won't sound great, else something went wrong)\n", verdict(report.scores.esr)));
    summary.push_str(&format!("alignment        : {}\n", run.latency));
    if run.latency.is_uncertain() {
        summary.push_str("                   the alignment was uncertain: a poor test ESR may come from it; check with `ampsim info`, or give --latency\n");
    }
    summary.push_str(&format!("real-time factor : {:.1}x on one CPU thread\n", report.real_time_factor));
    let mut files: Vec<&Path> = checkpoints.iter().map(PathBuf::as_path).filter(|p| p.exists()).collect();
    files.extend(nam);
    files.push(&history_path);
    summary.push_str(&format!("files            : {}\n", files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")));
    write_atomic(&args.out.join("summary.txt"), summary.as_bytes())?;
    print!("{summary}");
    Ok(())
}

/// `train --captures`: one model conditioned on the controls of a manifest's recordings,
/// validated on a held-out setting and scored on each held-out test setting.
fn train_captures(args: &TrainArgs) -> Result<()> {
    use ampsim_core::data::captures::{Captures, LoadedCaptures, Role};
    if args.model == ModelKind::Mlp {
        bail!("--captures trains an LSTM or a WaveNet conditioned on the controls; the dense network has no controls");
    }
    let manifest = Captures::read(&args.data)?;
    let k = manifest.controls.len();
    let names: Vec<String> = manifest.controls.iter().map(|c| c.name.clone()).collect();
    println!("{}: {} recordings, {k} control(s): {}", args.data.display(), manifest.captures.len(), names.join(", "));
    let (caps, warnings) = LoadedCaptures::load(manifest, args.latency)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let c = &caps.captures;
    let describe = |role: Role| c.settings(role).iter().map(|v| format!("[{}]", c.describe(v))).collect::<Vec<_>>().join(" ");
    println!("aligned: {}", caps.describe_alignment());
    println!("training: {} settings, {:.1} s; validation {}; test {}", c.settings(Role::Train).len(), caps.seconds(Role::Train), describe(Role::Validation), if c.settings(Role::Test).is_empty() { "none held out".into() } else { describe(Role::Test) });
    let device = Device::cuda_if_available();
    let stop = stop_on_ctrl_c();
    training::seed_everything(args.seed);
    let mut vs = nn::VarStore::new(device);
    let model: Box<dyn CausalModel> = match args.model {
        // FiLM as well as the input mixers: half the held-out error at the same time (docs/experiments.md).
        ModelKind::Wavenet => Box::new(WaveNet::new(&vs.root(), &WaveNetConfig::preset(&args.preset)?.with_controls_film(k))?),
        _ => Box::new(Lstm::new(&vs.root(), &LstmConfig { controls: k, ..LstmConfig::preset(&args.preset)? })?),
    };
    let (train_d, val_d) = (SeqData::from_captures(&caps, Role::Train, device)?, SeqData::from_captures(&caps, Role::Validation, device)?);
    prepare_out_dir(&args.out)?;
    let checkpoint = args.out.join("model.safetensors");
    let budget = args.minutes * 60.0;
    let (control, bar) = run_control(budget, &checkpoint, args.resume, stop);
    let cfg = SeqFitConfig { max_epochs: args.epochs, max_seconds: Some(budget), loss: args.loss.config(), seed: args.seed, ..SeqFitConfig::for_model(&model) };
    let history = fit_sequence(&model, &mut vs, &train_d, &val_d, &cfg, &control)?;
    bar.finish_and_clear();
    if history.epochs.is_empty() {
        bail!("stopped before the first epoch finished; nothing was written");
    }
    let mut rows = Vec::new();
    for values in c.settings(Role::Test) {
        rows.push((c.describe(&values), training::validation_esr(&model, &SeqData::at_setting(&caps, &values, device)?)?));
    }
    let title = format!("{:?} {} with {k} control(s)", args.model, args.preset).to_lowercase();
    let meta = NamMetadata { name: args.name.clone().or_else(|| Some(format!("ampsim {title}"))), validation_esr: Some(history.best_val_esr), controls: c.controls.clone(), ..Default::default() };
    let nam_path = args.out.join("model.nam");
    nam::write(&nam_path, &model, caps.sample_rate_hz, &meta)?;
    let history_path = args.out.join("history.csv");
    write_atomic(&history_path, history.to_csv().as_bytes())?;
    let mut summary = String::new();
    summary.push_str(&format!("model            : {title} ({} parameters)\n", ampsim_core::models::parameter_count(&vs)));
    for s in &c.controls {
        summary.push_str(&format!("control          : {} (reads {}..{} as 0..1; trained on {}..{})\n", s.name, s.min, s.max, s.trained_min, s.trained_max));
    }
    summary.push_str(&format!("training         : {:.0} s, {} epochs ({}); {} settings, {:.1} s of audio\n", history.seconds(), history.epochs.len(), history.stopped_because, c.settings(Role::Train).len(), caps.seconds(Role::Train)));
    summary.push_str(&format!("validation ESR   : {:.4} (best; held-out setting {})\n", history.best_val_esr, describe(Role::Validation)));
    for (setting, esr) in &rows {
        summary.push_str(&format!("test ESR         : {esr:.4} at {setting} (held out; {})\n", verdict(*esr)));
    }
    if rows.is_empty() {
        summary.push_str("test ESR         : no test setting held out (name some under `test` in the manifest)\n");
    } else {
        let mean = rows.iter().map(|r| r.1).sum::<f64>() / rows.len() as f64;
        summary.push_str(&format!("mean test ESR    : {mean:.4} over {} held-out settings ({})\n", rows.len(), verdict(mean)));
    }
    summary.push_str(&format!("alignment        : {}\n", caps.describe_alignment()));
    let mut files: Vec<PathBuf> = checkpoint_files(&checkpoint).into_iter().filter(|p| p.exists()).collect();
    files.extend([nam_path, history_path]);
    summary.push_str(&format!("files            : {}\n", files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")));
    summary.push_str(&format!("play it          : ampsim process --model {} {} IN.wav OUT.wav\n", args.out.join("model.nam").display(), names.iter().map(|n| format!("--set {n}=…")).collect::<Vec<_>>().join(" ")));
    write_atomic(&args.out.join("summary.txt"), summary.as_bytes())?;
    print!("{summary}");
    Ok(())
}
