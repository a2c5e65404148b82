//! Playing a DI signal through a trained causal model block by block, as a plugin does: the
//! state (an LSTM's hidden and cell state, a WaveNet's last inputs) is carried from one block
//! to the next, so the output equals rendering the whole file at once.
//!
//! Two renderers: the real-time engine (`ampsim_engine`, pure Rust, what a plugin runs; the
//! default) and libtorch (the model as it trains, for comparison).

use std::path::Path;
use std::time::Instant;

use tch::{Device, Tensor};

use ampsim_engine::nam::NamFile;
use ampsim_engine::Renderer;

use crate::data::audio::{read_wav, write_wav, WavEncoding};
use crate::interop::nam::{export, NamMetadata};
use crate::models::CausalModel;
use crate::{Error, Result};

/// The real-time engine's copy of a model (exported to `.nam` in memory and loaded by the
/// engine): plays what `model` computes, without libtorch.
pub fn engine_renderer<M: CausalModel + ?Sized>(model: &M, sample_rate_hz: u32) -> Result<Box<dyn Renderer>> {
    let json = export(model, sample_rate_hz, &NamMetadata::default())?;
    Ok(NamFile::from_value(json, "the model")?.renderer()?)
}

/// The block length a plugin typically plays: what real-time factors are measured at.
pub const PLUGIN_BLOCK_SAMPLES: usize = 64;

/// Seconds of audio per second of work when the real-time engine plays `x` through `model` in
/// blocks of [`PLUGIN_BLOCK_SAMPLES`] on one thread.
pub fn engine_real_time_factor<M: CausalModel + ?Sized>(model: &M, x: &[f32], sample_rate_hz: u32) -> Result<f64> {
    play_real_time_factor(engine_renderer(model, sample_rate_hz)?.as_mut(), x, sample_rate_hz)
}

/// Seconds of audio per second of work when `engine` plays `x` in blocks of
/// [`PLUGIN_BLOCK_SAMPLES`] on one thread.
pub fn play_real_time_factor(engine: &mut dyn Renderer, x: &[f32], sample_rate_hz: u32) -> Result<f64> {
    let t = Instant::now();
    let y = play_blocks(engine, x, PLUGIN_BLOCK_SAMPLES)?;
    let seconds = t.elapsed().as_secs_f64();
    std::hint::black_box(y);
    Ok(x.len() as f64 / sample_rate_hz as f64 / seconds.max(1e-9))
}

/// Play `x` through the engine in blocks of `block_samples`, as a plugin calls it.
pub fn play_blocks(model: &mut dyn Renderer, x: &[f32], block_samples: usize) -> Result<Vec<f32>> {
    if block_samples == 0 {
        return Err(Error::invalid("block_samples", "must be positive"));
    }
    let mut out = vec![0.0; x.len()];
    for (i, o) in x.chunks(block_samples).zip(out.chunks_mut(block_samples)) {
        model.process(i, o);
    }
    Ok(out)
}

/// Render `x` in blocks of `block_samples` (no gradients).
pub fn render_blocks<M: CausalModel + ?Sized>(model: &M, x: &[f32], block_samples: usize, device: Device) -> Result<Vec<f32>> {
    render_blocks_at(model, x, &[], block_samples, device)
}

/// [`render_blocks`] with a conditioned model's control values (normalised, one per control it
/// reads) held beside every sample.
pub fn render_blocks_at<M: CausalModel + ?Sized>(model: &M, x: &[f32], controls: &[f32], block_samples: usize, device: Device) -> Result<Vec<f32>> {
    if block_samples == 0 {
        return Err(Error::invalid("block_samples", "must be positive"));
    }
    if controls.len() != model.control_count() {
        return Err(Error::invalid("controls", format!("{} value(s) for a model that reads {}", controls.len(), model.control_count())));
    }
    let mut state = model.start(device);
    let mut out = Vec::with_capacity(x.len());
    let knobs = Tensor::from_slice(controls).unsqueeze(0);
    tch::no_grad(|| -> Result<()> {
        for chunk in x.chunks(block_samples) {
            let audio = Tensor::from_slice(chunk);
            let input = if controls.is_empty() { audio } else { Tensor::cat(&[audio.unsqueeze(1), knobs.expand([chunk.len() as i64, controls.len() as i64], false)], 1) };
            let y = model.block(&input.to_device(device), &mut state)?;
            out.extend(Vec::<f32>::try_from(y.to_device(Device::Cpu))?);
        }
        Ok(())
    })?;
    Ok(out)
}

/// What [`render_file`] did.
#[derive(Clone, Debug)]
pub struct RenderReport {
    pub samples: usize,
    pub sample_rate_hz: u32,
    pub seconds: f64,
    /// Seconds of audio rendered per second of wall time.
    pub real_time_factor: f64,
}

/// Render the first channel of a DI WAV file through `model` (libtorch) in blocks and write a
/// mono 32-bit float WAV (atomically). The file's sample rate must be the model's; a
/// conditioned model plays at `controls` (normalised; empty for a model without controls).
pub fn render_file<M: CausalModel + ?Sized>(model: &M, model_rate_hz: u32, input: &Path, output: &Path, block_samples: usize, controls: &[f32], device: Device) -> Result<RenderReport> {
    render_file_with(Some(model_rate_hz), input, output, |x| render_blocks_at(model, x, controls, block_samples, device))
}

/// [`render_file`] through the real-time engine; a model with latency (the dense network) is
/// played on past the end of the input and its output moved back, so that it lines up with
/// the input as a host's latency compensation does. `model_rate_hz`: `None` when the model
/// does not say (the dense network's checkpoints).
pub fn play_file(model: &mut dyn Renderer, model_rate_hz: Option<u32>, input: &Path, output: &Path, block_samples: usize) -> Result<RenderReport> {
    let latency = model.latency_samples();
    render_file_with(model_rate_hz, input, output, |x| {
        let padded = [x, &vec![0.0; latency]].concat();
        Ok(play_blocks(model, &padded, block_samples)?.split_off(latency))
    })
}

fn render_file_with(model_rate_hz: Option<u32>, input: &Path, output: &Path, render: impl FnOnce(&[f32]) -> Result<Vec<f32>>) -> Result<RenderReport> {
    let wav = read_wav(input)?;
    if let Some(rate) = model_rate_hz.filter(|&r| r != wav.sample_rate_hz) {
        return Err(Error::Audio { path: input.to_path_buf(), reason: format!("at {} Hz, but the model was trained at {rate} Hz; resample it first", wav.sample_rate_hz) });
    }
    let x = &wav.channels[0];
    let t = Instant::now();
    let y = render(x)?;
    let seconds = t.elapsed().as_secs_f64();
    write_wav(output, &[&y], wav.sample_rate_hz, WavEncoding::Float32)?;
    Ok(RenderReport { samples: y.len(), sample_rate_hz: wav.sample_rate_hz, seconds, real_time_factor: x.len() as f64 / wav.sample_rate_hz as f64 / seconds.max(1e-9) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Lstm, LstmConfig, WaveNet, WaveNetConfig};
    use crate::training::process_signal;
    use tch::nn;

    #[test]
    fn blocks_render_what_the_whole_signal_renders() {
        let x: Vec<f32> = (0..20_000).map(|i| 0.4 * (i as f32 * 0.021).sin() + 0.2 * (i as f32 * 0.33).sin() * (i as f32 * 0.001).cos()).collect();
        let vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("lite").unwrap()).unwrap();
        let lstm = Lstm::new(&(&vs.root() / "lstm"), &LstmConfig::preset("standard").unwrap()).unwrap();
        lstm.set_initial_state(0.2, 0.0);
        let a2 = WaveNet::new(&(&vs.root() / "a2"), &WaveNetConfig::preset("a2-nano").unwrap()).unwrap();
        for (name, wn) in [("lite", &wn), ("a2-nano", &a2)] {
            let whole = process_signal(wn, &x, Device::Cpu).unwrap();
            for block in [1, 300, 1000, 4096, 30_000] {
                let b = render_blocks(wn, &x[..if block == 1 { 3000 } else { x.len() }], block, Device::Cpu).unwrap();
                let d = crate::evaluation::compare::max_abs_difference(&whole[..b.len()], &b).unwrap();
                assert!(d < 1e-6, "WaveNet {name}, block {block}: {d}");
            }
        }
        let whole = process_signal(&lstm, &x, Device::Cpu).unwrap();
        for block in [7, 777, 30_000] {
            let b = render_blocks(&lstm, &x, block, Device::Cpu).unwrap();
            let d = crate::evaluation::compare::max_abs_difference(&whole, &b).unwrap();
            assert!(b.len() == x.len() && d < 1e-5, "LSTM, block {block}: {d}");
        }
        assert!(render_blocks(&lstm, &x, 0, Device::Cpu).is_err());
        // The engine's copy plays what libtorch renders.
        let mut engine = engine_renderer(&lstm, 48_000).unwrap();
        let d = crate::evaluation::compare::max_abs_difference(&whole, &play_blocks(engine.as_mut(), &x, 64).unwrap()).unwrap();
        assert!(d < 1e-5, "LSTM through the engine: {d}");
    }
}
