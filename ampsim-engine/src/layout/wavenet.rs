//! The WaveNet's hyperparameters — NAM's A1 and A2 layer arrays — and their `.nam` layouts
//! (0.5 and 0.7), shared by ampsim's libtorch model and this engine.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::activation::Activation;
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
    pub fn conv_channels(&self) -> usize {
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

    /// Check that the arrays fit together (sizes, one kernel per dilation, positive sizes).
    pub fn validate(&self) -> Result<()> {
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

impl WaveNetConfig {
    /// This configuration as a `.nam` `config` object, in NAM 0.7's layout.
    pub fn to_nam(&self) -> Value {
        serde_json::to_value(NamConfig::from(self)).expect("a WaveNet layout is always valid JSON")
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

