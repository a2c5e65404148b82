//! Benchmark of the post's dense network on the post's ranges: one training epoch over the
//! training windows (250 000..800 000) and a prediction pass over the test windows
//! (800 000..1 500 000). Prints windows per second and the process's peak memory.
//!
//!     make bench        # or, inside tools/env.sh's environment:
//!     cargo run -p ampsim-core --example bench_dense [-- path/to/recording.wav]

use std::time::Instant;

use ampsim_core::models::{Mlp, MlpConfig};
use ampsim_core::tch::{nn, Device};
use ampsim_core::training::{fit, predict, seed_everything, FitConfig, RunControl};
use ampsim_core::data::windows::{make_xy, WindowSpec, POST_TEST, POST_TRAIN};
use ampsim_core::Recording;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<f64>().unwrap_or(0.0)))
        .unwrap_or(0.0)
        / 1024.0
}

fn main() -> ampsim_core::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "data/GuitarTraining.wav".into());
    let rec = Recording::load(&path)?;
    let device = Device::cuda_if_available();
    println!("recording {path}: {} samples; device {device:?}; libtorch threads {}", rec.len_samples(), ampsim_core::tch::get_num_threads());
    let spec = WindowSpec::default();
    let train = make_xy(&rec.direct, &rec.amp, POST_TRAIN.start, POST_TRAIN.end, spec, device)?;
    let test = make_xy(&rec.direct, &rec.amp, POST_TEST.start, POST_TEST.end, spec, device)?;
    seed_everything(0);
    let vs = nn::VarStore::new(device);
    let model = Mlp::new(&vs.root(), &MlpConfig::default())?;
    let t = Instant::now();
    let h = fit(&model, &vs, &train, None, &FitConfig { epochs: 1, ..FitConfig::default() }, &RunControl::default())?;
    let train_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let y = predict(&model, &test, 4096)?;
    let predict_s = t.elapsed().as_secs_f64();
    println!("train: {} windows in {train_s:.1} s = {:.0} windows/s (loss {:.5})", train.len(), train.len() as f64 / train_s, h.final_loss().unwrap_or(f64::NAN));
    println!("predict: {} windows in {predict_s:.1} s = {:.0} windows/s", y.len(), y.len() as f64 / predict_s);
    println!("peak memory (VmHWM): {:.0} MB", peak_rss_mb());
    Ok(())
}
