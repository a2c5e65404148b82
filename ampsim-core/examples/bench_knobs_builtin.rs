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
use ampsim_core::capture::{Architecture, Capture, CaptureConfig, ModelConfig, Source};
use ampsim_core::models::WaveNetConfig;
use ampsim_core::tch::Device;
use ampsim_core::training::{validation_esr, RunControl, SeqData};

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
            // The setting's own recording (aligned already), without the knob inputs.
            let takes = c.captures.iter().zip(&caps.recordings).filter(|(k, _)| &k.values == values).map(|(_, r)| r.clone()).collect();
            let config = CaptureConfig { architecture: Architecture::WaveNet, preset: preset.clone(), budget_seconds: each, seed: SEED, latency_samples: Some(0), hold_out_last_take: false, ..CaptureConfig::default() };
            let mut capture = Capture::prepare(Source::Takes { takes, unheard: Vec::new() }, config)?;
            capture.tune(|t| t.patience = 100_000)?;
            let trained = capture.fit(&RunControl::quiet())?;
            let (history, model) = (&trained.history, trained.model.as_deref().expect("a WaveNet"));
            let esr = validation_esr(model, &SeqData::new(&fresh.direct, &fresh.amp, Device::Cpu)?)?;
            println!("training setting {}: ESR {esr:.4} ({} epochs, {:.0} s)", c.describe(values), history.epochs.len(), history.seconds());
            scores.push(esr);
        }
        println!("per-setting WaveNets {preset}, {:.0} s each: mean ESR on the training settings {:.4}", each, mean(&scores));
        return Ok(());
    }
    let wavenet = match how.as_str() {
        "film" => WaveNetConfig::preset(&preset)?.with_controls_film(KNOBS.len()),
        _ => WaveNetConfig::preset(&preset)?.with_controls(KNOBS.len()),
    };
    let config = CaptureConfig { architecture: Architecture::WaveNet, preset: preset.clone(), model: Some(ModelConfig::WaveNet(wavenet)), budget_seconds: seconds, seed: SEED, ..CaptureConfig::default() };
    let trained = Capture::prepare(Source::LoadedCaptures(caps.clone()), config)?.fit(&RunControl::quiet())?;
    let (history, model) = (&trained.history, trained.model.as_deref().expect("a WaveNet"));
    println!("WaveNet {preset} conditioned ({how}): {} epochs in {:.0} s, best validation ESR {:.4}", history.epochs.len(), history.seconds(), history.best_val_esr);
    for values in &test_settings {
        let esr = validation_esr(model, &SeqData::at_setting(&caps, values, Device::Cpu)?)?;
        println!("held-out {}: ESR {esr:.4}", c.describe(values));
        scores.push(esr);
    }
    println!("held-out mean ESR {:.4} over {} settings", mean(&scores), scores.len());
    let mut trained = Vec::new();
    for (values, fresh) in train_settings.iter().zip(&at_training) {
        let knobs = c.normalised(values);
        let data = SeqData::from_conditioned_takes(&[(fresh.direct.as_slice(), fresh.amp.as_slice(), knobs.as_slice())], Device::Cpu)?;
        let esr = validation_esr(model, &data)?;
        println!("training setting {}: ESR {esr:.4}", c.describe(values));
        trained.push(esr);
    }
    println!("mean ESR on the training settings {:.4}", mean(&trained));
    Ok(())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}
