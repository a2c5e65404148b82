//! Polyak averaging: an exponential moving average of the weights, validated and kept in place
//! of the latest ones.

use tch::{nn, Tensor};

/// An exponential moving average of a model's trainable weights.
pub(crate) struct WeightAverage {
    /// (variable, its average)
    pairs: Vec<(Tensor, Tensor)>,
    steps: u64,
}

impl WeightAverage {
    pub(crate) fn new(vs: &nn::VarStore) -> WeightAverage {
        WeightAverage { pairs: vs.trainable_variables().into_iter().map(|v| { let a = v.detach().copy(); (v, a) }).collect(), steps: 0 }
    }

    pub(crate) fn update(&mut self, factor: f64) {
        self.steps += 1;
        // A shorter memory over the first steps, so the average forgets the random start.
        let f = factor.min((1 + self.steps) as f64 / (10 + self.steps) as f64);
        tch::no_grad(|| {
            for (v, a) in &mut self.pairs {
                let next = &*a * f + v.detach() * (1.0 - f);
                a.copy_(&next);
            }
        });
    }

    /// Put the average into the variables; returns the latest weights for [`Self::swap_out`].
    pub(crate) fn swap_in(&self) -> Vec<Tensor> {
        tch::no_grad(|| {
            self.pairs
                .iter()
                .map(|(v, a)| {
                    let latest = v.detach().copy();
                    v.shallow_clone().copy_(a);
                    latest
                })
                .collect()
        })
    }

    pub(crate) fn swap_out(&self, latest: Vec<Tensor>) {
        tch::no_grad(|| {
            for ((v, _), w) in self.pairs.iter().zip(latest) {
                v.shallow_clone().copy_(&w);
            }
        });
    }
}

