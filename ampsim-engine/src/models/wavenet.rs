//! NAM's WaveNet (A1 and A2), streaming: each layer keeps its input in a delay line, so a block
//! costs only its own samples, never the context again. Blocks of any length are cut into
//! steps of [`STEP`] samples; every buffer is allocated when the model is built.
//!
//! Per step and layer array: the rechannel 1×1 writes the first layer's delay line; each
//! layer computes its dilated convolution from its delay line plus the mixed-in input,
//! activates it (gated: times the sigmoid of the second half), adds that to the head
//! accumulator (a delay line too, for A2's kernel-16 head) and writes its input plus the 1×1
//! of it into the next layer's delay line; the head convolution reads the accumulator.
//!
//! A2's layer options (bottleneck, groups, head 1×1, per-layer gated or blended activations,
//! FiLM; see [`crate::schema::a2`]) run in their own step per layer, in NAM's engine's order.

use crate::controls::Controls;
use crate::activation::Activation;
use crate::kernels::approx::sigmoid_with;
use crate::kernels::{add_rows, matmul, History, Mac, Simd};
use crate::schema::a2::{Gating, LayerActivation, Nonlinearity};
use crate::schema::wavenet::{LayerArrayConfig, WaveNetConfig};
use crate::schema::Weights;
use crate::Renderer;

/// Samples per internal step.
pub const STEP: usize = 64;

#[derive(Debug)]
struct Layer {
    channels: usize,
    gated: bool,
    activation: Activation,
    /// `[conv channels][channels · kernel]`, NAM's order.
    conv_w: Vec<f32>,
    conv_b: Vec<f32>,
    /// Where each (channel, tap) of the convolution reads in `input`, from its base.
    conv_offsets: Vec<usize>,
    /// `[conv channels]` (one condition: the input signal).
    mix_w: Vec<f32>,
    one_by_one_w: Vec<f32>,
    one_by_one_b: Vec<f32>,
    /// This layer's input.
    input: History,
    /// What an A2 layer does beyond this (`None`: the A1 layer).
    a2: Option<Box<A2Layer>>,
}

/// An A2 layer's bottleneck, gating, head 1×1 and FiLMs, with its own step buffers. Its
/// convolution, mixer and residual 1×1 are [`Layer`]'s (grouped ones stored dense, zeros
/// included), the 1×1 `[channels][bottleneck]`.
#[derive(Debug)]
struct A2Layer {
    bottleneck: usize,
    activation: Nonlinearity,
    gating: Gating,
    secondary: Nonlinearity,
    layer1x1: bool,
    /// `[out][bottleneck]`, `[out]`.
    head1x1: Option<(Vec<f32>, Vec<f32>)>,
    /// NAM's eight places, in its order (see [`crate::schema::a2::Films`]).
    films: [Option<FilmWeights>; 8],
    /// The layer's input before any FiLM, `[channels][STEP]`.
    input: Vec<f32>,
    /// The mixer's output, `[conv channels][STEP]`.
    mix: Vec<f32>,
    /// The condition after its FiLM, `[condition][STEP]`.
    cond: Vec<f32>,
    /// The residual 1×1's output, `[channels][STEP]`.
    residual: Vec<f32>,
    /// The head 1×1's output, or the activation before blending, `[rows][STEP]`.
    scratch: Vec<f32>,
    /// A FiLM's scale and shift, `[rows][STEP]`.
    scale_shift: Vec<f32>,
}

/// A FiLM's 1×1 of the condition, dense `[(1 or 2) · dim][condition]`, with its bias.
#[derive(Debug)]
struct FilmWeights {
    w: Vec<f32>,
    b: Vec<f32>,
    dim: usize,
    shift: bool,
}

const CONV_PRE: usize = 0;
const CONV_POST: usize = 1;
const MIXIN_PRE: usize = 2;
const MIXIN_POST: usize = 3;
const ACTIVATION_PRE: usize = 4;
const ACTIVATION_POST: usize = 5;
const LAYER1X1_POST: usize = 6;
const HEAD1X1_POST: usize = 7;

/// A grouped convolution's weights as NAM stores them (per group, `[out/g][in/g][k]`) spread
/// into the dense `[out][in · k]` with zeros between the groups.
fn dense(grouped: &[f32], out: usize, inputs: usize, k: usize, groups: usize) -> Vec<f32> {
    if groups == 1 {
        return grouped.to_vec();
    }
    let (og, ig) = (out / groups, inputs / groups);
    let mut w = vec![0.0; out * inputs * k];
    let mut it = grouped.iter();
    for g in 0..groups {
        for i in 0..og {
            for j in 0..ig {
                for t in 0..k {
                    w[(g * og + i) * inputs * k + (g * ig + j) * k + t] = *it.next().expect("the caller took out·in·k/groups weights");
                }
            }
        }
    }
    w
}

/// Take a grouped convolution's weights and spread them dense.
fn take_dense(w: &mut Weights, out: usize, inputs: usize, k: usize, groups: usize) -> Result<Vec<f32>, String> {
    Ok(dense(&w.take_vec(out * inputs * k / groups)?, out, inputs, k, groups))
}

#[derive(Debug)]
struct LayerArray {
    channels: usize,
    /// Rows of the head accumulator.
    head_inputs: usize,
    head_size: usize,
    rechannel_w: Vec<f32>,
    /// Rows of the step buffer the rechannel reads.
    rechannel_offsets: Vec<usize>,
    layers: Vec<Layer>,
    head_w: Vec<f32>,
    head_b: Vec<f32>,
    head_offsets: Vec<usize>,
    head_acc: History,
}

/// A WaveNet ready to play.
#[derive(Debug)]
pub struct WaveNet {
    arrays: Vec<LayerArray>,
    head_scale: f32,
    config: WaveNetConfig,
    simd: Simd,
    /// The step's input, `[STEP]`.
    raw: Vec<f32>,
    /// What the layers mix in, `[condition size][STEP]`: the input itself, or the output of
    /// the condition network.
    cond: Vec<f32>,
    cond_size: usize,
    /// A WaveNet whose outputs condition this one (NAM's `condition_dsp`).
    condition: Option<Box<WaveNet>>,
    /// Without a condition network, the control values mixed in beside the input
    /// (`condition size − 1` of them: an amp's knobs).
    controls: Controls,
    /// A layer's convolution and activation, `[conv channels][STEP]`.
    z: Vec<f32>,
    /// The last layer's output: the next array's input, `[channels][STEP]`.
    carry: Vec<f32>,
    /// An array's head output, `[head size][STEP]`.
    head_out: Vec<f32>,
}

/// Offsets of (channel, tap) rows of a kernel-`k` convolution with dilation `d` reading a delay
/// line of `stride` per channel whose block starts `lookback` after its base.
fn tap_offsets(channels: usize, k: usize, d: usize, stride: usize, lookback: usize) -> Vec<usize> {
    (0..channels).flat_map(|c| (0..k).map(move |tap| c * stride + lookback - (k - 1 - tap) * d)).collect()
}

impl WaveNet {
    /// Build from a configuration and NAM's flat weights (every weight used, exactly; the last
    /// one is the head scale).
    ///
    /// A condition size above 1 (the same in every array) makes a model conditioned on
    /// `condition size − 1` controls, which its layers mix in beside the input
    /// ([`Renderer::set_controls`]).
    pub fn new(config: &WaveNetConfig, weights: &[f32]) -> Result<WaveNet, String> {
        WaveNet::build(config, weights, config.layers.first().map_or(1, |a| a.condition_size.max(1)))
    }

    /// A WaveNet whose layers mix in the outputs of `condition` (a WaveNet fed the same input:
    /// NAM's `condition_dsp`) instead of the input; every array's condition size must equal
    /// the condition network's output channels.
    pub fn conditioned(config: &WaveNetConfig, weights: &[f32], condition: WaveNet) -> Result<WaveNet, String> {
        let outputs = condition.config.layers.last().map_or(1, |a| a.head_size);
        let mut model = WaveNet::build(config, weights, outputs)?;
        model.condition = Some(Box::new(condition));
        model.reset();
        Ok(model)
    }

    fn build(config: &WaveNetConfig, weights: &[f32], cond_size: usize) -> Result<WaveNet, String> {
        config.validate().map_err(|e| e.to_string())?;
        let mut w = Weights::new(weights);
        let mut arrays = Vec::with_capacity(config.layers.len());
        let (mut max_conv, mut max_channels, mut max_head) = (1, 1, 1);
        for (i, a) in config.layers.iter().enumerate() {
            if a.condition_size != cond_size {
                return Err(format!("layer array {i}: condition size {}, but the condition has {cond_size} channel(s)", a.condition_size));
            }
            let c = a.channels;
            if c > MAX_CHANNELS || a.bottleneck() > MAX_CHANNELS || a.head_inputs() > MAX_CHANNELS {
                return Err(format!("layer array {i}: more than {MAX_CHANNELS} channels (the engine plays up to {MAX_CHANNELS})"));
            }
            max_channels = max_channels.max(c);
            max_head = max_head.max(a.head_size);
            let rechannel_w = w.take_vec(c * a.input_size)?;
            let mut layers = Vec::with_capacity(a.dilations.len());
            for (li, (&d, &k)) in a.dilations.iter().zip(&a.kernel_sizes).enumerate() {
                let layer = build_layer(a, li, d, k, cond_size, &mut w)?;
                max_conv = max_conv.max(layer.conv_b.len());
                layers.push(layer);
            }
            let (hk, hin) = (a.head_kernel_size, a.head_inputs());
            let head_acc = History::new(hin, hk - 1, STEP);
            arrays.push(LayerArray {
                channels: c,
                head_inputs: hin,
                head_size: a.head_size,
                rechannel_w,
                rechannel_offsets: (0..a.input_size).map(|r| r * STEP).collect(),
                layers,
                head_w: w.take_vec(a.head_size * hin * hk)?,
                head_b: if a.head_bias { w.take_vec(a.head_size)? } else { vec![0.0; a.head_size] },
                head_offsets: tap_offsets(hin, hk, 1, head_acc.stride(), hk - 1),
                head_acc,
            });
        }
        let head_scale = w.take_vec(1)?[0];
        w.finish()?;
        let mut model = WaveNet {
            arrays,
            head_scale,
            config: config.clone(),
            simd: Simd::detect(),
            raw: vec![0.0; STEP],
            cond: vec![0.0; cond_size * STEP],
            cond_size,
            condition: None,
            controls: Controls::new(cond_size - 1),
            z: vec![0.0; max_conv * STEP],
            carry: vec![0.0; max_channels * STEP],
            head_out: vec![0.0; max_head * STEP],
        };
        model.reset();
        Ok(model)
    }

    pub fn config(&self) -> &WaveNetConfig {
        &self.config
    }

    /// Use `simd` instead of the best the CPU has (for comparisons; the CPU must have it).
    pub fn with_simd(mut self, simd: Simd) -> WaveNet {
        if simd.available() {
            self.simd = simd;
        }
        self
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn step_avx512(&mut self, n: usize) {
        self.step::<crate::kernels::Fused512>(n)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn step_avx2(&mut self, n: usize) {
        self.step::<crate::kernels::Fused>(n)
    }

    /// One step of `n ≤ STEP` samples from `raw` (the condition first): the head's output
    /// (unscaled) in `head_out`.
    fn run_step(&mut self, n: usize) {
        if let Some(c) = self.condition.as_mut() {
            c.raw[..n].copy_from_slice(&self.raw[..n]);
            c.run_step(n);
            for r in 0..self.cond_size {
                for (d, &h) in self.cond[r * STEP..r * STEP + n].iter_mut().zip(&c.head_out[r * STEP..r * STEP + n]) {
                    *d = h * c.head_scale;
                }
            }
        } else {
            self.cond[..n].copy_from_slice(&self.raw[..n]);
            let k = self.controls.count();
            if self.controls.moving() {
                for t in 0..n {
                    self.controls.advance();
                    for (r, &v) in self.controls.current().iter().enumerate() {
                        self.cond[(1 + r) * STEP + t] = v;
                    }
                }
            } else {
                for r in 0..k {
                    self.cond[(1 + r) * STEP..(1 + r) * STEP + n].fill(self.controls.current()[r]);
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        match self.simd {
            // SAFETY: `Simd::detect` found these instructions on this CPU.
            Simd::Avx512 => unsafe { self.step_avx512(n) },
            Simd::Avx2Fma => unsafe { self.step_avx2(n) },
            Simd::Baseline => self.step::<crate::kernels::Plain>(n),
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.step::<crate::kernels::Plain>(n);
    }

    #[inline(always)]
    fn step<M: Mac>(&mut self, n: usize) {
        for ai in 0..self.arrays.len() {
            let array = &mut self.arrays[ai];
            for l in &mut array.layers {
                l.input.begin(n);
            }
            array.head_acc.begin(n);
            // The head accumulator starts from the previous array's head (zero for the first).
            let (acc_stride, acc_pos) = (array.head_acc.stride(), array.head_acc.pos());
            for c in 0..array.head_inputs {
                let row = &mut array.head_acc.data_mut()[c * acc_stride + acc_pos..][..n];
                if ai == 0 { row.fill(0.0) } else { row.copy_from_slice(&self.head_out[c * STEP..c * STEP + n]) }
            }
            // The rechannel writes the first layer's input.
            let src: &[f32] = if ai == 0 { &self.raw } else { &self.carry };
            let first = &mut array.layers[0].input;
            let (stride, pos) = (first.stride(), first.pos());
            for c in 0..array.channels {
                first.data_mut()[c * stride + pos..][..n].fill(0.0);
            }
            matmul::<M>(&array.rechannel_w, array.channels, &array.rechannel_offsets, src, 0, &mut first.data_mut()[pos..], stride, n);
            for li in 0..array.layers.len() {
                let (this, rest) = array.layers[li..].split_first_mut().expect("layer li exists");
                if this.a2.is_some() {
                    layer_a2::<M>(this, rest.first_mut(), &mut array.head_acc, (&self.cond, self.cond_size), &mut self.z, &mut self.carry, n);
                } else {
                    layer::<M>(this, rest.first_mut(), &mut array.head_acc, (&self.cond, self.cond_size), &mut self.z, &mut self.carry, n);
                }
            }
            for l in &mut array.layers {
                l.input.end(n);
            }
            fill_rows(&mut self.head_out, &array.head_b, n);
            let acc = &array.head_acc;
            matmul::<M>(&array.head_w, array.head_size, &array.head_offsets, acc.data(), acc.base(), &mut self.head_out, STEP, n);
            array.head_acc.end(n);
        }
    }
}

/// Layer `li` of array `a`, its weights taken from `w` in NAM's order: the convolution (then its
/// bias), the mixer, the residual 1×1 (then its bias), and for A2 the head 1×1 and the FiLMs.
fn build_layer(a: &LayerArrayConfig, li: usize, d: usize, k: usize, cond_size: usize, w: &mut Weights) -> Result<Layer, String> {
    let c = a.channels;
    let input = History::new(c, (k - 1) * d, STEP);
    let conv_offsets = tap_offsets(c, k, d, input.stride(), (k - 1) * d);
    if a.options.is_a1() {
        let g = a.conv_channels();
        return Ok(Layer {
            channels: c,
            gated: a.gated,
            activation: a.activation,
            conv_w: w.take_vec(g * c * k)?,
            conv_b: w.take_vec(g)?,
            conv_offsets,
            mix_w: w.take_vec(g * cond_size)?,
            one_by_one_w: w.take_vec(c * c)?,
            one_by_one_b: w.take_vec(c)?,
            input,
            a2: None,
        });
    }
    let o = &a.options;
    let (b, z) = (a.bottleneck(), a.layer_conv_channels(li));
    let conv_w = take_dense(w, z, c, k, o.groups_input)?;
    let conv_b = w.take_vec(z)?;
    let mix_w = take_dense(w, z, cond_size, 1, o.groups_input_mixin)?;
    let (one_by_one_w, one_by_one_b) = match o.layer1x1_groups {
        Some(g) => (take_dense(w, c, b, 1, g)?, w.take_vec(c)?),
        None => (Vec::new(), Vec::new()),
    };
    let head1x1 = match o.head1x1 {
        Some(h) => Some((take_dense(w, h.out_channels, b, 1, h.groups)?, w.take_vec(h.out_channels)?)),
        None => None,
    };
    let mut films: [Option<FilmWeights>; 8] = Default::default();
    let mut film_rows = 1;
    for (slot, spec) in films.iter_mut().zip(a.film_sizes(li)) {
        if let Some((film, dim)) = spec {
            let rows = film.rows(dim);
            film_rows = film_rows.max(rows);
            *slot = Some(FilmWeights { w: take_dense(w, rows, cond_size, 1, film.groups)?, b: w.take_vec(rows)?, dim, shift: film.shift });
        }
    }
    let LayerActivation { activation, gating, secondary } = a.layer_activation(li);
    let a2 = A2Layer {
        bottleneck: b,
        activation,
        gating,
        secondary,
        layer1x1: o.layer1x1_groups.is_some(),
        films,
        input: vec![0.0; c * STEP],
        mix: vec![0.0; z * STEP],
        cond: vec![0.0; cond_size * STEP],
        residual: vec![0.0; c * STEP],
        scratch: vec![0.0; o.head1x1.map_or(b, |h| h.out_channels.max(b)) * STEP],
        scale_shift: vec![0.0; film_rows * STEP],
        head1x1,
    };
    Ok(Layer { channels: c, gated: false, activation: Activation::Linear, conv_w, conv_b, conv_offsets, mix_w, one_by_one_w, one_by_one_b, input, a2: Some(Box::new(a2)) })
}

/// `x[r] ← x[r] · scale[r] (+ shift[r])` for the FiLM's rows of `x` (row `r` at `r · stride`),
/// scale and shift its 1×1 of the condition.
#[inline(always)]
fn film<M: Mac>(f: &FilmWeights, x: &mut [f32], stride: usize, (cond, cond_size): (&[f32], usize), scale_shift: &mut [f32], n: usize) {
    fill_rows(scale_shift, &f.b, n);
    matmul::<M>(&f.w, f.b.len(), &ONE_BY_ONE_OFFSETS[..cond_size], cond, 0, scale_shift, STEP, n);
    for r in 0..f.dim {
        let row = &mut x[r * stride..][..n];
        let scale = &scale_shift[r * STEP..][..n];
        if f.shift {
            let shift = &scale_shift[(f.dim + r) * STEP..][..n];
            for ((v, &s), &h) in row.iter_mut().zip(scale).zip(shift) {
                *v = M::mac(*v, s, h);
            }
        } else {
            for (v, &s) in row.iter_mut().zip(scale) {
                *v *= s;
            }
        }
    }
}

/// A nonlinearity on channel `channel`'s samples.
#[inline(always)]
fn activate<M: Mac>(f: &Nonlinearity, channel: usize, xs: &mut [f32]) {
    match f {
        Nonlinearity::Fixed(a) => a.apply_with::<M>(xs),
        Nonlinearity::PRelu { .. } => {
            let s = f.slope(channel).unwrap_or(0.01) as f32;
            xs.iter_mut().for_each(|x| *x = if *x > 0.0 { *x } else { s * *x });
        }
    }
}

/// An A2 layer for `n` samples, as NAM's engine computes it: FiLM the input, convolve, FiLM;
/// FiLM the condition, mix it in, FiLM; FiLM, activate (gated or blended), FiLM; the residual
/// 1×1 (FiLMed in blended layers) and the head 1×1 (FiLMed) of the activation; the next
/// input is this layer's input (before its FiLM) plus the residual 1×1.
#[inline(always)]
fn layer_a2<M: Mac>(l: &mut Layer, next: Option<&mut Layer>, head_acc: &mut History, condition: (&[f32], usize), z: &mut [f32], carry: &mut [f32], n: usize) {
    let a2 = l.a2.as_deref_mut().expect("an A2 layer");
    a2_convolve::<M>(a2, &mut l.input, (&l.conv_w, &l.conv_b, &l.conv_offsets), condition, z, n);
    a2_mix_in::<M>(a2, &l.mix_w, l.conv_b.len(), condition, z, n);
    a2_activate::<M>(a2, condition, z, n);
    a2_residual_and_head::<M>(a2, (&l.one_by_one_w, &l.one_by_one_b), head_acc, condition, z, n);
    let (out, out_stride, out_pos) = next_input(next, carry);
    for row in 0..l.channels {
        let o = &mut out[row * out_stride + out_pos..][..n];
        o.copy_from_slice(&a2.input[row * STEP..row * STEP + n]);
        if a2.layer1x1 {
            add_rows(o, &a2.residual[row * STEP..row * STEP + n]);
        }
    }
}

/// Keep the layer's input (the residual adds to it unFiLMed), FiLM it, convolve into `z`, FiLM.
#[inline(always)]
fn a2_convolve<M: Mac>(a2: &mut A2Layer, input: &mut History, (conv_w, conv_b, conv_offsets): (&[f32], &[f32], &[usize]), condition: (&[f32], usize), z: &mut [f32], n: usize) {
    let (stride, pos) = (input.stride(), input.pos());
    for row in 0..input_rows(a2) {
        a2.input[row * STEP..row * STEP + n].copy_from_slice(&input.data()[row * stride + pos..][..n]);
    }
    if let Some(f) = &a2.films[CONV_PRE] {
        film::<M>(f, &mut input.data_mut()[pos..], stride, condition, &mut a2.scale_shift, n);
    }
    fill_rows(z, conv_b, n);
    matmul::<M>(conv_w, conv_b.len(), conv_offsets, input.data(), input.base(), z, STEP, n);
    if let Some(f) = &a2.films[CONV_POST] {
        film::<M>(f, z, STEP, condition, &mut a2.scale_shift, n);
    }
}

/// The rows of the layer's input (its channels).
#[inline(always)]
fn input_rows(a2: &A2Layer) -> usize {
    a2.input.len() / STEP
}

/// Mix the condition (FiLMed before and after) into the `rows` of `z`, then the FiLM before the
/// activation.
#[inline(always)]
fn a2_mix_in<M: Mac>(a2: &mut A2Layer, mix_w: &[f32], rows: usize, condition: (&[f32], usize), z: &mut [f32], n: usize) {
    let (cond, cond_size) = condition;
    let mixed_in: &[f32] = match &a2.films[MIXIN_PRE] {
        Some(f) => {
            for row in 0..cond_size {
                a2.cond[row * STEP..row * STEP + n].copy_from_slice(&cond[row * STEP..row * STEP + n]);
            }
            film::<M>(f, &mut a2.cond, STEP, condition, &mut a2.scale_shift, n);
            &a2.cond
        }
        None => cond,
    };
    for row in 0..rows {
        a2.mix[row * STEP..row * STEP + n].fill(0.0);
    }
    matmul::<M>(mix_w, rows, &ONE_BY_ONE_OFFSETS[..cond_size], mixed_in, 0, &mut a2.mix, STEP, n);
    if let Some(f) = &a2.films[MIXIN_POST] {
        film::<M>(f, &mut a2.mix, STEP, condition, &mut a2.scale_shift, n);
    }
    for row in 0..rows {
        add_rows(&mut z[row * STEP..row * STEP + n], &a2.mix[row * STEP..row * STEP + n]);
    }
    if let Some(f) = &a2.films[ACTIVATION_PRE] {
        film::<M>(f, z, STEP, condition, &mut a2.scale_shift, n);
    }
}

/// The activation of the bottleneck's rows of `z`: plain, gated by the second half, or blended
/// with its input by the second half; then its FiLM.
#[inline(always)]
fn a2_activate<M: Mac>(a2: &mut A2Layer, condition: (&[f32], usize), z: &mut [f32], n: usize) {
    let bottleneck = a2.bottleneck;
    for row in 0..bottleneck {
        let (top, bottom) = z.split_at_mut(bottleneck * STEP);
        let x = &mut top[row * STEP..row * STEP + n];
        match a2.gating {
            Gating::None => activate::<M>(&a2.activation, row, x),
            Gating::Gated => {
                let gate = &mut bottom[row * STEP..row * STEP + n];
                activate::<M>(&a2.activation, row, x);
                activate::<M>(&a2.secondary, row, gate);
                x.iter_mut().zip(gate.iter()).for_each(|(v, &g)| *v *= g);
            }
            Gating::Blended => {
                let (alpha, before) = (&mut bottom[row * STEP..row * STEP + n], &mut a2.scratch[..n]);
                before.copy_from_slice(x);
                activate::<M>(&a2.activation, row, x);
                activate::<M>(&a2.secondary, row, alpha);
                for ((v, &a), &b) in x.iter_mut().zip(alpha.iter()).zip(before.iter()) {
                    *v = a * *v + (1.0 - a) * b;
                }
            }
        }
    }
    if let Some(f) = &a2.films[ACTIVATION_POST] {
        film::<M>(f, z, STEP, condition, &mut a2.scale_shift, n);
    }
}

/// The residual 1×1 of the activation (into `residual`; FiLMed in blended layers), and the
/// activation or its head 1×1 (FiLMed) added to the head accumulator.
#[inline(always)]
fn a2_residual_and_head<M: Mac>(a2: &mut A2Layer, (w, b): (&[f32], &[f32]), head_acc: &mut History, condition: (&[f32], usize), z: &[f32], n: usize) {
    let bottleneck_rows = &ONE_BY_ONE_OFFSETS[..a2.bottleneck];
    if a2.layer1x1 {
        fill_rows(&mut a2.residual, b, n);
        matmul::<M>(w, b.len(), bottleneck_rows, z, 0, &mut a2.residual, STEP, n);
        if a2.gating == Gating::Blended {
            if let Some(f) = &a2.films[LAYER1X1_POST] {
                film::<M>(f, &mut a2.residual, STEP, condition, &mut a2.scale_shift, n);
            }
        }
    }
    let (to_head, rows): (&[f32], usize) = match &a2.head1x1 {
        Some((hw, hb)) => {
            fill_rows(&mut a2.scratch, hb, n);
            matmul::<M>(hw, hb.len(), bottleneck_rows, z, 0, &mut a2.scratch, STEP, n);
            if let Some(f) = &a2.films[HEAD1X1_POST] {
                film::<M>(f, &mut a2.scratch, STEP, condition, &mut a2.scale_shift, n);
            }
            (&a2.scratch, hb.len())
        }
        None => (z, a2.bottleneck),
    };
    let (acc_stride, acc_pos) = (head_acc.stride(), head_acc.pos());
    for row in 0..rows {
        add_rows(&mut head_acc.data_mut()[row * acc_stride + acc_pos..][..n], &to_head[row * STEP..row * STEP + n]);
    }
}

/// Row `r` of `rows` (`[r][STEP]`) set to `values[r]` for `n` samples, for every value.
#[inline(always)]
fn fill_rows(rows: &mut [f32], values: &[f32], n: usize) {
    for (r, &v) in values.iter().enumerate() {
        rows[r * STEP..r * STEP + n].fill(v);
    }
}

/// Where a layer writes the next layer's input: its delay line's current block (buffer,
/// stride, position), or `carry` after the array's last layer.
#[inline(always)]
fn next_input<'a>(next: Option<&'a mut Layer>, carry: &'a mut [f32]) -> (&'a mut [f32], usize, usize) {
    match next {
        Some(nl) => {
            let (s, p) = (nl.input.stride(), nl.input.pos());
            (nl.input.data_mut(), s, p)
        }
        None => (carry, STEP, 0),
    }
}

/// One layer for `n` samples: convolution, activation, head accumulator, and the next layer's
/// input (`next`'s delay line, or `carry` after the last layer).
#[inline(always)]
fn layer<M: Mac>(l: &mut Layer, next: Option<&mut Layer>, head_acc: &mut History, (cond, cond_size): (&[f32], usize), z: &mut [f32], carry: &mut [f32], n: usize) {
    let c_count = l.channels;
    if cond_size == 1 {
        for (m, (&b, &mw)) in l.conv_b.iter().zip(&l.mix_w).enumerate() {
            for (zv, &x) in z[m * STEP..m * STEP + n].iter_mut().zip(cond) {
                *zv = M::mac(mw, x, b);
            }
        }
    } else {
        fill_rows(z, &l.conv_b, n);
        matmul::<M>(&l.mix_w, l.conv_b.len(), &ONE_BY_ONE_OFFSETS[..cond_size], cond, 0, z, STEP, n);
    }
    let (stride, pos) = (l.input.stride(), l.input.pos());
    matmul::<M>(&l.conv_w, l.conv_b.len(), &l.conv_offsets, l.input.data(), l.input.base(), z, STEP, n);
    for c in 0..c_count {
        l.activation.apply_with::<M>(&mut z[c * STEP..c * STEP + n]);
        if l.gated {
            let (head, gate) = z.split_at_mut((c_count + c) * STEP);
            for (v, &g) in head[c * STEP..c * STEP + n].iter_mut().zip(&gate[..n]) {
                *v *= sigmoid_with::<M>(g);
            }
        }
    }
    let (acc_stride, acc_pos) = (head_acc.stride(), head_acc.pos());
    for c in 0..c_count {
        add_rows(&mut head_acc.data_mut()[c * acc_stride + acc_pos..][..n], &z[c * STEP..c * STEP + n]);
    }
    // Residual: the next input is this input plus the 1×1 of the activation.
    let (out, out_stride, out_pos) = next_input(next, carry);
    for c in 0..c_count {
        let b = l.one_by_one_b[c];
        let x = &l.input.data()[c * stride + pos..][..n];
        for (o, &xv) in out[c * out_stride + out_pos..][..n].iter_mut().zip(x) {
            *o = xv + b;
        }
    }
    let offsets = ONE_BY_ONE_OFFSETS.get(..c_count).expect("channels ≤ MAX_CHANNELS");
    matmul::<M>(&l.one_by_one_w, c_count, offsets, z, 0, &mut out[out_pos..], out_stride, n);
}

/// The most channels a layer may have (the 1×1 reads rows `c · STEP` of the step buffer).
pub const MAX_CHANNELS: usize = 256;
static ONE_BY_ONE_OFFSETS: [usize; MAX_CHANNELS] = {
    let mut o = [0; MAX_CHANNELS];
    let mut i = 0;
    while i < MAX_CHANNELS {
        o[i] = i * STEP;
        i += 1;
    }
    o
};

impl Renderer for WaveNet {
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        let n = input.len().min(output.len());
        output[n..].fill(0.0);
        if n > 0 {
            self.controls.played();
        }
        for (i, o) in input[..n].chunks(STEP).zip(output[..n].chunks_mut(STEP)) {
            for (r, &x) in self.raw.iter_mut().zip(i) {
                *r = if x.is_finite() { x } else { 0.0 };
            }
            self.run_step(i.len());
            for (y, &h) in o.iter_mut().zip(&self.head_out) {
                *y = h * self.head_scale;
            }
        }
    }

    /// Back to silence: every delay line holds what the network computes for a silent past
    /// (its receptive field of zeros played through it), so the first samples equal a
    /// whole-take rendering with zero padding, as in training.
    /// A conditioned model's past is silence at its controls (the new ones, if set now).
    fn reset(&mut self) {
        self.clear();
        self.controls.settle();
        let (silence, mut out) = ([0.0f32; STEP], [0.0f32; STEP]);
        let mut left = self.receptive_field() - 1;
        while left > 0 {
            let n = left.min(STEP);
            self.process(&silence[..n], &mut out[..n]);
            left -= n;
        }
        self.controls.settle();
    }

    /// Before the first block after a reset the past is replayed as silence at the new
    /// controls (so the model starts as a whole-take rendering at them); later they ramp.
    fn set_controls(&mut self, values: &[f32]) -> bool {
        if self.controls.count() == 0 {
            return false;
        }
        if self.controls.set(values) {
            self.reset();
        }
        true
    }

    fn latency_samples(&self) -> usize {
        0
    }

    fn receptive_field(&self) -> usize {
        self.config.receptive_field() + self.condition.as_ref().map_or(0, |c| c.receptive_field() - 1)
    }
}

impl WaveNet {
    /// Zero every delay line (the condition network's too).
    fn clear(&mut self) {
        for a in &mut self.arrays {
            a.layers.iter_mut().for_each(|l| l.input.reset());
            a.head_acc.reset();
        }
        if let Some(c) = self.condition.as_mut() {
            c.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::sigmoid;

    /// NAM's A1 WaveNet written out as its sums, over the whole signal at once: the reference
    /// the streaming engine must equal. Like NAM, the engine starts as if it had heard silence
    /// for ever (every delay line holds what silence leaves there, biases included), so the
    /// signal is preceded by `silence` zeros, cut off again at the end.
    fn reference(cfg: &WaveNetConfig, weights: &[f32], signal: &[f32], silence: usize) -> Vec<f32> {
        let x: Vec<f32> = std::iter::repeat_n(0.0, silence).chain(signal.iter().copied()).collect();
        let n = x.len();
        let mut w = Weights::new(weights);
        let mut take = |count: usize| w.take_vec(count).expect("enough weights");
        // `past(row, t, back)`: row[t − back], zero before the start.
        let past = |row: &[f32], t: usize, back: usize| if t >= back { row[t - back] } else { 0.0 };
        let (mut array_in, mut head_prev): (Vec<Vec<f32>>, Option<Vec<Vec<f32>>>) = (vec![x.to_vec()], None);
        for a in &cfg.layers {
            let (c, g) = (a.channels, a.conv_channels());
            let re = take(c * a.input_size);
            let mut h: Vec<Vec<f32>> = (0..c).map(|i| (0..n).map(|t| (0..a.input_size).map(|j| re[i * a.input_size + j] * array_in[j][t]).sum()).collect()).collect();
            let mut acc: Vec<Vec<f32>> = match &head_prev {
                Some(prev) => prev[..c].to_vec(),
                None => vec![vec![0.0; n]; c],
            };
            for (&d, &k) in a.dilations.iter().zip(&a.kernel_sizes) {
                let (conv_w, conv_b, mix, w1, b1) = (take(g * c * k), take(g), take(g), take(c * c), take(c));
                let z: Vec<Vec<f32>> = (0..g)
                    .map(|m| (0..n).map(|t| conv_b[m] + mix[m] * x[t] + (0..c).flat_map(|i| (0..k).map(move |tap| (i, tap))).map(|(i, tap)| conv_w[m * c * k + i * k + tap] * past(&h[i], t, (k - 1 - tap) * d)).sum::<f32>()).collect())
                    .collect();
                let mut act: Vec<Vec<f32>> = z[..c].to_vec();
                for (m, row) in act.iter_mut().enumerate() {
                    a.activation.apply_in_place(row);
                    if a.gated {
                        row.iter_mut().zip(&z[c + m]).for_each(|(v, &gate)| *v *= sigmoid(gate));
                    }
                }
                for (row, a_row) in acc.iter_mut().zip(&act) {
                    row.iter_mut().zip(a_row).for_each(|(s, v)| *s += v);
                }
                h = (0..c).map(|i| (0..n).map(|t| h[i][t] + b1[i] + (0..c).map(|m| w1[i * c + m] * act[m][t]).sum::<f32>()).collect()).collect();
            }
            let hk = a.head_kernel_size;
            let head_w = take(a.head_size * c * hk);
            let head_b = if a.head_bias { take(a.head_size) } else { vec![0.0; a.head_size] };
            let out = (0..a.head_size).map(|o| (0..n).map(|t| head_b[o] + (0..c).flat_map(|i| (0..hk).map(move |tap| (i, tap))).map(|(i, tap)| head_w[o * c * hk + i * hk + tap] * past(&acc[i], t, hk - 1 - tap)).sum::<f32>()).collect()).collect();
            head_prev = Some(out);
            array_in = h;
        }
        let scale = take(1)[0];
        head_prev.expect("at least one array")[0][silence..].iter().map(|v| v * scale).collect()
    }

    /// The streaming WaveNet, in blocks of any size and with every instruction set, equals the
    /// written-out sums: A1 presets, plain and gated.
    #[test]
    fn the_streaming_wavenet_is_nams_sums() {
        let x: Vec<f32> = (0..3000).map(|i| 0.5 * ((i as f32) * 0.037).sin() + 0.2 * ((i as f32) * 0.0031).cos()).collect();
        for (preset, gated) in [("nano", false), ("nano", true), ("feather", false)] {
            let mut cfg = WaveNetConfig::preset(preset).unwrap();
            cfg.layers.iter_mut().for_each(|a| a.gated = gated);
            let weights = ampsim_testkit::seeded_weights(cfg.nam_weight_count(), 5, 0.3);
            let silence = 2 * WaveNet::new(&cfg, &weights).unwrap().receptive_field();
            let want = reference(&cfg, &weights, &x, silence);
            for simd in [Simd::Baseline, Simd::Avx2Fma, Simd::Avx512].into_iter().filter(|s| s.available()) {
                let mut model = WaveNet::new(&cfg, &weights).unwrap().with_simd(simd);
                let got = ampsim_testkit::play_in_blocks(&x, &[64, 17, 300, 1], |i, o| model.process(i, o));
                let worst = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                let peak = want.iter().fold(0f32, |m, v| m.max(v.abs()));
                assert!(peak > 1e-3 && worst < 1e-5 * peak.max(1.0), "{preset} gated {gated} {simd:?}: {worst} (peak {peak})");
            }
        }
    }
}
