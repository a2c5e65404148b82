//! The real-time contract: `process` allocates nothing (counted by a global allocator), for
//! every kind of model, any block length, and input with NaN and infinities in it; a
//! non-finite sample plays as silence.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ampsim_engine::schema::a2::{Film, Films, Gating, Head1x1, LayerActivation, LayerOptions, Nonlinearity};
use ampsim_engine::models::{Container, DenseConfig, DenseLayer, DenseNet, Lstm, SlimmableWaveNet, WaveNet};
use ampsim_engine::{Activation, LayerArrayConfig, LstmShape, Renderer, WaveNetConfig};

/// Counts the allocations of the thread that asked for counting.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made while running `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

fn weights(n: usize, seed: u64) -> Vec<f32> {
    ampsim_testkit::seeded_weights(n, seed, 0.2)
}

fn wavenet(preset: &str) -> WaveNet {
    let cfg = WaveNetConfig::preset(preset).unwrap();
    let mut w = weights(cfg.nam_weight_count(), 3);
    *w.last_mut().unwrap() = cfg.head_scale as f32;
    WaveNet::new(&cfg, &w).unwrap()
}

/// A WaveNet with every A2 option on: bottleneck, groups, head 1×1, per-layer gating (none,
/// gated, blended) with PReLU and Hardswish, and all eight FiLMs.
fn a2_everything() -> WaveNet {
    let film = Some(Film { shift: true, groups: 1 });
    let fixed = Nonlinearity::Fixed;
    let per_layer = vec![
        LayerActivation { activation: fixed(Activation::Tanh), gating: Gating::None, secondary: fixed(Activation::Sigmoid) },
        LayerActivation { activation: fixed(Activation::Softsign), gating: Gating::Gated, secondary: fixed(Activation::Hardswish) },
        LayerActivation { activation: Nonlinearity::PRelu { negative_slopes: vec![0.1, 0.2] }, gating: Gating::Blended, secondary: fixed(Activation::Sigmoid) },
    ];
    let films = Films { conv_pre: film, conv_post: film, input_mixin_pre: film, input_mixin_post: film, activation_pre: film, activation_post: film, layer1x1_post: film, head1x1_post: film };
    let options = LayerOptions { per_layer, bottleneck: Some(2), groups_input: 2, groups_input_mixin: 1, layer1x1_groups: Some(2), head1x1: Some(Head1x1 { out_channels: 2, groups: 2 }), films };
    let array = LayerArrayConfig {
        input_size: 1,
        condition_size: 1,
        head_size: 1,
        channels: 4,
        kernel_sizes: vec![3, 2, 3],
        dilations: vec![1, 2, 4],
        activation: Activation::Tanh,
        gated: false,
        head_kernel_size: 2,
        head_bias: true,
        options,
    };
    let cfg = WaveNetConfig { layers: vec![array], head_scale: 0.1 };
    let mut w = weights(cfg.nam_weight_count(), 11);
    *w.last_mut().unwrap() = 0.1;
    WaveNet::new(&cfg, &w).unwrap()
}

fn lstm(layers: usize, hidden: usize) -> Lstm {
    let shape = LstmShape { hidden_size: hidden, num_layers: layers, controls: 0 };
    Lstm::new(shape, &weights(shape.nam_weight_count(), 5)).unwrap()
}

fn models() -> Vec<(String, Box<dyn Renderer>)> {
    let mut out: Vec<(String, Box<dyn Renderer>)> = Vec::new();
    for preset in ["standard", "nano", "a2", "a2-nano"] {
        out.push((format!("WaveNet {preset}"), Box::new(wavenet(preset))));
    }
    out.push(("WaveNet with every A2 option".into(), Box::new(a2_everything())));
    out.push(("LSTM 1x24".into(), Box::new(lstm(1, 24))));
    let widths = [400, 32, 16, 1];
    let layers = widths.windows(2).enumerate().map(|(i, w)| DenseLayer { weights: weights(w[0] * w[1], 7 + i as u64), bias: vec![0.01; w[1]] }).collect();
    let dense = DenseConfig { window_samples: 400, future_samples: 30, ..DenseConfig::default() };
    out.push(("dense".into(), Box::new(DenseNet::new(dense, layers).unwrap())));
    out.push(("LSTM 2x8".into(), Box::new(lstm(2, 8))));
    let sizes: Vec<(f64, Box<dyn Renderer>)> = vec![(0.5, Box::new(wavenet("a2-nano"))), (1.0, Box::new(wavenet("a2")))];
    out.push(("container".into(), Box::new(Container::new(sizes).unwrap())));
    let nano = WaveNetConfig::preset("nano").unwrap();
    let mut w = weights(nano.nam_weight_count(), 9);
    *w.last_mut().unwrap() = nano.head_scale as f32;
    out.push(("conditioned WaveNet".into(), Box::new(WaveNet::conditioned(&WaveNetConfig::preset("nano").unwrap(), &{
        let cfg = WaveNetConfig::preset("nano").unwrap();
        let mut w = weights(cfg.nam_weight_count(), 21);
        *w.last_mut().unwrap() = 0.02;
        w
    }, wavenet("nano")).unwrap())));
    out.push(("slimmable WaveNet".into(), Box::new(SlimmableWaveNet::new(&nano, vec![vec![2, 4], vec![1, 2]], &w).unwrap())));
    out.push(("LSTM with 3 controls".into(), Box::new(knob_lstm())));
    out.push(("WaveNet with 3 controls".into(), Box::new(knob_wavenet())));
    out
}

/// Models conditioned on three knobs.
fn knob_lstm() -> Lstm {
    let shape = LstmShape { hidden_size: 8, num_layers: 1, controls: 3 };
    Lstm::new(shape, &weights(shape.nam_weight_count(), 31)).unwrap()
}

fn knob_wavenet() -> WaveNet {
    let cfg = WaveNetConfig::preset("nano").unwrap().with_controls(3);
    let mut w = weights(cfg.nam_weight_count(), 33);
    *w.last_mut().unwrap() = cfg.head_scale as f32;
    WaveNet::new(&cfg, &w).unwrap()
}

fn signal(n: usize) -> Vec<f32> {
    (0..n).map(|i| 0.4 * (i as f32 * 0.03).sin() * (i as f32 * 0.0007).cos()).collect()
}

#[test]
fn process_allocates_nothing_at_any_block_length_even_on_bad_input() {
    let mut x = signal(30_000);
    for (i, bad) in [(100, f32::NAN), (5000, f32::INFINITY), (12_345, f32::NEG_INFINITY), (20_000, f32::NAN)] {
        x[i] = bad;
    }
    let mut y = vec![0.0; x.len()];
    // The counter counts: one boxed value is one allocation.
    assert_eq!(allocations(|| drop(std::hint::black_box(Box::new(1u64)))), 1);
    for (name, mut m) in models() {
        let count = allocations(|| {
            let mut at = 0;
            for &n in [1usize, 64, 4096, 8192, 333, 2, 10_000].iter().cycle() {
                if at >= x.len() {
                    break;
                }
                let n = n.min(x.len() - at);
                m.process(&x[at..at + n], &mut y[at..at + n]);
                at += n;
            }
            m.set_slim(0.3);
            m.process(&x[..64], &mut y[..64]);
            m.set_slim(1.0);
            m.set_controls(&[0.9, 0.1, 0.5]);
            m.process(&x[..2000], &mut y[..2000]);
            m.reset();
            m.set_controls(&[0.2, f32::NAN, 1.0]);
            m.process(&x[..64], &mut y[..64]);
        });
        assert_eq!(count, 0, "{name}: {count} allocations while playing");
        assert!(y.iter().all(|v| v.is_finite()), "{name}: a non-finite output");
    }
}

#[test]
fn a_non_finite_sample_plays_as_silence_and_mismatched_buffers_are_safe() {
    let clean = signal(6000);
    let mut dirty = clean.clone();
    let mut zeroed = clean.clone();
    for i in [10, 2000, 4999] {
        dirty[i] = f32::NAN;
        zeroed[i] = 0.0;
    }
    for (name, mut m) in models() {
        let (mut a, mut b) = (vec![0.0; 6000], vec![0.0; 6000]);
        m.process(&dirty, &mut a);
        m.reset();
        m.process(&zeroed, &mut b);
        assert_eq!(a, b, "{name}");
        // A shorter input fills the rest of the output with zeros; an empty block does nothing.
        let mut out = vec![1.0; 100];
        m.process(&clean[..40], &mut out);
        assert!(out[40..].iter().all(|&v| v == 0.0), "{name}");
        m.process(&[], &mut []);
    }
}

/// A knob set before playing applies from the first sample (the past is silence at it); turned
/// while playing, the model glides to it over `RAMP_SAMPLES` instead of jumping: the output's
/// largest step from one sample to the next stays near what the playing itself makes, where an
/// instant jump of the knobs makes a click.
#[test]
fn knobs_apply_at_once_before_playing_and_glide_while_playing() {
    let x = signal(16_384);
    let ramp = ampsim_engine::controls::RAMP_SAMPLES;
    for (name, make) in [("LSTM", (|| Box::new(knob_lstm()) as Box<dyn Renderer>) as fn() -> Box<dyn Renderer>), ("WaveNet", || Box::new(knob_wavenet()))] {
        let (low, high) = ([0.0f32, 0.0, 0.0], [1.0f32, 1.0, 1.0]);
        // Set before the first block, or after a reset: the same as set at load.
        let (mut a, mut b) = (make(), make());
        assert!(a.set_controls(&high));
        let (mut ya, mut yb) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        a.process(&x, &mut ya);
        b.process(&x[..100], &mut yb[..100]);
        b.reset();
        b.set_controls(&high);
        b.process(&x, &mut yb);
        assert_eq!(ya, yb, "{name}: set after a reset");
        // Turned while playing: a glide.
        let half = 8192;
        let play = |switch: &dyn Fn(&mut dyn Renderer)| {
            let mut m = make();
            m.set_controls(&low);
            let mut y = vec![0.0; x.len()];
            m.process(&x[..half], &mut y[..half]);
            switch(m.as_mut());
            m.process(&x[half..], &mut y[half..]);
            y
        };
        let glide = play(&|m| {
            m.set_controls(&high);
        });
        let steady = play(&|_| {});
        let step = |y: &[f32], from: usize, to: usize| (from..to).map(|t| (y[t + 1] - y[t]).abs()).fold(0.0f32, f32::max);
        // The knobs move the sound, and the glide reaches the new setting.
        let moved = (half + ramp..x.len()).map(|t| (glide[t] - steady[t]).abs()).fold(0.0f32, f32::max);
        assert!(moved > 1e-3, "{name}: the knobs do not move the output ({moved})");
        let playing = step(&steady, half - 64, half + 64);
        let at_switch = step(&glide, half - 64, half + 64);
        assert!(at_switch < 1.5 * playing + 1e-4, "{name}: a step of {at_switch} at the switch (the playing makes {playing})");
        // The glide ends where the knobs point: from then on as if set there `ramp` ago.
        let mut m = make();
        m.set_controls(&low);
        let mut y = vec![0.0; x.len()];
        m.process(&x[..half], &mut y[..half]);
        m.set_controls(&high);
        m.process(&x[half..half + ramp], &mut y[half..half + ramp]);
        m.set_controls(&high);
        m.process(&x[half + ramp..], &mut y[half + ramp..]);
        assert_eq!(y, glide, "{name}: setting the reached values again changes nothing");
    }
}
