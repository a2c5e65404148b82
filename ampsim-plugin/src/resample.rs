//! Playing a model at its own sample rate inside a host running at another: the host's audio
//! is collected into fixed chunks, resampled to the model's rate, played, and resampled back
//! (rubato's FFT resampler, both ways, with an exact ratio). The chunks sit on a fixed grid of
//! the stream, so the output does not depend on how the host cuts its blocks, and the delay is
//! a whole, constant number of host samples, reported to the host.
//!
//! Chunks: `N_h` host samples ↔ `N_m` model samples, the smallest even multiple of the reduced
//! ratio reaching [`MIN_CHUNK_SAMPLES`] (44.1 ↔ 48 kHz: 294 ↔ 320). Latency `2·N_h − 1`: a
//! chunk to collect, and half a chunk in each resampler's linear-phase filter (587 samples,
//! 13.3 ms, at 44.1 kHz for a 48 kHz model). Run the host at the model's rate to avoid it.

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

/// The smallest chunk on either side (the resampling filter is one chunk long).
pub const MIN_CHUNK_SAMPLES: usize = 256;
/// Longest chunk: a ratio that needs more (44 100 ↔ 48 001 Hz) is refused.
pub const MAX_CHUNK_SAMPLES: usize = 16_384;

/// A host rate ↔ model rate bridge.
pub struct RateBridge {
    host_chunk: usize,
    model_chunk: usize,
    latency: usize,
    host_per_model: f64,
    up: Fft<f32>,
    down: Fft<f32>,
    /// Host input collected for the next chunk.
    in_buf: Vec<f32>,
    /// The last chunk's output at the host's rate.
    out_buf: Vec<f32>,
    /// Position in the chunk grid.
    pos: usize,
    model_in: Vec<f32>,
    model_out: Vec<f32>,
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn whole_rate(hz: f64) -> Result<usize, String> {
    if hz.is_finite() && hz >= 1000.0 && hz <= 1_000_000.0 && hz.fract() == 0.0 {
        Ok(hz as usize)
    } else {
        Err(format!("a sample rate of {hz} Hz cannot be resampled (whole rates from 1 kHz are)"))
    }
}

impl RateBridge {
    /// A bridge from `host_rate_hz` to `model_rate_hz` and back (they must differ). Allocates:
    /// build it off the audio thread.
    pub fn new(host_rate_hz: f64, model_rate_hz: f64) -> Result<RateBridge, String> {
        let (h, m) = (whole_rate(host_rate_hz)?, whole_rate(model_rate_hz)?);
        if h == m {
            return Err("the rates are equal: nothing to resample".into());
        }
        let g = gcd(h, m);
        let (hb, mb) = (h / g, m / g);
        // An even multiple: both filters then delay by whole samples.
        let mut k = MIN_CHUNK_SAMPLES.div_ceil(hb.min(mb)).max(1);
        k += k % 2;
        let (host_chunk, model_chunk) = (k * hb, k * mb);
        if host_chunk > MAX_CHUNK_SAMPLES || model_chunk > MAX_CHUNK_SAMPLES {
            return Err(format!("{h} Hz ↔ {m} Hz needs chunks of {host_chunk} ↔ {model_chunk} samples; run the host at {m} Hz"));
        }
        let window = WindowFunction::BlackmanHarris2;
        let up = Fft::<f32>::new_custom(h, m, host_chunk, 1, 1, window, FixedSync::Both).map_err(|e| e.to_string())?;
        let down = Fft::<f32>::new_custom(m, h, model_chunk, 1, 1, window, FixedSync::Both).map_err(|e| e.to_string())?;
        // Half of each filter (`model_chunk / 2` model samples are `host_chunk / 2` host samples).
        let latency = host_chunk - 1 + host_chunk / 2 + host_chunk / 2;
        Ok(RateBridge {
            host_chunk,
            model_chunk,
            latency,
            host_per_model: h as f64 / m as f64,
            up,
            down,
            in_buf: vec![0.0; host_chunk],
            out_buf: vec![0.0; host_chunk],
            pos: 0,
            model_in: vec![0.0; model_chunk],
            model_out: vec![0.0; model_chunk],
        })
    }

    /// The constant delay from input to output, host samples.
    pub fn latency_samples(&self) -> usize {
        self.latency
    }

    /// Host samples per model sample.
    pub fn host_per_model(&self) -> f64 {
        self.host_per_model
    }

    /// Samples per chunk: host side, model side (the model is always played this many).
    pub fn chunk_samples(&self) -> (usize, usize) {
        (self.host_chunk, self.model_chunk)
    }

    /// Back to silence. Allocation-free.
    pub fn reset(&mut self) {
        self.in_buf.fill(0.0);
        self.out_buf.fill(0.0);
        self.model_in.fill(0.0);
        self.model_out.fill(0.0);
        self.pos = 0;
        self.up.reset();
        self.down.reset();
    }

    /// Play `input` (host rate) into `output` through `model` (model rate, called with whole
    /// chunks). Real-time safe; any length; the shorter of the two slices counts.
    pub fn process(&mut self, input: &[f32], output: &mut [f32], mut model: impl FnMut(&[f32], &mut [f32])) {
        let n = input.len().min(output.len());
        let nh = self.host_chunk;
        let mut done = 0;
        while done < n {
            let seg = (n - done).min(nh - self.pos);
            self.in_buf[self.pos..self.pos + seg].copy_from_slice(&input[done..done + seg]);
            let out = &mut output[done..done + seg];
            // The sample written at in_buf[i] leaves as out_buf[(i + 1) % N_h].
            let completes = self.pos + seg == nh;
            let from_old = if completes { seg - 1 } else { seg };
            out[..from_old].copy_from_slice(&self.out_buf[self.pos + 1..self.pos + 1 + from_old]);
            if completes {
                self.run_chunk(&mut model);
                out[seg - 1] = self.out_buf[0];
                self.pos = 0;
            } else {
                self.pos += seg;
            }
            done += seg;
        }
    }

    fn run_chunk(&mut self, model: &mut impl FnMut(&[f32], &mut [f32])) {
        let (nh, nm) = (self.host_chunk, self.model_chunk);
        let ok = (|| {
            let a_in = SequentialSlice::new(&self.in_buf[..], 1, nh).ok()?;
            let mut a_out = SequentialSlice::new_mut(&mut self.model_in[..], 1, nm).ok()?;
            self.up.process_into_buffer(&a_in, &mut a_out, None).ok()?;
            model(&self.model_in, &mut self.model_out);
            let a_in = SequentialSlice::new(&self.model_out[..], 1, nm).ok()?;
            let mut a_out = SequentialSlice::new_mut(&mut self.out_buf[..], 1, nh).ok()?;
            self.down.process_into_buffer(&a_in, &mut a_out, None).ok()
        })();
        if ok.is_none() {
            // Sizes are fixed at construction: this does not happen; silence if it did.
            self.out_buf.fill(0.0);
        }
    }
}

/// `x` resampled offline from `from_hz` to `to_hz`, its delay removed: rubato's FFT resampler
/// with chunks of 100 × the reduced ratio (a filter thousands of samples long), the reference
/// the real-time bridge is measured against.
pub fn offline(x: &[f32], from_hz: usize, to_hz: usize) -> Result<Vec<f32>, String> {
    if from_hz == 0 || to_hz == 0 {
        return Err("sample rates must be positive".into());
    }
    let g = gcd(from_hz, to_hz);
    let (chunk_in, chunk_out) = (100 * from_hz / g, 100 * to_hz / g);
    let mut r = Fft::<f32>::new(from_hz, to_hz, chunk_in, 1, FixedSync::Both).map_err(|e| e.to_string())?;
    let delay = r.output_delay();
    let chunks = x.len().div_ceil(chunk_in) + 2;
    let mut padded = x.to_vec();
    padded.resize(chunks * chunk_in, 0.0);
    let mut y = vec![0.0f32; chunks * chunk_out];
    for k in 0..chunks {
        let a_in = SequentialSlice::new(&padded[k * chunk_in..(k + 1) * chunk_in], 1, chunk_in).map_err(|e| e.to_string())?;
        let mut a_out = SequentialSlice::new_mut(&mut y[k * chunk_out..(k + 1) * chunk_out], 1, chunk_out).map_err(|e| e.to_string())?;
        r.process_into_buffer(&a_in, &mut a_out, None).map_err(|e| e.to_string())?;
    }
    let n = x.len() * to_hz / from_hz;
    Ok(y[delay..delay + n].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn multisine(rate: f64, len: usize) -> Vec<f32> {
        let freqs = [50.0, 220.5, 997.0, 2500.0, 4444.4, 7000.0, 9876.5, 12000.0, 14000.0, 14900.0];
        (0..len).map(|n| freqs.iter().enumerate().map(|(k, f)| 0.09 * (std::f64::consts::TAU * f * n as f64 / rate + k as f64).sin()).sum::<f64>() as f32).collect()
    }

    fn run(b: &mut RateBridge, x: &[f32], blocks: &[usize]) -> Vec<f32> {
        let mut y = vec![0.0; x.len()];
        let (mut at, mut i) = (0, 0);
        while at < x.len() {
            let n = blocks[i % blocks.len()].min(x.len() - at);
            b.process(&x[at..at + n], &mut y[at..at + n], |a, o| o.copy_from_slice(a));
            at += n;
            i += 1;
        }
        y
    }

    #[test]
    fn a_round_trip_is_a_pure_delay_of_the_reported_latency_however_the_host_cuts_blocks() {
        for (h, m, chunk, latency) in [(44_100.0, 48_000.0, 294, 587), (48_000.0, 44_100.0, 320, 639), (96_000.0, 48_000.0, 512, 1023)] {
            let mut b = RateBridge::new(h, m).unwrap();
            assert_eq!((b.chunk_samples().0, b.latency_samples()), (chunk, latency));
            let x = multisine(h, h as usize);
            let y = run(&mut b, &x, &[0, 1, 7, 8192, 64, 441, 3]);
            let skip = latency + 4 * chunk;
            let (e, s) = (skip..x.len()).fold((0.0, 0.0), |(e, s), n| (e + ((y[n] - x[n - latency]) as f64).powi(2), s + (x[n - latency] as f64).powi(2)));
            assert!(e / s < 1e-10, "{h} ↔ {m}: ESR {} against the input delayed by {latency}", e / s);
            b.reset();
            assert_eq!(run(&mut b, &x, &[64]), y, "{h} ↔ {m}: 64-sample blocks after a reset");
        }
        assert!(RateBridge::new(44_100.0, 48_001.0).err().unwrap().contains("run the host at 48001 Hz"));
        assert!(RateBridge::new(44_100.5, 48_000.0).is_err());
    }
}
