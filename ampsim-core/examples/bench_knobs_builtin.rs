//! One model of the built-in amp's gain and treble against one model per setting, at the same
//! total training time.
//!
//!     cargo run --release -p ampsim-core --example bench_knobs_builtin -- conditioned [preset] [seconds] [concat|film]
//!     cargo run --release -p ampsim-core --example bench_knobs_builtin -- per-setting [preset] [seconds]
//!
//! The recordings are `ampsim synth --knobs gain,treble --grid 3 --random 5 --seconds 20`'s
//! (seed 2019): 8 training settings, the middle one validating, 5 test settings spread over
//! both knobs. Every model is scored on a guitar part none was trained on (the test part), at
//! the test settings and at each training setting.
//! `conditioned`: one WaveNet conditioned on the knobs (`concat`: the knobs read by every
//! layer's input mixer; `film`: a FiLM of every layer's activation too), trained `seconds`.
//! `per-setting`: one WaveNet per training setting, each trained `seconds` / 8 on its own
//! recording (the same total time). Knobs: THREADS (default 2), LATENCY (align every recording
//! by this many samples instead of the estimate).

use ampsim_core::data::amp::AmpConfig;
use ampsim_core::data::captures::{record_setting, synth_settings, synthesise, LoadedCaptures, Role};
use ampsim_core::data::synth::{guitar_di, GuitarConfig};
use ampsim_core::models::{WaveNet, WaveNetConfig};
use ampsim_core::tch::{nn, Device};
use ampsim_core::training::{fit_sequence, validation_esr, RunControl, SeqData, SeqFitConfig};

const KNOBS: [&str; 2] = ["gain", "treble"];
const SEED: u64 = 2019;
const SECONDS: f64 = 20.0;

fn main() -> ampsim_core::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind = args.first().map_or("conditioned", String::as_str).to_string();
    let preset = args.get(1).map_or("standard", String::as_str).to_string();
    let seconds: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(900.0);
    let how = args.get(3).map_or("concat", String::as_str).to_string();
    let threads: i32 = std::env::var("THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    ampsim_core::tch::set_num_threads(threads);
    let dir = std::env::temp_dir().join(format!("ampsim-bench-knobs-{}", std::process::id()));
    let base = AmpConfig { seed: SEED, ..AmpConfig::default() };
    let (caps, gain) = synthesise(&dir, &KNOBS, &synth_settings(KNOBS.len(), 3, 5, SEED), &base, SECONDS)?;
    let latency: Option<i64> = std::env::var("LATENCY").ok().and_then(|v| v.parse().ok());
    let (caps, _) = LoadedCaptures::load(caps, latency)?;
    std::fs::remove_dir_all(&dir).ok();
    let c = &caps.captures;
    let (train_settings, test_settings) = (c.settings(Role::Train), c.settings(Role::Test));
    // The test part at every training setting: what each model plays on a part it never heard.
    let part = guitar_di(SECONDS, SEED, &GuitarConfig::default())?;
    let at_training = train_settings
        .iter()
        .map(|v| record_setting(&part, &KNOBS, v, &base, gain, caps.lag_samples, caps.sample_rate_hz))
        .collect::<ampsim_core::Result<Vec<_>>>()?;
    println!("{} training settings (aligned by {} samples), test settings: {}", train_settings.len(), caps.lag_samples, test_settings.iter().map(|v| format!("[{}]", c.describe(v))).collect::<Vec<_>>().join(" "));
    let mut scores = Vec::new();
    if kind == "per-setting" {
        let each = seconds / train_settings.len() as f64;
        for (values, fresh) in train_settings.iter().zip(&at_training) {
            let takes: Vec<(&[f32], &[f32])> = c.captures.iter().zip(&caps.recordings).filter(|(k, _)| &k.values == values).map(|(_, r)| (r.direct.as_slice(), r.amp.as_slice())).collect();
            let train = SeqData::from_takes(&takes, Device::Cpu)?;
            ampsim_core::tch::manual_seed(SEED as i64);
            let mut vs = nn::VarStore::new(Device::Cpu);
            let model = WaveNet::new(&vs.root(), &WaveNetConfig::preset(&preset)?)?;
            let cfg = SeqFitConfig { max_seconds: Some(each), seed: SEED, patience: 100_000, ..SeqFitConfig::for_model(&model) };
            let history = fit_sequence(&model, &mut vs, &train, &train, &cfg, &RunControl::quiet())?;
            let esr = validation_esr(&model, &SeqData::new(&fresh.direct, &fresh.amp, Device::Cpu)?)?;
            println!("training setting {}: ESR {esr:.4} ({} epochs, {:.0} s)", c.describe(values), history.epochs.len(), history.seconds());
            scores.push(esr);
        }
        println!("per-setting WaveNets {preset}, {:.0} s each: mean ESR on the training settings {:.4}", each, mean(&scores));
        return Ok(());
    }
    ampsim_core::tch::manual_seed(SEED as i64);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let config = match how.as_str() {
        "film" => WaveNetConfig::preset(&preset)?.with_controls_film(KNOBS.len()),
        _ => WaveNetConfig::preset(&preset)?.with_controls(KNOBS.len()),
    };
    let model = WaveNet::new(&vs.root(), &config)?;
    let cfg = SeqFitConfig { max_seconds: Some(seconds), seed: SEED, ..SeqFitConfig::for_model(&model) };
    let history = fit_sequence(&model, &mut vs, &SeqData::from_captures(&caps, Role::Train, Device::Cpu)?, &SeqData::from_captures(&caps, Role::Validation, Device::Cpu)?, &cfg, &RunControl::quiet())?;
    println!("WaveNet {preset} conditioned ({how}): {} epochs in {:.0} s, best validation ESR {:.4}", history.epochs.len(), history.seconds(), history.best_val_esr);
    for values in &test_settings {
        let esr = validation_esr(&model, &SeqData::at_setting(&caps, values, Device::Cpu)?)?;
        println!("held-out {}: ESR {esr:.4}", c.describe(values));
        scores.push(esr);
    }
    println!("held-out mean ESR {:.4} over {} settings", mean(&scores), scores.len());
    let mut trained = Vec::new();
    for (values, fresh) in train_settings.iter().zip(&at_training) {
        let knobs = c.normalised(values);
        let data = SeqData::from_conditioned_takes(&[(fresh.direct.as_slice(), fresh.amp.as_slice(), knobs.as_slice())], Device::Cpu)?;
        let esr = validation_esr(&model, &data)?;
        println!("training setting {}: ESR {esr:.4}", c.describe(values));
        trained.push(esr);
    }
    println!("mean ESR on the training settings {:.4}", mean(&trained));
    Ok(())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}
