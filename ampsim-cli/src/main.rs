//! `ampsim`: the command line of ampsim for batch work.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use ampsim_core::amp::AmpConfig;
use ampsim_core::audio::read_wav;
use ampsim_core::recording::{ChannelStats, Recording, DEFAULT_SECONDS, DEFAULT_SEED};
use ampsim_core::synth::GuitarConfig;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ampsim", version, about = "Learn the sound of a guitar amplifier from a recording.")]
#[command(after_help = "Examples:\n  \
    ampsim synth --out data/GuitarTraining.wav\n  \
    ampsim synth --out crunchy.wav --seconds 20 --seed 7 --gain 0.8\n  \
    ampsim info data/GuitarTraining.wav\n  \
    ampsim info di.wav --amp amp.wav")]
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
    },
    /// Describe a recording: format, duration, peak/RMS per channel, estimated latency.
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
        Command::Synth { out, seconds, seed, gain, bass, middle, treble, master, sag, latency_samples } => {
            let t = Instant::now();
            let amp = AmpConfig { gain, bass, middle, treble, master, sag, latency_samples, seed, ..AmpConfig::default() };
            let rec = Recording::synthetic(seconds, seed, &GuitarConfig::default(), &amp)?;
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create directory", dir.display()))?;
            }
            rec.save(&out)?;
            println!(
                "wrote {}: {} frames ({:.1} s) at {} Hz, seed {seed}, in {:.1} s",
                out.display(),
                rec.len_samples(),
                rec.duration_seconds(),
                rec.sample_rate_hz,
                t.elapsed().as_secs_f64()
            );
        }
        Command::Info { file, amp } => {
            let wav = read_wav(&file)?;
            println!("file        : {}", file.display());
            println!("format      : {}, {} channel(s), {} Hz", wav.format_name(), wav.channels.len(), wav.sample_rate_hz);
            println!("duration    : {:.3} s ({} frames)", wav.duration_seconds(), wav.len_frames());
            let rec = match &amp {
                Some(a) => Some(Recording::load_pair(&file, a)?),
                None if wav.channels.len() == 2 => Some(Recording::load(&file)?),
                None => None,
            };
            let names: Vec<String> = match (&amp, wav.channels.len()) {
                (None, 2) => vec!["left (direct)".into(), "right (amp)".into()],
                _ => (0..wav.channels.len()).map(|c| format!("channel {c}")).collect(),
            };
            for (name, ch) in names.iter().zip(&wav.channels) {
                let s = ChannelStats::of(ch);
                println!("{name:<12}: peak {:6.1} dBFS, RMS {:6.1} dBFS", s.peak_dbfs, s.rms_dbfs);
            }
            if let Some(a) = &amp {
                let s = ChannelStats::of(&read_wav(a)?.channels[0]);
                println!("amp ({})  : peak {:6.1} dBFS, RMS {:6.1} dBFS", a.display(), s.peak_dbfs, s.rms_dbfs);
            }
            match rec {
                Some(rec) => match rec.estimate_lag() {
                    Ok(est) => println!("latency     : {est}"),
                    Err(e) => println!("latency     : not estimated ({e})"),
                },
                None => println!("latency     : needs a direct and an amp channel (stereo file or --amp)"),
            }
        }
    }
    Ok(())
}
