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
//! Output sample t depends on input samples t − (receptive_field − 1) ..= t only.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tch::nn::{self, Module};
use tch::{Device, Tensor};

use super::{Activation, Architecture, CausalModel, NamWeights, NamWeightsOut, StreamState, WeightsError};
use crate::{Error, Result};

/// One layer array.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerArrayConfig {
    pub input_size: usize,
    pub condition_size: usize,
    pub head_size: usize,
    pub channels: usize,
    /// One kernel size per layer.
    pub kernel_sizes: Vec<usize>,
    /// One dilation per layer.
    pub dilations: Vec<usize>,
    pub activation: Activation,
    /// The activation times a sigmoid gate (the convolutions then have twice the channels).
    pub gated: bool,
    /// Kernel of the head convolution (1 in A1, 16 in A2).
    pub head_kernel_size: usize,
    pub head_bias: bool,
}

impl LayerArrayConfig {
    /// Channels out of each layer's convolution and mixer: doubled when gated.
    fn conv_channels(&self) -> usize {
        if self.gated { 2 * self.channels } else { self.channels }
    }
}

/// Configuration of [`WaveNet`]. The default is NAM's "standard" preset (13 802 weights).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
        let array = |input_size: usize, channels: usize, head_size: usize, dilations: Vec<usize>, head_bias: bool| LayerArrayConfig {
            input_size,
            condition_size: 1,
            head_size,
            channels,
            kernel_sizes: vec![3; dilations.len()],
            dilations,
            activation: Activation::Tanh,
            gated: false,
            head_kernel_size: 1,
            head_bias,
        };
        let two_arrays = |ch1: usize, ch2: usize, d1: Vec<usize>, d2: Vec<usize>| WaveNetConfig {
            layers: vec![array(1, ch1, ch2, d1, false), array(ch1, ch2, 1, d2, true)],
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
            "a2" => WaveNetConfig::a2(8),
            "a2-nano" => WaveNetConfig::a2(3),
            other => return Err(Error::invalid("preset", format!("unknown WaveNet preset `{other}` (standard, lite, feather, nano, a2, a2-nano)"))),
        })
    }

    /// NAM's A2 with `channels` channels (8 for `a2`, 3 for `a2-nano`): one array of 23 layers,
    /// dilations 1, 3, 7, 17, 41, 101, 239 twice, then 1 and 13 with kernel 15, then the seven
    /// again; kernel 6 elsewhere, LeakyReLU(0.01), a head of kernel 16 with bias, head scale 0.01.
    pub fn a2(channels: usize) -> WaveNetConfig {
        let seven = [1, 3, 7, 17, 41, 101, 239];
        let dilations: Vec<usize> = [&seven[..], &seven[..], &[1, 13], &seven[..]].concat();
        let kernel_sizes: Vec<usize> = [vec![6; 14], vec![15; 2], vec![6; 7]].concat();
        WaveNetConfig {
            layers: vec![LayerArrayConfig {
                input_size: 1,
                condition_size: 1,
                head_size: 1,
                channels,
                kernel_sizes,
                dilations,
                activation: Activation::LeakyRelu { negative_slope: 0.01 },
                gated: false,
                head_kernel_size: 16,
                head_bias: true,
            }],
            head_scale: 0.01,
        }
    }

    /// Input samples that one output sample sees.
    pub fn receptive_field(&self) -> usize {
        let per_array = |a: &LayerArrayConfig| a.dilations.iter().zip(&a.kernel_sizes).map(|(d, k)| d * (k - 1)).sum::<usize>() + a.head_kernel_size - 1;
        1 + self.layers.iter().map(per_array).sum::<usize>()
    }

    /// Number of weights as NAM stores them.
    pub fn nam_weight_count(&self) -> usize {
        let mut total = 0;
        for a in &self.layers {
            let (c, g) = (a.channels, a.conv_channels());
            total += a.input_size * c;
            total += a.kernel_sizes.iter().map(|k| c * g * k + g + a.condition_size * g + c * c + c).sum::<usize>();
            total += c * a.head_size * a.head_kernel_size + if a.head_bias { a.head_size } else { 0 };
        }
        total + 1
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::invalid("layers", "needs at least one layer array"));
        }
        for (i, a) in self.layers.iter().enumerate() {
            if a.channels == 0 || a.head_kernel_size == 0 || a.kernel_sizes.contains(&0) || a.dilations.is_empty() || a.dilations.contains(&0) {
                return Err(Error::invalid("layers", format!("array {i}: channels, kernel sizes and dilations must be positive")));
            }
            if a.kernel_sizes.len() != a.dilations.len() {
                return Err(Error::invalid("layers", format!("array {i}: {} kernel sizes for {} dilations (one per layer)", a.kernel_sizes.len(), a.dilations.len())));
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
struct Layer {
    conv: nn::Conv1D,
    mixer: nn::Conv1D,
    one_by_one: nn::Conv1D,
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

/// The WaveNet amp model.
#[derive(Debug)]
pub struct WaveNet {
    arrays: Vec<LayerArray>,
    config: WaveNetConfig,
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
                        .zip(&a.kernel_sizes)
                        .enumerate()
                        .map(|(j, (&d, &k))| {
                            let lp = &p / format!("layer{j}");
                            Layer {
                                conv: conv(&lp / "conv", a.channels, a.conv_channels(), k, d, true),
                                mixer: conv(&lp / "mixer", a.condition_size, a.conv_channels(), 1, 1, false),
                                one_by_one: conv(&lp / "1x1", a.channels, a.channels, 1, 1, true),
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
    /// bias); then the array's head (weights, bias if any). `head_scale` follows them in a file.
    fn nam_tensors(&self) -> Vec<&Tensor> {
        fn conv(c: &nn::Conv1D) -> impl Iterator<Item = &Tensor> {
            std::iter::once(&c.ws).chain(c.bs.as_ref())
        }
        let mut out = Vec::new();
        for array in &self.arrays {
            out.extend(conv(&array.rechannel));
            for layer in &array.layers {
                out.extend(conv(&layer.conv).chain(conv(&layer.mixer)).chain(conv(&layer.one_by_one)));
            }
            out.extend(conv(&array.head));
        }
        out
    }

    /// `[batch, time]` → `[batch, time − receptive_field + 1]`: output i answers input sample
    /// i + receptive_field − 1.
    pub fn forward(&self, xs: &Tensor) -> Tensor {
        let x = if xs.dim() == 1 { xs.view([1, 1, -1]) } else { xs.unsqueeze(1) };
        let cond = x.shallow_clone();
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
        let out = head.expect("at least one layer array") * self.config.head_scale;
        if xs.dim() == 1 { out.view([-1]) } else { out.squeeze_dim(1) }
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
    fn forward_aligned(&self, xs: &Tensor) -> Tensor {
        self.forward(xs)
    }
    fn process(&self, xs: &Tensor) -> Tensor {
        let pad = Tensor::zeros([self.receptive_field() as i64 - 1], (xs.kind(), xs.device()));
        self.forward(&Tensor::cat(&[&pad, xs], 0))
    }
    /// The state is the last `receptive_field − 1` inputs (silence at the start).
    fn start(&self, device: Device) -> StreamState {
        StreamState(vec![Tensor::zeros([self.receptive_field() as i64 - 1], (tch::Kind::Float, device))])
    }
    fn block(&self, block: &Tensor, state: &mut StreamState) -> Result<Tensor> {
        let [ctx] = state.0.as_mut_slice() else { return Err(Error::invalid("state", "not a WaveNet's stream state")) };
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
        serde_json::to_value(NamConfig::from(&self.config)).map_err(|e| Error::invalid("config", e.to_string()))
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
    from_nam: |config, weights, vs| {
        let mut cfg = WaveNetConfig::from_nam(config)?;
        // As NAM: the last weight is head_scale; it wins when it differs from the config's.
        if let Some(&tail) = weights.last() {
            if (tail as f64 - cfg.head_scale).abs() > 1e-5 {
                cfg.head_scale = tail as f64;
            }
        }
        Ok(Box::new(WaveNet::new(vs, &cfg).map_err(|e| e.to_string())?))
    },
    nam_weight_count: |config| Ok(WaveNetConfig::from_nam(config)?.nam_weight_count()),
};

impl WaveNetConfig {
    /// The configuration a `.nam` WaveNet `config` describes, in either layout; anything this
    /// WaveNet cannot run is an error that says what.
    pub fn from_nam(config: &Value) -> std::result::Result<WaveNetConfig, String> {
        let c: NamConfig = serde_json::from_value(config.clone()).map_err(|e| format!("WaveNet config: {e}"))?;
        if c.condition_dsp.as_ref().is_some_and(|h| !h.is_null()) {
            return Err("a condition DSP (a model that conditions the WaveNet) is not supported".into());
        }
        if c.head.as_ref().is_some_and(|h| !h.is_null()) {
            return Err("a post-head after the layer arrays is not supported".into());
        }
        let layers = c.layers.iter().enumerate().map(|(i, a)| a.to_config().map_err(|e| format!("layer array {i}: {e}"))).collect::<std::result::Result<Vec<_>, _>>()?;
        let cfg = WaveNetConfig { layers, head_scale: c.head_scale };
        cfg.validate().map_err(|e| e.to_string())?;
        Ok(cfg)
    }
}

/// A WaveNet's `.nam` `config`, as NAM writes it in both layouts: 0.5 (`head_size`,
/// `head_bias`, one `kernel_size` and activation per array) and 0.7 (a `head` object, per-layer
/// `kernel_sizes`, activations and gating modes, FiLM and 1×1 switches). Reading accepts
/// either; writing uses 0.7's.
#[derive(Debug, Default, Serialize, Deserialize)]
struct NamConfig {
    layers: Vec<NamLayerArray>,
    /// A post-head (0.7); ampsim writes `null`.
    #[serde(default)]
    head: Option<Value>,
    head_scale: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    condition_dsp: Option<Value>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct NamLayerArray {
    input_size: usize,
    condition_size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    head: Option<NamHead>,
    #[serde(skip_serializing_if = "Option::is_none")]
    head_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    head_bias: Option<bool>,
    channels: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel_sizes: Option<Vec<usize>>,
    dilations: Vec<usize>,
    activation: Option<NamActivations>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gated: Option<bool>,
    /// `"none"`/`"gated"`/`"blended"`, for the array or per layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    gating_mode: Option<Value>,
    /// The gate's activation when gated (NAM's default: Sigmoid), for the array or per layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    secondary_activation: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bottleneck: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    head1x1: Option<NamSwitch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer1x1: Option<NamSwitch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    groups_input: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    groups_input_mixin: Option<usize>,
    #[serde(flatten)]
    films: NamFilms,
    slimmable: Option<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct NamHead {
    out_channels: usize,
    #[serde(default = "one")]
    kernel_size: usize,
    #[serde(default)]
    bias: bool,
}

fn one() -> usize {
    1
}

/// One activation: `"Tanh"`, or `{"type": "LeakyReLU", "negative_slope": 0.01}` (also
/// `{"name": …}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum NamActivation {
    Name(String),
    Typed {
        #[serde(rename = "type", alias = "name")]
        kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        negative_slope: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_val: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_val: Option<f64>,
    },
}

impl NamActivation {
    fn to_activation(&self) -> std::result::Result<Activation, String> {
        let unknown = |n: &str| format!("activation {n} is not supported (Tanh, ReLU, LeakyReLU, Sigmoid, SiLU, Hardtanh, Softsign are)");
        match self {
            NamActivation::Name(n) => Activation::from_nam(n, None, None, None).ok_or_else(|| unknown(n)),
            NamActivation::Typed { kind, negative_slope, min_val, max_val } => Activation::from_nam(kind, *negative_slope, *min_val, *max_val).ok_or_else(|| unknown(kind)),
        }
    }
}

impl From<Activation> for NamActivation {
    fn from(a: Activation) -> NamActivation {
        let (negative_slope, min_val, max_val) = match a {
            Activation::LeakyRelu { negative_slope } => (Some(negative_slope), None, None),
            Activation::Hardtanh { min_val, max_val } => (None, Some(min_val), Some(max_val)),
            _ => (None, None, None),
        };
        NamActivation::Typed { kind: a.nam_name().into(), negative_slope, min_val, max_val }
    }
}

/// One value for the array, or one per layer: the one value all layers share.
fn one_for_all<T: Clone + PartialEq + std::fmt::Debug>(what: &str, values: Vec<T>) -> std::result::Result<Option<T>, String> {
    match values.first() {
        None => Ok(None),
        Some(v) if values.iter().all(|x| x == v) => Ok(Some(v.clone())),
        Some(_) => Err(format!("{what} {values:?} differ between layers (ampsim supports one per array)")),
    }
}

/// Names for the array or per layer — `"Sigmoid"`, `{"type": "Sigmoid"}`, or null (as `""`) —
/// as a list.
fn names(v: &Option<Value>) -> Vec<String> {
    let name = |x: &Value| x.as_str().or_else(|| x.get("type").and_then(Value::as_str)).unwrap_or("").to_string();
    match v {
        Some(Value::Array(list)) => list.iter().map(name).collect(),
        Some(x) => vec![name(x)],
        None => vec![],
    }
}

/// One activation for the array (0.5) or one per layer (0.7).
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum NamActivations {
    One(NamActivation),
    PerLayer(Vec<NamActivation>),
}

/// `head1x1` / `layer1x1`: on or off, with its size and groups.
#[derive(Debug, Serialize, Deserialize)]
struct NamSwitch {
    active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    out_channels: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    groups: Option<usize>,
}

/// A FiLM (feature-wise scale and shift by the condition) at one place in a layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NamFilm {
    active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shift: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    groups: Option<usize>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct NamFilms {
    #[serde(skip_serializing_if = "Option::is_none")]
    conv_pre_film: Option<NamFilm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conv_post_film: Option<NamFilm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_mixin_pre_film: Option<NamFilm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_mixin_post_film: Option<NamFilm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    activation_pre_film: Option<NamFilm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    activation_post_film: Option<NamFilm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer1x1_post_film: Option<NamFilm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    head1x1_post_film: Option<NamFilm>,
}

impl NamFilms {
    fn all(&self) -> [&Option<NamFilm>; 8] {
        [
            &self.conv_pre_film,
            &self.conv_post_film,
            &self.input_mixin_pre_film,
            &self.input_mixin_post_film,
            &self.activation_pre_film,
            &self.activation_post_film,
            &self.layer1x1_post_film,
            &self.head1x1_post_film,
        ]
    }
}

impl From<&WaveNetConfig> for NamConfig {
    /// NAM 0.7's layout of an A1 WaveNet.
    fn from(cfg: &WaveNetConfig) -> NamConfig {
        let off = || Some(NamFilm { active: false, shift: Some(true), groups: Some(1) });
        let layers = cfg
            .layers
            .iter()
            .map(|a| {
                let n = a.dilations.len();
                NamLayerArray {
                    input_size: a.input_size,
                    condition_size: a.condition_size,
                    head: Some(NamHead { out_channels: a.head_size, kernel_size: a.head_kernel_size, bias: a.head_bias }),
                    channels: a.channels,
                    kernel_sizes: Some(a.kernel_sizes.clone()),
                    dilations: a.dilations.clone(),
                    activation: Some(NamActivations::PerLayer(vec![a.activation.into(); n])),
                    bottleneck: Some(a.channels),
                    head1x1: Some(NamSwitch { active: false, out_channels: Some(1), groups: Some(1) }),
                    layer1x1: Some(NamSwitch { active: true, out_channels: None, groups: Some(1) }),
                    groups_input: Some(1),
                    groups_input_mixin: Some(1),
                    films: NamFilms {
                        conv_pre_film: off(),
                        conv_post_film: off(),
                        input_mixin_pre_film: off(),
                        input_mixin_post_film: off(),
                        activation_pre_film: off(),
                        activation_post_film: off(),
                        layer1x1_post_film: off(),
                        head1x1_post_film: off(),
                    },
                    gating_mode: Some(Value::from(vec![if a.gated { "gated" } else { "none" }; n])),
                    secondary_activation: Some(Value::from(vec![if a.gated { serde_json::json!({"type": "Sigmoid"}) } else { Value::Null }; n])),
                    slimmable: None,
                    ..NamLayerArray::default()
                }
            })
            .collect();
        NamConfig { layers, head: None, head_scale: cfg.head_scale, condition_dsp: None }
    }
}

impl NamLayerArray {
    /// This array in ampsim's terms; anything the A1 WaveNet cannot run is an error.
    fn to_config(&self) -> std::result::Result<LayerArrayConfig, String> {
        let n = self.dilations.len();
        if n == 0 {
            return Err("no dilations".into());
        }
        // Kernel size: one for the array (0.5) or one per layer (0.7).
        let kernel_sizes = match (&self.kernel_size, &self.kernel_sizes) {
            (Some(k), _) => vec![*k; n],
            (None, Some(ks)) if ks.len() == n => ks.clone(),
            (None, Some(ks)) => return Err(format!("{} kernel sizes for {n} dilations", ks.len())),
            (None, None) => return Err("no kernel size".into()),
        };
        let (head_size, head_kernel_size, head_bias) = match (&self.head, self.head_size) {
            (Some(h), _) => (h.out_channels, h.kernel_size, h.bias),
            (None, Some(size)) => (size, 1, self.head_bias.unwrap_or(false)),
            (None, None) => return Err("no head size".into()),
        };
        let activations = match &self.activation {
            Some(NamActivations::One(a)) => vec![a.to_activation()?],
            Some(NamActivations::PerLayer(list)) => list.iter().map(NamActivation::to_activation).collect::<std::result::Result<Vec<_>, _>>()?,
            None => vec![],
        };
        let activation = one_for_all("activations", activations)?.ok_or("no activation")?;
        let modes = names(&self.gating_mode);
        let gated = match one_for_all("gating modes", modes)?.as_deref() {
            None | Some("none") | Some("") => self.gated == Some(true),
            Some("gated") => true,
            Some(other) => return Err(format!("gating mode {other} is not supported (none and gated are)")),
        };
        if gated && names(&self.secondary_activation).iter().any(|g| !g.is_empty() && g != "Sigmoid") {
            return Err("a gate other than Sigmoid is not supported".into());
        }
        if self.head1x1.as_ref().is_some_and(|s| s.active) || self.layer1x1.as_ref().is_some_and(|s| !s.active) {
            return Err("only the A1 layer (1×1 on the residual, none on the head) is supported".into());
        }
        if self.films.all().iter().any(|f| f.as_ref().is_some_and(|f| f.active)) {
            return Err("FiLM conditioning is not supported".into());
        }
        if self.groups_input.unwrap_or(1) != 1 || self.groups_input_mixin.unwrap_or(1) != 1 {
            return Err("grouped convolutions (groups_input, groups_input_mixin) are not supported".into());
        }
        if self.bottleneck.is_some_and(|b| b != self.channels) {
            return Err("a bottleneck narrower than the channels is not supported".into());
        }
        if self.slimmable.as_ref().is_some_and(|s| !s.is_null()) {
            return Err("slimmable layer arrays are not supported".into());
        }
        Ok(LayerArrayConfig {
            input_size: self.input_size,
            condition_size: self.condition_size,
            head_size,
            channels: self.channels,
            kernel_sizes,
            dilations: self.dilations.clone(),
            activation,
            gated,
            head_kernel_size,
            head_bias,
        })
    }
}

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
