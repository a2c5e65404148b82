//! NAM's LSTM, streaming: a stack of LSTM cells (gates i, f, g, o as PyTorch orders them) and a
//! linear head, one sample at a time; the state carries over between blocks and `reset`
//! returns it to the initial state stored in the file.
//!
//! Per sample and cell, the gates are one matrix–vector product over `[input; h]`, computed in
//! tiles of 32 gates that stay in registers; the sigmoid gates are computed as
//! `(1 + tanh(x/2)) / 2` with the halving folded into their weights (exact: a power of two),
//! so one vectorised tanh pass activates all four gates.

use crate::activation::tanh;
use crate::kernels::{Mac, Simd};
use crate::layout::lstm::LstmShape;
use crate::layout::Weights;
use crate::Renderer;

/// Gates per tile.
const TILE: usize = 32;

#[derive(Debug)]
struct Cell {
    input_size: usize,
    hidden: usize,
    /// `[tile][input + hidden][TILE]`: NAM's `[4H, input + H]` matrix (sigmoid rows halved).
    wt: Vec<f32>,
    /// `[gates rounded up to whole tiles]` (sigmoid rows halved).
    bias: Vec<f32>,
    /// Gate activation `scale · tanh(x) + offset`: (½, ½) for sigmoid gates, (1, 0) for g.
    scale: Vec<f32>,
    offset: Vec<f32>,
    h0: Vec<f32>,
    c0: Vec<f32>,
    /// `[input; h]`: this cell's input, then its hidden state.
    v: Vec<f32>,
    c: Vec<f32>,
    gates: Vec<f32>,
}

impl Cell {
    fn new(input_size: usize, hidden: usize, w: &mut Weights<'_>) -> Result<Cell, String> {
        let (g4, k) = (4 * hidden, input_size + hidden);
        let padded = g4.div_ceil(TILE) * TILE;
        // Gate g (rows 2H..3H) is a tanh; i, f and o are sigmoids.
        let is_sigmoid = |row: usize| !(2 * hidden..3 * hidden).contains(&row);
        let half = |row: usize| if is_sigmoid(row) { 0.5 } else { 1.0 };
        let m = w.take(g4 * k)?;
        let mut wt = vec![0.0; padded * k];
        for row in 0..g4 {
            let (tile, lane) = (row / TILE, row % TILE);
            for j in 0..k {
                wt[(tile * k + j) * TILE + lane] = m[row * k + j] * half(row);
            }
        }
        let mut bias = w.take(g4)?;
        bias.iter_mut().enumerate().for_each(|(row, b)| *b *= half(row));
        bias.resize(padded, 0.0);
        let scale: Vec<f32> = (0..padded).map(half).collect();
        let offset: Vec<f32> = (0..padded).map(|row| if is_sigmoid(row) { 0.5 } else { 0.0 }).collect();
        let (h0, c0) = (w.take(hidden)?, w.take(hidden)?);
        let mut v = vec![0.0; k];
        v[input_size..].copy_from_slice(&h0);
        Ok(Cell { input_size, hidden, wt, bias, scale, offset, c: c0.clone(), h0, c0, v, gates: vec![0.0; padded] })
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
            // Two sums over alternate inputs: twice the independent multiply-adds in flight.
            let mut even: [f32; TILE] = self.bias[tile * TILE..(tile + 1) * TILE].try_into().expect("one tile");
            let mut odd = [0f32; TILE];
            let mut pairs = w.chunks_exact(2 * TILE).zip(self.v.chunks_exact(2));
            for (wj, vj) in &mut pairs {
                let (w0, w1) = wj.split_at(TILE);
                for i in 0..TILE {
                    even[i] = M::mac(w0[i], vj[0], even[i]);
                    odd[i] = M::mac(w1[i], vj[1], odd[i]);
                }
            }
            if k % 2 == 1 {
                let (wl, vl) = (&w[(k - 1) * TILE..], self.v[k - 1]);
                for i in 0..TILE {
                    even[i] = M::mac(wl[i], vl, even[i]);
                }
            }
            for i in 0..TILE {
                out[i] = even[i] + odd[i];
            }
        }
        for ((g, &s), &o) in self.gates.iter_mut().zip(&self.scale).zip(&self.offset) {
            *g = M::mac(s, tanh(*g), o);
        }
        let h = self.hidden;
        let (i, rest) = self.gates.split_at(h);
        let (f, rest) = rest.split_at(h);
        let (g, o) = rest.split_at(h);
        let hidden = &mut self.v[self.input_size..];
        for q in 0..h {
            let c = M::mac(f[q], self.c[q], i[q] * g[q]);
            self.c[q] = c;
            hidden[q] = o[q] * tanh(c);
        }
    }
}

/// An LSTM ready to play.
#[derive(Debug)]
pub struct Lstm {
    cells: Vec<Cell>,
    head_w: Vec<f32>,
    head_b: f32,
    shape: LstmShape,
    simd: Simd,
}

impl Lstm {
    /// Build from a shape and NAM's flat weights (every weight used, exactly).
    pub fn new(shape: LstmShape, weights: &[f32]) -> Result<Lstm, String> {
        let h = shape.hidden_size;
        let mut w = Weights::new(weights);
        let cells = (0..shape.num_layers).map(|l| Cell::new(if l == 0 { 1 } else { h }, h, &mut w)).collect::<Result<Vec<_>, _>>()?;
        let head_w = w.take(h)?;
        let head_b = w.take(1)?[0];
        w.finish()?;
        Ok(Lstm { cells, head_w, head_b, shape, simd: Simd::detect() })
    }

    pub fn shape(&self) -> LstmShape {
        self.shape
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(&mut self, input: &[f32], output: &mut [f32]) {
        self.run::<crate::kernels::Fused>(input, output)
    }

    #[inline(always)]
    fn run<M: Mac>(&mut self, input: &[f32], output: &mut [f32]) {
        for (o, &x) in output.iter_mut().zip(input) {
            self.cells[0].v[0] = if x.is_finite() { x } else { 0.0 };
            for l in 0..self.cells.len() {
                if l > 0 {
                    let (before, rest) = self.cells.split_at_mut(l);
                    let h = before[l - 1].h();
                    rest[0].v[..h.len()].copy_from_slice(h);
                }
                self.cells[l].step::<M>();
            }
            let last = self.cells[self.cells.len() - 1].h();
            *o = self.head_w.iter().zip(last).fold(self.head_b, |acc, (&w, &h)| M::mac(w, h, acc));
        }
    }
}

impl Renderer for Lstm {
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        let n = input.len().min(output.len());
        output[n..].fill(0.0);
        #[cfg(target_arch = "x86_64")]
        if self.simd == Simd::Avx2Fma {
            // SAFETY: `Simd::detect` found AVX2 and FMA on this CPU.
            unsafe { self.run_avx2(&input[..n], &mut output[..n]) };
            return;
        }
        self.run::<crate::kernels::Plain>(&input[..n], &mut output[..n]);
    }

    fn reset(&mut self) {
        self.cells.iter_mut().for_each(Cell::reset);
    }

    fn latency_samples(&self) -> usize {
        0
    }

    /// 1: no fixed window (the state reaches back without limit).
    fn receptive_field(&self) -> usize {
        1
    }
}
