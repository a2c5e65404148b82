//! A `.nam` file cannot crash or exhaust the program that loads it (a DAW, through the plugin):
//! files that ask for unbounded memory or sizes past any real model's are refused with a
//! message, before anything is allocated. Each case here was found by the fuzzer
//! (`tools/fuzz.sh`) or stands beside one that was.

use ampsim_engine::nam::NamFile;

fn refused(doc: serde_json::Value, needle: &str) {
    match NamFile::parse(&doc.to_string(), "hostile.nam").and_then(|f| f.renderer().map(|_| ())) {
        Ok(()) => panic!("accepted: {doc}"),
        Err(e) => assert!(e.to_string().contains(needle), "{e} (wanted `{needle}`)"),
    }
}

fn wavenet(layer: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"version": "0.5.4", "architecture": "WaveNet", "config": {"layers": [layer], "head": null, "head_scale": 0.02}, "weights": vec![0.1; 64], "sample_rate": 48000})
}

#[test]
fn files_asking_for_unbounded_memory_are_refused_before_allocating() {
    // A dilation of a billion samples: 48 GB of delay line from a 4 kB file (found by fuzzing).
    let layer = |dilation: u64, channels: u64| serde_json::json!({"input_size": 1, "condition_size": 1, "head_size": 1, "channels": channels, "kernel_size": 3, "dilations": [dilation], "activation": "Tanh", "gated": false, "head_bias": false});
    refused(wavenet(layer(1_000_000_000, 3)), "reaches back more than");
    // Overflowing arithmetic: dilation × (kernel − 1) past 2⁶⁴.
    refused(wavenet(layer(u64::MAX / 2, 3)), "reaches back more than");
    refused(wavenet(layer(1, 1 << 40)), "channels (at most 1024 each)");
    // Many wide layers reaching far: each allowed, together too much.
    let mut wide = layer(1 << 18, 1024);
    wide["dilations"] = serde_json::json!([262144, 262144, 262144, 262144]);
    refused(wavenet(wide), "delay lines would hold");
    let lstm = serde_json::json!({"version": "0.5.4", "architecture": "LSTM", "config": {"input_size": 1, "hidden_size": 1u64 << 40, "num_layers": 1}, "weights": [0.1], "sample_rate": 48000});
    refused(lstm, "at most 2048");
    let one = serde_json::json!({"max_value": 1.0, "model": {"version": "0.5.4", "architecture": "LSTM", "config": {"input_size": 1, "hidden_size": 1, "num_layers": 1}, "weights": vec![0.0; 18]}});
    let many = serde_json::json!({"version": "0.7.0", "architecture": "SlimmableContainer", "config": {"submodels": vec![one; 17]}, "weights": []});
    refused(many, "17 submodels");
}
