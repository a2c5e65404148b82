//! The `ampsim` binary end to end: deterministic synthesis, info, and one clear error line on bad input.

use std::path::PathBuf;
use std::process::Command;

fn ampsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ampsim"))
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ampsim-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn synth_is_byte_identical_across_runs_and_has_the_posts_length() {
    let d = tmpdir("synth");
    let (a, b) = (d.join("a.wav"), d.join("b.wav"));
    for p in [&a, &b] {
        let out = ampsim().args(["synth", "--out"]).arg(p).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (ba, bb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(ba, bb, "two runs with the same seed differ");
    let r = hound::WavReader::open(&a).unwrap();
    let spec = r.spec();
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (2, 44_100, 16));
    assert!(r.duration() >= 1_600_000, "{} frames", r.duration());
    // Another seed gives another performance.
    let c = d.join("c.wav");
    assert!(ampsim().args(["synth", "--seconds", "5", "--seed", "8", "--out"]).arg(&c).status().unwrap().success());
    assert_ne!(std::fs::read(&c).unwrap()[..20_000], ba[..20_000]);
    // info reads it back and finds the known latency.
    let out = ampsim().arg("info").arg(&a).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("16-bit PCM") && text.contains("lags the DI by 37 samples"), "{text}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn bad_input_gives_one_error_line_and_a_non_zero_exit() {
    let d = tmpdir("bad");
    let junk = d.join("junk.wav");
    std::fs::write(&junk, "not audio").unwrap();
    for args in [
        vec!["info".to_string(), junk.display().to_string()],
        vec!["info".to_string(), d.join("missing.wav").display().to_string()],
        vec!["synth".to_string(), "--gain".into(), "3".into(), "--out".into(), d.join("x.wav").display().to_string()],
        vec!["synth".to_string(), "--seconds".into(), "0".into(), "--out".into(), d.join("y.wav").display().to_string()],
    ] {
        let out = ampsim().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
    assert!(!d.join("x.wav").exists() && !d.join("y.wav").exists());
    // Unwritable output: a directory that does not exist and cannot be created.
    let out = ampsim().args(["synth", "--seconds", "2", "--out", "/proc/ampsim/x.wav"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_dir_all(d).unwrap();
}
