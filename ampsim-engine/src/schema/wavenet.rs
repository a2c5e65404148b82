//! The WaveNet's hyperparameters — NAM's A1 and A2 layer arrays — and their `.nam` layouts
//! (0.5 and 0.7), shared by ampsim's libtorch model and this engine.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::a2::{Film, Films, Gating, Head1x1, LayerActivation, LayerOptions, Nonlinearity};
use crate::activation::{Activation, NamParameters};
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
    /// A2's layer options (FiLM, bottleneck, groups, head 1×1, per-layer activations); A1's
    /// layers by default.
    #[serde(default, skip_serializing_if = "LayerOptions::is_a1")]
    pub options: LayerOptions,
}

impl LayerArrayConfig {
    /// Channels out of each layer's convolution and mixer: doubled when gated (A1 layers).
    pub fn conv_channels(&self) -> usize {
        if self.gated { 2 * self.channels } else { self.channels }
    }

    /// Channels inside a layer: the bottleneck, or the channels.
    pub fn bottleneck(&self) -> usize {
        self.options.bottleneck.unwrap_or(self.channels)
    }

    /// Layer `i`'s activation and gating.
    pub fn layer_activation(&self, i: usize) -> LayerActivation {
        match self.options.per_layer.get(i) {
            Some(a) => a.clone(),
            None => LayerActivation {
                activation: Nonlinearity::Fixed(self.activation),
                gating: if self.gated { Gating::Gated } else { Gating::None },
                secondary: Nonlinearity::Fixed(Activation::Sigmoid),
            },
        }
    }

    /// Channels out of layer `i`'s convolution: twice the bottleneck when gated or blended.
    pub fn layer_conv_channels(&self, i: usize) -> usize {
        let b = self.bottleneck();
        if self.layer_activation(i).gating == Gating::None { b } else { 2 * b }
    }

    /// Rows of the head accumulator (the head convolution's input): the head 1×1's outputs,
    /// or the bottleneck.
    pub fn head_inputs(&self) -> usize {
        self.options.head1x1.map_or(self.bottleneck(), |h| h.out_channels)
    }

    /// Layer `i`'s FiLMs in NAM's order (see [`Films`]), each with the channels of what it
    /// scales; a post-1×1 FiLM without its 1×1 is off.
    pub fn film_sizes(&self, i: usize) -> [Option<(Film, usize)>; 8] {
        let (c, b, z, cond) = (self.channels, self.bottleneck(), self.layer_conv_channels(i), self.condition_size);
        let mut films = self.options.films.all();
        if self.options.layer1x1_groups.is_none() {
            films[6] = None;
        }
        if self.options.head1x1.is_none() {
            films[7] = None;
        }
        let dims = [c, z, cond, z, z, b, c, self.head_inputs()];
        let mut out = [None; 8];
        for (k, (film, d)) in films.into_iter().zip(dims).enumerate() {
            out[k] = film.map(|f| (f, d));
        }
        out
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
            options: LayerOptions::default(),
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
                options: LayerOptions::default(),
            }],
            head_scale: 0.01,
        }
    }

    /// The same network conditioned on `controls` values (an amp's knobs): every layer's input
    /// mixer reads the audio and the control values (`condition_size` 1 + `controls`).
    pub fn with_controls(mut self, controls: usize) -> WaveNetConfig {
        self.layers.iter_mut().for_each(|a| a.condition_size = 1 + controls);
        self
    }

    /// The same network conditioned on `controls` values through FiLM as well: the input
    /// mixers read the audio and the controls as [`WaveNetConfig::with_controls`], and each
    /// layer's activation is then scaled and shifted per channel by a 1×1 of them (NAM's
    /// `activation_post_film`).
    pub fn with_controls_film(self, controls: usize) -> WaveNetConfig {
        let mut c = self.with_controls(controls);
        c.layers.iter_mut().for_each(|a| a.options.films.activation_post = Some(Film { shift: true, groups: 1 }));
        c
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
            let (c, b, o) = (a.channels, a.bottleneck(), &a.options);
            total += a.input_size * c;
            for (i, k) in a.kernel_sizes.iter().enumerate() {
                let z = a.layer_conv_channels(i);
                total += c * z * k / o.groups_input + z;
                total += a.condition_size * z / o.groups_input_mixin;
                total += o.layer1x1_groups.map_or(0, |g| b * c / g + c);
                total += o.head1x1.map_or(0, |h| b * h.out_channels / h.groups + h.out_channels);
                total += a.film_sizes(i).iter().flatten().map(|(f, d)| film_weights(*f, a.condition_size, *d)).sum::<usize>();
            }
            total += a.head_inputs() * a.head_size * a.head_kernel_size + if a.head_bias { a.head_size } else { 0 };
        }
        total + 1
    }

    /// Check that the arrays fit together (sizes, one kernel per dilation, positive sizes, groups
    /// that divide what they group) and stay within [`limits`] (a file cannot make a host
    /// allocate without bound).
    pub fn validate(&self) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::invalid("layers", "needs at least one layer array"));
        }
        limits::check(self).map_err(|e| Error::invalid("layers", e))?;
        for (i, a) in self.layers.iter().enumerate() {
            if a.channels == 0 || a.head_kernel_size == 0 || a.kernel_sizes.contains(&0) || a.dilations.is_empty() || a.dilations.contains(&0) {
                return Err(Error::invalid("layers", format!("array {i}: channels, kernel sizes and dilations must be positive")));
            }
            if a.kernel_sizes.len() != a.dilations.len() {
                return Err(Error::invalid("layers", format!("array {i}: {} kernel sizes for {} dilations (one per layer)", a.kernel_sizes.len(), a.dilations.len())));
            }
            check_options(a).map_err(|e| Error::invalid("layers", format!("array {i}: {e}")))?;
            if i > 0 && self.layers[i - 1].head_size != a.head_inputs() {
                return Err(Error::invalid("layers", format!("array {i}: its head takes {} channels, but the previous head gives {}", a.head_inputs(), self.layers[i - 1].head_size)));
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
/// What a WaveNet file may ask for: far beyond NAM's largest models (A1 standard: 16 channels,
/// a receptive field of 4 093 samples), small enough that no file makes a host allocate more
/// than a few hundred MB.
pub mod limits {
    use super::WaveNetConfig;

    /// Channels of any kind (channels, bottleneck, head, input, condition, 1×1 outputs).
    pub const MAX_CHANNELS: usize = 1024;
    /// Taps of a kernel (a layer's or a head's).
    pub const MAX_KERNEL: usize = 1024;
    /// Layer arrays, and layers in one array.
    pub const MAX_ARRAYS: usize = 16;
    pub const MAX_LAYERS: usize = 256;
    /// How far back one layer reaches: dilation × (kernel size − 1), samples.
    pub const MAX_REACH_SAMPLES: usize = 1 << 20;
    /// Samples × channels of all delay lines together (4 bytes each).
    pub const MAX_DELAY_VALUES: usize = 1 << 24;

    /// The first limit `config` passes, said.
    pub fn check(config: &WaveNetConfig) -> Result<(), String> {
        if config.layers.len() > MAX_ARRAYS {
            return Err(format!("{} layer arrays (at most {MAX_ARRAYS})", config.layers.len()));
        }
        let mut delay_values = 0usize;
        for (i, a) in config.layers.iter().enumerate() {
            let o = &a.options;
            let sizes = [a.channels, a.input_size, a.condition_size, a.head_size, o.bottleneck.unwrap_or(0), o.head1x1.map_or(0, |h| h.out_channels)];
            if sizes.iter().any(|&c| c > MAX_CHANNELS) {
                return Err(format!("array {i}: {sizes:?} channels (at most {MAX_CHANNELS} each)"));
            }
            if a.dilations.len() > MAX_LAYERS || a.kernel_sizes.iter().chain([&a.head_kernel_size]).any(|&k| k > MAX_KERNEL) {
                return Err(format!("array {i}: {} layers, kernels up to {} taps (at most {MAX_LAYERS} layers of {MAX_KERNEL} taps)", a.dilations.len(), a.kernel_sizes.iter().max().unwrap_or(&0)));
            }
            for (&d, &k) in a.dilations.iter().zip(&a.kernel_sizes) {
                let reach = d.checked_mul(k.saturating_sub(1)).filter(|&r| r <= MAX_REACH_SAMPLES && d <= MAX_REACH_SAMPLES);
                let Some(reach) = reach else {
                    return Err(format!("array {i}: dilation {d} with a kernel of {k} reaches back more than {MAX_REACH_SAMPLES} samples"));
                };
                delay_values += 2 * (reach + 512) * a.channels.max(a.input_size);
            }
            delay_values += 2 * (a.head_kernel_size + 512) * a.channels;
        }
        if delay_values > MAX_DELAY_VALUES {
            return Err(format!("its delay lines would hold {delay_values} values (at most {MAX_DELAY_VALUES})"));
        }
        Ok(())
    }
}

/// Weights of a FiLM of a `d`-channel signal by a `cond`-channel condition.
fn film_weights(f: Film, cond: usize, d: usize) -> usize {
    cond * f.rows(d) / f.groups + f.rows(d)
}

/// A2's options fit the array: groups divide their channels, one activation per layer, PReLU
/// slopes per bottleneck channel, post-1×1 FiLMs only with their 1×1.
fn check_options(a: &LayerArrayConfig) -> std::result::Result<(), String> {
    let (o, b, c, cond) = (&a.options, a.bottleneck(), a.channels, a.condition_size);
    if b == 0 {
        return Err("the bottleneck must be positive".into());
    }
    if !o.per_layer.is_empty() && o.per_layer.len() != a.dilations.len() {
        return Err(format!("{} activations for {} layers", o.per_layer.len(), a.dilations.len()));
    }
    let divides = |what: &str, g: usize, sizes: &[usize]| {
        if g == 0 || sizes.iter().any(|s| s % g != 0) {
            Err(format!("{what}: {g} groups do not divide {sizes:?} channels"))
        } else {
            Ok(())
        }
    };
    for i in 0..a.dilations.len() {
        let z = a.layer_conv_channels(i);
        divides("groups_input", o.groups_input, &[c, z])?;
        divides("groups_input_mixin", o.groups_input_mixin, &[cond, z])?;
        for (f, d) in a.film_sizes(i).into_iter().flatten() {
            divides("a FiLM", f.groups, &[cond, f.rows(d)])?;
        }
        let act = a.layer_activation(i);
        for n in [&act.activation, &act.secondary] {
            if let Nonlinearity::PRelu { negative_slopes } = n {
                if negative_slopes.len() != 1 && negative_slopes.len() != b {
                    return Err(format!("layer {i}: PReLU has {} slopes for {b} channels", negative_slopes.len()));
                }
            }
        }
    }
    match o.layer1x1_groups {
        Some(g) => divides("layer1x1", g, &[b, c])?,
        None if b != c => return Err(format!("without a layer 1×1 the bottleneck ({b}) must equal the channels ({c})")),
        None => {}
    }
    if let Some(h) = o.head1x1 {
        divides("head1x1", h.groups, &[b, h.out_channels])?;
    }
    Ok(())
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
    /// One activation for the array (0.5) or one per layer (0.7).
    activation: Option<Value>,
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

/// An activation as NAM writes it: `"Tanh"`, or `{"type": "LeakyReLU", "negative_slope": 0.01}`
/// (also `{"name": …}`), PReLU with `negative_slopes`; `""` or null is none.
fn nonlinearity(v: &Value) -> std::result::Result<Option<Nonlinearity>, String> {
    let (name, params) = match v {
        Value::Null => return Ok(None),
        Value::String(n) if n.is_empty() => return Ok(None),
        Value::String(n) => (n.as_str(), None),
        Value::Object(o) => (o.get("type").or(o.get("name")).and_then(Value::as_str).ok_or("an activation without a type")?, Some(o)),
        other => return Err(format!("activation {other} is neither a name nor an object")),
    };
    let num = |key: &str| params.and_then(|o| o.get(key)).and_then(Value::as_f64);
    if name == "PReLU" {
        let slopes: Vec<f64> = match params.and_then(|o| o.get("negative_slopes")) {
            Some(list) => serde_json::from_value(list.clone()).map_err(|e| format!("PReLU negative_slopes: {e}"))?,
            None => vec![num("negative_slope").unwrap_or(0.01)],
        };
        return Ok(Some(Nonlinearity::PRelu { negative_slopes: slopes }));
    }
    let p = NamParameters { negative_slope: num("negative_slope"), min_val: num("min_val"), max_val: num("max_val"), min_slope: num("min_slope"), max_slope: num("max_slope") };
    Activation::from_nam(name, p)
        .map(|a| Some(Nonlinearity::Fixed(a)))
        .ok_or_else(|| format!("activation {name} is not supported (Tanh, ReLU, LeakyReLU, PReLU, Sigmoid, SiLU, Hardtanh, LeakyHardtanh, Hardswish, Softsign are)"))
}

/// An activation in NAM's words.
fn nonlinearity_to_nam(n: &Nonlinearity) -> Value {
    match n {
        Nonlinearity::PRelu { negative_slopes } => serde_json::json!({"type": "PReLU", "negative_slopes": negative_slopes}),
        Nonlinearity::Fixed(a) => {
            let mut o = serde_json::Map::new();
            o.insert("type".into(), a.nam_name().into());
            let p = a.nam_parameters();
            for (k, v) in [("negative_slope", p.negative_slope), ("min_val", p.min_val), ("max_val", p.max_val), ("min_slope", p.min_slope), ("max_slope", p.max_slope)] {
                if let Some(v) = v {
                    o.insert(k.into(), v.into());
                }
            }
            Value::Object(o)
        }
    }
}

/// One value for the array or one per layer, as `n` values.
fn per_layer(v: &Option<Value>, n: usize, what: &str) -> std::result::Result<Vec<Value>, String> {
    match v {
        None => Ok(vec![Value::Null; n]),
        Some(Value::Array(list)) if list.len() == n => Ok(list.clone()),
        Some(Value::Array(list)) => Err(format!("{} {what} for {n} layers", list.len())),
        Some(one) => Ok(vec![one.clone(); n]),
    }
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

impl NamFilm {
    fn read(f: &Option<NamFilm>) -> Option<Film> {
        f.as_ref().filter(|f| f.active).map(|f| Film { shift: f.shift.unwrap_or(true), groups: f.groups.unwrap_or(1) })
    }

    fn write(f: Option<Film>) -> Option<NamFilm> {
        Some(match f {
            Some(f) => NamFilm { active: true, shift: Some(f.shift), groups: Some(f.groups) },
            None => NamFilm { active: false, shift: Some(true), groups: Some(1) },
        })
    }
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
    fn read(&self) -> Films {
        Films {
            conv_pre: NamFilm::read(&self.conv_pre_film),
            conv_post: NamFilm::read(&self.conv_post_film),
            input_mixin_pre: NamFilm::read(&self.input_mixin_pre_film),
            input_mixin_post: NamFilm::read(&self.input_mixin_post_film),
            activation_pre: NamFilm::read(&self.activation_pre_film),
            activation_post: NamFilm::read(&self.activation_post_film),
            layer1x1_post: NamFilm::read(&self.layer1x1_post_film),
            head1x1_post: NamFilm::read(&self.head1x1_post_film),
        }
    }

    fn write(f: &Films) -> NamFilms {
        NamFilms {
            conv_pre_film: NamFilm::write(f.conv_pre),
            conv_post_film: NamFilm::write(f.conv_post),
            input_mixin_pre_film: NamFilm::write(f.input_mixin_pre),
            input_mixin_post_film: NamFilm::write(f.input_mixin_post),
            activation_pre_film: NamFilm::write(f.activation_pre),
            activation_post_film: NamFilm::write(f.activation_post),
            layer1x1_post_film: NamFilm::write(f.layer1x1_post),
            head1x1_post_film: NamFilm::write(f.head1x1_post),
        }
    }
}

impl WaveNetConfig {
    /// This configuration as a `.nam` `config` object, in NAM 0.7's layout.
    pub fn to_nam(&self) -> Value {
        serde_json::to_value(NamConfig::from(self)).expect("a WaveNet layout is always valid JSON")
    }
}

impl From<&WaveNetConfig> for NamConfig {
    /// NAM 0.7's layout.
    fn from(cfg: &WaveNetConfig) -> NamConfig {
        let layers = cfg
            .layers
            .iter()
            .map(|a| {
                let n = a.dilations.len();
                let acts: Vec<LayerActivation> = (0..n).map(|i| a.layer_activation(i)).collect();
                let o = &a.options;
                NamLayerArray {
                    input_size: a.input_size,
                    condition_size: a.condition_size,
                    head: Some(NamHead { out_channels: a.head_size, kernel_size: a.head_kernel_size, bias: a.head_bias }),
                    channels: a.channels,
                    kernel_sizes: Some(a.kernel_sizes.clone()),
                    dilations: a.dilations.clone(),
                    activation: Some(Value::from(acts.iter().map(|l| nonlinearity_to_nam(&l.activation)).collect::<Vec<_>>())),
                    bottleneck: Some(a.bottleneck()),
                    head1x1: Some(match o.head1x1 {
                        Some(h) => NamSwitch { active: true, out_channels: Some(h.out_channels), groups: Some(h.groups) },
                        None => NamSwitch { active: false, out_channels: Some(1), groups: Some(1) },
                    }),
                    layer1x1: Some(NamSwitch { active: o.layer1x1_groups.is_some(), out_channels: None, groups: Some(o.layer1x1_groups.unwrap_or(1)) }),
                    groups_input: Some(o.groups_input),
                    groups_input_mixin: Some(o.groups_input_mixin),
                    films: NamFilms::write(&o.films),
                    gating_mode: Some(Value::from(acts.iter().map(|l| serde_json::to_value(l.gating).expect("a gating mode is a name")).collect::<Vec<_>>())),
                    secondary_activation: Some(Value::from(acts.iter().map(|l| if l.gating == Gating::None { Value::Null } else { nonlinearity_to_nam(&l.secondary) }).collect::<Vec<_>>())),
                    slimmable: None,
                    ..NamLayerArray::default()
                }
            })
            .collect();
        NamConfig { layers, head: None, head_scale: cfg.head_scale, condition_dsp: None }
    }
}

impl NamLayerArray {
    /// This array in ampsim's terms; anything the WaveNet cannot run is an error.
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
        let mut layers = Vec::with_capacity(n);
        let (acts, modes, gates) = (per_layer(&self.activation, n, "activations")?, per_layer(&self.gating_mode, n, "gating modes")?, per_layer(&self.secondary_activation, n, "secondary activations")?);
        for i in 0..n {
            let activation = nonlinearity(&acts[i])?.ok_or("no activation")?;
            let gating = match modes[i].as_str().unwrap_or("") {
                "" | "none" if self.gated == Some(true) => Gating::Gated,
                "" | "none" => Gating::None,
                "gated" => Gating::Gated,
                "blended" => Gating::Blended,
                other => return Err(format!("gating mode {other} is not supported (none, gated and blended are)")),
            };
            let secondary = nonlinearity(&gates[i])?.unwrap_or(Nonlinearity::Fixed(Activation::Sigmoid));
            layers.push(LayerActivation { activation, gating, secondary });
        }
        if self.slimmable.as_ref().is_some_and(|s| !s.is_null()) {
            return Err("slimmable layer arrays are not supported".into());
        }
        let layer1x1_groups = match &self.layer1x1 {
            Some(s) if !s.active => None,
            s => Some(s.as_ref().and_then(|s| s.groups).unwrap_or(1)),
        };
        let head1x1 = match &self.head1x1 {
            Some(s) if s.active => Some(Head1x1 { out_channels: s.out_channels.ok_or("head1x1 without out_channels")?, groups: s.groups.unwrap_or(1) }),
            _ => None,
        };
        let films = self.films.read();
        if films.layer1x1_post.is_some() && layer1x1_groups.is_none() {
            return Err("layer1x1_post_film without a layer 1×1".into());
        }
        if films.head1x1_post.is_some() && head1x1.is_none() {
            return Err("head1x1_post_film without a head 1×1".into());
        }
        // The array's activation and gating when every layer has the same A1 kind (a Fixed
        // activation, none or a Sigmoid gate); else per layer.
        let a1_kind = |l: &LayerActivation| matches!(l.activation, Nonlinearity::Fixed(_)) && (l.gating == Gating::None || (l.gating == Gating::Gated && l.secondary == Nonlinearity::Fixed(Activation::Sigmoid)));
        let uniform = layers.iter().all(|l| *l == layers[0]) && a1_kind(&layers[0]);
        let (activation, gated) = match &layers[0].activation {
            Nonlinearity::Fixed(a) => (*a, layers[0].gating == Gating::Gated),
            Nonlinearity::PRelu { .. } => (Activation::Linear, false),
        };
        let options = LayerOptions {
            per_layer: if uniform { Vec::new() } else { layers },
            bottleneck: self.bottleneck.filter(|&b| b != self.channels),
            groups_input: self.groups_input.unwrap_or(1),
            groups_input_mixin: self.groups_input_mixin.unwrap_or(1),
            layer1x1_groups,
            head1x1,
            films,
        };
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
            options,
        })
    }
}
