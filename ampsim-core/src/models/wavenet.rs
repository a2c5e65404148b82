//! Neural Amp Modeler's feed-forward WaveNet, "A1" and "A2": layer arrays of dilated causal
//! convolutions.
//!
//! Per layer array: a 1×1 "rechannel" (no bias) from its input to `channels`; then per layer a
//! kernel-`k` dilated convolution (with bias, no padding, so the sequence shortens by
//! `d·(k−1)`), plus the raw input mixed in through a 1×1 without bias, the activation (when
//! gated: the activation of the first half of the channels times the sigmoid of the second),
//! a 1×1 with bias added to the residual path, and the activation's output added to the head
//! accumulator; finally the head, a convolution of kernel `head_kernel_size` from `channels`
//! to `head_size` on the accumulator. The first array's head output seeds the second array's
//! accumulator (so its `head_size` equals the next array's `channels`), and the last head
//! output, times `head_scale`, is the model's output.
//!
//! A1 (NAM's presets `standard`, `lite`, `feather`, `nano`): two arrays, kernel 3, tanh, 1×1
//! heads. A2 (`a2`, `a2-nano`): one array of 23 layers with kernels 6 and 15, LeakyReLU(0.01)
//! and a head of kernel 16.
//!
//! Conditioned on K controls (an amp's knobs), every layer's input mixer reads the audio and the
//! K control values (`condition_size` 1 + K, as NAM's layer arrays allow); the input is then
//! `[batch, time, 1 + K]` and the first rechannel still reads the audio alone. Optionally
//! ([`WaveNetConfig::with_controls_film`]) each layer's activation is also FiLMed by them:
//! `a · scale + shift`, scale and shift a 1×1 (with bias) of the condition — NAM's A2
//! `activation_post_film`, the one A2 layer option ampsim trains.
//!
//! Output sample t depends on input samples t − (receptive_field − 1) ..= t only.

use serde_json::Value;
use tch::nn::{self, Module};
use tch::{Device, Tensor};

pub use ampsim_engine::schema::wavenet::{LayerArrayConfig, WaveNetConfig};

use super::activation::ApplyToTensor;
use super::{Architecture, CausalModel, FillTensor, NamWeights, NamWeightsOut, StreamState, WeightsError};
use crate::{Error, Result};

#[derive(Debug)]
struct Layer {
    conv: nn::Conv1D,
    mixer: nn::Conv1D,
    one_by_one: nn::Conv1D,
    /// The activation's FiLM: a 1×1 from the condition to a scale and a shift per channel.
    film: Option<nn::Conv1D>,
}

/// Layer options ampsim trains: A1's, or A1's with a shifting, ungrouped FiLM after the
/// activation.
fn trainable(o: &ampsim_engine::schema::a2::LayerOptions) -> bool {
    use ampsim_engine::schema::a2::{Film, Films, LayerOptions};
    let film = Films { activation_post: Some(Film { shift: true, groups: 1 }), ..Films::default() };
    o.is_a1() || *o == LayerOptions { films: film, ..LayerOptions::default() }
}

#[derive(Debug)]
struct LayerArray {
    rechannel: nn::Conv1D,
    layers: Vec<Layer>,
    head: nn::Conv1D,
}

/// A convolution initialised as PyTorch's `Conv1d` (and so NAM) initialises it.
fn conv(vs: nn::Path, i: usize, o: usize, k: usize, dilation: usize, bias: bool) -> nn::Conv1D {
    let init = super::torch_default_init(i * k);
    let cfg = nn::ConvConfig { dilation: dilation as i64, bias, ws_init: init, bs_init: init, ..Default::default() };
    nn::conv1d(vs, i as i64, o as i64, k as i64, cfg)
}

/// A FiLM's 1×1 from `cond` channels to a scale and a shift for `dim` channels, starting near
/// the identity: PyTorch's initialisation of the weights, biases 1 (scales) and 0 (shifts).
fn film(vs: nn::Path, cond: usize, dim: usize) -> nn::Conv1D {
    let c = conv(vs, cond, 2 * dim, 1, 1, true);
    tch::no_grad(|| {
        let b = c.bs.as_ref().expect("a FiLM has a bias");
        let _ = b.narrow(0, 0, dim as i64).fill_(1.0);
        let _ = b.narrow(0, dim as i64, dim as i64).zero_();
    });
    c
}

/// The WaveNet amp model.
#[derive(Debug)]
pub struct WaveNet {
    arrays: Vec<LayerArray>,
    config: WaveNetConfig,
}

impl WaveNet {
    pub fn new(vs: &nn::Path, config: &WaveNetConfig) -> Result<WaveNet> {
        config.validate()?;
        if let Some(i) = config.layers.iter().position(|a| !trainable(&a.options)) {
            return Err(Error::invalid(
                "layers",
                format!("array {i}: A2's extra layer options (FiLM other than after the activation, bottleneck, groups, head 1×1, per-layer gating) are not supported for training; ampsim-engine plays such files"),
            ));
        }
        let cond = config.layers[0].condition_size;
        if config.layers[0].input_size != 1 || cond == 0 || config.layers.iter().any(|a| a.condition_size != cond) {
            return Err(Error::invalid("layers", "the first array's input is the audio (input_size 1) and every array reads the same condition (the audio and the controls)"));
        }
        let arrays = config
            .layers
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let p = vs / format!("array{i}");
                LayerArray {
                    rechannel: conv(&p / "rechannel", a.input_size, a.channels, 1, 1, false),
                    layers: a
                        .dilations
                        .iter()
                        .zip(&a.kernel_sizes)
                        .enumerate()
                        .map(|(j, (&d, &k))| {
                            let lp = &p / format!("layer{j}");
                            Layer {
                                conv: conv(&lp / "conv", a.channels, a.conv_channels(), k, d, true),
                                mixer: conv(&lp / "mixer", a.condition_size, a.conv_channels(), 1, 1, false),
                                one_by_one: conv(&lp / "1x1", a.channels, a.channels, 1, 1, true),
                                film: a.options.films.activation_post.map(|_| film(&lp / "film", a.condition_size, a.channels)),
                            }
                        })
                        .collect(),
                    head: conv(&p / "head", a.channels, a.head_size, a.head_kernel_size, 1, a.head_bias),
                }
            })
            .collect();
        // head_scale is stored as a (fixed) weight in NAM's files.
        Ok(WaveNet { arrays, config: config.clone() })
    }

    pub fn receptive_field(&self) -> usize {
        self.config.receptive_field()
    }

    pub fn config(&self) -> &WaveNetConfig {
        &self.config
    }

    /// The tensors in NAM's weight order — per layer array: rechannel (no bias); per layer the
    /// dilated convolution (weights then bias), the input mixer (no bias), the 1×1 (weights then
    /// bias), then its FiLM if any (weights then bias, as NAM's A2 layers); then the array's head
    /// (weights, bias if any). `head_scale` follows them in a file.
    fn nam_tensors(&self) -> Vec<&Tensor> {
        fn conv(c: &nn::Conv1D) -> impl Iterator<Item = &Tensor> {
            std::iter::once(&c.ws).chain(c.bs.as_ref())
        }
        let mut out = Vec::new();
        for array in &self.arrays {
            out.extend(conv(&array.rechannel));
            for layer in &array.layers {
                out.extend(conv(&layer.conv).chain(conv(&layer.mixer)).chain(conv(&layer.one_by_one)));
                out.extend(layer.film.iter().flat_map(conv));
            }
            out.extend(conv(&array.head));
        }
        out
    }

    /// Control values every layer reads beside the audio.
    pub fn control_count(&self) -> usize {
        self.config.layers[0].condition_size - 1
    }

    /// `[batch, time]` → `[batch, time − receptive_field + 1]` (conditioned: from
    /// `[batch, time, 1 + controls]`; `[time]` and `[time, 1 + controls]` likewise without the
    /// batch): output i answers input sample i + receptive_field − 1.
    pub fn forward(&self, xs: &Tensor) -> Tensor {
        let (xs3, unbatched) = super::with_batch(xs, self.control_count());
        let (x, cond) = if self.control_count() == 0 {
            let x = xs3.unsqueeze(1);
            (x.shallow_clone(), x)
        } else {
            let c = xs3.transpose(1, 2);
            (c.narrow(1, 0, 1), c)
        };
        let mut y = x;
        let mut head: Option<Tensor> = None;
        for (array, cfg) in self.arrays.iter().zip(&self.config.layers) {
            let mut h = array.rechannel.forward(&y);
            let mut acc = head.take();
            for layer in &array.layers {
                let z = layer.conv.forward(&h);
                let len = z.size()[2];
                let z = z + last(&layer.mixer.forward(&cond), len);
                let a = if cfg.gated {
                    let c = cfg.channels as i64;
                    cfg.activation.apply(&z.narrow(1, 0, c)) * z.narrow(1, c, c).sigmoid()
                } else {
                    cfg.activation.apply(&z)
                };
                let a = match &layer.film {
                    Some(f) => {
                        let c = cfg.channels as i64;
                        let ss = last(&f.forward(&cond), len);
                        a * ss.narrow(1, 0, c) + ss.narrow(1, c, c)
                    }
                    None => a,
                };
                h = last(&h, len) + layer.one_by_one.forward(&a);
                acc = Some(match acc {
                    None => a,
                    Some(prev) => last(&prev, len) + a,
                });
            }
            let out = array.head.forward(&acc.expect("a layer array has at least one layer"));
            // The head's kernel shortens the sequence once more; the residual path follows.
            y = last(&h, out.size()[2]);
            head = Some(out);
        }
        let out = (head.expect("at least one layer array") * self.config.head_scale).squeeze_dim(1);
        if unbatched { out.squeeze_dim(0) } else { out }
    }

    /// The silence before the start, `receptive_field − 1` samples: zeros, or for a conditioned
    /// model silent audio at the controls of the first input sample of `xs` (`[time, 1 + K]`).
    fn silence_before(&self, xs: &Tensor) -> Tensor {
        let n = self.receptive_field() as i64 - 1;
        if self.control_count() == 0 {
            return Tensor::zeros([n], (xs.kind(), xs.device()));
        }
        let first = xs.narrow(0, 0, 1).copy();
        let _ = first.narrow(1, 0, 1).zero_();
        first.expand([n, -1], false).contiguous()
    }
}

/// The last `len` samples of `[batch, channels, time]`.
fn last(t: &Tensor, len: i64) -> Tensor {
    t.narrow(2, t.size()[2] - len, len)
}

// ---- The causal-model protocol: training, streaming, `.nam` --------------------------------

impl CausalModel for WaveNet {
    fn warm_up_samples(&self) -> usize {
        self.receptive_field() - 1
    }
    fn control_count(&self) -> usize {
        WaveNet::control_count(self)
    }
    fn forward_aligned(&self, xs: &Tensor) -> Tensor {
        self.forward(xs)
    }
    fn process(&self, xs: &Tensor) -> Tensor {
        self.forward(&Tensor::cat(&[&self.silence_before(xs), xs], 0))
    }
    /// The state is the last `receptive_field − 1` inputs (silence at the start; for a
    /// conditioned model at the first block's controls, so it starts empty).
    fn start(&self, device: Device) -> StreamState {
        let n = if self.control_count() == 0 { self.receptive_field() as i64 - 1 } else { 0 };
        StreamState(vec![Tensor::zeros([n], (tch::Kind::Float, device))])
    }
    fn block(&self, block: &Tensor, state: &mut StreamState) -> Result<Tensor> {
        let [ctx] = state.0.as_mut_slice() else { return Err(Error::invalid("state", "not a WaveNet's stream state")) };
        if ctx.size()[0] == 0 {
            *ctx = self.silence_before(block);
        }
        let x = Tensor::cat(&[&*ctx, block], 0);
        let keep = ctx.size()[0];
        *ctx = x.narrow(0, x.size()[0] - keep, keep).copy();
        Ok(self.forward(&x))
    }
    fn replica(&self, vs: &nn::Path) -> Result<Box<dyn CausalModel>> {
        Ok(Box::new(WaveNet::new(vs, &self.config)?))
    }
    fn nam_architecture(&self) -> &'static str {
        "WaveNet"
    }
    fn nam_config(&self) -> Result<Value> {
        Ok(self.config.to_nam())
    }
    fn write_nam_weights(&self, out: &mut NamWeightsOut) -> Result<()> {
        for t in self.nam_tensors() {
            out.push(t)?;
        }
        out.push_scalar(self.config.head_scale as f32);
        Ok(())
    }
    fn read_nam_weights(&self, weights: &mut NamWeights<'_>) -> std::result::Result<(), WeightsError> {
        for t in self.nam_tensors() {
            weights.fill(t)?;
        }
        let head_scale = weights.scalar()?;
        if (head_scale as f64 - self.config.head_scale).abs() > 1e-5 {
            return Err(WeightsError(format!("head_scale {head_scale} in the weights, but the model was built with {}", self.config.head_scale)));
        }
        Ok(())
    }
}

/// The WaveNet's entry in [`super::ARCHITECTURES`].
pub const ARCHITECTURE: Architecture = Architecture {
    nam_name: "WaveNet",
    // As NAM: the last weight is head_scale; it wins when it differs from the config's.
    from_nam: |config, weights, vs| Ok(Box::new(WaveNet::new(vs, &ampsim_engine::nam::wavenet_config(config, weights)?).map_err(|e| e.to_string())?)),
};

#[cfg(test)]
mod tests {
    use super::*;

    /// A dilated convolution's weights and biases within ±1/√(in·k), and spread over most of
    /// that range; the 1-input mixer within ±1 (tch's default: up to ±2.45, biases 0).
    #[test]
    fn starts_from_pytorch_and_nam_initialisation() {
        let max_abs = crate::models::tests::max_abs;
        let vs = nn::VarStore::new(Device::Cpu);
        tch::manual_seed(3);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::default()).unwrap();
        let first = &wn.arrays[0].layers[0];
        let bound = 1.0 / 48f64.sqrt();
        assert!(max_abs(&first.conv.ws) <= bound && max_abs(&first.conv.ws) > 0.8 * bound);
        let bias = first.conv.bs.as_ref().unwrap();
        assert!(max_abs(bias) <= bound && max_abs(bias) > 0.5 * bound);
        assert!(max_abs(&first.mixer.ws) <= 1.0 && max_abs(&first.mixer.ws) > 0.5);
        assert!(max_abs(&wn.arrays[1].head.ws) <= 1.0 / 8f64.sqrt());
    }
}
