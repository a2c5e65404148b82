//! An ensemble: several causal models of one amp, trained apart on the same recording, whose
//! outputs are averaged. On playing none of them heard, an LSTM and a WaveNet go wrong in
//! different places (the LSTM drifts below 100 Hz, the WaveNet misses more in the mids), so
//! their mean is closer to the amp than either (docs/experiments.md). `.nam` layout:
//! [`ampsim_engine::schema::ensemble`]; the engine plays it as libtorch does.

use serde_json::Value;
use tch::{nn, Device, Tensor};

use super::{Architecture, CausalModel, NamWeights, NamWeightsOut, StreamState, WeightsError};
use crate::{Error, Result};
use ampsim_engine::schema::ensemble as schema;

/// Models played side by side and averaged; member `i` lives under `i` in the var store.
pub struct Ensemble {
    members: Vec<Box<dyn CausalModel>>,
    /// How many tensors each member's stream state holds, to share a [`StreamState`] out.
    state_sizes: Vec<usize>,
}

impl Ensemble {
    /// Two or more `members` that read the same controls.
    pub fn new(members: Vec<Box<dyn CausalModel>>) -> Result<Ensemble> {
        if !(2..=schema::MAX_MEMBERS).contains(&members.len()) {
            return Err(Error::invalid("model", format!("an ensemble of {} model(s): it needs 2 to {}", members.len(), schema::MAX_MEMBERS)));
        }
        let k = members[0].control_count();
        if let Some(i) = members.iter().position(|m| m.control_count() != k) {
            return Err(Error::invalid("model", format!("ensemble member {} reads {} control(s), member 1 {k}", i + 1, members[i].control_count())));
        }
        let state_sizes = members.iter().map(|m| m.start(Device::Cpu).0.len()).collect();
        Ok(Ensemble { members, state_sizes })
    }

    fn mean(outputs: Vec<Tensor>) -> Tensor {
        let n = outputs.len() as f64;
        outputs.into_iter().reduce(|a, b| a + b).expect("two or more members") / n
    }
}

impl CausalModel for Ensemble {
    fn control_count(&self) -> usize {
        self.members[0].control_count()
    }
    /// The longest of the members' warm-ups.
    fn warm_up_samples(&self) -> usize {
        self.members.iter().map(|m| m.warm_up_samples()).max().unwrap_or(0)
    }
    /// The first member's (members train apart, each by its own schedule).
    fn learning_rate_schedule(&self) -> Option<(f64, f64)> {
        self.members[0].learning_rate_schedule()
    }
    fn members(&self) -> &[Box<dyn CausalModel>] {
        &self.members
    }
    /// Each member's output after the longest warm-up, averaged.
    fn forward_aligned(&self, xs: &Tensor) -> Tensor {
        let (t, warm) = (xs.size()[1], self.warm_up_samples() as i64);
        Ensemble::mean(self.members.iter().map(|m| m.forward_aligned(xs).narrow(1, warm - m.warm_up_samples() as i64, t - warm)).collect())
    }
    fn process(&self, xs: &Tensor) -> Tensor {
        Ensemble::mean(self.members.iter().map(|m| m.process(xs)).collect())
    }
    /// The members' states one after the other.
    fn start(&self, device: Device) -> StreamState {
        StreamState(self.members.iter().flat_map(|m| m.start(device).0).collect())
    }
    fn block(&self, block: &Tensor, state: &mut StreamState) -> Result<Tensor> {
        if state.0.len() != self.state_sizes.iter().sum::<usize>() {
            return Err(Error::invalid("state", "not this ensemble's stream state"));
        }
        let mut rest = std::mem::take(&mut state.0);
        let mut outputs = Vec::with_capacity(self.members.len());
        for (m, &n) in self.members.iter().zip(&self.state_sizes) {
            let tail = rest.split_off(n);
            let mut own = StreamState(rest);
            outputs.push(m.block(block, &mut own)?);
            state.0.extend(own.0);
            rest = tail;
        }
        Ok(Ensemble::mean(outputs))
    }
    fn replica(&self, vs: &nn::Path) -> Result<Box<dyn CausalModel>> {
        let members = self.members.iter().enumerate().map(|(i, m)| m.replica(&(vs / i))).collect::<Result<Vec<_>>>()?;
        Ok(Box::new(Ensemble::new(members)?))
    }
    fn nam_architecture(&self) -> &'static str {
        schema::ARCHITECTURE
    }
    fn nam_config(&self) -> Result<Value> {
        let members = self.members.iter().map(|m| Ok((m.nam_architecture().to_string(), m.nam_config()?))).collect::<Result<Vec<_>>>()?;
        Ok(schema::config_of(&members))
    }
    /// Each member's weights in turn.
    fn write_nam_weights(&self, out: &mut NamWeightsOut) -> Result<()> {
        self.members.iter().try_for_each(|m| m.write_nam_weights(out))
    }
    fn read_nam_weights(&self, weights: &mut NamWeights<'_>) -> std::result::Result<(), WeightsError> {
        self.members.iter().try_for_each(|m| m.read_nam_weights(weights))
    }
}

/// An ensemble's members built from its `.nam` config, member `i` under `vs / i`.
fn from_nam(config: &Value, weights: &[f32], vs: &nn::Path) -> std::result::Result<Box<dyn CausalModel>, String> {
    let mut members = Vec::new();
    for (i, (m, own)) in ampsim_engine::nam::ensemble_parts(config, weights)?.into_iter().enumerate() {
        let arch = super::architecture(&m.architecture).ok_or_else(|| format!("member {}: architecture \"{}\" is not supported", i + 1, m.architecture))?;
        members.push((arch.from_nam)(&m.config, own, &(vs / i))?);
    }
    Ok(Box::new(Ensemble::new(members).map_err(|e| e.to_string())?))
}

/// The ensemble's entry in [`super::ARCHITECTURES`].
pub const ARCHITECTURE: Architecture = Architecture { nam_name: schema::ARCHITECTURE, from_nam };
