//! Train an LSTM or WaveNet preset on a recording for a time budget; print throughput,
//! validation/test ESR and the real-time factor (one thread).
//!
//!     cargo run -p ampsim-core --example bench_seq -- [wavenet|lstm] [preset] [seconds] [recording.wav]

use std::time::Instant;

use ampsim_core::losses::esr;
use ampsim_core::models::{Lstm, LstmConfig, WaveNet, WaveNetConfig};
use ampsim_core::tch::{nn, Device};
use ampsim_core::train_seq::{fit_sequence, process_signal, real_time_factor, SeqData, SeqFitConfig, SequenceModel};
use ampsim_core::Recording;

fn run<M: SequenceModel>(model: &M, vs: &mut nn::VarStore, rec: &Recording, budget: f64, device: Device) -> ampsim_core::Result<()> {
    let n = rec.len_samples();
    let (train_end, val_end) = (n * 60 / 100, n * 80 / 100);
    let train = SeqData::new(&rec.direct[..train_end], &rec.amp[..train_end], device)?;
    let val = SeqData::new(&rec.direct[train_end..val_end], &rec.amp[train_end..val_end], device)?;
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
    let d = SeqFitConfig::default();
    let cfg = SeqFitConfig {
        max_seconds: Some(budget),
        batch_size: env("BATCH").map_or(d.batch_size, |v| v as usize),
        segment_samples: env("SEGMENT").map_or(d.segment_samples, |v| v as usize),
        learning_rate: env("LR").unwrap_or(d.learning_rate),
        patience: env("PATIENCE").map_or(d.patience, |v| v as usize),
        ..d
    };
    println!("batch {} x segment {} (+ warm-up {}), lr {}", cfg.batch_size, cfg.segment_samples, model.warm_up_samples(), cfg.learning_rate);
    let t = Instant::now();
    let h = fit_sequence(model, vs, &train, &val, &cfg)?;
    println!("trained {:.0} s, {} epochs, best val ESR {:.5} (epoch {}), stopped: {}", t.elapsed().as_secs_f64(), h.epochs.len(), h.best_val_esr, h.best_epoch, h.stopped_because);
    let y_hat = process_signal(model, &rec.direct[val_end..], device)?;
    let warm = model.warm_up_samples();
    println!("test ESR {:.5}", esr(&rec.amp[val_end + warm..], &y_hat[warm..])?);
    println!("real-time factor (1 thread): {:.1}x", real_time_factor(model, &rec.direct[..rec.sample_rate_hz as usize * 10], rec.sample_rate_hz)?);
    Ok(())
}

fn main() -> ampsim_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).map_or("wavenet", String::as_str);
    let preset = args.get(2).map_or("standard", String::as_str);
    let budget: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(120.0);
    let path = args.get(4).cloned().unwrap_or_else(|| "data/GuitarTraining.wav".into());
    let (rec, lag) = Recording::load(&path)?.aligned()?;
    println!("{path}: {lag}");
    let device = Device::cuda_if_available();
    let mut vs = nn::VarStore::new(device);
    match kind {
        "lstm" => {
            let burn_in = std::env::var("BURN_IN").ok().and_then(|v| v.parse().ok()).unwrap_or(LstmConfig::default().burn_in_samples);
            let m = Lstm::new(&vs.root(), &LstmConfig { burn_in_samples: burn_in, ..LstmConfig::preset(preset)? })?;
            run(&m, &mut vs, &rec, budget, device)
        }
        _ => {
            let m = WaveNet::new(&vs.root(), &WaveNetConfig::preset(preset)?)?;
            run(&m, &mut vs, &rec, budget, device)
        }
    }
}
