//! NAM's `SlimmableContainer`: one capture at several sizes, and a "Slim" value from 0 to 1
//! that picks one, as NAM's plugin does. Every size is built when the file loads, so changing
//! the value while playing allocates nothing. The sizes of a conditioned model share its
//! controls: each takes every setting.

use crate::Renderer;

/// Several sizes of one model, each answering slim values up to its `max_value`.
pub struct Container {
    /// `(max_value, model)`, smallest first.
    sizes: Vec<(f64, Box<dyn Renderer>)>,
    active: usize,
}

impl Container {
    /// `sizes` as `(max_value, model)`; plays the largest until [`Self::set_slim`] says otherwise.
    pub fn new(mut sizes: Vec<(f64, Box<dyn Renderer>)>) -> Result<Container, String> {
        if sizes.is_empty() {
            return Err("a SlimmableContainer without submodels".into());
        }
        sizes.sort_by(|a, b| a.0.total_cmp(&b.0));
        let active = sizes.len() - 1;
        Ok(Container { sizes, active })
    }

    /// Play the smallest size whose `max_value` is at least `slim` (the largest above them all).
    /// A new size starts from silence.
    pub fn set_slim(&mut self, slim: f64) {
        let pick = self.sizes.iter().position(|(max, _)| slim <= *max).unwrap_or(self.sizes.len() - 1);
        if pick != self.active {
            self.active = pick;
            self.sizes[pick].1.reset();
        }
    }

    /// How many sizes, and which one plays (0 = the smallest).
    pub fn sizes(&self) -> (usize, usize) {
        (self.sizes.len(), self.active)
    }
}

impl Renderer for Container {
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        self.sizes[self.active].1.process(input, output)
    }
    fn reset(&mut self) {
        self.sizes[self.active].1.reset()
    }
    fn latency_samples(&self) -> usize {
        self.sizes[self.active].1.latency_samples()
    }
    fn receptive_field(&self) -> usize {
        self.sizes[self.active].1.receptive_field()
    }
    fn set_slim(&mut self, slim: f64) -> bool {
        Container::set_slim(self, slim);
        true
    }
    /// Every size takes the values, so a size picked later plays at them from its first block.
    fn set_controls(&mut self, values: &[f32]) -> bool {
        self.sizes.iter_mut().fold(false, |any, (_, m)| m.set_controls(values) | any)
    }
}
