//! The real-time engine (`ampsim-engine`, no libtorch) plays every preset as libtorch renders
//! it: 20 s of the built-in DI (882 000 samples, 200 receptive fields of the largest preset; it
//! was 60 s, which took 10 minutes of `make test`), the model exported to `.nam` and loaded by
//! the engine, played
//! in blocks of 1, 64 and 4096 samples and a random mix of sizes, within 1e-5 of
//! `process_signal` everywhere — from the first sample on (the engine starts from the state a
//! silent past leaves, as libtorch's zero padding does).

use ampsim_core::data::synth::{guitar_di, GuitarConfig};
use ampsim_core::interop::nam::{export, NamFile, NamMetadata};
use ampsim_core::models::{CausalModel, Lstm, LstmConfig, WaveNet, WaveNetConfig};
use ampsim_core::tch::{nn, Device};
use ampsim_core::training::process_signal;
use ampsim_engine::Renderer;

fn play(model: &mut dyn Renderer, x: &[f32], blocks: &[usize]) -> Vec<f32> {
    ampsim_testkit::play_in_blocks(x, blocks, |i, o| model.process(i, o))
}

/// Block sizes from 1 to 8192, drawn once from a fixed seed.
fn random_blocks() -> Vec<usize> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    (0..97)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            1 + (s % 8192) as usize
        })
        .collect()
}

fn check(name: &str, model: &dyn CausalModel, x: &[f32], rate_hz: u32) {
    let expected = process_signal(model, x, Device::Cpu).unwrap();
    let file = NamFile::from_value(export(model, rate_hz, &NamMetadata::default()).unwrap(), name).unwrap();
    let mut engine = file.renderer().unwrap();
    let random = random_blocks();
    for (label, blocks) in [("1", &[1][..]), ("64", &[64]), ("4096", &[4096]), ("random", &random)] {
        let n = x.len();
        engine.reset();
        let y = play(engine.as_mut(), &x[..n], blocks);
        let worst = y.iter().zip(&expected[..n]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        eprintln!("{name}, blocks of {label}: max |difference| {worst:.2e} over {} s", n / rate_hz as usize);
        assert!(worst < 1e-5, "{name}, blocks of {label}: max |difference| {worst}");
    }
}

#[test]
fn the_engine_plays_every_preset_as_libtorch_renders_it() {
    let cfg = GuitarConfig::default();
    let x = guitar_di(20.0, 7, &cfg).unwrap();
    let rate = cfg.sample_rate_hz;
    assert_eq!(x.len(), 20 * rate as usize);
    for preset in ["standard", "lite", "feather", "nano", "a2", "a2-nano"] {
        ampsim_core::tch::manual_seed(1);
        let vs = nn::VarStore::new(Device::Cpu);
        check(&format!("WaveNet {preset}"), &WaveNet::new(&vs.root(), &WaveNetConfig::preset(preset).unwrap()).unwrap(), &x, rate);
        if let Ok(cfg) = LstmConfig::preset(preset) {
            let vs = nn::VarStore::new(Device::Cpu);
            let lstm = Lstm::new(&vs.root(), &cfg).unwrap();
            lstm.set_initial_state(0.1, -0.2);
            check(&format!("LSTM {preset}"), &lstm, &x, rate);
        }
    }
}

#[test]
fn the_engine_plays_the_posts_dense_network_as_libtorch_computes_it() {
    use ampsim_core::models::{Mlp, MlpConfig};
    use ampsim_core::tch::{Kind, Tensor};
    let cfg = GuitarConfig::default();
    let x = guitar_di(4.0, 3, &cfg).unwrap();
    ampsim_core::tch::manual_seed(2);
    let vs = nn::VarStore::new(Device::Cpu);
    let mlp = Mlp::new(&vs.root(), &MlpConfig::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("ampsim-dense-{}", std::process::id()));
    let ckpt = dir.join("model.safetensors");
    ampsim_core::training::save_safetensors(&vs, &ckpt).unwrap();
    let (window, future) = (4000usize, 300usize);
    let mut engine = ampsim_engine::models::dense::from_safetensors(&ckpt, future).unwrap();
    let latency = engine.latency_samples();
    let y = play(&mut engine, &x, &random_blocks());
    // libtorch on the windows of 6 000 targets: x[k − window + future .. k + future].
    let targets: Vec<usize> = (window..window + 6000).collect();
    let rows: Vec<f32> = targets.iter().flat_map(|&k| x[k + future - window..k + future].to_vec()).collect();
    let expected = Vec::<f32>::try_from(mlp.forward_t(&Tensor::from_slice(&rows).view([targets.len() as i64, window as i64]).to_kind(Kind::Float), false).view([-1])).unwrap();
    let worst = targets.iter().zip(&expected).map(|(&k, e)| (y[k + latency] - e).abs()).fold(0.0f32, f32::max);
    eprintln!("dense network, random blocks: max |difference| {worst:.2e} over {} targets, latency {latency} samples", targets.len());
    assert!(worst < 1e-5, "dense: max |difference| {worst}");
    std::fs::remove_dir_all(dir).unwrap();
}
