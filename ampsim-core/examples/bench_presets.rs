//! Training throughput and real-time factor of every LSTM and WaveNet preset.
//!
//!     cargo run -p ampsim-core --example bench_presets
//!
//! Throughput: samples (scored and warm-up) per second in `fit_sequence` with the default
//! settings (batch 16 × 8192 scored samples), over an epoch of 6 steps after a warm-up epoch:
//! with each batch split over the worker threads (the default) and undivided, on libtorch's
//! own threads (`workers: Some(1)`). Real-time factor: 60 s of the synthetic guitar DI
//! rendered in blocks of 4096 samples (as `ampsim process` does) on one thread.

use ampsim_core::models::{Lstm, LstmConfig, WaveNet, WaveNetConfig};
use ampsim_core::polars::prelude::*;
use ampsim_core::models::CausalModel;
use ampsim_core::interop::render::render_blocks;
use ampsim_core::runtime::one_thread_real_time_factor;
use ampsim_core::tch::{self, nn, Device};
use ampsim_core::training::{fit_sequence, RunControl, SeqData, SeqFitConfig};
use ampsim_core::Recording;

/// (split samples/s, undivided samples/s, real-time factor)
fn measure<M: CausalModel>(model: &M, vs: &mut nn::VarStore, di: &[f32], rate: u32) -> ampsim_core::Result<(f64, f64, f64)> {
    let d = SeqFitConfig::default();
    let warm = model.warm_up_samples();
    let n = 16 * (warm + d.segment_samples);
    let amp: Vec<f32> = di[..n].iter().map(|v| (3.0 * v).tanh()).collect();
    let train = SeqData::new(&di[..n], &amp, Device::Cpu)?;
    let v = n / 2..n / 2 + warm + 4096;
    let val = SeqData::new(&di[v.clone()], &amp[v], Device::Cpu)?;
    let mut samples_per_second = |workers| -> ampsim_core::Result<f64> {
        let cfg = SeqFitConfig { max_epochs: 2, steps_per_epoch: Some(6), patience: 10, workers, ..d.clone() };
        Ok(fit_sequence(model, vs, &train, &val, &cfg, &RunControl::quiet())?.epochs[1].samples_per_second)
    };
    let split = samples_per_second(None)?;
    let undivided = samples_per_second(Some(1))?;
    let rtf = one_thread_real_time_factor(di.len() as f64 / rate as f64, || render_blocks(model, di, 4096, Device::Cpu))?;
    Ok((split, undivided, rtf))
}

fn main() -> ampsim_core::Result<()> {
    let rec = Recording::synthetic(60.0, 1, &Default::default(), &Default::default())?;
    let (mut names, mut weights, mut throughputs, mut undivided, mut rtfs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    println!("libtorch threads for training: {}", tch::get_num_threads());
    for preset in ["standard", "lite", "feather", "nano"] {
        let mut vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset(preset)?)?;
        let (t, u, r) = measure(&wn, &mut vs, &rec.direct, rec.sample_rate_hz)?;
        undivided.push(u);
        names.push(format!("WaveNet {preset}"));
        weights.push(wn.config().nam_weight_count() as u64);
        throughputs.push(t);
        rtfs.push(r);
        let mut vs = nn::VarStore::new(Device::Cpu);
        let lstm = Lstm::new(&vs.root(), &LstmConfig::preset(preset)?)?;
        let (t, u, r) = measure(&lstm, &mut vs, &rec.direct, rec.sample_rate_hz)?;
        undivided.push(u);
        names.push(format!("LSTM {preset}"));
        weights.push(lstm.config().nam_weight_count() as u64);
        throughputs.push(t);
        rtfs.push(r);
        println!("{preset}: done");
    }
    let df = df!("model" => names, "nam_weights" => weights, "train_samples_per_second" => throughputs, "undivided_samples_per_second" => undivided, "real_time_factor_1_thread" => rtfs)?;
    println!("{df}");
    Ok(())
}
