//! What the plugin costs beside the engine alone, and what resampling costs in sound.
//!
//! For each model: the engine's real-time factor at 64-sample blocks, the plugin's (its amp:
//! gains, knobs, the bypass path and the copy a host's in-place buffer needs, at the model's
//! rate), and the plugin's with the host at 44.1 kHz (resampled both ways); both with denormals
//! flushed to zero, as the plugin plays. Then the ESR of a
//! 48 kHz model played at 44.1 kHz against rendering at its own rate. One thread.
//!
//! `cargo run --release -p ampsim-plugin --example bench_plugin [seconds]` (`BENCH_ONLY=LSTM`: those models only)

use std::time::Instant;

use ampsim_engine::nam::NamFile;
use ampsim_engine::{LstmShape, WaveNetConfig};
use ampsim_plugin::amp::{Amp, PreparedModel};
use ampsim_plugin::params::for_model;
use ampsim_plugin::resample;
use ampsim_testkit::seeded_weights as weights;

fn guitar(rate_hz: f64, seconds: f64) -> Vec<f32> {
    (0..(rate_hz * seconds) as usize)
        .map(|i| {
            let t = i as f64 / rate_hz;
            let tn = t % 0.5;
            let env = (-tn * 5.0).exp() * (1.0 - (-tn * 400.0).exp());
            (0.5 * env * ((std::f64::consts::TAU * 110.0 * t).sin() + 0.4 * (std::f64::consts::TAU * 330.0 * t).sin() + 0.2 * (std::f64::consts::TAU * 1210.0 * t).sin())) as f32
        })
        .collect()
}

/// A `.nam` of a seeded WaveNet or LSTM (knobs named k1, k2, … when it reads any).
fn seeded(architecture: &str, config: serde_json::Value, count: usize, controls: usize, head_scale: Option<f64>) -> NamFile {
    let mut w = weights(count, 7, 0.2);
    if let Some(h) = head_scale {
        *w.last_mut().unwrap() = h as f32;
    }
    let specs: Vec<serde_json::Value> = (0..controls).map(|k| serde_json::json!({"name": format!("k{}", k + 1), "min": 0, "max": 1, "trained_min": 0, "trained_max": 1})).collect();
    let doc = serde_json::json!({"version": "0.5.4", "architecture": architecture, "config": config, "weights": w, "sample_rate": 48000, "controls": specs});
    NamFile::parse(&doc.to_string(), architecture).unwrap()
}

fn wavenet(cfg: WaveNetConfig, controls: usize) -> NamFile {
    let (n, h) = (cfg.nam_weight_count(), cfg.head_scale);
    seeded("WaveNet", cfg.to_nam(), n, controls, Some(h))
}

fn lstm(hidden: usize, controls: usize) -> NamFile {
    let shape = LstmShape { hidden_size: hidden, num_layers: 1, controls };
    seeded("LSTM", serde_json::json!({"input_size": 1 + controls, "hidden_size": hidden, "num_layers": 1}), shape.nam_weight_count(), controls, None)
}

/// Real-time factor of `play` over `x` at `rate_hz` in `block`-sample blocks (median of 3).
fn rt(x: &[f32], rate_hz: f64, block: usize, mut play: impl FnMut(&[f32], &mut [f32])) -> f64 {
    let mut y = vec![0.0; block];
    let mut runs: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            for chunk in x.chunks(block) {
                play(chunk, &mut y[..chunk.len()]);
            }
            std::hint::black_box(&y);
            x.len() as f64 / rate_hz / start.elapsed().as_secs_f64()
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[1]
}

fn amp(file: &NamFile, rate_hz: f64) -> Amp {
    let mut a = Amp::new(for_model(&file.controls), rate_hz);
    a.swap_model(Some(PreparedModel::new(file, rate_hz).unwrap()));
    a
}

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nam");
    let mut models: Vec<(String, NamFile)> = vec![
        ("WaveNet standard (A1)".into(), wavenet(WaveNetConfig::preset("standard").unwrap(), 0)),
        ("WaveNet A2".into(), wavenet(WaveNetConfig::preset("a2").unwrap(), 0)),
        ("WaveNet standard + 2 knobs (FiLM)".into(), wavenet(WaveNetConfig::preset("standard").unwrap().with_controls_film(2), 2)),
        ("LSTM standard".into(), lstm(24, 0)),
        ("LSTM standard + 3 knobs".into(), lstm(24, 3)),
    ];
    if let Ok(f) = NamFile::read(shared.join("A2.nam")) {
        models.push(("NAM's A2.nam (container, full size)".into(), f));
    }
    // `BENCH_ONLY=LSTM`: only the models whose name holds it.
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        models.retain(|(name, _)| name.contains(&only));
    }
    let (x48, x44) = (guitar(48_000.0, seconds), guitar(44_100.0, seconds));
    println!("one thread, {seconds} s of audio, 64-sample blocks, {:?}", ampsim_engine::Simd::detect());
    println!("{:<38} {:>12} {:>12} {:>10} {:>16}", "model", "engine", "plugin", "plugin/engine", "plugin @44.1k");
    for (name, file) in &models {
        let mut engine = file.renderer().unwrap();
        // The knobs where the plugin starts them: mid-range.
        engine.set_controls(&vec![0.5; file.controls.len()]);
        let mut a = amp(file, 48_000.0);
        let mut scratch = vec![0.0f32; 64];
        // Rounds of each in turn, the best of each kept: an LSTM's speed swings by ±15 % from
        // run to run (engine alone too), more than the plugin's work around it costs.
        let (mut e, mut p) = (0.0f64, 0.0f64);
        for _ in 0..3 {
            // Denormals flushed as the plugin flushes them (else a decaying LSTM state slows down).
            let _flush = ampsim_plugin::amp::DenormalsOff::new();
            e = e.max(rt(&x48, 48_000.0, 64, |i, o| engine.process(i, o)));
            // As a host with one in-place buffer: the input copied aside first.
            p = p.max(rt(&x48, 48_000.0, 64, |i, o| {
                scratch[..i.len()].copy_from_slice(i);
                a.process(&scratch[..i.len()], o)
            }));
        }
        let mut a44 = amp(file, 44_100.0);
        let r = rt(&x44, 44_100.0, 64, |i, o| a44.process(i, o));
        println!("{name:<38} {e:>11.1}x {p:>11.1}x {:>12.1}% {r:>15.1}x", 100.0 * (e / p - 1.0));
    }
    println!("\nresampled: a 48 kHz model in a 44.1 kHz host, against rendering at 48 kHz (2 s guitar, compared at 44.1 kHz)");
    // A real DI when NAM's reference input is beside the repository, else the synthetic guitar.
    let di = hound::WavReader::open(shared.join("reference/input.wav")).ok().map(|r| r.into_samples::<f32>().map(Result::unwrap).collect::<Vec<f32>>());
    println!("input: {}", if di.is_some() { "NAM's reference DI (2 s of a real guitar)" } else { "the synthetic guitar" });
    for (name, file) in &models {
        let x = di.clone().unwrap_or_else(|| guitar(48_000.0, 2.0));
        let mut engine = file.renderer().unwrap();
        engine.set_controls(&vec![0.5; file.controls.len()]);
        let mut y48 = vec![0.0; x.len()];
        engine.process(&x, &mut y48);
        let reference = resample::offline(&y48, 48_000, 44_100).unwrap();
        let x44 = resample::offline(&x, 48_000, 44_100).unwrap();
        let mut a = amp(file, 44_100.0);
        let latency = a.latency_samples();
        let mut y = vec![0.0; x44.len()];
        a.process(&x44, &mut y);
        let skip = 4_410;
        let (e, s) = y[skip + latency..].iter().zip(&reference[skip..]).fold((0.0, 0.0), |(e, s), (&a, &b)| (e + ((a - b) as f64).powi(2), s + (b as f64).powi(2)));
        println!("{name:<38} ESR {:.2e}  (latency {latency} samples, {:.1} ms)", e / s, latency as f64 / 44.1);
    }
}
