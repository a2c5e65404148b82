//! How the ESR on playing a model never heard moves while it trains: train on some takes of one
//! setting, validate every epoch on other takes (the unheard ones), print the curve. What the
//! best epoch by that curve scores is the most any choice of epoch could give; compare it with
//! the last epoch's figure to see what early stopping on a better validation set could win.
//!
//!     cargo run --release -p ampsim-core --example unheard_curve -- PREFIX [lstm|wavenet] [preset] [seconds]
//!
//! PREFIX names the takes: `PREFIX_take{N}.wav`, e.g.
//! `../shared/data/real/jvm410h-settings/jvm410h_gain5_b10_m0_t0`. TRAIN=1,2,3,4,5,8 and
//! UNHEARD=7,9 pick the takes; LAG=2 aligns them (amp delayed by LAG samples). The training
//! knobs of `bench_seq` apply: LR, DECAY, PRE_WEIGHT, DC_WEIGHT, EMA, SEGMENT, BATCH, SEED.

use ampsim_core::capture::{build_model, Architecture, CaptureConfig};
use ampsim_core::training::{fit_sequence, RunControl, SeqData, SeqFitConfig};
use ampsim_core::Recording;
use ampsim_core::tch::{nn, Device};

fn env(k: &str) -> Option<f64> {
    std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok())
}

fn takes(prefix: &str, var: &str, default: &str, lag: usize) -> ampsim_core::Result<(Vec<(Vec<f32>, Vec<f32>)>, u32)> {
    let list = std::env::var(var).unwrap_or_else(|_| default.into());
    let mut out = Vec::new();
    let mut rate = 0;
    for n in list.split(',') {
        let r = Recording::load(format!("{prefix}_take{n}.wav"))?;
        rate = r.sample_rate_hz;
        let len = r.direct.len() - lag;
        out.push((r.direct[..len].to_vec(), r.amp[lag..].to_vec()));
    }
    Ok((out, rate))
}

fn pairs(t: &[(Vec<f32>, Vec<f32>)]) -> Vec<(&[f32], &[f32])> {
    t.iter().map(|(d, a)| (d.as_slice(), a.as_slice())).collect()
}

fn main() -> ampsim_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let prefix = args.get(1).expect("PREFIX of the takes");
    let architecture = if args.get(2).is_some_and(|k| k == "wavenet") { Architecture::WaveNet } else { Architecture::Lstm };
    let preset = args.get(3).map_or("standard", String::as_str);
    let seconds: f64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(600.0);
    let lag = env("LAG").map_or(2, |v| v as usize);
    let (train, rate) = takes(prefix, "TRAIN", "1,2,3,4,5,8", lag)?;
    let (unheard, _) = takes(prefix, "UNHEARD", "7,9", lag)?;
    let train = SeqData::from_takes(&pairs(&train), Device::Cpu)?;
    let unheard = SeqData::from_takes(&pairs(&unheard), Device::Cpu)?;
    let config = CaptureConfig { architecture, preset: preset.into(), ..CaptureConfig::default() };
    let mut vs = nn::VarStore::new(Device::Cpu);
    ampsim_core::training::seed_everything(env("SEED").map_or(0, |v| v as u64));
    let model = build_model(&vs, &config, &[], rate)?;
    let d = SeqFitConfig::for_model(&*model);
    let mut cfg = SeqFitConfig { max_seconds: Some(seconds), patience: usize::MAX, ..d.clone() };
    cfg.learning_rate = env("LR").unwrap_or(d.learning_rate);
    cfg.lr_decay = env("DECAY").unwrap_or(d.lr_decay);
    cfg.segment_samples = env("SEGMENT").map_or(d.segment_samples, |v| v as usize);
    cfg.batch_size = env("BATCH").map_or(d.batch_size, |v| v as usize);
    cfg.weight_average = env("EMA").or(d.weight_average);
    cfg.loss.esr_pre = env("PRE_WEIGHT").unwrap_or(d.loss.esr_pre);
    cfg.loss.dc = env("DC_WEIGHT").unwrap_or(d.loss.dc);
    let h = fit_sequence(&*model, &mut vs, &train, &unheard, &cfg, &RunControl::quiet())?;
    println!("epoch  seconds  unheard ESR");
    let every = (h.epochs.len() / 30).max(1);
    for (i, e) in h.epochs.iter().enumerate() {
        if i % every == 0 || i + 1 == h.epochs.len() {
            println!("{:5}  {:7.0}  {:.4}", e.epoch, e.elapsed_seconds, e.val_esr.unwrap_or(f64::NAN));
        }
    }
    let last = h.epochs.last().and_then(|e| e.val_esr).unwrap_or(f64::NAN);
    println!("best {:.4} at epoch {} of {}; last {:.4}", h.best_val_esr, h.best_epoch, h.epochs.len(), last);
    Ok(())
}
