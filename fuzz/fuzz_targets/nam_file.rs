//! Any bytes as a `.nam` file: reading them, building the model and playing a block must return
//! an error or work — never panic, abort, or ask for unbounded memory (a host loads these files).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(file) = ampsim_engine::nam::NamFile::parse(text, "fuzz") else { return };
    let _ = file.slimmed(0.3);
    let Ok(mut model) = file.renderer() else { return };
    let x: Vec<f32> = (0..96).map(|i| ((i as f32) * 0.37).sin() * 0.5).collect();
    let mut y = vec![0.0f32; x.len()];
    model.set_controls(&[0.5, 0.2, 0.9]);
    model.set_slim(0.4);
    model.process(&x[..64], &mut y[..64]);
    model.process(&x[64..], &mut y[64..]);
    model.reset();
    let _ = (model.latency_samples(), model.receptive_field());
});
