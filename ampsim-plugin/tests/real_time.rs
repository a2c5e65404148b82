//! The plugin's amp on the audio thread: nothing allocates (counted by a global allocator) for
//! any block length, at the model's rate and resampled, while knobs turn, the bypass toggles and
//! a new model is swapped in; NaN and infinite input play as silence; switching off and on, and
//! swapping models, fade instead of clicking.

mod common;

use ampsim_engine::nam::NamFile;
use ampsim_plugin::amp::{Amp, PreparedModel};
use ampsim_plugin::params::for_model;
use ampsim_testkit::alloc::{allocations, Counting};
use common::*;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn amp_at(model: &str, rate_hz: f64) -> (Amp, NamFile) {
    let file = NamFile::parse(model, "test model").unwrap();
    let mut amp = Amp::new(for_model(&file.controls), rate_hz);
    amp.swap_model(Some(PreparedModel::new(&file, rate_hz).unwrap()));
    (amp, file)
}

#[test]
fn playing_allocates_nothing_whatever_the_host_does() {
    let model = knob_lstm(&[("gain", 0.0, 1.0), ("treble", 0.0, 10.0)], 48_000);
    for rate in [48_000.0, 44_100.0, 96_000.0] {
        let (mut amp, file) = amp_at(&model, rate);
        let spare = PreparedModel::new(&file, rate).unwrap();
        let mut x = guitar(rate, 0.5);
        x[1000] = f32::NAN;
        x[2000] = f32::INFINITY;
        let mut y = vec![0.0; x.len()];
        let mut spare = Some(spare);
        let mut retired = Vec::with_capacity(4);
        let count = allocations(|| {
            let (mut at, mut i) = (0, 0);
            for block in [0usize, 1, 7, 64, 512, 8192, 3, 128].iter().cycle() {
                if at >= x.len() {
                    break;
                }
                let n = (*block).min(x.len() - at);
                amp.set_param(3, (i % 10) as f64 / 10.0);
                amp.set_param(4, f64::NAN);
                amp.set_param(2, if i % 5 == 4 { 0.0 } else { 1.0 });
                amp.set_param(0, i as f64 - 3.0);
                if i == 6 {
                    if let Some(old) = amp.swap_model(spare.take()) {
                        retired.push(old);
                    }
                }
                if let Some(old) = amp.take_retired() {
                    retired.push(old);
                }
                amp.process(&x[at..at + n], &mut y[at..at + n]);
                at += n;
                i += 1;
            }
        });
        assert_eq!(count, 0, "at {rate} Hz: {count} allocations while playing");
        assert_eq!(retired.len(), 1, "the swapped-out model is handed back to be dropped off the audio thread");
        assert!(y.iter().all(|v| v.is_finite()), "at {rate} Hz");
    }
}

/// The largest step between neighbouring output samples.
fn largest_step(y: &[f32]) -> f32 {
    y.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max)
}

#[test]
fn switching_off_and_on_and_swapping_models_fade_without_a_click() {
    let model = knob_lstm(&[("gain", 0.0, 1.0)], 48_000);
    let other = knob_lstm_seeded(&[("gain", 0.0, 1.0)], 48_000, 99);
    let x = guitar(48_000.0, 1.0);
    let (mut steady, _) = amp_at(&model, 48_000.0);
    let mut y0 = vec![0.0; x.len()];
    steady.process(&x, &mut y0);
    let natural = largest_step(&y0).max(largest_step(&x));

    let (mut amp, _) = amp_at(&model, 48_000.0);
    let mut y = vec![0.0; x.len()];
    let mut at = 0;
    for (n, enabled, swap) in [(10_000, 1.0, false), (10_000, 0.0, false), (10_000, 1.0, false), (10_000, 1.0, true), (8_000, 1.0, false)] {
        amp.set_param(2, enabled);
        if swap {
            let f = NamFile::parse(&other, "other").unwrap();
            amp.swap_model(Some(PreparedModel::new(&f, 48_000.0).unwrap()));
        }
        amp.process(&x[at..at + n], &mut y[at..at + n]);
        at += n;
    }
    assert!(largest_step(&y) <= 1.5 * natural, "largest step {} against {} playing steadily", largest_step(&y), natural);
    // Off, after its fade, the input passes as it came.
    assert_eq!(&y[10_000 + 480..20_000], &x[10_000 + 480..20_000]);
}
