//! Train an LSTM or WaveNet preset for a time budget; print throughput, validation/test ESR
//! and the real-time factor (one thread).
//!
//!     cargo run -p ampsim-core --example bench_seq -- [wavenet|lstm] [preset] [seconds] [recording.wav | folder]
//!
//! A recording is split into 10-s blocks of 6 s training, 2 s validation, 2 s test. A folder of takes (e.g.
//! `../shared/data/real/jvm410h`) trains on all takes but the last two, validates on the
//! second-to-last and tests on the last, in file-name order; every take is shifted by the smallest
//! lag estimated on the training takes (PER_TAKE=1: each take by its own estimate; LAG=n: every
//! take by n samples). Knobs for experiments (defaults
//! are `SeqFitConfig::for_model`'s): BATCH, SEGMENT, LR, DECAY, LR_FINAL, PATIENCE, MSE_WEIGHT,
//! ESR_WEIGHT, PRE_WEIGHT, DC_WEIGHT, MRSTFT_WEIGHT, EMA, THREADS, WORKERS, SEED (initial weights), BURN_IN and TRUNCATE (LSTM),
//! PATIENCE_FRACTION, and EXTRA=other.wav (a whole recording added to the training data of a split one,
//! e.g. to see how the test ESR changes with more training audio).

use std::path::Path;
use std::time::Instant;

use ampsim_core::training::losses::LossConfig;
use ampsim_core::models::{Lstm, LstmConfig, WaveNet, WaveNetConfig};
use ampsim_core::tch::{nn, Device};
use ampsim_core::models::CausalModel;
use ampsim_core::interop::render::engine_real_time_factor;
use ampsim_core::training::{fit_sequence, validation_esr, RunControl, SeqData, SeqFitConfig};
use ampsim_core::data::windows::Split;
use ampsim_core::data::recording::wav_files_in;
use ampsim_core::Recording;

/// Where training, validation and test data come from.
enum Data {
    /// One recording, split into interleaved ranges.
    Split(Recording, Split),
    /// Separate takes: all but the last two train, the second-to-last validates, the last tests.
    Takes(Vec<Recording>),
}

fn load(path: &str) -> ampsim_core::Result<Data> {
    let fixed_lag = std::env::var("LAG").ok().and_then(|v| v.parse::<i64>().ok());
    let aligned = |rec: Recording| -> ampsim_core::Result<Recording> {
        if let Some(lag) = fixed_lag {
            println!("{}: shifted by LAG={lag}", rec.name);
            return rec.aligned_by(lag);
        }
        let (rec, lag) = rec.aligned()?;
        println!("{}: {lag}", rec.name);
        Ok(rec)
    };
    if Path::new(path).is_dir() {
        let raw = wav_files_in(path, 3)?.iter().map(Recording::load).collect::<ampsim_core::Result<Vec<_>>>()?;
        let n = raw.len();
        let takes = if fixed_lag.is_some() || std::env::var("PER_TAKE").is_ok_and(|v| v == "1") {
            raw.into_iter().map(aligned).collect::<ampsim_core::Result<Vec<_>>>()?
        } else {
            // One rig, one latency: the smallest of the training takes' estimates, for every take.
            let (mut takes, lag, estimates) = Recording::aligned_together(&raw[..n - 2])?;
            for (r, e) in raw.iter().zip(&estimates) {
                println!("{}: {e}", r.name);
            }
            println!("every take shifted by {lag} samples, the smallest lag of the training takes");
            for r in &raw[n - 2..] {
                takes.push(r.aligned_by(lag)?);
            }
            takes
        };
        println!("train on {} takes, validate on {}, test on {}", n - 2, takes[n - 2].name, takes[n - 1].name);
        return Ok(Data::Takes(takes));
    }
    let rec = aligned(Recording::load(path)?)?;
    let split = Split::standard_with_signal(&rec.amp, rec.sample_rate_hz)?;
    println!("{}", split.describe(rec.sample_rate_hz));
    Ok(Data::Split(rec, split))
}

fn run<M: CausalModel>(model: &M, vs: &mut nn::VarStore, data: &Data, budget: f64, device: Device) -> ampsim_core::Result<()> {
    let warm = model.warm_up_samples();
    let (train, val, test, rate) = match data {
        Data::Split(rec, split) => {
            let r = |ranges: &[std::ops::Range<usize>], ctx| SeqData::from_ranges(&rec.direct, &rec.amp, ranges, ctx, device);
            let mut train = r(&split.train, 0)?;
            if let Ok(p) = std::env::var("EXTRA") {
                let (extra, lag) = Recording::load(&p)?.aligned()?;
                println!("extra training recording {p}: {lag}");
                train.push_take(&extra.direct, &extra.amp)?;
            }
            (train, r(&split.validation, warm)?, r(&split.test, warm)?, rec.sample_rate_hz)
        }
        Data::Takes(takes) => {
            let t = |recs: &[Recording]| SeqData::from_takes(&recs.iter().map(|r| (&r.direct[..], &r.amp[..])).collect::<Vec<_>>(), device);
            let n = takes.len();
            (t(&takes[..n - 2])?, t(&takes[n - 2..n - 1])?, t(&takes[n - 1..])?, takes[0].sample_rate_hz)
        }
    };
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
    let d = SeqFitConfig::for_model(model);
    let cfg = SeqFitConfig {
        max_seconds: Some(budget),
        batch_size: env("BATCH").map_or(d.batch_size, |v| v as usize),
        segment_samples: env("SEGMENT").map_or(d.segment_samples, |v| v as usize),
        learning_rate: env("LR").unwrap_or(d.learning_rate),
        patience: env("PATIENCE").map_or(d.patience, |v| v as usize),
        patience_fraction: env("PATIENCE_FRACTION").unwrap_or(d.patience_fraction),
        lr_decay: env("DECAY").unwrap_or(d.lr_decay),
        lr_final_factor: env("LR_FINAL").or(d.lr_final_factor),
        weight_average: env("EMA").or(d.weight_average),
        workers: env("WORKERS").map(|v| v as usize).or(d.workers),
        loss: LossConfig {
            mse: env("MSE_WEIGHT").unwrap_or(d.loss.mse),
            esr: env("ESR_WEIGHT").unwrap_or(d.loss.esr),
            esr_pre: env("PRE_WEIGHT").unwrap_or(d.loss.esr_pre),
            dc: env("DC_WEIGHT").unwrap_or(d.loss.dc),
            mrstft: env("MRSTFT_WEIGHT").unwrap_or(d.loss.mrstft),
            ..d.loss.clone()
        },
        ..d
    };
    if let Some(t) = env("THREADS") {
        ampsim_core::tch::set_num_threads(t as i32);
    }
    println!("batch {} x segment {} (+ warm-up {warm}), lr {}, {} training samples", cfg.batch_size, cfg.segment_samples, cfg.learning_rate, train.len());
    let t = Instant::now();
    let h = fit_sequence(model, vs, &train, &val, &cfg, &RunControl::default())?;
    println!("trained {:.0} s, {} epochs, best val ESR {:.5} (epoch {}), stopped: {}", t.elapsed().as_secs_f64(), h.epochs.len(), h.best_val_esr, h.best_epoch, h.stopped_because);
    println!("test ESR {:.5} over {:.1} s", validation_esr(model, &test)?, test.len() as f64 / rate as f64);
    let (d0, _) = &train.pieces()[0];
    let rtf_input = Vec::<f32>::try_from(d0.narrow(0, 0, d0.size()[0].min(rate as i64 * 10)).to_device(Device::Cpu))?;
    println!("real-time factor (1 thread, real-time engine, 64-sample blocks): {:.1}x", engine_real_time_factor(model, &rtf_input, rate)?);
    Ok(())
}

fn main() -> ampsim_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).map_or("wavenet", String::as_str);
    let preset = args.get(2).map_or("standard", String::as_str);
    let budget: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(120.0);
    let path = args.get(4).cloned().unwrap_or_else(|| "data/GuitarTraining.wav".into());
    let data = load(&path)?;
    let device = Device::cuda_if_available();
    // The same initial weights in every run (SEED to vary them), so runs compare settings.
    ampsim_core::training::seed_everything(std::env::var("SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0));
    let mut vs = nn::VarStore::new(device);
    match kind {
        "lstm" => {
            let burn_in = std::env::var("BURN_IN").ok().and_then(|v| v.parse().ok()).unwrap_or(LstmConfig::default().burn_in_samples);
            // TRUNCATE=0: back-propagation through the whole segment.
            let truncate = match std::env::var("TRUNCATE").ok().and_then(|v| v.parse::<usize>().ok()) {
                Some(0) => None,
                Some(n) => Some(n),
                None => LstmConfig::default().truncate_samples,
            };
            let m = Lstm::new(&vs.root(), &LstmConfig { burn_in_samples: burn_in, truncate_samples: truncate, ..LstmConfig::preset(preset)? })?;
            run(&m, &mut vs, &data, budget, device)
        }
        _ => {
            let mut cfg = WaveNetConfig::preset(preset)?;
            // Experiment knobs: HEAD_KERNEL, TANH=1 (tanh instead of the preset's activation), HEAD_SCALE.
            for a in &mut cfg.layers {
                if let Some(k) = std::env::var("HEAD_KERNEL").ok().and_then(|v| v.parse().ok()) {
                    a.head_kernel_size = k;
                }
                if std::env::var("TANH").is_ok_and(|v| v == "1") {
                    a.activation = ampsim_core::models::Activation::Tanh;
                }
            }
            if let Some(s) = std::env::var("HEAD_SCALE").ok().and_then(|v| v.parse().ok()) {
                cfg.head_scale = s;
            }
            let m = WaveNet::new(&vs.root(), &cfg)?;
            run(&m, &mut vs, &data, budget, device)
        }
    }
}
