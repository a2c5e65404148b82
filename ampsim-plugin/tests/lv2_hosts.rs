//! The LV2 plugin in lilv's hosts (Debian's `lilv-utils`: `lv2ls`, `lv2info`, `lv2apply`): a
//! model written as its own plugin is listed, shows its knobs, and plays a file exactly as the
//! engine alone renders it, at the model's rate and at another.

mod common;

use std::path::Path;
use std::process::Command;

use ampsim_plugin::bundle::Destination;
use common::*;

fn host(dir: &Path, program: &str) -> Command {
    let mut c = Command::new(program);
    c.env("LV2_PATH", dir);
    c
}

fn run(mut c: Command) -> (String, String) {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e} (install Debian's lilv-utils: tools/setup.sh does)"));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{c:?} failed: {stdout} {stderr}");
    (stdout, stderr)
}

/// `input` played by `uri` in lv2apply at the host rate `rate_hz`, with control values.
fn lv2apply(dir: &Path, uri: &str, input: &[f32], rate_hz: u32, controls: &[(&str, f64)]) -> (Vec<f32>, String) {
    // Beside the LV2 folder: lilv reads every entry of it as a bundle.
    let (i, o) = (dir.with_extension("in.wav"), dir.with_extension("out.wav"));
    write_wav(&i, input, rate_hz);
    let mut c = host(dir, "lv2apply");
    c.arg("-i").arg(&i).arg("-o").arg(&o);
    for (symbol, value) in controls {
        c.args(["-c", symbol, &value.to_string()]);
    }
    c.arg(uri);
    let (_, stderr) = run(c);
    (read_wav(&o), stderr)
}

#[test]
fn a_knob_model_is_listed_shows_its_knobs_and_plays_as_the_engine_renders_it() {
    let dir = tmpdir("lv2-knobs");
    let model = knob_lstm(&[("gain", 0.0, 1.0), ("treble", 0.0, 10.0)], 48_000);
    let nam = dir.join("knobs.nam");
    std::fs::write(&nam, &model).unwrap();
    let plugins = dir.join("lv2");
    let w = ampsim_plugin::bundle::write_model_plugin(&library(), &nam, "Knob LSTM", &Destination::under(&dir)).unwrap();
    assert!(w.lv2_bundle.join("manifest.ttl").is_file() && w.clap_file.is_file());
    let uri = "urn:ampsim:knob-lstm";

    let (list, _) = run(host(&plugins, "lv2ls"));
    assert!(list.lines().any(|l| l.trim() == uri), "lv2ls: {list}");
    let (info, _) = run({
        let mut c = host(&plugins, "lv2info");
        c.arg(uri);
        c
    });
    for needle in ["Knob LSTM", "Symbol:      gain", "Symbol:      treble", "Name:        treble", "Maximum:     10.000000", "Symbol:      input_db", "Symbol:      enabled", "Symbol:      latency"] {
        assert!(info.contains(needle), "lv2info lacks `{needle}`:\n{info}");
    }

    let x = guitar(48_000.0, 1.0);
    let mut played = Vec::new();
    for setting in [[0.3, 7.0], [0.9, 1.5], [0.0, 10.0]] {
        let (y, stderr) = lv2apply(&plugins, uri, &x, 48_000, &[("gain", setting[0]), ("treble", setting[1])]);
        let reference = engine_render(&model, &setting, &x);
        let d = max_difference(&y, &reference);
        assert!(d < 1e-5, "at {setting:?}: lv2apply vs the engine {d}; {stderr}");
        played.push(y);
    }
    assert!(max_difference(&played[0], &played[1]) > 1e-3, "the knobs move the sound");
    // Input gain and output level in dB, and off: the input as it came.
    let (y, _) = lv2apply(&plugins, uri, &x, 48_000, &[("gain", 0.3), ("treble", 7.0), ("output_db", -6.0)]);
    let half: Vec<f32> = played[0].iter().map(|v| v * 10f32.powf(-6.0 / 20.0)).collect();
    assert!(max_difference(&y, &half) < 1e-5);
    let (y, _) = lv2apply(&plugins, uri, &x, 48_000, &[("enabled", 0.0)]);
    assert_eq!(y, x, "switched off, the plugin passes its input through");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn nams_own_files_play_as_the_engine_renders_them() {
    let Some(fixtures) = ampsim_testkit::shared("data/nam") else { return };
    let dir = tmpdir("lv2-nam");
    let x = read_wav(&fixtures.join("reference/input.wav"));
    // A capture of one setting (no knobs) and NAM's A2 SlimmableContainer (its full size plays).
    for (file, name) in [("lstm.nam", "NAM LSTM"), ("A2.nam", "NAM A2")] {
        let w = ampsim_plugin::bundle::write_model_plugin(&library(), &fixtures.join(file), name, &Destination::under(&dir)).unwrap();
        assert_eq!(w.header.params.len(), 3, "{file}: input gain, output level, enabled");
        let (y, _) = lv2apply(&dir.join("lv2"), &format!("urn:ampsim:{}", w.header.slug), &x, 48_000, &[]);
        let reference = engine_render(&std::fs::read_to_string(fixtures.join(file)).unwrap(), &[], &x);
        let d = max_difference(&y, &reference);
        assert!(d < 1e-5, "{file}: lv2apply vs the engine {d}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// What the plugin's resampling may cost (README: "Play it in your DAW"; measured 1.5e-10 here,
/// 1.4e-10 to 3.6e-10 on every preset and NAM's A2 by `examples/bench_plugin`).
const RESAMPLED_ESR: f64 = 1e-8;

#[test]
fn at_another_host_rate_the_model_plays_resampled_with_its_latency_reported() {
    let dir = tmpdir("lv2-rate");
    let model = knob_lstm(&[("gain", 0.0, 1.0)], 48_000);
    let nam = dir.join("m.nam");
    std::fs::write(&nam, &model).unwrap();
    ampsim_plugin::bundle::write_model_plugin(&library(), &nam, "Rate test", &Destination::under(&dir)).unwrap();
    // The same as the plugin's amp in-process at 44.1 kHz (the resampler's path, tested on its own).
    let x = guitar(44_100.0, 1.0);
    let (y, _) = lv2apply(&dir.join("lv2"), "urn:ampsim:rate-test", &x, 44_100, &[("gain", 0.5)]);
    let file = ampsim_engine::nam::NamFile::parse(&model, "m").unwrap();
    let mut amp = ampsim_plugin::amp::Amp::new(ampsim_plugin::params::for_model(&file.controls), 44_100.0);
    amp.swap_model(Some(ampsim_plugin::amp::PreparedModel::new(&file, 44_100.0).unwrap()));
    amp.set_param(3, 0.5);
    assert_eq!(amp.latency_samples(), 587, "294 host samples per chunk: 2 × 294 − 1");
    let mut reference = vec![0.0; x.len()];
    amp.process(&x, &mut reference);
    assert!(max_difference(&y, &reference) < 1e-6);
    assert!(y[600..].iter().map(|v| v.abs()).fold(0.0, f32::max) > 1e-2, "it plays");
    // What resampling costs: a guitar at 48 kHz played by the model at its rate, against the
    // same guitar at 44.1 kHz through the plugin (both compared at 44.1 kHz, offline resampling).
    let x48 = guitar(48_000.0, 2.0);
    let at_model_rate = resample_offline(&engine_render(&model, &[0.5], &x48), 48_000, 44_100);
    let x44 = resample_offline(&x48, 48_000, 44_100);
    let (y44, _) = lv2apply(&dir.join("lv2"), "urn:ampsim:rate-test", &x44, 44_100, &[("gain", 0.5)]);
    let (skip, latency) = (4_410, 587);
    let e = esr(&y44[skip + latency..], &at_model_rate[skip..x44.len() - latency]);
    eprintln!("44.1 kHz host, 48 kHz model: ESR {e:.2e} against rendering at the model's rate");
    assert!(e < RESAMPLED_ESR, "ESR {e} of the resampled plugin against rendering at the model's rate");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_damaged_model_leaves_the_plugin_passing_audio_through_with_one_message() {
    let dir = tmpdir("lv2-damaged");
    let model = knob_lstm(&[("gain", 0.0, 1.0)], 48_000);
    let header = ampsim_plugin::embedded::Header { slug: "damaged".into(), name: "Damaged".into(), sample_rate_hz: 48_000, params: ampsim_plugin::params::for_model(&ampsim_engine::nam::NamFile::parse(&model, "m").unwrap().controls) };
    let binary = std::fs::read(library()).unwrap();
    let broken = model.replace("\"LSTM\"", "\"Transformer\"");
    let bytes = ampsim_plugin::embedded::append(&binary, &header, broken.as_bytes());
    let bundle = dir.join("lv2/damaged.lv2");
    std::fs::create_dir_all(dir.join("lv2")).unwrap();
    let files = [
        ("manifest.ttl", ampsim_plugin::lv2::ttl::manifest(&header, "p.so", "plugin.ttl").into_bytes()),
        ("plugin.ttl", ampsim_plugin::lv2::ttl::plugin(&header, false).into_bytes()),
        ("p.so", bytes),
    ];
    ampsim_plugin::bundle::write_folder(&bundle, &files).unwrap();
    let x = guitar(48_000.0, 0.25);
    let (y, stderr) = lv2apply(&dir.join("lv2"), "urn:ampsim:damaged", &x, 48_000, &[("gain", 0.5)]);
    assert_eq!(y, x, "no model: the input passes through");
    let messages: Vec<&str> = stderr.lines().filter(|l| l.starts_with("ampsim:")).collect();
    assert_eq!(messages.len(), 1, "{stderr}");
    assert!(messages[0].contains("architecture \"Transformer\" is not supported") && messages[0].contains("passes its input through"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}
