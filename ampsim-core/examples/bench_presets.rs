//! Training throughput and real-time factor of every LSTM and WaveNet preset.
//!
//!     cargo run -p ampsim-core --example bench_presets
//!
//! Throughput: samples (scored and warm-up) per second while a [`Capture`] of 60 s of the
//! synthetic guitar through the synthetic amp trains with its default settings (batch 16 × 8192
//! scored samples), over an epoch of 6 steps after a warm-up epoch: with each batch split over
//! the worker threads (the default) and undivided, on libtorch's own threads
//! (`workers: Some(1)`). Real-time factor: the 60 s rendered in blocks of 4096 samples (as
//! `ampsim process` does) on one thread.

use ampsim_core::capture::{Architecture, Capture, CaptureConfig, Source};
use ampsim_core::interop::render::render_blocks;
use ampsim_core::models::{LstmConfig, WaveNetConfig};
use ampsim_core::polars::prelude::*;
use ampsim_core::runtime::one_thread_real_time_factor;
use ampsim_core::tch::{self, Device};
use ampsim_core::training::RunControl;
use ampsim_core::Recording;

/// (split samples/s, undivided samples/s, real-time factor)
fn measure(rec: &Recording, architecture: Architecture, preset: &str) -> ampsim_core::Result<(f64, f64, f64)> {
    let config = CaptureConfig { architecture, preset: preset.into(), ..CaptureConfig::default() };
    let run = |workers| -> ampsim_core::Result<_> {
        let mut capture = Capture::prepare(Source::Loaded(rec.clone()), config.clone())?;
        capture.tune(|t| (t.max_epochs, t.steps_per_epoch, t.patience, t.workers) = (2, Some(6), 10, workers))?;
        capture.fit(&RunControl::quiet())
    };
    let split = run(None)?.history.epochs[1].samples_per_second;
    let trained = run(Some(1))?;
    let undivided = trained.history.epochs[1].samples_per_second;
    let model = trained.model.expect("a causal model");
    let rtf = one_thread_real_time_factor(rec.duration_seconds(), || render_blocks(model.as_ref(), &rec.direct, 4096, Device::Cpu))?;
    Ok((split, undivided, rtf))
}

fn main() -> ampsim_core::Result<()> {
    let rec = Recording::synthetic(60.0, 1, &Default::default(), &Default::default())?;
    let (mut names, mut weights, mut throughputs, mut undivided, mut rtfs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    println!("libtorch threads for training: {}", tch::get_num_threads());
    for preset in ["standard", "lite", "feather", "nano"] {
        for (architecture, name, count) in [
            (Architecture::WaveNet, "WaveNet", WaveNetConfig::preset(preset)?.nam_weight_count()),
            (Architecture::Lstm, "LSTM", LstmConfig::preset(preset)?.nam_weight_count()),
        ] {
            let (t, u, r) = measure(&rec, architecture, preset)?;
            names.push(format!("{name} {preset}"));
            weights.push(count as u64);
            throughputs.push(t);
            undivided.push(u);
            rtfs.push(r);
        }
        println!("{preset}: done");
    }
    let df = df!("model" => names, "nam_weights" => weights, "train_samples_per_second" => throughputs, "undivided_samples_per_second" => undivided, "real_time_factor_1_thread" => rtfs)?;
    println!("{df}");
    Ok(())
}
