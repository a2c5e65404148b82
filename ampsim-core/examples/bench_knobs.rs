//! One model of the whole amp: train a conditioned LSTM or WaveNet on the real JVM410H at its
//! tone settings (`../shared/data/real/jvm410h*`, knobs read from the file names), hold whole
//! settings out, and print the ESR on each held-out setting.
//!
//!     cargo run --release -p ampsim-core --example bench_knobs -- [lstm|wavenet] [preset] [seconds]
//!
//! Held out: validation `b8_m5_t5`; test `b4_m5_t5`, `b5_m6_t5`, `b5_m5_t4` (interior settings of
//! the three sweeps). Every other file trains. Knobs: THREADS (default 2), SEED.

use std::path::{Path, PathBuf};

use ampsim_core::data::captures::{ControlSpec, NamePattern};
use ampsim_core::models::{CausalModel, Lstm, LstmConfig, WaveNet, WaveNetConfig};
use ampsim_core::tch::{nn, Device};
use ampsim_core::training::{fit_sequence, validation_esr, RunControl, SeqData, SeqFitConfig};
use ampsim_core::Recording;

const VALIDATION: &[&str] = &["b8_m5_t5"];
const TEST: &[&str] = &["b4_m5_t5", "b5_m6_t5", "b5_m5_t4"];

fn main() -> ampsim_core::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind = args.first().map_or("lstm", String::as_str).to_string();
    let preset = args.get(1).map_or("standard", String::as_str).to_string();
    let seconds: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(300.0);
    let threads: i32 = std::env::var("THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let seed: u64 = std::env::var("SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    ampsim_core::tch::set_num_threads(threads);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/real");
    let mut files: Vec<PathBuf> = ["jvm410h", "jvm410h-settings"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).into_iter().flatten().flatten().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    files.sort();
    if files.is_empty() {
        println!("skipping: no recordings under {}", root.display());
        return Ok(());
    }
    let pattern = NamePattern::new("jvm410h_gain5_b{bass}_m{middle}_t{treble}_take*")?;
    let controls: Vec<ControlSpec> = pattern.names().iter().map(|n| ControlSpec::new(n.clone(), 0.0, 10.0)).collect();
    let raw = files.iter().map(Recording::load).collect::<ampsim_core::Result<Vec<_>>>()?;
    // One rig, one latency: every take shifted by the smallest of their estimates.
    let (takes, lag, _) = Recording::aligned_together(&raw)?;
    println!("{} takes, {} settings; every take shifted by {lag} samples", takes.len(), {
        let mut s: Vec<String> = files.iter().map(|f| setting(f)).collect();
        s.dedup();
        s.len()
    });
    // (setting, normalised values, take)
    let mut sets: [Vec<(String, Vec<f32>, Recording)>; 3] = Default::default();
    for (f, take) in files.iter().zip(takes) {
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let values: Vec<f32> = pattern.values(stem)?.iter().zip(&controls).map(|(v, c)| c.normalise(*v)).collect();
        let s = setting(f);
        let which = if VALIDATION.contains(&s.as_str()) { 1 } else if TEST.contains(&s.as_str()) { 2 } else { 0 };
        sets[which].push((s, values, take));
    }
    let data = |set: &[(String, Vec<f32>, Recording)]| {
        let takes: Vec<(&[f32], &[f32], &[f32])> = set.iter().map(|(_, v, r)| (r.direct.as_slice(), r.amp.as_slice(), v.as_slice())).collect();
        SeqData::from_conditioned_takes(&takes, Device::Cpu)
    };
    let (train, validation) = (data(&sets[0])?, data(&sets[1])?);
    println!("training {} takes ({:.0} s); validation {VALIDATION:?}; test {TEST:?}", sets[0].len(), train.len() as f64 / 44_100.0);
    ampsim_core::tch::manual_seed(seed as i64);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let k = controls.len();
    let model: Box<dyn CausalModel> = match kind.as_str() {
        "wavenet" => Box::new(WaveNet::new(&vs.root(), &WaveNetConfig::preset(&preset)?.with_controls(k))?),
        _ => Box::new(Lstm::new(&vs.root(), &LstmConfig { controls: k, ..LstmConfig::preset(&preset)? })?),
    };
    let cfg = SeqFitConfig { max_seconds: Some(seconds), seed, patience: 100_000, ..SeqFitConfig::for_model(&model) };
    let history = fit_sequence(&model, &mut vs, &train, &validation, &cfg, &RunControl::default())?;
    println!("{kind} {preset} with {k} controls: {} epochs in {:.0} s, best validation ESR {:.4}", history.epochs.len(), history.seconds(), history.best_val_esr);
    let mut sum = 0.0;
    for (s, v, r) in &sets[2] {
        let esr = validation_esr(&model, &SeqData::from_conditioned_takes(&[(&r.direct, &r.amp, v)], Device::Cpu)?)?;
        // The same take with the knobs of the nearest training setting: how much the knobs say.
        let nearest = sets[0].iter().min_by(|a, b| distance(&a.1, v).total_cmp(&distance(&b.1, v))).map(|(n, w, _)| (n.clone(), w.clone()));
        let at_nearest = match &nearest {
            Some((n, w)) => format!("; at {n}'s knobs {:.4}", validation_esr(&model, &SeqData::from_conditioned_takes(&[(&r.direct, &r.amp, w)], Device::Cpu)?)?),
            None => String::new(),
        };
        println!("held-out {s}: ESR {esr:.4}{at_nearest}");
        sum += esr;
    }
    println!("held-out mean ESR {:.4} over {} settings", sum / sets[2].len() as f64, sets[2].len());
    Ok(())
}

fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}

/// `b5_m5_t4` from `…_b5_m5_t4_take9.wav`.
fn setting(f: &Path) -> String {
    let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    let s = stem.trim_start_matches("jvm410h_gain5_");
    s.rsplit_once("_take").map_or(s, |(a, _)| a).to_string()
}
