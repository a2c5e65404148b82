//! NAM's LSTM, streaming: a stack of LSTM cells (gates i, f, g, o as PyTorch orders them) and a
//! linear head, one sample at a time; the state carries over between blocks and `reset`
//! returns it to the initial state stored in the file.

use crate::activation::{sigmoid, tanh};
use crate::kernels::{Mac, Simd};
use crate::layout::lstm::LstmShape;
use crate::layout::Weights;
use crate::Renderer;

#[derive(Debug)]
struct Cell {
    /// `[input + hidden][4·hidden]`: column j of NAM's `[4H, input + H]` matrix, contiguous.
    wt: Vec<f32>,
    bias: Vec<f32>,
    h0: Vec<f32>,
    c0: Vec<f32>,
    h: Vec<f32>,
    c: Vec<f32>,
}

/// An LSTM ready to play.
#[derive(Debug)]
pub struct Lstm {
    cells: Vec<Cell>,
    head_w: Vec<f32>,
    head_b: f32,
    shape: LstmShape,
    simd: Simd,
    gates: Vec<f32>,
}

impl Lstm {
    /// Build from a shape and NAM's flat weights (every weight used, exactly).
    pub fn new(shape: LstmShape, weights: &[f32]) -> Result<Lstm, String> {
        let h = shape.hidden_size;
        let mut w = Weights::new(weights);
        let mut cells = Vec::with_capacity(shape.num_layers);
        for l in 0..shape.num_layers {
            let input_size = if l == 0 { 1 } else { h };
            let k = input_size + h;
            let m = w.take(4 * h * k)?;
            let mut wt = vec![0.0; k * 4 * h];
            for row in 0..4 * h {
                for j in 0..k {
                    wt[j * 4 * h + row] = m[row * k + j];
                }
            }
            let (bias, h0, c0) = (w.take(4 * h)?, w.take(h)?, w.take(h)?);
            cells.push(Cell { wt, bias, h: h0.clone(), c: c0.clone(), h0, c0 });
        }
        let head_w = w.take(h)?;
        let head_b = w.take(1)?[0];
        w.finish()?;
        Ok(Lstm { cells, head_w, head_b, shape, simd: Simd::detect(), gates: vec![0.0; 4 * h] })
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
            let x = if x.is_finite() { x } else { 0.0 };
            for l in 0..self.cells.len() {
                let (before, rest) = self.cells.split_at_mut(l);
                let cell = &mut rest[0];
                let inp: &[f32] = if l == 0 { std::slice::from_ref(&x) } else { &before[l - 1].h };
                step::<M>(cell, inp, &mut self.gates);
            }
            let last = &self.cells[self.cells.len() - 1].h;
            *o = self.head_w.iter().zip(last).fold(self.head_b, |acc, (&w, &h)| M::mac(w, h, acc));
        }
    }
}

/// One sample through one cell.
#[inline(always)]
fn step<M: Mac>(cell: &mut Cell, input: &[f32], gates: &mut [f32]) {
    let h = cell.h.len();
    let g4 = 4 * h;
    gates.copy_from_slice(&cell.bias);
    for (j, &v) in input.iter().chain(cell.h.iter()).enumerate() {
        let col = &cell.wt[j * g4..(j + 1) * g4];
        for (g, &w) in gates.iter_mut().zip(col) {
            *g = M::mac(w, v, *g);
        }
    }
    let (ifg, o) = gates.split_at_mut(3 * h);
    let (if_, g) = ifg.split_at_mut(2 * h);
    if_.iter_mut().for_each(|v| *v = sigmoid(*v));
    g.iter_mut().for_each(|v| *v = tanh(*v));
    o.iter_mut().for_each(|v| *v = sigmoid(*v));
    let (i, f) = if_.split_at(h);
    for k in 0..h {
        let c = M::mac(f[k], cell.c[k], i[k] * g[k]);
        cell.c[k] = c;
        cell.h[k] = o[k] * tanh(c);
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
        for c in &mut self.cells {
            c.h.copy_from_slice(&c.h0);
            c.c.copy_from_slice(&c.c0);
        }
    }

    fn latency_samples(&self) -> usize {
        0
    }

    /// 1: no fixed window (the state reaches back without limit).
    fn receptive_field(&self) -> usize {
        1
    }
}
