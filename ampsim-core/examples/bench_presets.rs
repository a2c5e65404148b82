//! Training throughput and real-time factor of every LSTM and WaveNet preset.
//!
//!     cargo run -p ampsim-core --example bench_presets
//!
//! Throughput: samples (scored and warm-up) per second over 6 optimizer steps of the default
//! training settings (batch 16 × 8192 scored samples), after one warm-up step, with the
//! default number of libtorch threads. Real-time factor: 60 s of the synthetic guitar DI
//! rendered in blocks of 4096 samples (as `ampsim process` does) on one thread.

use std::time::Instant;

use ampsim_core::models::{Lstm, LstmConfig, WaveNet, WaveNetConfig};
use ampsim_core::polars::prelude::*;
use ampsim_core::render::{render_blocks, Streaming};
use ampsim_core::runtime::one_thread_real_time_factor;
use ampsim_core::tch::{self, nn, nn::OptimizerConfig, Device, Tensor};
use ampsim_core::train_seq::{SeqFitConfig, SequenceModel};
use ampsim_core::Recording;

fn measure<M: SequenceModel + Streaming>(model: &M, vs: &nn::VarStore, di: &[f32], rate: u32) -> ampsim_core::Result<(f64, f64)> {
    let cfg = SeqFitConfig::default();
    let seg = (model.warm_up_samples() + cfg.segment_samples) as i64;
    let mut opt = nn::Adam::default().build(vs, cfg.learning_rate)?;
    let x = Tensor::from_slice(&di[..(16 * seg) as usize]).view([16, seg]);
    let y = x.narrow(1, model.warm_up_samples() as i64, cfg.segment_samples as i64).tanh();
    let mut step = || opt.backward_step(&cfg.loss.loss(&model.forward_aligned(&x), &y));
    step();
    let t = Instant::now();
    for _ in 0..6 {
        step();
    }
    let throughput = (6 * 16 * seg) as f64 / t.elapsed().as_secs_f64();
    let rtf = one_thread_real_time_factor(di.len() as f64 / rate as f64, || render_blocks(model, di, 4096, Device::Cpu))?;
    Ok((throughput, rtf))
}

fn main() -> ampsim_core::Result<()> {
    let rec = Recording::synthetic(60.0, 1, &Default::default(), &Default::default())?;
    let (mut names, mut weights, mut throughputs, mut rtfs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    println!("libtorch threads for training: {}", tch::get_num_threads());
    for preset in ["standard", "lite", "feather", "nano"] {
        let vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset(preset)?)?;
        let (t, r) = measure(&wn, &vs, &rec.direct, rec.sample_rate_hz)?;
        names.push(format!("WaveNet {preset}"));
        weights.push(wn.config.nam_weight_count() as u64);
        throughputs.push(t);
        rtfs.push(r);
        let vs = nn::VarStore::new(Device::Cpu);
        let lstm = Lstm::new(&vs.root(), &LstmConfig::preset(preset)?)?;
        let (t, r) = measure(&lstm, &vs, &rec.direct, rec.sample_rate_hz)?;
        names.push(format!("LSTM {preset}"));
        weights.push(lstm.config.nam_weight_count() as u64);
        throughputs.push(t);
        rtfs.push(r);
        println!("{preset}: done");
    }
    let df = df!("model" => names, "nam_weights" => weights, "train_samples_per_second" => throughputs, "real_time_factor_1_thread" => rtfs)?;
    println!("{df}");
    Ok(())
}
