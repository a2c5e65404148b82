//! The amp a plugin plays, the same in every format: gains, the model (at its own sample rate,
//! resampled when the host's differs), knobs, a bypass that fades, a model swapped in while
//! playing with a crossfade, and nothing that allocates, locks or calls the system in
//! [`Amp::process`].
//!
//! Signal: `input × input gain → model → × output level`, faded against the input delayed by
//! the model's latency when the plugin is switched off. Without a model (none loaded yet, or a
//! file that failed to load) the plugin passes its input through, with both gains.

use ampsim_engine::nam::NamFile;
use ampsim_engine::{ControlSpec, Renderer};

use crate::params::{ParamSpec, Role};
use crate::resample::RateBridge;

/// Samples processed at a time inside [`Amp::process`] (any host block is cut into these).
pub const CHUNK_SAMPLES: usize = 512;
/// Longest latency the bypass path can align with (samples at the host's rate).
const MAX_LATENCY_SAMPLES: usize = 16_384;
/// Seconds over which gains, the bypass and a model swap fade.
const FADE_SECONDS: f64 = 0.01;

/// A model ready to play at a host's sample rate: built off the audio thread, handed to
/// [`Amp::swap_model`].
pub struct PreparedModel {
    renderer: Box<dyn Renderer>,
    controls: Vec<ControlSpec>,
    /// Between the host's rate and the model's, when they differ.
    bridge: Option<RateBridge>,
    /// What it is, for messages: the file it came from.
    pub origin: String,
}

impl PreparedModel {
    /// `file` ready to play at `host_rate_hz`.
    pub fn new(file: &NamFile, host_rate_hz: f64) -> Result<PreparedModel, String> {
        let renderer = file.renderer().map_err(|e| e.to_string())?;
        let model_rate_hz = file.sample_rate_hz.unwrap_or(48_000) as f64;
        let bridge = if (model_rate_hz - host_rate_hz).abs() > 1e-6 {
            Some(RateBridge::new(host_rate_hz, model_rate_hz).map_err(|e| format!("{}: {e}", file.origin()))?)
        } else {
            None
        };
        Ok(PreparedModel { renderer, controls: file.controls.clone(), bridge, origin: file.origin().to_string() })
    }

    /// The model's controls.
    pub fn controls(&self) -> &[ControlSpec] {
        &self.controls
    }

    /// Samples (at the host's rate) by which the output trails the input.
    pub fn latency_samples(&self) -> usize {
        match &self.bridge {
            None => self.renderer.latency_samples(),
            Some(b) => b.latency_samples() + (self.renderer.latency_samples() as f64 * b.host_per_model()).round() as usize,
        }
    }

    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        match &mut self.bridge {
            None => self.renderer.process(input, output),
            Some(b) => {
                let renderer = &mut self.renderer;
                b.process(input, output, |x, y| renderer.process(x, y));
            }
        }
    }

    fn reset(&mut self) {
        self.renderer.reset();
        if let Some(b) = &mut self.bridge {
            b.reset();
        }
    }
}

/// A value that glides linearly to its target over a fixed number of samples.
#[derive(Clone, Copy, Debug)]
struct Glide {
    value: f32,
    target: f32,
    step: f32,
    left: u32,
    length: u32,
}

impl Glide {
    fn new(value: f32, length: u32) -> Glide {
        Glide { value, target: value, step: 0.0, left: 0, length: length.max(1) }
    }
    fn aim(&mut self, target: f32) {
        if target != self.target {
            self.target = target;
            self.left = self.length;
            self.step = (target - self.value) / self.length as f32;
        }
    }
    fn jump(&mut self, target: f32) {
        self.target = target;
        self.value = target;
        self.left = 0;
    }
    #[inline(always)]
    fn next(&mut self) -> f32 {
        if self.left > 0 {
            self.left -= 1;
            self.value = if self.left == 0 { self.target } else { self.value + self.step };
        }
        self.value
    }
    fn settled_at(&self, v: f32) -> bool {
        self.left == 0 && self.value == v
    }
}

/// The plugin's processor.
pub struct Amp {
    params: Vec<ParamSpec>,
    /// Each parameter's value now, in its own units.
    values: Vec<f64>,
    model: Option<PreparedModel>,
    /// The model swapped out, fading out (then waiting to be dropped off the audio thread).
    outgoing: Option<PreparedModel>,
    /// 1 → 0 over a swap: the outgoing model's share.
    swap_fade: Glide,
    input_gain: Glide,
    output_gain: Glide,
    /// 1 plays the model, 0 the input.
    wet: Glide,
    /// The model was reset after the fade to bypass (it plays again from silence).
    resting: bool,
    /// The controls changed since the model last heard them.
    controls_changed: bool,
    /// Normalised control values handed to the model.
    normalised: Vec<f32>,
    dry_ring: Vec<f32>,
    dry_at: usize,
    latency_samples: usize,
    dry: Vec<f32>,
    gained: Vec<f32>,
    wet_out: Vec<f32>,
    old_out: Vec<f32>,
    /// Nothing played since creation or reset: settings apply at once.
    fresh: bool,
    host_rate_hz: f64,
}

impl Amp {
    /// A processor with these parameters at their defaults, playing no model yet (it passes
    /// the input through).
    pub fn new(params: Vec<ParamSpec>, host_rate_hz: f64) -> Amp {
        let fade = (host_rate_hz * FADE_SECONDS).round().max(1.0) as u32;
        let values = params.iter().map(|p| p.default).collect();
        let knobs = params.iter().filter(|p| matches!(p.role, Role::Control(_) | Role::Knob(_))).count();
        let mut amp = Amp {
            params,
            values,
            model: None,
            outgoing: None,
            swap_fade: Glide::new(0.0, fade),
            input_gain: Glide::new(1.0, fade),
            output_gain: Glide::new(1.0, fade),
            wet: Glide::new(1.0, fade),
            resting: false,
            controls_changed: false,
            normalised: vec![0.0; knobs],
            dry_ring: vec![0.0; MAX_LATENCY_SAMPLES + CHUNK_SAMPLES],
            dry_at: 0,
            latency_samples: 0,
            dry: vec![0.0; CHUNK_SAMPLES],
            gained: vec![0.0; CHUNK_SAMPLES],
            wet_out: vec![0.0; CHUNK_SAMPLES],
            old_out: vec![0.0; CHUNK_SAMPLES],
            fresh: true,
            host_rate_hz,
        };
        for i in 0..amp.params.len() {
            amp.apply(i);
        }
        amp
    }

    /// The parameters.
    pub fn params(&self) -> &[ParamSpec] {
        &self.params
    }

    /// Parameter `index`'s value now.
    pub fn param(&self, index: usize) -> Option<f64> {
        self.values.get(index).copied()
    }

    /// The host's sample rate.
    pub fn host_rate_hz(&self) -> f64 {
        self.host_rate_hz
    }

    /// Whether a model plays (else the input passes through).
    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    /// The playing model's controls (none without a model).
    pub fn model_controls(&self) -> &[ControlSpec] {
        self.model.as_ref().map_or(&[], |m| m.controls())
    }

    /// Set parameter `index` (clamped to its range; a non-number reads as its default).
    /// Real-time safe. An unknown index is ignored.
    pub fn set_param(&mut self, index: usize, value: f64) {
        let Some(p) = self.params.get(index) else { return };
        let v = if value.is_finite() { value.clamp(p.min, p.max) } else { p.default };
        if self.values[index] != v {
            self.values[index] = v;
            self.apply(index);
        }
    }

    fn apply(&mut self, index: usize) {
        let (p, v) = (&self.params[index], self.values[index]);
        let fresh = self.fresh;
        let set = |g: &mut Glide, x: f32| if fresh { g.jump(x) } else { g.aim(x) };
        match p.role {
            Role::InputDb => set(&mut self.input_gain, db_to_gain(v)),
            Role::OutputDb => set(&mut self.output_gain, db_to_gain(v)),
            Role::Enabled => set(&mut self.wet, if v >= 0.5 { 1.0 } else { 0.0 }),
            Role::Control(_) | Role::Knob(_) => self.controls_changed = true,
        }
    }

    /// The normalised value of the model's control `k` from the parameters.
    fn control_value(&self, k: usize, spec: &ControlSpec) -> f32 {
        let param = self.params.iter().position(|p| matches!(p.role, Role::Control(j) | Role::Knob(j) if j == k));
        let Some(i) = param else { return spec.normalise(0.5 * (spec.trained_min + spec.trained_max)) };
        match self.params[i].role {
            Role::Knob(_) => spec.normalise(spec.trained_min + self.values[i] * (spec.trained_max - spec.trained_min)),
            _ => spec.normalise(self.values[i]),
        }
    }

    fn send_controls(&mut self) {
        let Some(m) = self.model.as_ref() else { return };
        let n = m.controls.len().min(self.normalised.len());
        for k in 0..n {
            self.normalised[k] = self.control_value(k, &self.model.as_ref().unwrap().controls[k]);
        }
        let m = self.model.as_mut().unwrap();
        m.renderer.set_controls(&self.normalised[..n]);
        self.controls_changed = false;
    }

    /// Put `model` in to play (or none: pass-through), fading from the one playing over 10 ms.
    /// Real-time safe: the model swapped out is kept until [`Amp::take_retired`] hands it back,
    /// to be dropped off the audio thread. A model still fading out when another arrives is
    /// replaced at once.
    pub fn swap_model(&mut self, model: Option<PreparedModel>) -> Option<PreparedModel> {
        let mut retired = None;
        let previous = std::mem::replace(&mut self.model, model);
        if self.fresh {
            retired = previous;
        } else if let Some(p) = previous {
            retired = self.outgoing.replace(p);
            self.swap_fade.jump(1.0);
            self.swap_fade.aim(0.0);
        }
        self.latency_samples = self.model.as_ref().map_or(0, |m| m.latency_samples()).min(MAX_LATENCY_SAMPLES);
        self.resting = false;
        self.controls_changed = true;
        retired
    }

    /// Whether a model swapped out is still fading out (or waiting for [`Amp::take_retired`]).
    pub fn fading_out(&self) -> bool {
        self.outgoing.is_some()
    }

    /// Off the audio thread, while the host does not play (a session restored): `model` in at
    /// once, without a fade; the models it replaces handed back.
    pub fn set_model_now(&mut self, model: Option<PreparedModel>) -> [Option<PreparedModel>; 2] {
        let previous = std::mem::replace(&mut self.model, model);
        let outgoing = self.outgoing.take();
        self.swap_fade.jump(0.0);
        self.latency_samples = self.model.as_ref().map_or(0, |m| m.latency_samples()).min(MAX_LATENCY_SAMPLES);
        self.resting = false;
        self.controls_changed = true;
        [previous, outgoing]
    }

    /// A model swapped out and done fading, to be dropped off the audio thread.
    pub fn take_retired(&mut self) -> Option<PreparedModel> {
        if self.swap_fade.settled_at(0.0) {
            self.outgoing.take()
        } else {
            None
        }
    }

    /// Samples (host rate) by which the output trails the input.
    pub fn latency_samples(&self) -> usize {
        self.latency_samples
    }

    /// Forget the past (the host stopped and starts again): silence before the next block.
    pub fn reset(&mut self) {
        if let Some(m) = &mut self.model {
            m.reset();
        }
        self.dry_ring.fill(0.0);
        self.fresh = true;
        for g in [&mut self.input_gain, &mut self.output_gain, &mut self.wet] {
            g.jump(g.target);
        }
    }

    /// Play `input` into `output` (the shorter length counts; the rest of `output` is zeroed).
    /// Real-time safe for any length.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) {
        let _denormals = DenormalsOff::new();
        let n = input.len().min(output.len());
        output[n..].fill(0.0);
        let mut at = 0;
        while at < n {
            let m = (n - at).min(CHUNK_SAMPLES);
            self.chunk(&input[at..at + m], &mut output[at..at + m]);
            at += m;
        }
    }

    fn chunk(&mut self, input: &[f32], output: &mut [f32]) {
        let n = input.len();
        if self.controls_changed {
            self.send_controls();
        }
        self.fresh = false;
        for (d, &x) in self.dry[..n].iter_mut().zip(input) {
            *d = if x.is_finite() { x } else { 0.0 };
        }
        if self.input_gain.left > 0 {
            for (g, &d) in self.gained[..n].iter_mut().zip(&self.dry[..n]) {
                *g = d * self.input_gain.next();
            }
        } else {
            let g = self.input_gain.value;
            for (o, &d) in self.gained[..n].iter_mut().zip(&self.dry[..n]) {
                *o = d * g;
            }
        }
        let silent = self.wet.settled_at(0.0);
        if silent && !self.resting {
            if let Some(m) = &mut self.model {
                m.reset();
            }
            self.resting = true;
        }
        if !silent {
            self.resting = false;
            match &mut self.model {
                Some(m) => m.process(&self.gained[..n], &mut self.wet_out[..n]),
                None => self.wet_out[..n].copy_from_slice(&self.gained[..n]),
            }
            if let Some(old) = &mut self.outgoing {
                if !self.swap_fade.settled_at(0.0) {
                    old.process(&self.gained[..n], &mut self.old_out[..n]);
                    for (w, &o) in self.wet_out[..n].iter_mut().zip(&self.old_out[..n]) {
                        let f = self.swap_fade.next();
                        *w = *w * (1.0 - f) + o * f;
                    }
                }
            }
        }
        // The input delayed by the model's latency (into `old_out`), for the fade to bypass.
        let delayed = &mut self.old_out[..n];
        self.dry_at = delay_line(&mut self.dry_ring, self.dry_at, &self.dry[..n], self.latency_samples, delayed);
        if self.wet.settled_at(1.0) && self.output_gain.left == 0 {
            // Playing steadily: the model's output at the output level.
            let g = self.output_gain.value;
            for (o, &w) in output.iter_mut().zip(&self.wet_out[..n]) {
                let y = w * g;
                *o = if y.is_finite() { y } else { 0.0 };
            }
            return;
        }
        for i in 0..n {
            let w = self.wet.next();
            let g = self.output_gain.next();
            let y = if w == 1.0 {
                self.wet_out[i] * g
            } else if w == 0.0 {
                delayed[i]
            } else {
                w * self.wet_out[i] * g + (1.0 - w) * delayed[i]
            };
            output[i] = if y.is_finite() { y } else { 0.0 };
        }
    }
}

/// Push `x` into the ring `ring` at `at` and read, into `out`, what went in `delay` samples
/// before each sample of `x` (`delay` + `x.len()` ≤ the ring's length); the new write position.
fn delay_line(ring: &mut [f32], at: usize, x: &[f32], delay: usize, out: &mut [f32]) -> usize {
    let len = ring.len();
    let n = x.len();
    // Write first, then read from `delay` behind each written sample: with delay 0 that is x.
    let first = n.min(len - at);
    ring[at..at + first].copy_from_slice(&x[..first]);
    ring[..n - first].copy_from_slice(&x[first..]);
    let start = (at + len - delay) % len;
    let first = n.min(len - start);
    out[..first].copy_from_slice(&ring[start..start + first]);
    out[first..].copy_from_slice(&ring[..n - first]);
    (at + n) % len
}

/// dB as a gain factor (0 dB is exactly 1).
pub fn db_to_gain(db: f64) -> f32 {
    if db == 0.0 {
        1.0
    } else {
        10f64.powf(db / 20.0) as f32
    }
}

/// Flush denormal numbers to zero while it lives (x86-64: the MXCSR's FTZ and DAZ bits), as
/// every audio plugin should: a decaying tail must not slow the CPU down a hundredfold.
pub struct DenormalsOff {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

impl DenormalsOff {
    #[allow(clippy::new_without_default)]
    #[inline]
    pub fn new() -> DenormalsOff {
        #[cfg(target_arch = "x86_64")]
        {
            let mut saved: u32 = 0;
            // SAFETY: reads and writes the SSE control register of this thread only.
            unsafe {
                std::arch::asm!("stmxcsr [{}]", in(reg) &mut saved, options(nostack));
                let flushed = saved | 0x8040;
                std::arch::asm!("ldmxcsr [{}]", in(reg) &flushed, options(nostack));
            }
            DenormalsOff { saved }
        }
        #[cfg(not(target_arch = "x86_64"))]
        DenormalsOff {}
    }
}

impl Drop for DenormalsOff {
    #[inline]
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: restores the register read in `new`.
        unsafe {
            std::arch::asm!("ldmxcsr [{}]", in(reg) &self.saved, options(nostack));
        }
    }
}
