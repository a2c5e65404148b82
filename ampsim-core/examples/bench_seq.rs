//! Train an LSTM or WaveNet preset for a time budget through [`Capture`] (as `ampsim train`
//! does); print throughput, validation/test ESR, the ESR on takes it never heard and the
//! real-time factor (one thread).
//!
//!     cargo run -p ampsim-core --example bench_seq -- [wavenet|lstm] [preset] [seconds] [recording.wav | folder]
//!
//! A recording is split into 10-s blocks of 6 s training, 2 s validation, 2 s test (takes joined
//! with digital silence: the last held out whole). A folder of takes (e.g.
//! `../shared/data/real/jvm410h`) trains on all takes but the last, in file-name order (the first
//! also gives the validation and test blocks), and scores the last as playing the model never
//! heard; every take is shifted by the smallest of their lags (LAG=n: by n samples).
//! Knobs for experiments (defaults are the capture's): BATCH, SEGMENT, LR, DECAY, LR_FINAL,
//! PATIENCE, PATIENCE_FRACTION, MSE_WEIGHT, ESR_WEIGHT, PRE_WEIGHT, DC_WEIGHT, MRSTFT_WEIGHT,
//! EMA, THREADS, WORKERS, SEED (initial weights and segment draws), BURN_IN and TRUNCATE (LSTM),
//! HEAD_KERNEL, TANH=1 and HEAD_SCALE (WaveNet), and EXTRA=other.wav (a whole recording added to
//! the training data, e.g. to see how the test ESR changes with more training audio).

use std::path::Path;

use ampsim_core::capture::{Architecture, Capture, CaptureConfig, ModelConfig, Scored, Source};
use ampsim_core::data::recording::wav_files_in;
use ampsim_core::models::{LstmConfig, WaveNetConfig};
use ampsim_core::training::{RunControl, SeqFitConfig};
use ampsim_core::Recording;

fn env(k: &str) -> Option<f64> {
    std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok())
}

/// A recording (with EXTRA beside it), or a folder of takes whose last is never trained on.
fn source(path: &str) -> ampsim_core::Result<Source> {
    if Path::new(path).is_dir() {
        let mut takes = wav_files_in(path, 2)?.iter().map(Recording::load).collect::<ampsim_core::Result<Vec<_>>>()?;
        let unheard = vec![takes.pop().expect("two takes")];
        return Ok(Source::Takes { takes, unheard });
    }
    let more = std::env::var("EXTRA").map(|p| vec![p.into()]).unwrap_or_default();
    Ok(Source::Recording { path: path.into(), amp: None, more, unheard: Vec::new() })
}

/// The preset, with the experiment's knobs.
fn model(architecture: Architecture, preset: &str) -> ampsim_core::Result<ModelConfig> {
    if architecture == Architecture::Lstm {
        let d = LstmConfig::preset(preset)?;
        // TRUNCATE=0: back-propagation through the whole segment.
        let truncate_samples = match env("TRUNCATE") {
            Some(0.0) => None,
            Some(n) => Some(n as usize),
            None => d.truncate_samples,
        };
        return Ok(ModelConfig::Lstm(LstmConfig { burn_in_samples: env("BURN_IN").map_or(d.burn_in_samples, |v| v as usize), truncate_samples, ..d }));
    }
    let mut cfg = WaveNetConfig::preset(preset)?;
    for a in &mut cfg.layers {
        if let Some(k) = env("HEAD_KERNEL") {
            a.head_kernel_size = k as usize;
        }
        if std::env::var("TANH").is_ok_and(|v| v == "1") {
            a.activation = ampsim_core::models::Activation::Tanh;
        }
    }
    if let Some(s) = env("HEAD_SCALE") {
        cfg.head_scale = s;
    }
    Ok(ModelConfig::WaveNet(cfg))
}

/// The training settings, with the experiment's knobs.
fn tune(t: &mut SeqFitConfig) {
    let d = t.clone();
    t.batch_size = env("BATCH").map_or(d.batch_size, |v| v as usize);
    t.segment_samples = env("SEGMENT").map_or(d.segment_samples, |v| v as usize);
    t.learning_rate = env("LR").unwrap_or(d.learning_rate);
    t.patience = env("PATIENCE").map_or(d.patience, |v| v as usize);
    t.patience_fraction = env("PATIENCE_FRACTION").unwrap_or(d.patience_fraction);
    t.lr_decay = env("DECAY").unwrap_or(d.lr_decay);
    t.lr_final_factor = env("LR_FINAL").or(d.lr_final_factor);
    t.weight_average = env("EMA").or(d.weight_average);
    t.workers = env("WORKERS").map(|v| v as usize).or(d.workers);
    t.loss.mse = env("MSE_WEIGHT").unwrap_or(d.loss.mse);
    t.loss.esr = env("ESR_WEIGHT").unwrap_or(d.loss.esr);
    t.loss.esr_pre = env("PRE_WEIGHT").unwrap_or(d.loss.esr_pre);
    t.loss.dc = env("DC_WEIGHT").unwrap_or(d.loss.dc);
    t.loss.mrstft = env("MRSTFT_WEIGHT").unwrap_or(d.loss.mrstft);
}

fn main() -> ampsim_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let architecture = if args.get(1).is_some_and(|k| k == "lstm") { Architecture::Lstm } else { Architecture::WaveNet };
    let preset = args.get(2).map_or("standard", String::as_str);
    let budget_seconds: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(120.0);
    let path = args.get(4).cloned().unwrap_or_else(|| "data/GuitarTraining.wav".into());
    if let Some(t) = env("THREADS") {
        ampsim_core::tch::set_num_threads(t as i32);
    }
    let config = CaptureConfig {
        architecture,
        preset: preset.into(),
        model: Some(model(architecture, preset)?),
        budget_seconds,
        // The same initial weights in every run (SEED to vary them), so runs compare settings.
        seed: env("SEED").map_or(0, |v| v as u64),
        latency_samples: env("LAG").map(|v| v as i64),
        hold_out_last_take: std::env::var("EXTRA").is_err(),
        ..CaptureConfig::default()
    };
    let mut capture = Capture::prepare(source(&path)?, config)?;
    for finding in capture.findings() {
        println!("{finding}");
    }
    capture.tune(tune)?;
    let t = capture.training().expect("a causal model");
    println!("batch {} x segment {}, lr {} (x{} per epoch)", t.batch_size, t.segment_samples, t.learning_rate, t.lr_decay);
    let trained = capture.fit(&RunControl::default())?;
    let h = &trained.history;
    println!("trained {:.0} s, {} epochs, best val ESR {:.5} (epoch {}), stopped: {}", h.seconds(), h.epochs.len(), h.best_val_esr, h.best_epoch, h.stopped_because);
    let Scored::Recording { report, unheard, .. } = &trained.scored else { unreachable!("one rig at one setting") };
    println!("test ESR {:.5} on held-out blocks of the takes it trained on", report.scores.esr);
    if let Some(u) = unheard {
        println!("unheard ESR {:.5} over {:.1} s it never heard ({})", u.scores.esr, u.seconds, u.takes.join(", "));
    }
    println!("real-time factor (1 thread, real-time engine, 64-sample blocks): {:.1}x", report.real_time_factor);
    Ok(())
}
