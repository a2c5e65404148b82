//! The post's dense network, streaming: a window of `window_samples` input samples (the last
//! `future_samples` of them after the target sample) → dense layers (ReLU) → one tanh output.
//!
//! The first layer is a bank of FIR filters as long as the window (4 000 taps × 256 units in
//! the post's model): it runs as uniformly partitioned overlap-save convolution — the input is
//! transformed once per block of [`BLOCK`] samples, each unit's filter is multiplied in the
//! frequency domain and transformed back. The other layers run on whole blocks as matrix
//! products. So the output trails the input by `BLOCK + future_samples − 1` samples
//! ([`Renderer::latency_samples`]): the future the model needs, plus one block.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::activation::Activation;
use crate::kernels::{matmul, Mac, Simd};
use crate::Renderer;

/// Samples per block of the partitioned convolution (and of the dense layers).
pub const BLOCK: usize = 256;
/// Row length of the per-layer activation buffers: a block plus 16, so that successive rows
/// fall into different cache sets (rows 1 KiB apart would share a few and evict each other).
const ROW: usize = BLOCK + 16;

/// One dense layer: `out = activation(W · in + b)`, `W` as `[out][in]`.
#[derive(Clone, Debug)]
pub struct DenseLayer {
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
}

/// The network's shape and activations (the post's: ReLU hidden layers, a tanh output).
#[derive(Clone, Debug, PartialEq)]
pub struct DenseConfig {
    /// Samples in the input window (the post's: 4000).
    pub window_samples: usize,
    /// How many of them come after the target sample (the post's: 300).
    pub future_samples: usize,
    pub hidden_activation: Activation,
    pub output_activation: Activation,
}

impl Default for DenseConfig {
    fn default() -> Self {
        DenseConfig { window_samples: 4000, future_samples: 300, hidden_activation: Activation::Relu, output_activation: Activation::Tanh }
    }
}

/// The dense network ready to play.
pub struct DenseNet {
    config: DenseConfig,
    simd: Simd,
    units: usize,
    partitions: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    ifft: Arc<dyn ComplexToReal<f32>>,
    /// `[unit][partition][bin]`, real and imaginary parts apart.
    filter_re: Vec<f32>,
    filter_im: Vec<f32>,
    first_bias: Vec<f32>,
    /// The last `partitions` input spectra, `[partition][bin]`; `newest` is the latest.
    spectra_re: Vec<f32>,
    spectra_im: Vec<f32>,
    newest: usize,
    /// The previous block and the current one being filled.
    input: Vec<f32>,
    filled: usize,
    /// Outputs of the last finished block, played while the next one fills.
    ready: Vec<f32>,
    /// The dense layers after the first (the last one is the output).
    layers: Vec<DenseLayer>,
    /// Per-layer activations on a block, `[units][ROW]` each (the first `BLOCK` of a row used).
    acts: Vec<Vec<f32>>,
    fft_in: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    time: Vec<f32>,
    offsets: Vec<Vec<usize>>,
}

impl std::fmt::Debug for DenseNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenseNet").field("config", &self.config).field("units", &self.units).field("layers", &(self.layers.len() + 1)).finish()
    }
}

impl DenseNet {
    /// Build from the layers, first to last: the first takes the window (`[units][window]`,
    /// oldest sample first), the last has one output.
    pub fn new(config: DenseConfig, layers: Vec<DenseLayer>) -> Result<DenseNet, String> {
        let w = config.window_samples;
        if w == 0 || config.future_samples == 0 || config.future_samples > w {
            return Err(format!("window {w} with {} future samples: needs 0 < future ≤ window", config.future_samples));
        }
        let Some((first, rest)) = layers.split_first() else { return Err("no layers".into()) };
        if first.weights.len() % w != 0 || first.weights.is_empty() {
            return Err(format!("the first layer has {} weights, not a multiple of the {w}-sample window", first.weights.len()));
        }
        let units = first.weights.len() / w;
        let mut inputs = units;
        for (i, l) in layers.iter().enumerate() {
            let outs = l.bias.len();
            let expected = if i == 0 { w } else { inputs };
            if outs == 0 || l.weights.len() != outs * expected {
                return Err(format!("layer {i}: {} weights and {outs} biases for {expected} inputs", l.weights.len()));
            }
            inputs = outs;
        }
        if inputs != 1 {
            return Err(format!("the last layer has {inputs} outputs (one is needed)"));
        }
        if let Some(bad) = layers.iter().flat_map(|l| l.weights.iter().chain(&l.bias)).position(|v| !v.is_finite()) {
            return Err(format!("weight {bad} is not a finite number"));
        }
        let (p, bins) = (BLOCK, BLOCK + 1);
        let partitions = w.div_ceil(p);
        let mut planner = RealFftPlanner::<f32>::new();
        let (fft, ifft) = (planner.plan_fft_forward(2 * p), planner.plan_fft_inverse(2 * p));
        let mut scratch = vec![Complex::default(); fft.get_scratch_len().max(ifft.get_scratch_len())];
        let (mut filter_re, mut filter_im) = (vec![0.0; units * partitions * bins], vec![0.0; units * partitions * bins]);
        let (mut buf, mut spec) = (vec![0.0; 2 * p], vec![Complex::default(); bins]);
        for u in 0..units {
            let row = &first.weights[u * w..(u + 1) * w];
            for q in 0..partitions {
                // Taps qP..qP+P of the filter h[m] = row[w − 1 − m], zero-padded to 2P.
                buf.fill(0.0);
                for (i, b) in buf[..p].iter_mut().enumerate() {
                    let m = q * p + i;
                    if m < w {
                        *b = row[w - 1 - m];
                    }
                }
                fft.process_with_scratch(&mut buf, &mut spec, &mut scratch).map_err(|e| e.to_string())?;
                let at = (u * partitions + q) * bins;
                for (k, c) in spec.iter().enumerate() {
                    // The inverse transform is unnormalised: fold 1/2P into the filters.
                    filter_re[at + k] = c.re / (2 * p) as f32;
                    filter_im[at + k] = c.im / (2 * p) as f32;
                }
            }
        }
        let acts: Vec<Vec<f32>> = layers.iter().map(|l| vec![0.0; l.bias.len() * ROW]).collect();
        let offsets: Vec<Vec<usize>> = layers.iter().map(|l| (0..l.weights.len() / l.bias.len()).map(|j| j * ROW).collect()).collect();
        Ok(DenseNet {
            first_bias: first.bias.clone(),
            layers: rest.to_vec(),
            config,
            simd: Simd::detect(),
            units,
            partitions,
            fft,
            ifft,
            filter_re,
            filter_im,
            spectra_re: vec![0.0; partitions * bins],
            spectra_im: vec![0.0; partitions * bins],
            newest: 0,
            input: vec![0.0; 2 * p],
            filled: 0,
            ready: vec![0.0; p],
            acts,
            fft_in: buf,
            spectrum: spec,
            scratch,
            time: vec![0.0; 2 * p],
            offsets,
        })
    }

    pub fn config(&self) -> &DenseConfig {
        &self.config
    }

    /// Weights and biases of all layers.
    pub fn weight_count(&self) -> usize {
        self.units * (self.config.window_samples + 1) + self.layers.iter().map(|l| l.weights.len() + l.bias.len()).sum::<usize>()
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn block_avx512(&mut self) {
        self.block::<crate::kernels::Fused512>()
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block_avx2(&mut self) {
        self.block::<crate::kernels::Fused>()
    }

    /// A full block of input is in `input[P..]`: compute its outputs into `ready`.
    #[inline(always)]
    fn block<M: Mac>(&mut self) {
        let (p, bins, parts) = (BLOCK, BLOCK + 1, self.partitions);
        // The input spectrum of [previous block, this block] becomes the newest partition.
        self.fft_in.copy_from_slice(&self.input);
        let _ = self.fft.process_with_scratch(&mut self.fft_in, &mut self.spectrum, &mut self.scratch);
        self.newest = (self.newest + 1) % parts;
        let slot = self.newest * bins;
        for (k, c) in self.spectrum.iter().enumerate() {
            self.spectra_re[slot + k] = c.re;
            self.spectra_im[slot + k] = c.im;
        }
        let hidden = self.config.hidden_activation;
        let first = &mut self.acts[0];
        for u in 0..self.units {
            let (mut acc_re, mut acc_im) = ([0f32; BLOCK + 1], [0f32; BLOCK + 1]);
            for q in 0..parts {
                let x = ((self.newest + parts - q) % parts) * bins;
                let h = (u * parts + q) * bins;
                let (hr, hi) = (&self.filter_re[h..h + bins], &self.filter_im[h..h + bins]);
                let (xr, xi) = (&self.spectra_re[x..x + bins], &self.spectra_im[x..x + bins]);
                complex_mac::<M>(&mut acc_re, &mut acc_im, hr, hi, xr, xi);
            }
            for (c, (&re, &im)) in self.spectrum.iter_mut().zip(acc_re.iter().zip(&acc_im)) {
                *c = Complex::new(re, im);
            }
            self.spectrum[0].im = 0.0;
            self.spectrum[bins - 1].im = 0.0;
            let _ = self.ifft.process_with_scratch(&mut self.spectrum, &mut self.time, &mut self.scratch);
            // Overlap-save: the second half is the block's linear convolution.
            let row = &mut first[u * ROW..u * ROW + p];
            let b = self.first_bias[u];
            for (o, &t) in row.iter_mut().zip(&self.time[p..]) {
                *o = t + b;
            }
            hidden.apply_with::<M>(row);
        }
        let n_layers = self.layers.len();
        for (i, layer) in self.layers.iter().enumerate() {
            let (before, after) = self.acts.split_at_mut(i + 1);
            let (src, out) = (&before[i], &mut after[0]);
            for (m, &b) in layer.bias.iter().enumerate() {
                out[m * ROW..m * ROW + p].fill(b);
            }
            matmul::<M>(&layer.weights, layer.bias.len(), &self.offsets[i + 1], src, 0, out, ROW, p);
            let act = if i + 1 == n_layers { self.config.output_activation } else { hidden };
            for m in 0..layer.bias.len() {
                act.apply_with::<M>(&mut out[m * ROW..m * ROW + p]);
            }
        }
        let last = &self.acts[n_layers];
        self.ready.copy_from_slice(&last[..p]);
        self.input.copy_within(p.., 0);
    }

    fn run_block(&mut self) {
        #[cfg(target_arch = "x86_64")]
        match self.simd {
            // SAFETY: `Simd::detect` found these instructions on this CPU.
            Simd::Avx512 => return unsafe { self.block_avx512() },
            Simd::Avx2Fma => return unsafe { self.block_avx2() },
            Simd::Baseline => {}
        }
        self.block::<crate::kernels::Plain>()
    }
}

/// `acc += h · x` over complex bins held as real and imaginary arrays.
#[inline(always)]
fn complex_mac<M: Mac>(acc_re: &mut [f32], acc_im: &mut [f32], hr: &[f32], hi: &[f32], xr: &[f32], xi: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if M::AVX512 {
        // SAFETY: compiled for AVX-512 (`M::AVX512`); the six slices have one length.
        return unsafe { crate::kernels::x86::complex_mac_avx512(acc_re, acc_im, hr, hi, xr, xi) };
    }
    for k in 0..acc_re.len() {
        acc_re[k] = M::mac(hr[k], xr[k], M::mac(-hi[k], xi[k], acc_re[k]));
        acc_im[k] = M::mac(hr[k], xi[k], M::mac(hi[k], xr[k], acc_im[k]));
    }
}

impl Renderer for DenseNet {
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        let n = input.len().min(output.len());
        output[n..].fill(0.0);
        let mut at = 0;
        while at < n {
            let m = (BLOCK - self.filled).min(n - at);
            for (i, &x) in input[at..at + m].iter().enumerate() {
                self.input[BLOCK + self.filled + i] = if x.is_finite() { x } else { 0.0 };
            }
            output[at..at + m].copy_from_slice(&self.ready[self.filled..self.filled + m]);
            self.filled += m;
            at += m;
            if self.filled == BLOCK {
                self.run_block();
                self.filled = 0;
            }
        }
    }

    /// Silence: no input yet, and the outputs of a silent past.
    fn reset(&mut self) {
        self.spectra_re.fill(0.0);
        self.spectra_im.fill(0.0);
        self.input.fill(0.0);
        self.filled = 0;
        self.ready.fill(0.0);
    }

    fn latency_samples(&self) -> usize {
        BLOCK + self.config.future_samples - 1
    }

    fn receptive_field(&self) -> usize {
        self.config.window_samples
    }
}

/// Read the dense network from a checkpoint `ampsim train --model mlp` writes (safetensors:
/// `dense0.weight` `[units, window]`, `dense0.bias`, … `output.weight`, `output.bias`); the
/// window length comes from the first layer, the future from `config`.
pub fn from_safetensors(path: &std::path::Path, future_samples: usize) -> crate::Result<DenseNet> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|cause| crate::Error::Io { path: path.to_path_buf(), cause })?;
    let fail = |reason: String| crate::Error::model(&origin, reason);
    let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| fail(format!("not a safetensors file ({e:?})")))?;
    let read = |name: &str| -> crate::Result<(Vec<usize>, Vec<f32>)> {
        let t = file.tensor(name).map_err(|_| fail(format!("no tensor `{name}` (not a dense network's checkpoint)")))?;
        if t.dtype() != safetensors::Dtype::F32 {
            return Err(fail(format!("`{name}` is {:?}, not 32-bit floats", t.dtype())));
        }
        let values = t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Ok((t.shape().to_vec(), values))
    };
    let mut layers = Vec::new();
    let mut window = 0;
    for i in 0.. {
        let name = format!("dense{i}");
        if file.tensor(&format!("{name}.weight")).is_err() {
            break;
        }
        let (shape, weights) = read(&format!("{name}.weight"))?;
        if i == 0 {
            window = shape.get(1).copied().unwrap_or(0);
        }
        layers.push(DenseLayer { weights, bias: read(&format!("{name}.bias"))?.1 });
    }
    if layers.is_empty() {
        return Err(fail("no `dense0.weight` (not a dense network's checkpoint)".into()));
    }
    layers.push(DenseLayer { weights: read("output.weight")?.1, bias: read("output.bias")?.1 });
    DenseNet::new(DenseConfig { window_samples: window, future_samples, ..DenseConfig::default() }, layers).map_err(fail)
}
