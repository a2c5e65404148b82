//! What NAM's A2 WaveNet layers may do beyond A1's (NAM 0.6/0.7 `.nam` keys): a narrower
//! "bottleneck" inside each layer, grouped convolutions, 1×1 convolutions on the head path,
//! per-layer activations with gated or blended gating, and FiLM — a scale (and shift) of a
//! signal by a 1×1 convolution of the condition — at eight places in a layer. Every option is
//! off by default, which is the A1 layer.

use serde::{Deserialize, Serialize};

use crate::activation::Activation;

/// How a layer combines the two halves of its convolution (NAM's `gating_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gating {
    /// One half: `activation(z)`.
    #[default]
    None,
    /// `activation(a) · secondary(b)`.
    Gated,
    /// `α · activation(a) + (1 − α) · a` with `α = secondary(b)`.
    Blended,
}

/// A pointwise nonlinearity of a layer: one of the [`Activation`]s, or PReLU with one negative
/// slope per channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Nonlinearity {
    Fixed(Activation),
    PRelu { negative_slopes: Vec<f64> },
}

impl Nonlinearity {
    /// The slope below zero of channel `c`, for PReLU (the last slope repeats).
    pub fn slope(&self, c: usize) -> Option<f64> {
        match self {
            Nonlinearity::PRelu { negative_slopes } => negative_slopes.get(c).or(negative_slopes.last()).copied(),
            Nonlinearity::Fixed(_) => None,
        }
    }
}

/// One layer's activation, gating and gate (secondary) activation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerActivation {
    pub activation: Nonlinearity,
    pub gating: Gating,
    /// The gate's (or blend's) activation; unused without gating.
    pub secondary: Nonlinearity,
}

/// A FiLM: `x · scale + shift`, scale and shift a grouped 1×1 convolution (with bias) of the
/// condition; without `shift`, only the scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Film {
    pub shift: bool,
    pub groups: usize,
}

impl Film {
    /// Rows of its 1×1 for a `dim`-channel signal: a scale per channel, and a shift.
    pub fn rows(self, dim: usize) -> usize {
        if self.shift { 2 * dim } else { dim }
    }
}

/// The FiLMs of a layer, by where they act (NAM's names); `None` is off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Films {
    /// On the layer's input, before its dilated convolution.
    pub conv_pre: Option<Film>,
    /// On the dilated convolution's output.
    pub conv_post: Option<Film>,
    /// On the condition, before the input mixer.
    pub input_mixin_pre: Option<Film>,
    /// On the input mixer's output.
    pub input_mixin_post: Option<Film>,
    /// On their sum, before the activation.
    pub activation_pre: Option<Film>,
    /// On the activation's output.
    pub activation_post: Option<Film>,
    /// On the residual 1×1's output (NAM's engine applies it in blended layers only).
    pub layer1x1_post: Option<Film>,
    /// On the head 1×1's output.
    pub head1x1_post: Option<Film>,
}

impl Films {
    /// All eight, in NAM's weight order.
    pub fn all(&self) -> [Option<Film>; 8] {
        [self.conv_pre, self.conv_post, self.input_mixin_pre, self.input_mixin_post, self.activation_pre, self.activation_post, self.layer1x1_post, self.head1x1_post]
    }
}

/// The 1×1 convolution from a layer's activation to the head accumulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head1x1 {
    pub out_channels: usize,
    pub groups: usize,
}

/// A2's options for a layer array; the default is the A1 layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LayerOptions {
    /// Each layer's activation and gating, when they differ from the array's (empty: every
    /// layer has the array's `activation` and `gated`).
    pub per_layer: Vec<LayerActivation>,
    /// Channels inside a layer (its convolution's output, halved when gated); `None` is the
    /// array's channels.
    pub bottleneck: Option<usize>,
    /// Groups of the dilated convolution.
    pub groups_input: usize,
    /// Groups of the input mixer.
    pub groups_input_mixin: usize,
    /// Groups of the residual 1×1; `None`: no 1×1, the layer's output is its input plus nothing
    /// (allowed only when the bottleneck equals the channels).
    pub layer1x1_groups: Option<usize>,
    /// A 1×1 from the activation to the head; `None`: the activation goes to the head as it is.
    pub head1x1: Option<Head1x1>,
    pub films: Films,
}

impl Default for LayerOptions {
    fn default() -> Self {
        LayerOptions { per_layer: Vec::new(), bottleneck: None, groups_input: 1, groups_input_mixin: 1, layer1x1_groups: Some(1), head1x1: None, films: Films::default() }
    }
}

impl LayerOptions {
    /// Whether these are A1's layers (nothing beyond the array's activation and gating).
    pub fn is_a1(&self) -> bool {
        *self == LayerOptions::default()
    }
}
