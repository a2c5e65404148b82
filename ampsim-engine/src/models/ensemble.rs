//! An ensemble: several models of one amp playing the same input, their outputs averaged
//! (layout: [`crate::schema::ensemble`]). The members play in chunks of [`CHUNK_SAMPLES`] into
//! a buffer made at load, so playing allocates nothing.

use crate::Renderer;

/// Samples each member plays at a time (any block length is cut into these).
pub const CHUNK_SAMPLES: usize = 256;

/// Models played side by side and averaged.
pub struct Ensemble {
    members: Vec<Box<dyn Renderer>>,
    scratch: Vec<f32>,
}

impl Ensemble {
    /// `members` (two or more) that delay the input alike: their sum must line up.
    pub fn new(members: Vec<Box<dyn Renderer>>) -> Result<Ensemble, String> {
        if members.len() < 2 {
            return Err(format!("an ensemble of {} model(s): it needs two or more", members.len()));
        }
        let latency = members[0].latency_samples();
        if let Some(k) = members.iter().position(|m| m.latency_samples() != latency) {
            return Err(format!("member {} trails the input by {} samples, member 1 by {latency}: averaged, they would not line up", k + 1, members[k].latency_samples()));
        }
        Ok(Ensemble { members, scratch: vec![0.0; CHUNK_SAMPLES] })
    }

    /// How many models play.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }
}

impl Renderer for Ensemble {
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        let n = input.len().min(output.len());
        output[n..].fill(0.0);
        let scale = 1.0 / self.members.len() as f32;
        let Some((first, rest)) = self.members.split_first_mut() else { return };
        for (x, y) in input[..n].chunks(CHUNK_SAMPLES).zip(output[..n].chunks_mut(CHUNK_SAMPLES)) {
            first.process(x, y);
            let s = &mut self.scratch[..x.len()];
            for m in rest.iter_mut() {
                m.process(x, s);
                y.iter_mut().zip(s.iter()).for_each(|(o, v)| *o += v);
            }
            y.iter_mut().for_each(|o| *o *= scale);
        }
    }
    fn reset(&mut self) {
        self.members.iter_mut().for_each(|m| m.reset());
    }
    fn latency_samples(&self) -> usize {
        self.members[0].latency_samples()
    }
    fn receptive_field(&self) -> usize {
        self.members.iter().map(|m| m.receptive_field()).max().unwrap_or(1)
    }
    fn set_controls(&mut self, values: &[f32]) -> bool {
        self.members.iter_mut().fold(false, |any, m| m.set_controls(values) | any)
    }
}
