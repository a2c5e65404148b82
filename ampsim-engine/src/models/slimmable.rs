//! NAM's slimmable WaveNet (`"slimmable": {"method": "slice_channels_uniform", "kwargs":
//! {"allowed_channels": [...]}}` on a layer array): one set of weights that also plays with
//! fewer channels — the first `k` channels of every layer — picked by the Slim value as NAM's
//! engine picks them (channels `allowed[min(⌊slim · n⌋, n − 1)]` per array). Every size is
//! built when the file loads; the full size plays until [`Renderer::set_slim`] says otherwise.
//!
//! Layers of the A1 kind only (no FiLM, no grouped convolutions, no 1×1 on the head, the
//! bottleneck equal to the channels, a head of kernel 1), as [`WaveNetConfig::from_nam`] reads.

use serde_json::Value;

use super::WaveNet;
use crate::schema::wavenet::WaveNetConfig;
use crate::Renderer;

const METHOD: &str = "slice_channels_uniform";

/// The config with its `slimmable` entries removed, and each array's allowed channel counts
/// (empty for an array that does not slim); `None` when no array slims.
pub fn split_config(config: &Value) -> Result<Option<(Value, Vec<Vec<usize>>)>, String> {
    let Some(layers) = config.get("layers").and_then(Value::as_array) else { return Ok(None) };
    let mut allowed = Vec::with_capacity(layers.len());
    for (i, layer) in layers.iter().enumerate() {
        match layer.get("slimmable").filter(|s| !s.is_null()) {
            None => allowed.push(Vec::new()),
            Some(s) => {
                let method = s.get("method").and_then(Value::as_str).unwrap_or("");
                if method != METHOD {
                    return Err(format!("layer array {i}: slimmable method `{method}` is not supported ({METHOD} is)"));
                }
                let list: Vec<usize> = s.pointer("/kwargs/allowed_channels").and_then(|v| serde_json::from_value(v.clone()).ok()).ok_or(format!("layer array {i}: slimmable without allowed_channels"))?;
                if list.is_empty() || list.windows(2).any(|w| w[0] >= w[1]) || list.contains(&0) {
                    return Err(format!("layer array {i}: allowed_channels {list:?} must be positive and ascending"));
                }
                allowed.push(list);
            }
        }
    }
    if allowed.iter().all(Vec::is_empty) {
        return Ok(None);
    }
    let mut stripped = config.clone();
    for layer in stripped["layers"].as_array_mut().into_iter().flatten() {
        if let Some(obj) = layer.as_object_mut() {
            obj.remove("slimmable");
        }
    }
    Ok(Some((stripped, allowed)))
}

/// One WaveNet at every size its arrays allow.
pub struct SlimmableWaveNet {
    /// Channels per array, and the model at that size; the full size last.
    sizes: Vec<(Vec<usize>, WaveNet)>,
    allowed: Vec<Vec<usize>>,
    full: Vec<usize>,
    active: usize,
}

impl SlimmableWaveNet {
    /// Build every size from the full-size configuration and weights.
    pub fn new(config: &WaveNetConfig, allowed: Vec<Vec<usize>>, weights: &[f32]) -> Result<SlimmableWaveNet, String> {
        let full: Vec<usize> = config.layers.iter().map(|a| a.channels).collect();
        for (i, (a, list)) in config.layers.iter().zip(&allowed).enumerate() {
            if list.last().is_some_and(|&last| last != a.channels) {
                return Err(format!("layer array {i}: the last allowed channel count must be the full {}", a.channels));
            }
            if !list.is_empty() && !a.options.is_a1() {
                return Err(format!("layer array {i}: slimming A2's layer options (FiLM, bottleneck, groups, head 1×1) is not supported"));
            }
            if !list.is_empty() && a.head_kernel_size != 1 {
                return Err(format!("layer array {i}: slimming with a head kernel of {} is not supported", a.head_kernel_size));
            }
        }
        let n_ratios: Vec<usize> = allowed.iter().map(Vec::len).filter(|&n| n > 0).collect();
        let mut breakpoints: Vec<f64> = vec![0.0];
        for &n in &n_ratios {
            breakpoints.extend((1..n).map(|i| i as f64 / n as f64));
        }
        breakpoints.sort_by(f64::total_cmp);
        let mut sizes: Vec<(Vec<usize>, WaveNet)> = Vec::new();
        for r in breakpoints {
            let channels = channels_for(&allowed, &full, r);
            if sizes.iter().any(|(c, _)| *c == channels) || channels == full {
                continue;
            }
            let (cfg, w) = slimmed(config, weights, &channels);
            sizes.push((channels, WaveNet::new(&cfg, &w)?));
        }
        sizes.push((full.clone(), WaveNet::new(config, weights)?));
        let active = sizes.len() - 1;
        Ok(SlimmableWaveNet { sizes, allowed, full, active })
    }
}

/// Channels of one array for a Slim value, as NAM maps it.
fn array_channels(list: &[usize], full: usize, ratio: f64) -> usize {
    if list.is_empty() {
        full
    } else {
        list[((ratio * list.len() as f64).floor() as usize).min(list.len() - 1)]
    }
}

/// Channels per array for a Slim value.
fn channels_for(allowed: &[Vec<usize>], full: &[usize], ratio: f64) -> Vec<usize> {
    allowed.iter().zip(full).map(|(list, &f)| array_channels(list, f, ratio)).collect()
}

/// The configuration and weights of the first `channels[i]` channels of every array (NAM's
/// weight order: rechannel, per layer convolution + bias, mixer, 1×1 + bias; head; head scale).
fn slimmed(config: &WaveNetConfig, weights: &[f32], channels: &[usize]) -> (WaveNetConfig, Vec<f32>) {
    let mut cfg = config.clone();
    let mut out = Vec::with_capacity(weights.len());
    let mut at = 0;
    // Take the `rows × cols (× taps)` block of a `full_rows × full_cols (× taps)` matrix, then its bias.
    let mut take = |full_rows: usize, full_cols: usize, taps: usize, rows: usize, cols: usize, bias: bool| {
        for r in 0..full_rows {
            for c in 0..full_cols {
                if r < rows && c < cols {
                    out.extend_from_slice(&weights[at..at + taps]);
                }
                at += taps;
            }
        }
        if bias {
            out.extend_from_slice(&weights[at..at + rows]);
            at += full_rows;
        }
    };
    let n = config.layers.len();
    for (i, a) in config.layers.iter().enumerate() {
        let (full_c, c) = (a.channels, channels[i]);
        let input = if i == 0 { a.input_size } else { channels[i - 1] };
        let head = if i + 1 < n { channels[i + 1] } else { a.head_size };
        let gates = if a.gated { 2 } else { 1 };
        take(full_c, a.input_size, 1, c, input, false);
        for &k in &a.kernel_sizes {
            take(gates * full_c, full_c, k, gates * c, c, true);
            take(gates * full_c, a.condition_size, 1, gates * c, a.condition_size, false);
            take(full_c, full_c, 1, c, c, true);
        }
        take(a.head_size, full_c, 1, head, c, a.head_bias);
        let s = &mut cfg.layers[i];
        (s.channels, s.input_size, s.head_size) = (c, input, head);
    }
    out.push(weights[at]);
    (cfg, out)
}

impl Renderer for SlimmableWaveNet {
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        self.sizes[self.active].1.process(input, output)
    }
    fn reset(&mut self) {
        self.sizes[self.active].1.reset()
    }
    fn latency_samples(&self) -> usize {
        0
    }
    fn receptive_field(&self) -> usize {
        self.sizes[self.active].1.receptive_field()
    }
    /// The size NAM's engine plays at this Slim value; a new size starts from silence.
    fn set_slim(&mut self, slim: f64) -> bool {
        let ratio = slim.clamp(0.0, 1.0);
        let (allowed, full) = (&self.allowed, &self.full);
        let wanted = |c: &Vec<usize>| c.iter().enumerate().all(|(i, &ch)| ch == array_channels(&allowed[i], full[i], ratio));
        if let Some(pick) = self.sizes.iter().position(|(c, _)| wanted(c)) {
            if pick != self.active {
                self.active = pick;
                self.sizes[pick].1.reset();
            }
        }
        true
    }
}
