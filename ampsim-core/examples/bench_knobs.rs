//! One model of the whole amp on the real JVM410H at its tone settings
//! (`../shared/data/real/jvm410h*`, knobs read from the file names), whole settings held out;
//! and the "no knobs" baseline it must beat.
//!
//!     cargo run --release -p ampsim-core --example bench_knobs -- lstm|wavenet [preset] [seconds]
//!     cargo run --release -p ampsim-core --example bench_knobs -- baseline [preset] [seconds]
//!
//! `lstm`/`wavenet`: one conditioned model trained for `seconds` on every training setting; the
//! ESR at each held-out setting, and with its knobs at the nearest training setting instead.
//! `baseline`: for each held-out setting, a WaveNet of one setting trained for `seconds` on the
//! recordings of the nearest training setting (a snapshot, what a player without a model of
//! the knobs would use) and scored at the held-out setting.
//! Held out: validation `b8_m5_t5`; test `b4_m5_t5`, `b5_m6_t5`, `b5_m5_t4` (interior settings of
//! the three sweeps). Every other file trains. Knobs: THREADS (default 2), SEED.

use std::path::Path;

use ampsim_core::capture::{Architecture, Capture, CaptureConfig, ModelConfig, Source};
use ampsim_core::data::captures::{Captures, LoadedCaptures, Role};
use ampsim_core::tch::Device;
use ampsim_core::training::{validation_esr, RunControl, SeqData};
use ampsim_core::models::WaveNetConfig;
use ampsim_core::Recording;

/// The recordings at one setting (already aligned), for a model of that setting alone.
fn takes_at(caps: &LoadedCaptures, values: &[f64]) -> Vec<Recording> {
    caps.captures.captures.iter().zip(&caps.recordings).filter(|(c, _)| c.values == values).map(|(_, r)| r.clone()).collect()
}

fn main() -> ampsim_core::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind = args.first().map_or("lstm", String::as_str).to_string();
    let preset = args.get(1).map_or("standard", String::as_str).to_string();
    let seconds: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(300.0);
    let threads: i32 = std::env::var("THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let seed: u64 = std::env::var("SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    ampsim_core::tch::set_num_threads(threads);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/real");
    if !root.join("jvm410h-settings").is_dir() {
        println!("skipping: no recordings under {}", root.display());
        return Ok(());
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/jvm410h_captures.toml");
    let (caps, _) = LoadedCaptures::load(Captures::read(&manifest)?, None)?;
    let c = &caps.captures;
    println!("{} recordings, {} training settings ({:.0} s); every take shifted by {} samples", caps.recordings.len(), c.settings(Role::Train).len(), caps.seconds(Role::Train), caps.lag_samples);
    let mut sum = 0.0;
    let tests = c.settings(Role::Test);
    if kind == "baseline" {
        for values in &tests {
            let near = caps.nearest_training_setting(values).expect("a training setting");
            // The snapshot's own recordings (aligned already), without the knob inputs.
            let takes = takes_at(&caps, &near);
            let n = takes.len();
            let config = CaptureConfig { architecture: Architecture::WaveNet, preset: preset.clone(), budget_seconds: seconds, seed, latency_samples: Some(0), hold_out_last_take: false, ..CaptureConfig::default() };
            let mut capture = Capture::prepare(Source::Takes { takes, unheard: Vec::new() }, config)?;
            capture.tune(|t| t.patience = 100_000)?;
            let trained = capture.fit(&RunControl::quiet())?;
            let held = takes_at(&caps, values);
            let held: Vec<(&[f32], &[f32])> = held.iter().map(|r| (r.direct.as_slice(), r.amp.as_slice())).collect();
            let esr = validation_esr(trained.model.as_deref().expect("a WaveNet"), &SeqData::from_takes(&held, Device::Cpu)?)?;
            let history = &trained.history;
            println!("held-out {}: ESR {esr:.4} from a WaveNet {preset} of {} ({} epochs, {:.0} s, {n} take(s))", c.describe(values), c.describe(&near), history.epochs.len(), history.seconds());
            sum += esr;
        }
        println!("no-knobs baseline: held-out mean ESR {:.4} over {} settings", sum / tests.len() as f64, tests.len());
        return Ok(());
    }
    let k = c.controls.len();
    let (architecture, model) = match kind.as_str() {
        // The knobs read by the input mixers only (no FiLM), as this benchmark first measured.
        "wavenet" => (Architecture::WaveNet, Some(ModelConfig::WaveNet(WaveNetConfig::preset(&preset)?.with_controls(k)))),
        _ => (Architecture::Lstm, None),
    };
    let config = CaptureConfig { architecture, preset: preset.clone(), model, budget_seconds: seconds, seed, ..CaptureConfig::default() };
    let mut capture = Capture::prepare(Source::LoadedCaptures(caps.clone()), config)?;
    capture.tune(|t| t.patience = 100_000)?;
    let trained = capture.fit(&RunControl::quiet())?;
    let (history, model) = (&trained.history, trained.model.as_deref().expect("a causal model"));
    println!("{kind} {preset} with {k} controls: {} epochs in {:.0} s, best validation ESR {:.4}", history.epochs.len(), history.seconds(), history.best_val_esr);
    for values in &tests {
        let esr = validation_esr(model, &SeqData::at_setting(&caps, values, Device::Cpu)?)?;
        let near = caps.nearest_training_setting(values).expect("a training setting");
        let at_near = validation_esr(model, &SeqData::at_setting_told(&caps, values, &near, Device::Cpu)?)?;
        println!("held-out {}: ESR {esr:.4}; with the knobs at {} {at_near:.4}", c.describe(values), c.describe(&near));
        sum += esr;
    }
    println!("held-out mean ESR {:.4} over {} settings", sum / tests.len() as f64, tests.len());
    Ok(())
}
