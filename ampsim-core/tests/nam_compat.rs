//! ampsim's `.nam` files against Neural Amp Modeler's own code, both ways, for every LSTM and
//! WaveNet preset (A1 and A2): NAM's loader renders ampsim's exports like ampsim does, and ampsim renders
//! files written by NAM's exporter like NAM does (max |difference| < 1e-4) — NAM's default A2 too,
//! built packed from NAM's own config and written as a SlimmableContainer.
//!
//! Needs Python with the `neural-amp-modeler` package (installed into the project's venv by
//! `tools/setup.sh`; `. tools/env.sh` puts that venv's `python3` first on PATH, or set
//! AMPSIM_PYTHON). Without it the test says so and passes, unless AMPSIM_REQUIRE_NAM=1
//! (as `make test` sets), when it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use ampsim_core::models::{Lstm, LstmConfig, WaveNet, WaveNetConfig};
use ampsim_core::interop::nam::{self, BuildModel, NamFile, NamMetadata};
use ampsim_core::tch::{self, nn, Device};
use ampsim_core::training::process_signal;

const PRESETS: [&str; 6] = ["standard", "lite", "feather", "nano", "a2", "a2-nano"];

fn python() -> String {
    std::env::var("AMPSIM_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn nam_available() -> bool {
    Command::new(python()).args(["-c", "import nam.models"]).output().is_ok_and(|o| o.status.success())
}

fn read_json_samples(path: &Path) -> Vec<f32> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str::<Vec<f64>>(&text).unwrap().into_iter().map(|v| v as f32).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    ampsim_core::evaluation::compare::max_abs_difference(a, b).unwrap()
}

#[test]
fn nam_loads_our_files_and_we_load_nams_files() {
    if !nam_available() {
        if std::env::var("AMPSIM_REQUIRE_NAM").is_ok_and(|v| v == "1") {
            panic!("`{} -c 'import nam.models'` failed: the neural-amp-modeler package is missing (run tools/setup.sh)", python());
        }
        eprintln!("SKIPPED: Python package neural-amp-modeler not found (`{} -c 'import nam.models'` failed)", python());
        return;
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("ampsim-nam-compat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A guitar-like test input: decaying partials with an attack, 0.25 s at 48 kHz.
    let x: Vec<f32> = (0..12_000)
        .map(|i| {
            let t = i as f32 / 48_000.0;
            let env = (-t * 6.0).exp() * (1.0 - (-t * 400.0).exp());
            0.6 * env * ((2.0 * std::f32::consts::PI * 110.0 * t).sin() + 0.4 * (2.0 * std::f32::consts::PI * 330.0 * t).sin() + 0.2 * (2.0 * std::f32::consts::PI * 1210.0 * t).sin())
        })
        .collect();
    std::fs::write(dir.join("input.json"), serde_json::to_string(&x).unwrap()).unwrap();

    let mut ours = Vec::new();
    for preset in PRESETS {
        tch::manual_seed(11);
        let vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset(preset).unwrap()).unwrap();
        let name = format!("wavenet_{preset}");
        nam::write(dir.join(format!("ampsim_{name}.nam")), &wn, 48_000, &NamMetadata::default()).unwrap();
        ours.push((name, process_signal(&wn, &x, Device::Cpu).unwrap()));

        let Ok(lstm_cfg) = LstmConfig::preset(preset) else { continue };
        let vs = nn::VarStore::new(Device::Cpu);
        let lstm = Lstm::new(&vs.root(), &lstm_cfg).unwrap();
        // A trained model's initial state is not zero; NAM must start from it too.
        tch::no_grad(|| {
            for (name, t) in vs.variables() {
                if name == "h0" || name == "c0" {
                    let _ = t.shallow_clone().uniform_(-0.3, 0.3);
                }
            }
        });
        let name = format!("lstm_{preset}");
        nam::write(dir.join(format!("ampsim_{name}.nam")), &lstm, 48_000, &NamMetadata::default()).unwrap();
        ours.push((name, process_signal(&lstm, &x, Device::Cpu).unwrap()));
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/nam_compat.py");
    let out = Command::new(python()).arg(&script).arg(&dir).output().expect("run python");
    assert!(out.status.success(), "{} failed:\n{}\n{}", script.display(), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    for (name, y) in &ours {
        // NAM renders our file as we do.
        let theirs = read_json_samples(&dir.join(format!("ampsim_{name}.out.json")));
        let d = max_diff(y, &theirs);
        println!("{name}: ampsim export rendered by NAM: max |difference| {d:.2e}");
        assert!(d < 1e-4, "{name}: NAM renders our export differently (max |difference| {d})");

        // We render NAM's own export as NAM does.
        let file = NamFile::read(dir.join(format!("nam_{name}.nam"))).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let model = file.build(&vs.root()).unwrap();
        let reference = read_json_samples(&dir.join(format!("nam_{name}.out.json")));
        let d = max_diff(&process_signal(&model, &x, Device::Cpu).unwrap(), &reference);
        println!("{name}: NAM export (version {}) rendered by ampsim: max |difference| {d:.2e}", file.version);
        assert!(d < 1e-4, "{name}: we render NAM's export differently (max |difference| {d})");
    }

    // NAM's default A2, trained packed and written as a SlimmableContainer: each size renders as NAM renders it.
    let container = NamFile::read(dir.join("nam_a2_packed.nam")).unwrap();
    let sizes: Vec<usize> = container.submodels().iter().map(|(_, m)| m.weight_count()).collect();
    assert_eq!(sizes, vec![1_871, 12_146], "NAM's packed A2");
    for (k, (max_value, submodel)) in container.submodels().iter().enumerate() {
        assert_eq!(container.slimmed(*max_value).weight_count(), submodel.weight_count());
        let vs = nn::VarStore::new(Device::Cpu);
        let model = container.slimmed(*max_value).build(&vs.root()).unwrap();
        let reference = read_json_samples(&dir.join(format!("nam_a2_packed.{k}.out.json")));
        let d = max_diff(&process_signal(&model, &x, Device::Cpu).unwrap(), &reference);
        println!("NAM's packed A2, submodel {k} (slim ≤ {max_value}): rendered by ampsim: max |difference| {d:.2e}");
        assert!(d < 1e-4, "NAM's packed A2 submodel {k}: max |difference| {d}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
