//! Training is repeatable with a seed (same thread count). This lives in its own test binary:
//! libtorch's generator is global to the process, and tests in one binary run in parallel
//! threads that would otherwise draw from it in between.

use ampsim_core::models::{Mlp, MlpConfig};
use ampsim_core::tch::{nn, Device};
use ampsim_core::training::{fit, predict, seed_everything, FitConfig, History, RunControl};
use ampsim_core::data::windows::{make_xy, WindowSpec};

fn toy() -> (Vec<f32>, Vec<f32>) {
    // A memoryless soft clipper of a two-tone signal, delayed by 2 samples: learnable.
    let d: Vec<f32> = (0..6000).map(|i| 0.5 * (i as f32 * 0.07).sin() + 0.3 * (i as f32 * 0.31).sin()).collect();
    let a: Vec<f32> = (0..6000).map(|i| if i >= 2 { (2.0 * d[i - 2]).tanh() * 0.8 } else { 0.0 }).collect();
    (d, a)
}

fn train_once(seed: u64) -> (History, Vec<f32>) {
    let (d, a) = toy();
    let spec = WindowSpec { window_samples: 32, future_samples: 4 };
    let w = make_xy(&d, &a, 0, 4000, spec, Device::Cpu).unwrap();
    let test = make_xy(&d, &a, 4000, 5500, spec, Device::Cpu).unwrap();
    seed_everything(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let m = Mlp::new(&vs.root(), &MlpConfig { input_samples: 32, hidden: vec![32, 32], dropout: 0.1, ..MlpConfig::default() }).unwrap();
    let cfg = FitConfig { epochs: 4, batch_size: 64, seed, ..FitConfig::default() };
    let h = fit(&m, &vs, &w, Some(&test), &cfg, &RunControl::quiet()).unwrap();
    (h, predict(&m, &test, 100).unwrap())
}

#[test]
fn training_reduces_the_loss_and_is_repeatable_with_a_seed() {
    let (h1, p1) = train_once(3);
    let (h2, p2) = train_once(3);
    let losses: Vec<f64> = h1.epochs.iter().map(|e| e.loss).collect();
    assert!(losses[3] < losses[0] * 0.5, "{losses:?}");
    assert!(h1.epochs[3].val_esr.unwrap() < 0.1, "{:?}", h1.epochs[3]);
    assert!(h1.best_val_esr <= h1.epochs[3].val_esr.unwrap() && h1.best_epoch >= 1);
    for (a, b) in h1.epochs.iter().zip(&h2.epochs) {
        assert!((a.loss - b.loss).abs() < 1e-6, "{} vs {}", a.loss, b.loss);
    }
    assert_eq!(p1, p2);
    let df = h1.to_dataframe().unwrap();
    assert_eq!(df.height(), 4);
    assert_eq!(df.get_column_names().len(), 6);
    // Another seed trains differently.
    let (h3, _) = train_once(4);
    assert_ne!(h1.epochs[0].loss, h3.epochs[0].loss);
}
