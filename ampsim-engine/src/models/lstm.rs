//! NAM's LSTM, streaming: a stack of LSTM cells (gates i, f, g, o as PyTorch orders them) and a
//! linear head, one sample at a time; the state carries over between blocks and `reset`
//! returns it to the initial state stored in the file.
//!
//! Per sample and cell, the gates are one matrix–vector product over `[input; h]`, computed in
//! tiles of 32 gates that stay in registers; the sigmoid gates are computed as
//! `(1 + tanh(x/2)) / 2` with the halving folded into their weights (exact: a power of two),
//! so one vectorised tanh pass activates all four gates.

use crate::kernels::Aligned;
use crate::controls::Controls;
use crate::kernels::approx::tanh_with;
use crate::kernels::{Mac, Simd};
use crate::schema::lstm::LstmShape;
use crate::schema::Weights;
use crate::Renderer;

/// Gates per tile.
const TILE: usize = 32;

#[derive(Debug)]
struct Cell {
    input_size: usize,
    hidden: usize,
    /// `[tile][input + hidden][TILE]`: NAM's `[4H, input + H]` matrix (sigmoid rows halved).
    wt: Aligned,
    /// `[gates rounded up to whole tiles]` (sigmoid rows halved).
    bias: Aligned,
    /// Gate activation `scale · tanh(x) + offset`: (½, ½) for sigmoid gates, (1, 0) for g.
    scale: Aligned,
    offset: Aligned,
    h0: Vec<f32>,
    c0: Vec<f32>,
    /// `[input; h]`: this cell's input, then its hidden state.
    v: Aligned,
    c: Aligned,
    gates: Aligned,
}

impl Cell {
    fn new(input_size: usize, hidden: usize, w: &mut Weights<'_>) -> Result<Cell, String> {
        let (g4, k) = (4 * hidden, input_size + hidden);
        let padded = g4.div_ceil(TILE) * TILE;
        // Gate g (rows 2H..3H) is a tanh; i, f and o are sigmoids.
        let is_sigmoid = |row: usize| !(2 * hidden..3 * hidden).contains(&row);
        let half = |row: usize| if is_sigmoid(row) { 0.5 } else { 1.0 };
        let m = w.take_vec(g4 * k)?;
        let mut wt = Aligned::zeros(padded * k);
        for row in 0..g4 {
            let (tile, lane) = (row / TILE, row % TILE);
            for j in 0..k {
                wt[(tile * k + j) * TILE + lane] = m[row * k + j] * half(row);
            }
        }
        let mut bias = w.take_vec(g4)?;
        bias.iter_mut().enumerate().for_each(|(row, b)| *b *= half(row));
        bias.resize(padded, 0.0);
        let scale = Aligned::from_slice(&(0..padded).map(half).collect::<Vec<f32>>());
        let offset = Aligned::from_slice(&(0..padded).map(|row| if is_sigmoid(row) { 0.5 } else { 0.0 }).collect::<Vec<f32>>());
        let (h0, c0) = (w.take_vec(hidden)?, w.take_vec(hidden)?);
        let mut v = Aligned::zeros(k);
        v[input_size..].copy_from_slice(&h0);
        let (bias, c) = (Aligned::from_slice(&bias), Aligned::from_slice(&c0));
        Ok(Cell { input_size, hidden, wt, bias, scale, offset, c, h0, c0, v, gates: Aligned::zeros(padded) })
    }

    fn reset(&mut self) {
        self.v[self.input_size..].copy_from_slice(&self.h0);
        self.c.copy_from_slice(&self.c0);
    }

    fn h(&self) -> &[f32] {
        &self.v[self.input_size..]
    }

    /// One sample: the input is already in `v[..input_size]`.
    #[inline(always)]
    fn step<M: Mac>(&mut self) {
        let k = self.v.len();
        for (tile, out) in self.gates.chunks_exact_mut(TILE).enumerate() {
            let w = &self.wt[tile * k * TILE..(tile + 1) * k * TILE];
            let bias = &self.bias[tile * TILE..(tile + 1) * TILE];
            #[cfg(target_arch = "x86_64")]
            if M::AVX512 {
                // SAFETY: `M::AVX512`: this runs compiled for AVX-512; the sizes hold.
                unsafe { crate::kernels::x86::gates_tile32_avx512(w, &self.v, bias, out) };
                continue;
            }
            #[cfg(target_arch = "x86_64")]
            if M::AVX2 {
                // SAFETY: `M::AVX2`: this runs compiled for AVX2 and FMA; the sizes hold.
                unsafe { crate::kernels::x86::gates_tile32(w, &self.v, bias, out) };
                continue;
            }
            tile_product::<M>(w, &self.v, bias, out);
        }
        activate_gates::<M>(&mut self.gates, &self.scale, &self.offset);
        let hidden = &mut self.v[self.input_size..];
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: `M::AVX512`/`M::AVX2` say the code runs compiled for those instructions;
            // c and hidden have the hidden size, the gates four times it (and more).
            if M::AVX512 {
                return unsafe { crate::kernels::x86::cell_update_avx512(&mut self.c, hidden, &self.gates) };
            }
            if M::AVX2 {
                return unsafe { crate::kernels::x86::cell_update_avx2(&mut self.c, hidden, &self.gates) };
            }
        }
        let h = self.hidden;
        for q in 0..h {
            let g = &self.gates;
            self.c[q] = M::mac(g[h + q], self.c[q], g[q] * g[2 * h + q]);
            hidden[q] = g[3 * h + q] * tanh_with::<M>(self.c[q]);
        }
    }
}

/// `out = bias + W · v` for one tile of gates: `w` is `[v.len()][TILE]`. Two sums over
/// alternate inputs keep twice the multiply-adds in flight; both stay in registers.
#[inline(always)]
fn tile_product<M: Mac>(w: &[f32], v: &[f32], bias: &[f32], out: &mut [f32]) {
    let mut even = [0f32; TILE];
    let mut odd = [0f32; TILE];
    even.copy_from_slice(bias);
    let pairs = v.len() / 2;
    for p in 0..pairs {
        let (v0, v1) = (v[2 * p], v[2 * p + 1]);
        let w0: &[f32; TILE] = w[2 * p * TILE..(2 * p + 1) * TILE].try_into().expect("one tile");
        let w1: &[f32; TILE] = w[(2 * p + 1) * TILE..(2 * p + 2) * TILE].try_into().expect("one tile");
        for i in 0..TILE {
            even[i] = M::mac(w0[i], v0, even[i]);
            odd[i] = M::mac(w1[i], v1, odd[i]);
        }
    }
    if v.len() % 2 == 1 {
        let last = v.len() - 1;
        let wl: &[f32; TILE] = w[last * TILE..(last + 1) * TILE].try_into().expect("one tile");
        for i in 0..TILE {
            even[i] = M::mac(wl[i], v[last], even[i]);
        }
    }
    for i in 0..TILE {
        out[i] = even[i] + odd[i];
    }
}

/// `gates[i] = scale[i] · tanh(gates[i]) + offset[i]` (the length is a whole number of tiles).
#[inline(always)]
fn activate_gates<M: Mac>(gates: &mut [f32], scale: &[f32], offset: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `M::AVX512`/`M::AVX2` say the code runs compiled for those instructions; the
        // lengths are equal multiples of 32.
        if M::AVX512 {
            return unsafe { crate::kernels::x86::tanh_affine_each_avx512(gates, scale, offset) };
        }
        if M::AVX2 {
            return unsafe { crate::kernels::x86::tanh_affine_each_avx2(gates, scale, offset) };
        }
    }
    for ((g, &s), &o) in gates.iter_mut().zip(scale).zip(offset) {
        *g = M::mac(s, tanh_with::<M>(*g), o);
    }
}

/// `Σ a·b` in eight independent partial sums (one multiply-add chain would wait on itself).
#[inline(always)]
fn dot<M: Mac>(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac.remainder().iter().zip(bc.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] = M::mac(x[i], y[i], acc[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// An LSTM ready to play.
#[derive(Debug)]
pub struct Lstm {
    cells: Vec<Cell>,
    head_w: Vec<f32>,
    head_b: f32,
    shape: LstmShape,
    simd: Simd,
    controls: Controls,
    /// A one-layer LSTM of at most 16 units, packed for the kernel that keeps its state in
    /// registers (see [`Small`]).
    small: Option<Small>,
}

/// Units up to which a one-layer LSTM plays with its state in registers (AVX-512: one vector
/// per gate; AVX2 takes up to 8).
const SMALL_UNITS: usize = 16;

/// A one-layer LSTM packed per input: the column of each gate (i, f, g, o) in 16 lanes, so that
/// unit `q` of every gate sits in lane `q` (see `kernels::x86::lstm16_avx512`).
#[derive(Debug)]
struct Small {
    /// `[inputs + hidden][4][16]`.
    cols: Aligned,
    /// `[4][16]`.
    bias: Aligned,
    /// The bias with the knobs' part added, for a block whose knobs stand still.
    folded: Aligned,
    /// `[16]`.
    head_w: Aligned,
}

impl Small {
    fn new(cell: &Cell, head_w: &[f32]) -> Small {
        let (h, k) = (cell.hidden, cell.v.len());
        let mut cols = Aligned::zeros(k * 64);
        let mut bias = Aligned::zeros(64);
        for t in 0..4 {
            for q in 0..h {
                let row = t * h + q;
                for j in 0..k {
                    cols[j * 64 + t * 16 + q] = cell.wt[(row / TILE * k + j) * TILE + row % TILE];
                }
                bias[t * 16 + q] = cell.bias[row];
            }
        }
        let mut hw = Aligned::zeros(16);
        hw[..h].copy_from_slice(head_w);
        Small { folded: Aligned::from_slice(&bias), cols, bias, head_w: hw }
    }

    /// `folded = bias + Σ column(1 + r) · knobs[r]`.
    fn fold(&mut self, knobs: &[f32]) {
        self.folded.copy_from_slice(&self.bias);
        for (r, &v) in knobs.iter().enumerate() {
            let col = &self.cols[(1 + r) * 64..(2 + r) * 64];
            self.folded.iter_mut().zip(col).for_each(|(b, &w)| *b += w * v);
        }
    }
}

impl Lstm {
    /// Build from a shape and NAM's flat weights (every weight used, exactly).
    pub fn new(shape: LstmShape, weights: &[f32]) -> Result<Lstm, String> {
        let h = shape.hidden_size;
        let mut w = Weights::new(weights);
        let cells = (0..shape.num_layers).map(|l| Cell::new(if l == 0 { 1 + shape.controls } else { h }, h, &mut w)).collect::<Result<Vec<_>, _>>()?;
        let head_w = w.take_vec(h)?;
        let head_b = w.take_vec(1)?[0];
        w.finish()?;
        let small = (cells.len() == 1 && h <= SMALL_UNITS).then(|| Small::new(&cells[0], &head_w));
        Ok(Lstm { cells, head_w, head_b, shape, simd: Simd::detect(), controls: Controls::new(shape.controls), small })
    }

    /// Use `simd` instead of the best the CPU has (for comparisons; ignored if the CPU lacks it).
    pub fn with_simd(mut self, simd: Simd) -> Lstm {
        if simd.available() {
            self.simd = simd;
        }
        self
    }

    pub fn shape(&self) -> LstmShape {
        self.shape
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn run_avx512(&mut self, input: &[f32], output: &mut [f32]) {
        self.run::<crate::kernels::Fused512>(input, output)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(&mut self, input: &[f32], output: &mut [f32]) {
        self.run::<crate::kernels::Fused>(input, output)
    }

    /// The block with the state in registers, when the model is small enough for this CPU's
    /// vectors and its knobs stand still; whether it did.
    #[cfg(target_arch = "x86_64")]
    fn run_small(&mut self, input: &[f32], output: &mut [f32]) -> bool {
        let (Some(small), cell) = (self.small.as_mut(), &mut self.cells[0]) else { return false };
        let fits = match self.simd {
            Simd::Avx512 => cell.hidden <= 16,
            Simd::Avx2Fma => cell.hidden <= 8,
            Simd::Baseline => false,
        };
        if !fits || self.controls.moving() {
            return false;
        }
        self.controls.played();
        small.fold(self.controls.current());
        let (inputs, hidden) = (cell.input_size, cell.hidden);
        let h = &mut cell.v[inputs..];
        let args = (&small.cols[..], &small.folded[..], &small.head_w[..], self.head_b);
        // SAFETY: `self.simd` is what this CPU has (detected, or checked by `with_simd`); the
        // packed weights have the sizes the kernels need, h and c the hidden size.
        unsafe {
            // Up to 8 units, 8-lane vectors are faster even where AVX-512 is (shorter chains).
            if hidden > 8 {
                crate::kernels::x86::lstm16_avx512(args.0, args.1, args.2, args.3, inputs, hidden, h, &mut cell.c, input, output)
            } else {
                crate::kernels::x86::lstm8_avx2(args.0, args.1, args.2, args.3, inputs, hidden, h, &mut cell.c, input, output)
            }
        }
        true
    }

    #[inline(always)]
    fn run<M: Mac>(&mut self, input: &[f32], output: &mut [f32]) {
        if !input.is_empty() {
            self.controls.played();
        }
        for (o, &x) in output.iter_mut().zip(input) {
            self.cells[0].v[0] = if x.is_finite() { x } else { 0.0 };
            if self.controls.moving() {
                self.controls.advance();
                self.cells[0].v[1..1 + self.shape.controls].copy_from_slice(self.controls.current());
            }
            for l in 0..self.cells.len() {
                if l > 0 {
                    let (before, rest) = self.cells.split_at_mut(l);
                    let h = before[l - 1].h();
                    rest[0].v[..h.len()].copy_from_slice(h);
                }
                self.cells[l].step::<M>();
            }
            *o = self.head_b + dot::<M>(&self.head_w, self.cells[self.cells.len() - 1].h());
        }
    }
}

impl Renderer for Lstm {
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        let n = input.len().min(output.len());
        output[n..].fill(0.0);
        #[cfg(target_arch = "x86_64")]
        if n > 0 && self.run_small(&input[..n], &mut output[..n]) {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        match self.simd {
            // SAFETY: `Simd::detect` found these instructions on this CPU.
            Simd::Avx512 => return unsafe { self.run_avx512(&input[..n], &mut output[..n]) },
            Simd::Avx2Fma => return unsafe { self.run_avx2(&input[..n], &mut output[..n]) },
            Simd::Baseline => {}
        }
        self.run::<crate::kernels::Plain>(&input[..n], &mut output[..n]);
    }

    fn reset(&mut self) {
        self.cells.iter_mut().for_each(Cell::reset);
        self.controls.settle();
        self.cells[0].v[1..1 + self.shape.controls].copy_from_slice(self.controls.current());
    }

    /// The first cell reads the values beside each sample; extra values are ignored, missing
    /// ones keep theirs (0 after loading); a non-finite value reads as 0.
    fn set_controls(&mut self, values: &[f32]) -> bool {
        self.controls.set(values);
        self.cells[0].v[1..1 + self.shape.controls].copy_from_slice(self.controls.current());
        self.shape.controls > 0
    }

    fn latency_samples(&self) -> usize {
        0
    }

    /// 1: no fixed window (the state reaches back without limit).
    fn receptive_field(&self) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Play `x` in blocks; from sample `when` on (at the next block), the knobs move to `values`.
    fn play(model: &mut Lstm, x: &[f32], blocks: &[usize], knobs_at: Option<(usize, &[f32])>) -> Vec<f32> {
        let (mut at, mut turned) = (0, false);
        ampsim_testkit::play_in_blocks(x, blocks, |i, o| {
            if let Some((_, values)) = knobs_at.filter(|(when, _)| at >= *when && !turned) {
                model.set_controls(values);
                turned = true;
            }
            model.process(i, o);
            at += i.len();
        })
    }

    /// The state-in-registers kernels (AVX-512 up to 16 units, AVX2 up to 8) play as the
    /// general per-gate-tile path does: with and without knobs, across blocks, while a knob
    /// glides (the general path) and after.
    #[test]
    fn small_lstms_play_the_same_in_registers_as_in_tiles() {
        let x: Vec<f32> = (0..6000).map(|i| 0.6 * ((i as f32) * 0.031).sin() + 0.3 * ((i as f32) * 0.0071).cos()).collect();
        for (hidden, controls) in [(1, 0), (3, 0), (3, 2), (8, 1), (12, 0), (16, 3)] {
            let shape = LstmShape { hidden_size: hidden, num_layers: 1, controls };
            let w = ampsim_testkit::seeded_weights(shape.nam_weight_count(), 7 + hidden as u64, 0.4);
            let knobs = (controls > 0).then_some((2000, &[0.9f32, 0.1, 0.5][..controls]));
            let mut reference = Lstm::new(shape, &w).unwrap().with_simd(Simd::Baseline);
            reference.set_controls(&[0.2, 0.7, 0.4][..controls]);
            let want = play(&mut reference, &x, &[64, 500, 1], knobs);
            for simd in [Simd::Avx512, Simd::Avx2Fma] {
                if !simd.available() || (simd == Simd::Avx2Fma && hidden > 8) {
                    continue;
                }
                let mut fast = Lstm::new(shape, &w).unwrap().with_simd(simd);
                fast.set_controls(&[0.2, 0.7, 0.4][..controls]);
                let got = play(&mut fast, &x, &[64, 500, 1], knobs);
                let worst = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                assert!(worst < 1e-5, "{simd:?}, {hidden} units, {controls} knobs: {worst}");
                if controls == 0 {
                    fast.reset();
                    let again = play(&mut fast, &x, &[64, 500, 1], None);
                    assert_eq!(again[..100], got[..100], "reset returns to the initial state");
                }
            }
        }
    }
}
