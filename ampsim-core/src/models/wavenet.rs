//! Neural Amp Modeler's feed-forward WaveNet ("A1"): layer arrays of dilated causal
//! convolutions.
//!
//! Per layer array: a 1×1 "rechannel" (no bias) from its input to `channels`; then per layer a
//! kernel-`k` dilated convolution (with bias, no padding, so the sequence shortens by
//! `d·(k−1)`), plus the raw input mixed in through a 1×1 without bias, `tanh`, a 1×1 with bias
//! added to the residual path, and the activation added to the head accumulator; finally a
//! 1×1 from `channels` to `head_size` on the accumulator. The first array's head output seeds
//! the second array's accumulator (so its `head_size` equals the next array's `channels`),
//! and the last head output, times `head_scale`, is the model's output.
//!
//! Output sample t depends on input samples t − (receptive_field − 1) ..= t only.

use tch::nn::{self, Module};
use tch::Tensor;

use crate::{Error, Result};

/// One layer array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerArrayConfig {
    pub input_size: usize,
    pub condition_size: usize,
    pub head_size: usize,
    pub channels: usize,
    pub kernel_size: usize,
    pub dilations: Vec<usize>,
    pub head_bias: bool,
}

/// Configuration of [`WaveNet`]. The default is NAM's "standard" preset (13 802 weights).
#[derive(Clone, Debug, PartialEq)]
pub struct WaveNetConfig {
    pub layers: Vec<LayerArrayConfig>,
    pub head_scale: f64,
}

fn powers(from: u32, to: u32) -> Vec<usize> {
    (from..=to).map(|p| 1usize << p).collect()
}

impl Default for WaveNetConfig {
    fn default() -> Self {
        WaveNetConfig::preset("standard").expect("standard preset")
    }
}

impl WaveNetConfig {
    /// NAM's presets: `standard` (16 → 8 channels, dilations 1..512 twice), `lite`, `feather`, `nano`.
    pub fn preset(name: &str) -> Result<WaveNetConfig> {
        let two_arrays = |ch1: usize, ch2: usize, d1: Vec<usize>, d2: Vec<usize>| WaveNetConfig {
            layers: vec![
                LayerArrayConfig { input_size: 1, condition_size: 1, head_size: ch2, channels: ch1, kernel_size: 3, dilations: d1, head_bias: false },
                LayerArrayConfig { input_size: ch1, condition_size: 1, head_size: 1, channels: ch2, kernel_size: 3, dilations: d2, head_bias: true },
            ],
            head_scale: 0.02,
        };
        let short_long = || (powers(0, 6), [powers(7, 9), powers(0, 9)].concat());
        Ok(match name {
            "standard" => two_arrays(16, 8, powers(0, 9), powers(0, 9)),
            "lite" => {
                let (a, b) = short_long();
                two_arrays(12, 6, a, b)
            }
            "feather" => {
                let (a, b) = short_long();
                two_arrays(8, 4, a, b)
            }
            "nano" => {
                let (a, b) = short_long();
                two_arrays(4, 2, a, b)
            }
            other => return Err(Error::invalid("preset", format!("unknown WaveNet preset `{other}` (standard, lite, feather, nano)"))),
        })
    }

    /// Input samples that one output sample sees.
    pub fn receptive_field(&self) -> usize {
        1 + self.layers.iter().flat_map(|a| a.dilations.iter().map(move |d| d * (a.kernel_size - 1))).sum::<usize>()
    }

    /// Number of weights as NAM stores them.
    pub fn nam_weight_count(&self) -> usize {
        let mut total = 0;
        for a in &self.layers {
            let c = a.channels;
            total += a.input_size * c;
            total += a.dilations.len() * (c * c * a.kernel_size + c + a.condition_size * c + c * c + c);
            total += c * a.head_size + if a.head_bias { a.head_size } else { 0 };
        }
        total + 1
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::invalid("layers", "needs at least one layer array"));
        }
        for (i, a) in self.layers.iter().enumerate() {
            if a.channels == 0 || a.kernel_size == 0 || a.dilations.is_empty() || a.dilations.contains(&0) {
                return Err(Error::invalid("layers", format!("array {i}: channels, kernel size and dilations must be positive")));
            }
            if i > 0 && self.layers[i - 1].head_size != a.channels {
                return Err(Error::invalid("layers", format!("array {i}: channels {} must equal the previous head size {}", a.channels, self.layers[i - 1].head_size)));
            }
            if i > 0 && self.layers[i - 1].channels != a.input_size {
                return Err(Error::invalid("layers", format!("array {i}: input size {} must equal the previous channels {}", a.input_size, self.layers[i - 1].channels)));
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
pub(crate) struct Layer {
    pub conv: nn::Conv1D,
    pub mixer: nn::Conv1D,
    pub one_by_one: nn::Conv1D,
}

#[derive(Debug)]
pub(crate) struct LayerArray {
    pub rechannel: nn::Conv1D,
    pub layers: Vec<Layer>,
    pub head: nn::Conv1D,
}

/// A convolution initialised as PyTorch's `Conv1d` (and so NAM) initialises it.
fn conv(vs: nn::Path, i: usize, o: usize, k: usize, dilation: usize, bias: bool) -> nn::Conv1D {
    let init = super::torch_default_init(i * k);
    let cfg = nn::ConvConfig { dilation: dilation as i64, bias, ws_init: init, bs_init: init, ..Default::default() };
    nn::conv1d(vs, i as i64, o as i64, k as i64, cfg)
}

/// The WaveNet amp model.
#[derive(Debug)]
pub struct WaveNet {
    pub(crate) arrays: Vec<LayerArray>,
    pub config: WaveNetConfig,
}

impl WaveNet {
    pub fn new(vs: &nn::Path, config: &WaveNetConfig) -> Result<WaveNet> {
        config.validate()?;
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
                        .enumerate()
                        .map(|(j, &d)| {
                            let lp = &p / format!("layer{j}");
                            Layer {
                                conv: conv(&lp / "conv", a.channels, a.channels, a.kernel_size, d, true),
                                mixer: conv(&lp / "mixer", a.condition_size, a.channels, 1, 1, false),
                                one_by_one: conv(&lp / "1x1", a.channels, a.channels, 1, 1, true),
                            }
                        })
                        .collect(),
                    head: conv(&p / "head", a.channels, a.head_size, 1, 1, a.head_bias),
                }
            })
            .collect();
        // head_scale is stored as a (fixed) weight in NAM's files.
        Ok(WaveNet { arrays, config: config.clone() })
    }

    pub fn receptive_field(&self) -> usize {
        self.config.receptive_field()
    }

    /// `[batch, time]` → `[batch, time − receptive_field + 1]`: output i answers input sample
    /// i + receptive_field − 1.
    pub fn forward(&self, xs: &Tensor) -> Tensor {
        let x = if xs.dim() == 1 { xs.view([1, 1, -1]) } else { xs.unsqueeze(1) };
        let cond = x.shallow_clone();
        let mut y = x;
        let mut head: Option<Tensor> = None;
        for array in &self.arrays {
            let mut h = array.rechannel.forward(&y);
            let mut acc = head.take();
            for layer in &array.layers {
                let z = layer.conv.forward(&h);
                let len = z.size()[2];
                let mix = layer.mixer.forward(&cond);
                let mix_len = mix.size()[2];
                let a = (z + mix.narrow(2, mix_len - len, len)).tanh();
                let h_len = h.size()[2];
                h = h.narrow(2, h_len - len, len) + layer.one_by_one.forward(&a);
                acc = Some(match acc {
                    None => a,
                    Some(prev) => {
                        let p_len = prev.size()[2];
                        prev.narrow(2, p_len - len, len) + a
                    }
                });
            }
            let acc = acc.expect("a layer array has at least one layer");
            head = Some(array.head.forward(&acc));
            y = h;
        }
        let out = head.expect("at least one layer array") * self.config.head_scale;
        if xs.dim() == 1 { out.view([-1]) } else { out.squeeze_dim(1) }
    }
}
