//! Every `.nam` file NAM's own tools wrote (`../shared/data/nam/`) renders in ampsim as NAM's C++
//! engine renders it (`reference/`, from sample 8 192 on — see the README there), or is refused
//! with the feature named. Skipped when `../shared` is absent (unless AMPSIM_REQUIRE_SHARED=1).

use std::path::PathBuf;

use ampsim_core::data::audio::read_wav;
use ampsim_core::interop::nam::{BuildModel, NamFile};
use ampsim_core::tch::{nn, Device};
use ampsim_core::training::process_signal;

/// Outputs before this sample depend on how an engine starts its buffers.
const FROM_SAMPLE: usize = 8192;

fn fixtures() -> Option<PathBuf> {
    ampsim_testkit::shared("data/nam")
}

/// Max |difference| from `FROM_SAMPLE` on between `file` (at `slim`) and NAM's render `reference`.
fn difference(dir: &PathBuf, file: &str, slim: Option<f64>, reference: &str) -> f32 {
    let input = read_wav(dir.join("reference/input.wav")).unwrap().channels.remove(0);
    let nam = NamFile::read(dir.join(file)).unwrap();
    let chosen = slim.map_or(&nam, |s| nam.slimmed(s));
    let vs = nn::VarStore::new(Device::Cpu);
    let model = chosen.build(&vs.root()).unwrap();
    let ours = process_signal(&model, &input, Device::Cpu).unwrap();
    let theirs = read_wav(dir.join("reference").join(reference)).unwrap().channels.remove(0);
    assert_eq!(ours.len(), theirs.len(), "{file}");
    ours[FROM_SAMPLE..].iter().zip(&theirs[FROM_SAMPLE..]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

#[test]
fn nams_own_files_render_as_nams_engine_renders_them() {
    let Some(dir) = fixtures() else { return };
    for (file, slim, reference, tolerance) in [
        ("A2.nam", None, "A2.wav", 1e-4),
        ("A2.nam", Some(0.25), "A2.slim0.25.wav", 1e-4),
        ("wavenet_a1_standard.nam", None, "wavenet_a1_standard.wav", 1e-4),
        ("lstm.nam", None, "lstm.wav", 1e-4),
        ("wavenet.nam", None, "wavenet.wav", 1e-4),
        ("slimmable_container.nam", None, "slimmable_container.wav", 1e-4),
    ] {
        let d = difference(&dir, file, slim, reference);
        println!("{file} (slim {slim:?}): max |difference| {d:.2e}");
        assert!(d < tolerance, "{file} (slim {slim:?}): max |difference| {d}");
    }
    // A2's two sizes are NAM's weight counts, and the slim value picks between them.
    let a2 = NamFile::read(dir.join("A2.nam")).unwrap();
    let sizes: Vec<(f64, usize)> = a2.submodels().iter().map(|(v, m)| (*v, m.weight_count())).collect();
    assert_eq!(sizes, vec![(0.5, 1_871), (1.0, 12_146)]);
    assert_eq!((a2.slimmed(0.5).weight_count(), a2.slimmed(0.51).weight_count(), a2.weight_count()), (1_871, 12_146, 12_146));
}

#[test]
fn what_ampsim_cannot_run_is_refused_by_name() {
    let Some(dir) = fixtures() else { return };
    for (file, feature) in [("wavenet_a2_max.nam", "supported"), ("wavenet_condition_dsp.nam", "condition DSP"), ("slimmable_wavenet.nam", "slimmable")] {
        let err = NamFile::read(dir.join(file)).map_err(ampsim_core::Error::from).and_then(|f| f.build(&nn::VarStore::new(Device::Cpu).root()).map(|_| ())).unwrap_err().to_string();
        assert!(err.contains(file) && err.contains(feature), "{file}: {err}");
    }
}

#[test]
fn a2_sizes_written_as_one_container_play_as_nams_own_container() {
    let Some(dir) = fixtures() else { return };
    let theirs = NamFile::read(dir.join("A2.nam")).unwrap();
    // Both sizes built from NAM's file, written again by ampsim in the order full, nano.
    let vs = nn::VarStore::new(Device::Cpu);
    let full = theirs.slimmed(1.0).build(&vs.root().sub("full")).unwrap();
    let nano = theirs.slimmed(0.25).build(&vs.root().sub("nano")).unwrap();
    let out = std::env::temp_dir().join(format!("ampsim-container-{}.nam", std::process::id()));
    let meta = ampsim_core::interop::nam::NamMetadata { name: Some("A2 pack".into()), ..Default::default() };
    ampsim_core::interop::nam::write_container(&out, &[&*full, &*nano], 48_000, &meta).unwrap();
    let ours = NamFile::read(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    assert_eq!(ours.architecture, "SlimmableContainer");
    let sizes: Vec<(f64, usize)> = ours.submodels().iter().map(|(v, m)| (*v, m.weight_count())).collect();
    assert_eq!(sizes, vec![(0.5, 1_871), (1.0, 12_146)]);
    for ((_, a), (_, b)) in ours.submodels().iter().zip(theirs.submodels()) {
        assert_eq!((&a.config, a.sample_rate_hz), (&b.config, b.sample_rate_hz));
    }
    // And it plays like NAM's renders, at the default size and at slim 0.25.
    let input = read_wav(dir.join("reference/input.wav")).unwrap().channels.remove(0);
    for (slim, reference) in [(1.0, "A2.wav"), (0.25, "A2.slim0.25.wav")] {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = ours.slimmed(slim).build(&vs.root()).unwrap();
        let rendered = process_signal(&model, &input, Device::Cpu).unwrap();
        let reference = read_wav(dir.join("reference").join(reference)).unwrap().channels.remove(0);
        let d = rendered[FROM_SAMPLE..].iter().zip(&reference[FROM_SAMPLE..]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(d < 1e-4, "slim {slim}: max |difference| {d}");
    }
}
