//! `ampsim`: the command line of ampsim for batch work.

mod model_file;
mod train_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use ampsim_core::data::amp::AmpConfig;
use ampsim_core::data::audio::read_wav;
use ampsim_core::data::recording::{ChannelStats, Recording, DEFAULT_SECONDS, DEFAULT_SEED};
use ampsim_core::data::synth::GuitarConfig;
use ampsim_core::interop::nam::NamMetadata;
use ampsim_core::models::CausalModel;
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

/// Which renderer `ampsim process` plays a model with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Engine {
    /// ampsim's real-time engine (pure Rust).
    Native,
    /// libtorch.
    Torch,
}

impl Engine {
    fn describe(self) -> &'static str {
        match self {
            Engine::Native => "real-time engine",
            Engine::Torch => "libtorch",
        }
    }
}

#[derive(Parser)]
#[command(name = "ampsim", version, about = "Learn the sound of a guitar amplifier from a recording.")]
#[command(after_help = "Examples:\n  \
    ampsim synth --out data/GuitarTraining.wav\n  \
    ampsim synth --out crunchy.wav --seconds 20 --seed 7 --gain 0.8\n  \
    ampsim info data/GuitarTraining.wav\n  \
    ampsim info di.wav --amp amp.wav\n  \
    ampsim train --data data/GuitarTraining.wav --model wavenet --preset standard --out runs/crunch\n  \
    ampsim train --data di.wav --data-amp amp.wav --model lstm --minutes 5 --out runs/lstm\n  \
    ampsim train --data data/GuitarTraining.wav --out runs/crunch --resume\n  \
    ampsim train --captures knobs/captures.toml --model lstm --out runs/knobs\n  \
    ampsim process --model runs/knobs/model.nam --set treble=7.5 --set bass=2 di.wav out.wav\n  \
    ampsim synth --reamp --out reamp_di.wav\n  \
    ampsim train --data my_reamp.wav --latency 128 --out runs/mine\n  \
    ampsim process --model runs/crunch/model.nam song_di.wav song_amp.wav\n  \
    ampsim export --model runs/crunch/model.safetensors --nam crunch.nam --name \"My crunch\"\n  \
    ampsim compare real_amp.wav song_amp.wav --png compare.png")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Synthesise a paired recording: a scripted guitar DI (left) through the reference amp (right).
    Synth {
        /// Output stereo WAV (44.1 kHz, 16-bit; written atomically).
        #[arg(long)]
        out: PathBuf,
        /// Length in seconds.
        #[arg(long, default_value_t = DEFAULT_SECONDS)]
        seconds: f64,
        /// Seed of the performance and the noise floor: same seed, same bytes.
        #[arg(long, default_value_t = DEFAULT_SEED)]
        seed: u64,
        /// Preamp gain, 0..=1.
        #[arg(long, default_value_t = AmpConfig::default().gain)]
        gain: f64,
        /// Tone stack bass, 0..=1.
        #[arg(long, default_value_t = AmpConfig::default().bass)]
        bass: f64,
        /// Tone stack middle, 0..=1.
        #[arg(long, default_value_t = AmpConfig::default().middle)]
        middle: f64,
        /// Tone stack treble, 0..=1.
        #[arg(long, default_value_t = AmpConfig::default().treble)]
        treble: f64,
        /// Power-amp drive, 0..=1.
        #[arg(long, default_value_t = AmpConfig::default().master)]
        master: f64,
        /// Power-supply sag, 0..=1.
        #[arg(long, default_value_t = AmpConfig::default().sag)]
        sag: f64,
        /// Amp-channel latency in samples.
        #[arg(long, default_value_t = AmpConfig::default().latency_samples)]
        latency_samples: usize,
        /// Write a mono DI file for re-amping instead: calibration clicks, then the guitar (the
        /// synthesised one, or --di). Play it through your amp, record the amp beside it, and
        /// `train` aligns the recording to the sample by the clicks.
        #[arg(long)]
        reamp: bool,
        /// With --reamp: your own DI recording (first channel) instead of the synthesised guitar.
        #[arg(long, requires = "reamp")]
        di: Option<PathBuf>,
        /// Record the amp at many settings instead, for a model of its knobs: these controls
        /// (comma-separated: gain, bass, middle, treble, master, sag) over a grid, into the
        /// folder --out, with a manifest `captures.toml` for `train --captures`.
        #[arg(long, value_delimiter = ',', conflicts_with = "reamp")]
        knobs: Vec<String>,
        /// With --knobs: values per control from 0 to 1 (3: 0, 0.5, 1); each setting plays its
        /// own part of the built-in guitar.
        #[arg(long, default_value_t = 3, requires = "knobs")]
        grid: usize,
        /// With --knobs: settings drawn at random (seeded; a Latin hypercube, so each control's
        /// range is covered), played with a guitar part no training setting plays, held out
        /// for testing.
        #[arg(long, default_value_t = 0, requires = "knobs")]
        random: usize,
    },
    /// Train a model on a paired recording: aligns it, holds out validation and test blocks,
    /// trains with a progress bar (Ctrl-C stops and keeps the best checkpoint), writes
    /// model.safetensors, model.nam (LSTM, WaveNet), history.csv and summary.txt to --out.
    Train {
        /// Stereo WAV (left direct, right amp), or the DI file when --data-amp is given.
        #[arg(long, required_unless_present = "captures")]
        data: Option<PathBuf>,
        /// Instead of --data: a manifest (TOML) of recordings of one rig at several settings of
        /// its controls, for one model conditioned on them (LSTM, WaveNet); whole settings held
        /// out as it says (see docs/conditioned-models.md).
        #[arg(long, conflicts_with_all = ["data", "data_amp", "more_data", "test_data"])]
        captures: Option<PathBuf>,
        /// The amp recording as a separate mono file (same sample rate and length).
        #[arg(long)]
        data_amp: Option<PathBuf>,
        /// More stereo recordings through the same amp and settings (left direct, right amp),
        /// used whole for training; validation and test blocks stay on --data (LSTM, WaveNet).
        /// Repeat for several files. More training audio lowers the test ESR most. With
        /// several takes and no --test-data, the last one is held out as the test of playing
        /// the model never heard (the verdict is given for it).
        #[arg(long = "more-data", value_name = "FILE")]
        more_data: Vec<PathBuf>,
        /// Takes of the same rig and setting never trained on: the test of playing the model
        /// never heard, which the verdict is given for (LSTM, WaveNet). Repeat for several.
        #[arg(long = "test-data", value_name = "FILE")]
        test_data: Vec<PathBuf>,
        /// The model (default: lstm for a recording, which plays takes it never heard best —
        /// docs/experiments.md; wavenet, with FiLM, for --captures).
        #[arg(long, value_enum)]
        model: Option<train_cmd::ModelKind>,
        /// NAM preset: standard, lite, feather, nano (LSTM and WaveNet A1); a2, a2-nano (WaveNet A2: 8 and 3 channels).
        #[arg(long, default_value = "standard")]
        preset: String,
        /// Upper bound on epochs.
        #[arg(long, default_value_t = 1000)]
        epochs: usize,
        /// Training time budget in minutes.
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
        #[arg(long, value_enum, default_value_t = train_cmd::LossKind::EsrPre)]
        loss: train_cmd::LossKind,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Continue the run saved in --out (latest weights, epoch, learning rate, history).
        #[arg(long)]
        resume: bool,
        /// Name written into the .nam metadata.
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The amp's latency behind the DI in samples, if you know it (e.g. your interface's
        /// measured round trip when re-amping); otherwise it is measured (calibration clicks)
        /// or estimated from the playing, and an uncertain or implausible estimate is refused.
        #[arg(long, allow_negative_numbers = true)]
        latency: Option<i64>,
    },
    /// Render a DI file through a model (.nam, or a checkpoint beside its .nam) in blocks,
    /// carrying the model's state across blocks; writes a 32-bit float WAV.
    Process {
        #[arg(long)]
        model: PathBuf,
        /// DI input WAV (first channel), at the model's sample rate.
        input: PathBuf,
        /// Output WAV (written atomically).
        output: PathBuf,
        /// Samples per block.
        #[arg(long, default_value_t = 4096)]
        block_samples: usize,
        /// For a SlimmableContainer (NAM's A2 files): the plugin's Slim value, 0 to 1; the smallest
        /// submodel whose max_value reaches it plays. Default: the full-size submodel.
        #[arg(long)]
        slim: Option<f64>,
        /// `native`: ampsim's real-time engine (pure Rust, what a plugin runs); `torch`: the
        /// model in libtorch, as it trains (for comparison).
        #[arg(long, value_enum, default_value_t = Engine::Native)]
        engine: Engine,
        /// A conditioned model's control at its value, in the units it was trained with (e.g.
        /// `--set treble=7.5`); repeat for each control the model reads.
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = model_file::parse_setting)]
        set: Vec<(String, f64)>,
        /// Accept control values outside the range the model was trained on (it extrapolates;
        /// a warning says so).
        #[arg(long)]
        extrapolate: bool,
    },
    /// Write a model (checkpoint beside its .nam, or any LSTM/WaveNet .nam, legacy ones too)
    /// as a current-layout .nam with your metadata. Several --model (e.g. an a2-nano and an a2
    /// run of the same amp) go into one SlimmableContainer, smallest first, for NAM's Slim knob.
    Export {
        #[arg(long, required = true)]
        model: Vec<PathBuf>,
        /// The .nam file to write.
        #[arg(long)]
        nam: PathBuf,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        modeled_by: Option<String>,
        /// amp, pedal, pedal_amp, amp_cab, amp_pedal_cab, preamp, studio.
        #[arg(long)]
        gear_type: Option<String>,
        /// clean, overdrive, crunch, hi_gain, fuzz.
        #[arg(long)]
        tone_type: Option<String>,
    },
    /// Compare a model's output with the real amp: ESR (with NAM's verdict), pre-emphasised ESR,
    /// spectral distance — at the lag that fits best within 3 samples of the model's latency
    /// (from --model or --latency; else estimated), and it says which.
    Compare {
        /// The real amp: a stereo recording (left the DI the model played, right the amp), or
        /// the amp alone (mono, recorded with that DI).
        reference: PathBuf,
        /// The model's output (first channel).
        output: PathBuf,
        /// The model that made the output: the latency it was trained at is in its metadata.
        #[arg(long)]
        model: Option<PathBuf>,
        /// The samples the amp lags the DI by, when known (instead of --model's or an estimate).
        #[arg(long, conflicts_with = "model")]
        latency: Option<i64>,
        /// Also write spectrograms of both side by side (PNG, atomically).
        #[arg(long)]
        png: Option<PathBuf>,
    },
    /// Make a model its own plugin for a DAW: an LV2 bundle `<name>.lv2/` and a `<name>.clap`
    /// file, each carrying the model, with its controls as the plugin's parameters (beside
    /// input gain, output level and on/off). With --loader: the plugin that plays any .nam the
    /// host gives it (`ampsim.lv2/`, `ampsim.clap`).
    Plugin {
        /// The model (.nam).
        #[arg(long, required_unless_present = "loader", conflicts_with = "loader")]
        model: Option<PathBuf>,
        /// The name the host lists (also gives the file names and the plugin's identity).
        #[arg(long, required_unless_present = "loader")]
        name: Option<String>,
        /// Write the loader instead of a model's own plugin.
        #[arg(long)]
        loader: bool,
        /// Write into OUT/lv2/ and OUT/clap/ (copy their contents to ~/.lv2/ and ~/.clap/).
        #[arg(long, required_unless_present = "install", conflicts_with = "install")]
        out: Option<PathBuf>,
        /// Write straight into your plugin folders, ~/.lv2/ and ~/.clap/.
        #[arg(long)]
        install: bool,
    },
    /// Describe a recording: format, duration, peak/RMS per channel, the data checks, and the
    /// latency with its confidence.
    Info {
        /// A stereo WAV (left direct, right amp), or the DI file when --amp is given.
        file: PathBuf,
        /// The amp recording as a separate mono file.
        #[arg(long)]
        amp: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Synth { out, seconds, seed, reamp: true, di, .. } => reamp_file(&out, seconds, seed, di.as_deref())?,
        Command::Synth { out, seconds, seed, gain, bass, middle, treble, master, sag, latency_samples, knobs, grid, random, .. } => {
            let amp = AmpConfig { gain, bass, middle, treble, master, sag, latency_samples, seed, ..AmpConfig::default() };
            if knobs.is_empty() {
                synth_recording(&out, seconds, seed, amp)?
            } else {
                synth_settings_set(&out, seconds, seed, amp, &knobs, grid, random)?
            }
        }
        Command::Info { file, amp } => info(&file, amp.as_deref())?,
        Command::Train { data, captures, data_amp, more_data, test_data, model, preset, epochs, minutes, loss, out, resume, name, seed, latency } => {
            if !(minutes > 0.0) || epochs == 0 {
                anyhow::bail!("--minutes and --epochs must be positive");
            }
            let data = match (data, &captures) {
                (Some(d), _) => d,
                (None, Some(c)) => c.clone(),
                (None, None) => bail!("give --data or --captures"),
            };
            train_cmd::run(train_cmd::TrainArgs { data, captures: captures.is_some(), data_amp, more_data, test_data, model, preset, epochs, minutes, loss, out, resume, name, seed, latency })?;
        }
        Command::Process { model, input, output, block_samples, slim, engine, set, extrapolate } => process(&model, &input, &output, block_samples, slim, engine, &set, extrapolate)?,
        Command::Export { model, nam, name, modeled_by, gear_type, tone_type } => export(&model, &nam, NamMetadata { name, modeled_by, gear_type, tone_type, ..NamMetadata::default() })?,
        Command::Compare { reference, output, model, latency, png } => compare(&reference, &output, model.as_deref(), latency, png.as_deref())?,
        Command::Plugin { model, name, loader, out, install: _ } => plugin(model, name, loader, out)?,
    }
    Ok(())
}

/// `synth --knobs`: the built-in amp recorded at a grid of settings (and random test ones), with
/// their manifest; nothing left behind on failure.
fn synth_settings_set(out: &Path, seconds: f64, seed: u64, amp: AmpConfig, knobs: &[String], grid: usize, random: usize) -> Result<()> {
    use ampsim_core::data::captures::{synth_settings, synthesise, Role};
    let t = Instant::now();
    if grid == 0 || !(seconds > 0.0) {
        bail!("--grid and --seconds must be positive");
    }
    let names: Vec<&str> = knobs.iter().map(|k| k.trim()).collect();
    let settings = synth_settings(names.len(), grid, random, seed);
    if settings.len() > 400 {
        bail!("{} settings: choose fewer --knobs or a smaller --grid", settings.len());
    }
    let created = !out.exists();
    let result = synthesise(out, &names, &settings, &amp, seconds).and_then(|(caps, _)| {
        ampsim_core::files::write_atomic(&out.join("captures.toml"), caps.manifest(out).as_bytes())?;
        Ok(caps)
    });
    let caps = match result {
        Ok(c) => c,
        Err(e) => {
            if created {
                let _ = std::fs::remove_dir_all(out);
            }
            return Err(e.into());
        }
    };
    println!(
        "wrote {} recordings of {seconds} s into {} ({} training settings, validation at [{}], {} test settings) and {} in {:.1} s",
        caps.captures.len(),
        out.display(),
        caps.settings(Role::Train).len(),
        caps.settings(Role::Validation).iter().map(|v| caps.describe(v)).collect::<Vec<_>>().join("] ["),
        caps.settings(Role::Test).len(),
        out.join("captures.toml").display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `synth`: the built-in recording.
fn synth_recording(out: &Path, seconds: f64, seed: u64, amp: AmpConfig) -> Result<()> {
    let t = Instant::now();
    let rec = Recording::synthetic(seconds, seed, &GuitarConfig::default(), &amp)?;
    create_parent(out)?;
    rec.save(out)?;
    println!(
        "wrote {}: {} frames ({:.1} s) at {} Hz, seed {seed}, in {:.1} s",
        out.display(),
        rec.len_samples(),
        rec.duration_seconds(),
        rec.sample_rate_hz,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `info`: format, levels, the data checks and the latency of a recording.
fn info(file: &Path, amp: Option<&Path>) -> Result<()> {
    let wav = read_wav(file)?;
    println!("file        : {}", file.display());
    println!("format      : {}, {} channel(s), {} Hz", wav.format_name(), wav.channels.len(), wav.sample_rate_hz);
    println!("duration    : {:.3} s ({} frames)", wav.duration_seconds(), wav.len_frames());
    let rec = match amp {
        Some(a) => Some(Recording::load_pair(file, a)?),
        None if wav.channels.len() == 2 => Some(Recording::load(file)?),
        None => None,
    };
    let names: Vec<String> = match (amp, wav.channels.len()) {
        (None, 2) => vec!["left (direct)".into(), "right (amp)".into()],
        _ => (0..wav.channels.len()).map(|c| format!("channel {c}")).collect(),
    };
    for (name, ch) in names.iter().zip(&wav.channels) {
        let s = ChannelStats::of(ch);
        println!("{name:<12}: peak {:6.1} dBFS, RMS {:6.1} dBFS", s.peak_dbfs, s.rms_dbfs);
    }
    if let Some(a) = amp {
        let s = ChannelStats::of(&read_wav(a)?.channels[0]);
        println!("amp ({})  : peak {:6.1} dBFS, RMS {:6.1} dBFS", a.display(), s.peak_dbfs, s.rms_dbfs);
    }
    match rec {
        Some(rec) => describe_pair(&rec),
        None => println!("latency     : needs a direct and an amp channel (stereo file or --amp)"),
    }
    Ok(())
}

/// `process`: a DI file through a model, by the real-time engine or libtorch.
#[allow(clippy::too_many_arguments)]
fn process(model: &Path, input: &Path, output: &Path, block_samples: usize, slim: Option<f64>, engine: Engine, set: &[(String, f64)], extrapolate: bool) -> Result<()> {
    if block_samples == 0 {
        bail!("--block-samples must be positive");
    }
    let (report, weights) = match engine {
        Engine::Native => {
            let mut playing = model_file::load_engine(model, slim)?;
            let values = model_file::setting(model, &playing.controls, set, extrapolate)?;
            if !values.is_empty() {
                playing.renderer.set_controls(&values);
            }
            (ampsim_core::interop::render::play_file(playing.renderer.as_mut(), playing.sample_rate_hz, input, output, block_samples)?, playing.weight_count)
        }
        Engine::Torch => {
            let loaded = model_file::load(model, ampsim_core::tch::Device::Cpu, slim)?;
            let values = model_file::setting(model, &loaded.file.controls, set, extrapolate)?;
            (ampsim_core::interop::render::render_file(&loaded.model, loaded.sample_rate_hz, input, output, block_samples, &values, ampsim_core::tch::Device::Cpu)?, loaded.file.weight_count())
        }
    };
    println!(
        "wrote {}: {:.1} s at {} Hz through {} ({} weights) in {:.2} s: {:.1}x real time ({}, blocks of {block_samples})",
        output.display(),
        report.samples as f64 / report.sample_rate_hz as f64,
        report.sample_rate_hz,
        model.display(),
        weights,
        report.seconds,
        report.real_time_factor,
        engine.describe()
    );
    Ok(())
}

/// `plugin`: a model as its own plugin, or the loader.
fn plugin(model: Option<PathBuf>, name: Option<String>, loader: bool, out: Option<PathBuf>) -> Result<()> {
    let to = match out {
        Some(dir) => ampsim_plugin::bundle::Destination::under(&dir),
        None => ampsim_plugin::bundle::Destination::user()?,
    };
    match (model, name) {
        (Some(model), Some(name)) if !loader => make_plugin(&model, &name, &to)?,
        _ => {
            let library = ampsim_plugin::bundle::find_library()?;
            let w = ampsim_plugin::bundle::write_loader(&library, &to)?;
            println!("wrote {} (LV2, urn:ampsim:loader) and {} (CLAP, org.ampsim.loader): plays any .nam its host gives it (plugin library {})", w.lv2_bundle.display(), w.clap_file.display(), library.display());
        }
    }
    Ok(())
}

/// `plugin`: the model as its own LV2 and CLAP plugin.
fn make_plugin(model: &Path, name: &str, to: &ampsim_plugin::bundle::Destination) -> Result<()> {
    if model.extension().and_then(|e| e.to_str()) != Some("nam") {
        bail!("{}: give a .nam file (`ampsim export` writes one from a checkpoint)", model.display());
    }
    if name.trim().is_empty() {
        bail!("--name: give the name the host should list");
    }
    let library = ampsim_plugin::bundle::find_library()?;
    let w = ampsim_plugin::bundle::write_model_plugin(&library, model, name, to)?;
    let knobs: Vec<String> = w.header.params.iter().skip(3).map(|p| format!("{} {}..{}", p.name, p.min, p.max)).collect();
    println!(
        "wrote {} (LV2, {}) and {} (CLAP, org.ampsim.{}): \"{}\" at {} Hz, parameters input gain, output level, enabled{} (plugin library {})",
        w.lv2_bundle.display(),
        ampsim_plugin::lv2::ttl::uri(&w.header.slug),
        w.clap_file.display(),
        w.header.slug,
        w.header.name,
        w.header.sample_rate_hz,
        if knobs.is_empty() { String::new() } else { format!(", {}", knobs.join(", ")) },
        library.display()
    );
    Ok(())
}

/// `export`: one model as a .nam, or several as one SlimmableContainer (all at one sample rate).
fn export(models: &[PathBuf], nam: &Path, mut meta: NamMetadata) -> Result<()> {
    use ampsim_core::interop::nam::{self, NAM_VERSION, SLIMMABLE_CONTAINER};
    let loaded = models.iter().map(|m| model_file::load(m, ampsim_core::tch::Device::Cpu, None)).collect::<Result<Vec<_>>>()?;
    let rate = loaded[0].sample_rate_hz;
    if let Some((path, other)) = models.iter().zip(&loaded).find(|(_, l)| l.sample_rate_hz != rate) {
        bail!("{}: {} Hz, but {} is {rate} Hz; a container holds one sample rate", path.display(), other.sample_rate_hz, models[0].display());
    }
    let esr = |l: &model_file::LoadedModel| l.file.metadata.pointer("/training/validation_esr").and_then(|v| v.as_f64());
    if let [one] = &loaded[..] {
        meta.validation_esr = esr(one);
        meta.controls = one.file.controls.clone();
        nam::write(nam, &*one.model, rate, &meta)?;
        println!("wrote {} ({} {NAM_VERSION}, {} weights, {rate} Hz)", nam.display(), one.model.nam_architecture(), one.file.weight_count());
        return Ok(());
    }
    let named = |l: &model_file::LoadedModel| ampsim_engine::controls::describe_controls(&l.file.controls);
    if let Some((path, other)) = models.iter().zip(&loaded).find(|(_, l)| named(l) != named(&loaded[0])) {
        bail!("{}: {}, but {} has {}; every size of a container reads the same controls", path.display(), named(other), models[0].display(), named(&loaded[0]));
    }
    meta.controls = loaded[0].file.controls.clone();
    let all: Vec<&dyn CausalModel> = loaded.iter().map(|l| &*l.model).collect();
    nam::write_container(nam, &all, rate, &meta)?;
    let mut counts: Vec<usize> = loaded.iter().map(|l| l.file.weight_count()).collect();
    counts.sort_unstable();
    let sizes: Vec<String> = counts.iter().map(usize::to_string).collect();
    println!("wrote {} ({SLIMMABLE_CONTAINER} {NAM_VERSION}: {} models of {} weights, {rate} Hz; `process --slim` picks one)", nam.display(), loaded.len(), sizes.join(", "));
    Ok(())
}

/// `info` on a pair: the data checks and the latency with its confidence.
fn describe_pair(rec: &Recording) {
    let found = ampsim_core::data::checks::findings(rec);
    if found.is_empty() {
        println!("checks      : passed (no NaN, no clipping, both channels carry signal)");
    }
    for f in found {
        println!("{:<12}: {}", format!("{:?}", f.severity).to_lowercase(), f.message);
    }
    let takes = rec.takes();
    if takes.len() > 1 {
        let seconds: Vec<String> = takes.iter().map(|t| format!("{:.1}", t.duration_seconds())).collect();
        println!("takes       : {} separated by digital silence ({} s); `train` trains on them as takes: the first holds validation and test blocks, the last is held out whole as playing the model never heard (the verdict is given for it)", takes.len(), seconds.join(", "));
        match Recording::aligned_together(&takes) {
            Ok((_, lag, estimates)) => {
                for (k, est) in estimates.iter().enumerate() {
                    println!("latency     : take {}: {est}", k + 1);
                }
                println!("latency     : `train` shifts every take by {lag} samples, the smallest of their lags: one rig has one latency, and a sample of delay left in costs a causal model nothing, while one too many asks it to predict the future");
            }
            Err(e) => println!("latency     : not estimated ({e})"),
        }
        return;
    }
    println!("test        : one take: a model's test is on blocks of the take it trains on, which promises more than new playing will give; record a second take (`train --test-data`) to hear how it plays what it never heard");
    match rec.estimate_latency() {
        Ok(est) => {
            println!("latency     : {est}");
            if let Some(reason) = est.unrelated() {
                println!("error       : {reason}");
            } else if let Some(reason) = est.implausible() {
                println!("error       : `train` will not apply it: {reason}; give it with --latency N if you know it");
            } else if est.is_uncertain() {
                println!("warning     : the estimate is uncertain; `train` applies it and says so; --latency N overrides it");
            }
        }
        Err(e) => println!("latency     : not estimated ({e})"),
    }
}

/// Create the folder `out` is to be written into, if it has one.
fn create_parent(out: &std::path::Path) -> Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create directory", dir.display()))?;
    }
    Ok(())
}

/// `synth --reamp`: a mono DI for re-amping, calibration clicks first.
fn reamp_file(out: &std::path::Path, seconds: f64, seed: u64, di: Option<&std::path::Path>) -> Result<()> {
    let (guitar, sample_rate_hz) = match di {
        Some(path) => {
            let wav = read_wav(path)?;
            (wav.channels.into_iter().next().unwrap_or_default(), wav.sample_rate_hz)
        }
        None => {
            let cfg = GuitarConfig::default();
            (ampsim_core::data::synth::guitar_di(seconds, seed, &cfg)?, cfg.sample_rate_hz)
        }
    };
    let mut x = ampsim_core::data::align::calibration_clicks(sample_rate_hz);
    x.extend_from_slice(&guitar);
    create_parent(out)?;
    ampsim_core::data::audio::write_wav(out, &[&x], sample_rate_hz, ampsim_core::data::audio::WavEncoding::Float32)?;
    println!(
        "wrote {}: {:.1} s at {sample_rate_hz} Hz, mono: {:.1} s of calibration clicks, then the guitar. Play it through the amp, \
         record the amp, and save a stereo file: left this DI, right the amp, from the same start",
        out.display(),
        x.len() as f64 / sample_rate_hz as f64,
        ampsim_core::data::align::CLICK_PREAMBLE_SECONDS
    );
    Ok(())
}

fn compare(reference: &std::path::Path, output: &std::path::Path, model: Option<&std::path::Path>, latency: Option<i64>, png: Option<&std::path::Path>) -> Result<()> {
    let r = read_wav(reference)?;
    let o = read_wav(output)?;
    if r.sample_rate_hz != o.sample_rate_hz {
        anyhow::bail!("{} is at {} Hz but {} is at {} Hz", reference.display(), r.sample_rate_hz, output.display(), o.sample_rate_hz);
    }
    let out = &o.channels[0];
    let amp = r.channels.last().expect("a WAV file has a channel");
    let trained = match model {
        Some(m) => Some(ampsim_engine::nam::NamFile::read(m)?.trained_latency_samples().ok_or_else(|| anyhow::anyhow!("{} does not say the latency it was trained at (ampsim writes it since 2026-12); give --latency", m.display()))?),
        None => None,
    };
    // The lag to search around: the model's own, a given one, or the amp's lag behind the DI
    // (stereo) or behind the output (mono), estimated.
    let (center, why) = match (trained, latency, &r.channels[..]) {
        (Some(lag), _, _) => (lag, "the latency the model was trained at".to_string()),
        (None, Some(lag), _) => (lag, "given".to_string()),
        (None, None, [direct, _]) => {
            let est = Recording::new(reference.display().to_string(), direct.clone(), amp.clone(), r.sample_rate_hz)?.estimate_latency()?;
            (est.lag_samples, format!("the amp behind the DI, {est}"))
        }
        (None, None, _) => {
            let est = ampsim_core::data::align::estimate_latency(out, amp, ampsim_core::data::align::MAX_LAG_SAMPLES, r.sample_rate_hz)?;
            (est.lag_samples, format!("the amp behind the output, {est}"))
        }
    };
    if amp.len().min(out.len()) < 4096 {
        anyhow::bail!("{} and {} share only {} samples; at least 4096 are needed", reference.display(), output.display(), amp.len().min(out.len()));
    }
    let l = ampsim_core::evaluation::compare::score_at_best_lag(amp, out, center, 3, r.sample_rate_hz)?;
    let s = l.scores;
    if r.len_frames() != o.len_frames() {
        println!("note: the files differ in length; comparing the samples they share");
    }
    println!("lag                : {} samples, the best within ±3 of {center} ({why}; ESR there {:.4})", l.lag_samples, l.at_center.esr);
    println!("ESR                : {:.4} ({})", s.esr, ampsim_core::evaluation::compare::verdict(s.esr));
    println!("pre-emphasised ESR : {:.4}", s.esr_pre_emphasised);
    println!("spectral distance  : {:.2} dB (mean |difference| of average spectra, 80 Hz - 8 kHz)", s.spectral_distance_db);
    let (real, out) = ampsim_core::evaluation::compare::overlap_at_lag(amp, out, l.lag_samples);
    if let Some(png) = png {
        let cfg = ampsim_core::evaluation::spectrum::SpectrogramConfig::default();
        let a = ampsim_core::evaluation::spectrum::spectrogram(real, r.sample_rate_hz, &cfg)?;
        let b = ampsim_core::evaluation::spectrum::spectrogram(out, r.sample_rate_hz, &cfg)?;
        let fig = ampsim_core::evaluation::plot_spectra::spectrograms("Spectrograms", &[("Reference", &a), ("Output", &b)], 10_000.0, 90.0)?;
        fig.save_png(png)?;
        println!("wrote {}", png.display());
    }
    Ok(())
}
