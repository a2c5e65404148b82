//! NAM's WaveNet (A1 and A2), streaming: each layer keeps its input in a delay line, so a block
//! costs only its own samples, never the context again. Blocks of any length are cut into
//! steps of [`STEP`] samples; every buffer is allocated when the model is built.
//!
//! Per step and layer array: the rechannel 1×1 writes the first layer's delay line; each
//! layer computes its dilated convolution from its delay line plus the mixed-in input,
//! activates it (gated: times the sigmoid of the second half), adds that to the head
//! accumulator (a delay line too, for A2's kernel-16 head) and writes its input plus the 1×1
//! of it into the next layer's delay line; the head convolution reads the accumulator.

use crate::activation::{sigmoid_with, Activation};
use crate::kernels::{add_rows, matmul, History, Mac, Simd};
use crate::layout::wavenet::WaveNetConfig;
use crate::layout::Weights;
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
}

#[derive(Debug)]
struct LayerArray {
    channels: usize,
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
    pub fn new(config: &WaveNetConfig, weights: &[f32]) -> Result<WaveNet, String> {
        WaveNet::build(config, weights, 1)
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
            let (c, g) = (a.channels, a.conv_channels());
            if c > MAX_CHANNELS {
                return Err(format!("layer array {i}: {c} channels (the engine plays up to {MAX_CHANNELS})"));
            }
            max_conv = max_conv.max(g);
            max_channels = max_channels.max(c);
            max_head = max_head.max(a.head_size);
            let rechannel_w = w.take(c * a.input_size)?;
            let mut layers = Vec::with_capacity(a.dilations.len());
            for (&d, &k) in a.dilations.iter().zip(&a.kernel_sizes) {
                let input = History::new(c, (k - 1) * d, STEP);
                layers.push(Layer {
                    channels: c,
                    gated: a.gated,
                    activation: a.activation,
                    conv_w: w.take(g * c * k)?,
                    conv_b: w.take(g)?,
                    conv_offsets: tap_offsets(c, k, d, input.stride(), (k - 1) * d),
                    mix_w: w.take(g * cond_size)?,
                    one_by_one_w: w.take(c * c)?,
                    one_by_one_b: w.take(c)?,
                    input,
                });
            }
            let hk = a.head_kernel_size;
            let head_acc = History::new(c, hk - 1, STEP);
            arrays.push(LayerArray {
                channels: c,
                head_size: a.head_size,
                rechannel_w,
                rechannel_offsets: (0..a.input_size).map(|r| r * STEP).collect(),
                layers,
                head_w: w.take(a.head_size * c * hk)?,
                head_b: if a.head_bias { w.take(a.head_size)? } else { vec![0.0; a.head_size] },
                head_offsets: tap_offsets(c, hk, 1, head_acc.stride(), hk - 1),
                head_acc,
            });
        }
        let head_scale = w.take(1)?[0];
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
            for c in 0..array.channels {
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
                layer::<M>(this, rest.first_mut(), &mut array.head_acc, (&self.cond, self.cond_size), &mut self.z, &mut self.carry, n);
            }
            for l in &mut array.layers {
                l.input.end(n);
            }
            for (h, &b) in array.head_b.iter().enumerate() {
                self.head_out[h * STEP..h * STEP + n].fill(b);
            }
            let acc = &array.head_acc;
            matmul::<M>(&array.head_w, array.head_size, &array.head_offsets, acc.data(), acc.base(), &mut self.head_out, STEP, n);
            array.head_acc.end(n);
        }
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
        for (m, &b) in l.conv_b.iter().enumerate() {
            z[m * STEP..m * STEP + n].fill(b);
        }
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
    let (out, out_stride, out_pos): (&mut [f32], usize, usize) = match next {
        Some(nl) => {
            let (s, p) = (nl.input.stride(), nl.input.pos());
            (nl.input.data_mut(), s, p)
        }
        None => (carry, STEP, 0),
    };
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
    fn reset(&mut self) {
        self.clear();
        let (silence, mut out) = ([0.0f32; STEP], [0.0f32; STEP]);
        let mut left = self.receptive_field() - 1;
        while left > 0 {
            let n = left.min(STEP);
            self.process(&silence[..n], &mut out[..n]);
            left -= n;
        }
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
