//! Any bytes as a captures manifest (`ampsim train --captures`): reading it must return the
//! captures or an error that names the manifest — never panic, abort, or take unbounded memory.
//! What it reads, written back with `Captures::manifest`, must read back the same (the CLI and
//! the synthesised sets write manifests this way).
#![no_main]

use std::path::{Path, PathBuf};

use ampsim_captures::Captures;
use libfuzzer_sys::fuzz_target;

/// The WAV files every folder the manifest names holds (read from names by its pattern).
fn folder(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let names = ["amp_b2_t5_take1.wav", "amp_b2.5_t-1_take2.WAV", "amp_b10_t0_take9.wav", "x_b1_m2_t3_take4.wav"];
    Ok(names.iter().map(|n| dir.join(n)).collect())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let manifest = Path::new("/rig/captures.toml");
    let Ok(captures) = Captures::parse(text, manifest, &mut folder) else { return };
    let written = captures.manifest(Path::new("/rig"));
    let back = Captures::parse(&written, manifest, &mut folder).unwrap_or_else(|e| panic!("written manifest does not read back: {e}\n{written}"));
    assert_eq!(back, captures, "written manifest reads back otherwise:\n{written}");
    for c in &captures.captures {
        let _ = (captures.describe(&c.values), captures.normalised(&c.values));
    }
});
