//! Real-time factor of every preset on one thread, at 64- and 4096-sample blocks. Weights are
//! seeded pseudo-random values (speed does not depend on them);
//! `../shared/data/nam/wavenet_a1_standard.nam` is timed too when present. NAM's C++ core beside
//! ampsim, measured in the same run on the same core: `tools/bench_vs_nam.sh` (`make bench`).
//!
//! `cargo run --release -p ampsim-engine --example bench_engine [seconds]`

use std::time::Instant;

use ampsim_engine::models::{DenseConfig, DenseLayer, DenseNet, Lstm, WaveNet};
use ampsim_engine::{LstmShape, Renderer, WaveNetConfig};
use ampsim_testkit::seeded_weights as weights;

const RATE_HZ: f64 = 48_000.0;

fn signal(n: usize) -> Vec<f32> {
    (0..n).map(|i| 0.3 * ((i as f32 * 0.013).sin() + 0.5 * (i as f32 * 0.0021).sin() * (i as f32 * 0.21).sin())).collect()
}

/// Seconds of audio per second of work, and µs per block.
fn time(model: &mut dyn Renderer, x: &[f32], block: usize) -> (f64, f64) {
    let mut y = vec![0.0; x.len()];
    model.reset();
    for (i, o) in x.chunks(block).zip(y.chunks_mut(block)).take(50) {
        model.process(i, o); // warm up
    }
    model.reset();
    let start = Instant::now();
    for (i, o) in x.chunks(block).zip(y.chunks_mut(block)) {
        model.process(i, o);
    }
    let s = start.elapsed().as_secs_f64();
    std::hint::black_box(&y);
    (x.len() as f64 / RATE_HZ / s, s * 1e6 / (x.len() as f64 / block as f64))
}

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let x = signal((seconds * RATE_HZ) as usize);
    let mut models: Vec<(String, Box<dyn Renderer>)> = Vec::new();
    for preset in ["standard", "lite", "feather", "nano", "a2", "a2-nano"] {
        let cfg = WaveNetConfig::preset(preset).expect("preset");
        let mut w = weights(cfg.nam_weight_count(), 7, 0.2);
        *w.last_mut().expect("weights") = cfg.head_scale as f32;
        models.push((format!("WaveNet {preset}"), Box::new(WaveNet::new(&cfg, &w).expect("model"))));
    }
    // Models of the whole amp: the knobs set once, as `ampsim process --set` does.
    let cfg = WaveNetConfig::preset("standard").expect("preset").with_controls_film(2);
    let mut w = weights(cfg.nam_weight_count(), 7, 0.2);
    *w.last_mut().expect("weights") = cfg.head_scale as f32;
    let mut knobs: Box<dyn Renderer> = Box::new(WaveNet::new(&cfg, &w).expect("model"));
    knobs.set_controls(&[0.3, 0.7]);
    models.push(("WaveNet standard + 2 knobs (FiLM)".into(), knobs));
    let a1 = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nam/wavenet_a1_standard.nam");
    if let Ok(m) = ampsim_engine::nam::load(&a1) {
        models.push(("WaveNet standard (NAM's capture)".into(), m));
    }
    for name in ["standard", "lite", "feather", "nano"] {
        let shape = LstmShape::preset(name).expect("preset");
        models.push((format!("LSTM {name}"), Box::new(Lstm::new(shape, &weights(shape.nam_weight_count(), 11, 0.3)).expect("model"))));
    }
    let shape = LstmShape { hidden_size: 24, num_layers: 1, controls: 3 };
    let mut knobs: Box<dyn Renderer> = Box::new(Lstm::new(shape, &weights(shape.nam_weight_count(), 11, 0.3)).expect("model"));
    knobs.set_controls(&[0.4, 0.5, 0.6]);
    models.push(("LSTM standard + 3 knobs".into(), knobs));
    // The post's dense network: 4000 → 256 → 256 → 256 → 1 (Glorot-scale weights).
    let widths = [4000, 256, 256, 256, 1];
    let layers = widths.windows(2).enumerate().map(|(i, w)| DenseLayer { weights: weights(w[0] * w[1], 13 + i as u64, (6.0 / (w[0] + w[1]) as f32).sqrt()), bias: vec![0.01; w[1]] }).collect();
    models.push(("dense (the post's, 4000 → 3×256 → 1)".into(), Box::new(DenseNet::new(DenseConfig::default(), layers).expect("model"))));
    println!("one thread, {seconds} s of audio at 48 kHz, {:?}", ampsim_engine::Simd::detect());
    println!("{:<36} {:>12} {:>12} {:>12} {:>12}", "model", "RT @64", "µs/64", "RT @4096", "µs/4096");
    for (name, mut m) in models {
        let (rt64, us64) = time(m.as_mut(), &x, 64);
        let (rt4k, us4k) = time(m.as_mut(), &x, 4096);
        println!("{name:<36} {rt64:>11.1}x {us64:>12.2} {rt4k:>11.1}x {us4k:>12.1}");
    }
}
