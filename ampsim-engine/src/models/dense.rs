//! The post's dense network, streaming: a window of `window_samples` input samples (the last
//! `future_samples` of them after the target sample) → dense layers (ReLU) → one tanh output.
//!
//! The first layer is a bank of FIR filters as long as the window (4 000 taps × 256 units in
//! the post's model): it runs as uniformly partitioned overlap-save convolution — the input is
//! transformed once per block of [`BLOCK`] samples, each unit's filter is multiplied in the
//! frequency domain and transformed back, two units per complex inverse transform (one as the
//! real part, the other as the imaginary part). The other layers run on whole blocks as
//! matrix products. So the output trails the input by `BLOCK + future_samples − 1` samples
//! ([`Renderer::latency_samples`]): the future the model needs, plus one block.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

use crate::activation::Activation;
use crate::kernels::{matmul, Mac, Simd};
use crate::Renderer;

/// Samples per block of the partitioned convolution (and of the dense layers).
pub const BLOCK: usize = 256;
/// Row length of the per-layer activation buffers: a block plus 16, so that successive rows
/// fall into different cache sets (rows 1 KiB apart would share a few and evict each other).
const ROW: usize = BLOCK + 16;
/// Bins of a partition's spectrum below the Nyquist bin, in chunks of [`CHUNK`].
const CHUNK: usize = 64;
const CHUNKS: usize = BLOCK / CHUNK;
/// A pair's filter values per chunk and partition: two units, real and imaginary parts.
const PAIR_CHUNK: usize = 4 * CHUNK;
/// Output rows per panel of the hidden layers' matrix products (AVX-512: 8 rows × 32 samples
/// in 16 registers).
const PANEL_ROWS: usize = 8;

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

/// A layer after the first, with its weights also packed in panels of [`PANEL_ROWS`] rows
/// (`[panel][input][row]`, zero rows past the end) for the AVX-512 product.
#[derive(Clone, Debug)]
struct Layer {
    dense: DenseLayer,
    packed: Vec<f32>,
    packed_bias: Vec<f32>,
    /// `j · ROW` for every input `j` (the rows of the previous layer's activations).
    offsets: Vec<usize>,
}

/// The dense network ready to play.
pub struct DenseNet {
    config: DenseConfig,
    simd: Simd,
    units: usize,
    partitions: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    /// The complex inverse transform of `2·BLOCK` points (unnormalised).
    ifft: Arc<dyn Fft<f32>>,
    /// The first layer's filter spectra, two units at a time: `[pair][chunk][partition]`
    /// blocks of [`PAIR_CHUNK`] values (1/2P folded in).
    filters: Vec<f32>,
    /// Their Nyquist bins (real), `[unit][partition]`.
    filter_nyquist: Vec<f32>,
    first_bias: Vec<f32>,
    /// The last `partitions` input spectra, `[partition][bin]`; `newest` is the latest.
    spectra_re: Vec<f32>,
    spectra_im: Vec<f32>,
    newest: usize,
    /// Where partition `q`'s input spectrum starts in `spectra_*`, for this block.
    slots: Vec<usize>,
    /// The previous block and the current one being filled.
    input: Vec<f32>,
    filled: usize,
    /// Outputs of the last finished block, played while the next one fills.
    ready: Vec<f32>,
    /// The dense layers after the first (the last one is the output).
    layers: Vec<Layer>,
    /// Per-layer activations on a block, `[rows][ROW]` each (the first `BLOCK` of a row used;
    /// rows rounded up to whole panels).
    acts: Vec<Vec<f32>>,
    fft_in: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    /// A pair's spectrum, `2·BLOCK` bins and one of scratch.
    pair: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl std::fmt::Debug for DenseNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenseNet").field("config", &self.config).field("units", &self.units).field("layers", &(self.layers.len() + 1)).finish()
    }
}

/// The first layer's filters (unit `u`'s row of the window, reversed) as spectra of `partitions`
/// blocks of [`BLOCK`] taps, packed two units per complex transform in chunks of [`CHUNK`] bins,
/// scaled by the unnormalised inverse transform's `1/(2·BLOCK)`; and each one's Nyquist bin.
fn first_layer_filters(weights: &[f32], units: usize, partitions: usize, fft: &dyn RealToComplex<f32>, (buf, spec, scratch): (&mut [f32], &mut [Complex<f32>], &mut [Complex<f32>])) -> Result<(Vec<f32>, Vec<f32>), String> {
    let (p, w) = (BLOCK, weights.len() / units);
    let (mut filters, mut filter_nyquist) = (vec![0.0; units.div_ceil(2) * CHUNKS * partitions * PAIR_CHUNK], vec![0.0; units * partitions]);
    let scale = 1.0 / (2 * p) as f32;
    for u in 0..units {
        let row = &weights[u * w..(u + 1) * w];
        for q in 0..partitions {
            // Taps qP..qP+P of the filter h[m] = row[w − 1 − m], zero-padded to 2P.
            buf.fill(0.0);
            for (i, b) in buf[..p].iter_mut().enumerate() {
                let m = q * p + i;
                if m < w {
                    *b = row[w - 1 - m];
                }
            }
            fft.process_with_scratch(buf, spec, scratch).map_err(|e| e.to_string())?;
            spec[0].im = 0.0; // a real signal's DC
            for c in 0..CHUNKS {
                let at = (((u / 2) * CHUNKS + c) * partitions + q) * PAIR_CHUNK + (u % 2) * 2 * CHUNK;
                for i in 0..CHUNK {
                    filters[at + i] = spec[c * CHUNK + i].re * scale;
                    filters[at + CHUNK + i] = spec[c * CHUNK + i].im * scale;
                }
            }
            filter_nyquist[u * partitions + q] = spec[p].re * scale;
        }
    }
    Ok((filters, filter_nyquist))
}

impl DenseNet {
    /// Build from the layers, first to last: the first takes the window (`[units][window]`,
    /// oldest sample first), the last has one output.
    pub fn new(config: DenseConfig, layers: Vec<DenseLayer>) -> Result<DenseNet, String> {
        let units = DenseNet::check(&config, &layers)?;
        let (first, rest) = layers.split_first().expect("checked: there are layers");
        let (p, bins) = (BLOCK, BLOCK + 1);
        let partitions = config.window_samples.div_ceil(p);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(2 * p);
        let ifft = FftPlanner::<f32>::new().plan_fft_inverse(2 * p);
        let mut scratch = vec![Complex::default(); fft.get_scratch_len().max(ifft.get_inplace_scratch_len())];
        let (mut buf, mut spec) = (vec![0.0; 2 * p], vec![Complex::default(); bins]);
        let (filters, filter_nyquist) = first_layer_filters(&first.weights, units, partitions, fft.as_ref(), (&mut buf, &mut spec, &mut scratch))?;
        let layers: Vec<Layer> = rest.iter().map(|l| Layer::new(l.clone())).collect();
        let mut acts = vec![vec![0.0; units * ROW]];
        acts.extend(layers.iter().map(|l| vec![0.0; l.packed_bias.len() * ROW]));
        Ok(DenseNet {
            first_bias: first.bias.clone(),
            layers,
            config,
            simd: Simd::detect(),
            units,
            partitions,
            fft,
            ifft,
            filters,
            filter_nyquist,
            spectra_re: vec![0.0; partitions * bins],
            spectra_im: vec![0.0; partitions * bins],
            newest: 0,
            slots: vec![0; partitions],
            input: vec![0.0; 2 * p],
            filled: 0,
            ready: vec![0.0; p],
            acts,
            fft_in: buf,
            spectrum: spec,
            pair: vec![Complex::default(); 2 * p + 1],
            scratch,
        })
    }

    /// What is wrong with the window and the layers' shapes, if anything; else the first layer's units.
    fn check(config: &DenseConfig, layers: &[DenseLayer]) -> Result<usize, String> {
        let w = config.window_samples;
        if w == 0 || config.future_samples == 0 || config.future_samples > w {
            return Err(format!("window {w} with {} future samples: needs 0 < future ≤ window", config.future_samples));
        }
        let Some(first) = layers.first() else { return Err("no layers".into()) };
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
        Ok(units)
    }

    pub fn config(&self) -> &DenseConfig {
        &self.config
    }

    /// Weights and biases of all layers.
    pub fn weight_count(&self) -> usize {
        self.units * (self.config.window_samples + 1) + self.layers.iter().map(|l| l.dense.weights.len() + l.dense.bias.len()).sum::<usize>()
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
        self.spectra_im[slot] = 0.0;
        for (q, s) in self.slots.iter_mut().enumerate() {
            *s = ((self.newest + parts - q) % parts) * bins;
        }
        let hidden = self.config.hidden_activation;
        let first = &mut self.acts[0];
        for pair in 0..self.units.div_ceil(2) {
            let filters = &self.filters[pair * CHUNKS * parts * PAIR_CHUNK..(pair + 1) * CHUNKS * parts * PAIR_CHUNK];
            spectra_pair::<M>(filters, &self.spectra_re, &self.spectra_im, &self.slots, &mut self.pair);
            let (a, b) = (2 * pair, 2 * pair + 1);
            let nyquist = |u: usize| -> f32 {
                let h = self.filter_nyquist.get(u * parts..(u + 1) * parts);
                h.map_or(0.0, |h| h.iter().zip(&self.slots).fold(0.0, |acc, (&h, &s)| M::mac(h, self.spectra_re[s + p], acc)))
            };
            self.pair[p] = Complex::new(nyquist(a), nyquist(b));
            self.ifft.process_with_scratch(&mut self.pair[..2 * p], &mut self.scratch);
            // Overlap-save: the second half is the block's linear convolution; unit a is the
            // real part, unit b the imaginary part.
            let (ba, bb) = (self.first_bias[a], self.first_bias.get(b).copied().unwrap_or(0.0));
            let (row_a, rest) = first[a * ROW..].split_at_mut(ROW);
            for (o, z) in row_a[..p].iter_mut().zip(&self.pair[p..2 * p]) {
                *o = z.re + ba;
            }
            hidden.apply_with::<M>(&mut row_a[..p]);
            if b < self.units {
                for (o, z) in rest[..p].iter_mut().zip(&self.pair[p..2 * p]) {
                    *o = z.im + bb;
                }
                hidden.apply_with::<M>(&mut rest[..p]);
            }
        }
        let n_layers = self.layers.len();
        for (i, layer) in self.layers.iter().enumerate() {
            let (before, after) = self.acts.split_at_mut(i + 1);
            let (src, out) = (&before[i], &mut after[0]);
            let rows = layer.dense.bias.len();
            layer_product::<M>(layer, src, out);
            let act = if i + 1 == n_layers { self.config.output_activation } else { hidden };
            for m in 0..rows {
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

impl Layer {
    fn new(dense: DenseLayer) -> Layer {
        let (rows, k) = (dense.bias.len(), dense.weights.len() / dense.bias.len());
        let padded = rows.div_ceil(PANEL_ROWS) * PANEL_ROWS;
        let mut packed = vec![0.0; padded * k];
        for m in 0..rows {
            let (panel, r) = (m / PANEL_ROWS, m % PANEL_ROWS);
            for j in 0..k {
                packed[(panel * k + j) * PANEL_ROWS + r] = dense.weights[m * k + j];
            }
        }
        let mut packed_bias = dense.bias.clone();
        packed_bias.resize(padded, 0.0);
        Layer { packed, packed_bias, offsets: (0..k).map(|j| j * ROW).collect(), dense }
    }
}

/// `out = W · src + b` on one block (rows of `ROW`): in panels with AVX-512 (layers of more
/// than one row), else by the shared tiled product.
#[inline(always)]
fn layer_product<M: Mac>(layer: &Layer, src: &[f32], out: &mut [f32]) {
    let (rows, k) = (layer.dense.bias.len(), layer.offsets.len());
    #[cfg(target_arch = "x86_64")]
    if M::AVX512 && rows > 1 && out.len() >= layer.packed_bias.len() * ROW && src.len() >= k * ROW {
        for t0 in (0..BLOCK).step_by(32) {
            for (panel, bias) in layer.packed_bias.chunks_exact(PANEL_ROWS).enumerate() {
                let wp = &layer.packed[panel * PANEL_ROWS * k..(panel + 1) * PANEL_ROWS * k];
                // SAFETY: compiled for AVX-512 (`M::AVX512`); `src` holds k rows and `out` every
                // panel's rows of `ROW ≥ t0 + 32` values (checked above).
                unsafe { crate::kernels::x86::panel_rx32::<PANEL_ROWS>(wp, bias, k, &src[t0..], ROW, &mut out[panel * PANEL_ROWS * ROW + t0..], ROW) };
            }
        }
        return;
    }
    for (m, &b) in layer.dense.bias.iter().enumerate() {
        out[m * ROW..m * ROW + BLOCK].fill(b);
    }
    matmul::<M>(&layer.dense.weights, rows, &layer.offsets, src, 0, out, ROW, BLOCK);
}

/// Two units' frequency-domain products as one complex spectrum (see
/// [`crate::kernels::x86::spectra_pair_avx512`], which this computes portably).
#[inline(always)]
fn spectra_pair<M: Mac>(filters: &[f32], xr: &[f32], xi: &[f32], slots: &[usize], z: &mut [Complex<f32>]) {
    #[cfg(target_arch = "x86_64")]
    if M::AVX512 {
        // SAFETY: compiled for AVX-512 (`M::AVX512`); the sizes are the network's own.
        return unsafe { crate::kernels::x86::spectra_pair_avx512(filters, xr, xi, slots, z) };
    }
    let parts = slots.len();
    for c in 0..CHUNKS {
        let (mut ar, mut ai, mut br, mut bi) = ([0f32; CHUNK], [0f32; CHUNK], [0f32; CHUNK], [0f32; CHUNK]);
        for (q, &slot) in slots.iter().enumerate() {
            let h = &filters[(c * parts + q) * PAIR_CHUNK..(c * parts + q + 1) * PAIR_CHUNK];
            let (x_r, x_i) = (&xr[slot + c * CHUNK..slot + (c + 1) * CHUNK], &xi[slot + c * CHUNK..slot + (c + 1) * CHUNK]);
            for i in 0..CHUNK {
                let (har, hai, hbr, hbi) = (h[i], h[CHUNK + i], h[2 * CHUNK + i], h[3 * CHUNK + i]);
                ar[i] = M::mac(har, x_r[i], M::mac(-hai, x_i[i], ar[i]));
                ai[i] = M::mac(har, x_i[i], M::mac(hai, x_r[i], ai[i]));
                br[i] = M::mac(hbr, x_r[i], M::mac(-hbi, x_i[i], br[i]));
                bi[i] = M::mac(hbr, x_i[i], M::mac(hbi, x_r[i], bi[i]));
            }
        }
        for i in 0..CHUNK {
            let k = c * CHUNK + i;
            z[k] = Complex::new(ar[i] - bi[i], ai[i] + br[i]);
            z[2 * BLOCK - k] = Complex::new(ar[i] + bi[i], br[i] - ai[i]);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        ampsim_testkit::seeded_weights(n, seed, scale)
    }

    /// The network on one window, directly, in double precision.
    fn direct(layers: &[DenseLayer], window: &[f32]) -> f32 {
        let mut v: Vec<f64> = window.iter().map(|&x| x as f64).collect();
        for (i, l) in layers.iter().enumerate() {
            let k = v.len();
            v = l.bias.iter().enumerate().map(|(m, &b)| b as f64 + (0..k).map(|j| l.weights[m * k + j] as f64 * v[j]).sum::<f64>()).collect();
            let last = i + 1 == layers.len();
            v.iter_mut().for_each(|x| *x = if last { x.tanh() } else { x.max(0.0) });
        }
        v[0] as f32
    }

    /// Every instruction set this CPU has, at blocks of 1, 64, 4096 and a mix, against the
    /// direct computation: an odd number of first-layer units (the last pair half empty), a
    /// window that is no whole number of partitions, hidden layers that are no whole number of
    /// panels.
    #[test]
    fn the_network_streams_as_computed_directly() {
        let (window, future, widths) = (700usize, 30usize, [700usize, 7, 13, 5, 1]);
        let layers: Vec<DenseLayer> =
            widths.windows(2).enumerate().map(|(i, w)| DenseLayer { weights: values(w[0] * w[1], 3 + i as u64, (6.0 / (w[0] + w[1]) as f32).sqrt()), bias: values(w[1], 40 + i as u64, 0.1) }).collect();
        let x: Vec<f32> = values(6000, 99, 0.5).iter().enumerate().map(|(i, v)| v + (i as f32 * 0.01).sin() * 0.4).collect();
        let config = DenseConfig { window_samples: window, future_samples: future, ..DenseConfig::default() };
        for simd in [Simd::Avx512, Simd::Avx2Fma, Simd::Baseline].into_iter().filter(|s| s.available()) {
            let mut net = DenseNet::new(config.clone(), layers.clone()).unwrap();
            net.simd = simd;
            let latency = net.latency_samples();
            for blocks in [vec![1], vec![64], vec![4096], vec![3, 250, 17, 1000, 64, 5]] {
                net.reset();
                let mut y = vec![0.0; x.len()];
                let (mut at, mut i) = (0, 0);
                while at < x.len() {
                    let n = blocks[i % blocks.len()].min(x.len() - at);
                    net.process(&x[at..at + n], &mut y[at..at + n]);
                    at += n;
                    i += 1;
                }
                let worst = (window - future..x.len() - latency)
                    .map(|k| (y[k + latency] - direct(&layers, &x[k + future - window..k + future])).abs())
                    .fold(0.0f32, f32::max);
                assert!(worst < 2e-6, "{simd:?}, blocks {blocks:?}: max |difference| {worst}");
            }
        }
    }
}
