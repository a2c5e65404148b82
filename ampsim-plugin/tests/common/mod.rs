//! What the plugin's tests share: models, signals, WAV files, the engine's own rendering.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ampsim_engine::nam::NamFile;
use ampsim_engine::LstmShape;

pub fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ampsim-plugin-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn weights(n: usize, seed: u64) -> Vec<f32> {
    ampsim_testkit::seeded_weights(n, seed, 0.4)
}

/// An LSTM conditioned on `controls` (name, min, max), seeded weights, as `.nam` JSON.
pub fn knob_lstm(controls: &[(&str, f64, f64)], rate_hz: u32) -> String {
    knob_lstm_seeded(controls, rate_hz, 7)
}

/// [`knob_lstm`] with weights from `seed`.
pub fn knob_lstm_seeded(controls: &[(&str, f64, f64)], rate_hz: u32, seed: u64) -> String {
    let shape = LstmShape { hidden_size: 8, num_layers: 1, controls: controls.len() };
    let specs: Vec<serde_json::Value> = controls.iter().map(|(n, lo, hi)| serde_json::json!({"name": n, "min": lo, "max": hi, "trained_min": lo, "trained_max": hi})).collect();
    serde_json::json!({
        "version": "0.5.4", "architecture": "LSTM", "metadata": {},
        "config": {"input_size": 1 + controls.len(), "hidden_size": 8, "num_layers": 1},
        "weights": weights(shape.nam_weight_count(), seed), "sample_rate": rate_hz, "controls": specs,
    })
    .to_string()
}

/// Something like a guitar: decaying partials with an attack, then a second note.
pub fn guitar(rate_hz: f64, seconds: f64) -> Vec<f32> {
    (0..(rate_hz * seconds) as usize)
        .map(|i| {
            let t = i as f64 / rate_hz;
            let tn = t % 0.5;
            let f = if t < 0.5 { 110.0 } else { 146.8 };
            let env = (-tn * 5.0).exp() * (1.0 - (-tn * 400.0).exp());
            (0.5 * env * ((std::f64::consts::TAU * f * t).sin() + 0.4 * (std::f64::consts::TAU * 3.0 * f * t).sin() + 0.2 * (std::f64::consts::TAU * 11.0 * f * t).sin())) as f32
        })
        .collect()
}

pub fn write_wav(path: &Path, x: &[f32], rate_hz: u32) {
    let spec = hound::WavSpec { channels: 1, sample_rate: rate_hz, bits_per_sample: 32, sample_format: hound::SampleFormat::Float };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    x.iter().for_each(|&s| w.write_sample(s).unwrap());
    w.finalize().unwrap();
}

pub fn read_wav(path: &Path) -> Vec<f32> {
    hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).into_samples::<f32>().map(Result::unwrap).collect()
}

/// `model` rendered by the engine alone at a setting (control values in their own units).
pub fn engine_render(model: &str, setting: &[f64], x: &[f32]) -> Vec<f32> {
    let file = NamFile::parse(model, "test model").unwrap();
    let mut r = file.renderer().unwrap();
    let values: Vec<f32> = file.controls.iter().zip(setting).map(|(c, &v)| c.normalise(v)).collect();
    if !values.is_empty() {
        r.set_controls(&values);
    }
    let mut y = vec![0.0; x.len()];
    r.process(x, &mut y);
    y
}

pub fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Error-to-signal ratio of `y` against `reference`.
pub fn esr(y: &[f32], reference: &[f32]) -> f64 {
    let (e, s) = y.iter().zip(reference).fold((0.0, 0.0), |(e, s), (&a, &b)| (e + ((a - b) as f64).powi(2), s + (b as f64).powi(2)));
    e / s
}

/// The plugin library cargo built beside the tests.
pub fn library() -> PathBuf {
    ampsim_plugin::bundle::find_library().unwrap()
}

/// The offline reference resampler (long filter).
pub fn resample_offline(x: &[f32], from_hz: usize, to_hz: usize) -> Vec<f32> {
    ampsim_plugin::resample::offline(x, from_hz, to_hz).unwrap()
}
