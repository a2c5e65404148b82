//! Data for causal models: aligned direct/amp pieces on a device, and the model's output over
//! them scored after its warm-up.

use tch::{Device, Tensor};

use crate::data::captures::{same, LoadedCaptures, Role};
use crate::models::CausalModel;
use crate::training::losses::esr;
use crate::{Error, Result};

/// Aligned direct/amp pieces (takes, or ranges of one recording) on a device. Training draws
/// segments from within pieces; evaluation runs each piece whole and scores it after the
/// model's warm-up.
pub struct SeqData {
    pieces: Vec<(Tensor, Tensor)>,
}

fn check_pair(what: &str, direct: &[f32], amp: &[f32]) -> Result<()> {
    if direct.len() != amp.len() || direct.is_empty() {
        return Err(Error::invalid("amp", format!("{what}: {} amp samples vs {} direct", amp.len(), direct.len())));
    }
    Ok(())
}

impl SeqData {
    /// One piece.
    pub fn new(direct: &[f32], amp: &[f32], device: Device) -> Result<SeqData> {
        SeqData::from_takes(&[(direct, amp)], device)
    }

    /// One piece per take (direct, amp).
    pub fn from_takes(takes: &[(&[f32], &[f32])], device: Device) -> Result<SeqData> {
        if takes.is_empty() {
            return Err(Error::invalid("takes", "no takes given"));
        }
        let mut data = SeqData { pieces: Vec::with_capacity(takes.len()) };
        for (d, a) in takes {
            data.push_on(device, d, a)?;
        }
        Ok(data)
    }

    fn push_on(&mut self, device: Device, direct: &[f32], amp: &[f32]) -> Result<()> {
        check_pair(&format!("take {}", self.pieces.len()), direct, amp)?;
        self.pieces.push((Tensor::from_slice(direct).to_device(device), Tensor::from_slice(amp).to_device(device)));
        Ok(())
    }

    /// The recordings of one role of a captures set, each a piece with its normalised
    /// control values beside the audio.
    pub fn from_captures(captures: &LoadedCaptures, role: Role, device: Device) -> Result<SeqData> {
        SeqData::from_picked(captures.takes_where(|c| c.role == role, None), device)
    }

    /// The recordings at one setting.
    pub fn at_setting(captures: &LoadedCaptures, values: &[f64], device: Device) -> Result<SeqData> {
        SeqData::from_picked(captures.takes_where(|c| same(&c.values, values), None), device)
    }

    /// The recordings at `values`, the model told they were made at `told` instead (what it
    /// plays when its knobs are set elsewhere: e.g. at the nearest training setting).
    pub fn at_setting_told(captures: &LoadedCaptures, values: &[f64], told: &[f64], device: Device) -> Result<SeqData> {
        SeqData::from_picked(captures.takes_where(|c| same(&c.values, values), Some(told)), device)
    }

    fn from_picked(picked: Vec<(&crate::Recording, Vec<f32>)>, device: Device) -> Result<SeqData> {
        let takes: Vec<(&[f32], &[f32], &[f32])> = picked.iter().map(|(r, k)| (r.direct.as_slice(), r.amp.as_slice(), k.as_slice())).collect();
        SeqData::from_conditioned_takes(&takes, device)
    }

    /// One piece per take of a conditioned model, each with its control values (normalised, as
    /// the model reads them): the direct tensor is `[time, 1 + controls]`, the audio then the
    /// values on every sample.
    pub fn from_conditioned_takes(takes: &[(&[f32], &[f32], &[f32])], device: Device) -> Result<SeqData> {
        let Some((_, _, first)) = takes.first() else { return Err(Error::invalid("takes", "no takes given")) };
        let mut data = SeqData { pieces: Vec::with_capacity(takes.len()) };
        for (i, (d, a, controls)) in takes.iter().enumerate() {
            if controls.len() != first.len() {
                return Err(Error::invalid("controls", format!("take {i}: {} control values, take 0 has {}", controls.len(), first.len())));
            }
            check_pair(&format!("take {i}"), d, a)?;
            let audio = Tensor::from_slice(d).unsqueeze(1);
            let values = Tensor::from_slice(controls).unsqueeze(0).expand([d.len() as i64, -1], false);
            data.pieces.push((Tensor::cat(&[&audio, &values], 1).to_device(device), Tensor::from_slice(a).to_device(device)));
        }
        Ok(data)
    }

    /// One piece per range of a recording, each extended back by up to `context_samples` of
    /// the signal before it. Pass the model's warm-up as the context and every sample of the
    /// ranges is scored (except at the very start of the recording, where there is no context).
    pub fn from_ranges(direct: &[f32], amp: &[f32], ranges: &[std::ops::Range<usize>], context_samples: usize, device: Device) -> Result<SeqData> {
        check_pair("recording", direct, amp)?;
        let mut takes = Vec::new();
        for r in ranges {
            if r.start >= r.end || r.end > direct.len() {
                return Err(Error::invalid("ranges", format!("{r:?} is empty or outside the recording's {} samples", direct.len())));
            }
            let from = r.start.saturating_sub(context_samples);
            takes.push((&direct[from..r.end], &amp[from..r.end]));
        }
        SeqData::from_takes(&takes, device)
    }

    /// Training, validation and test data of one recording split by `split`: training pieces
    /// as they are, validation and test pieces with `warm_up_samples` of context before them
    /// (pass the model's [`CausalModel::warm_up_samples`]) so that exactly their ranges are scored.
    pub fn from_split(direct: &[f32], amp: &[f32], split: &crate::data::windows::Split, warm_up_samples: usize, device: Device) -> Result<[SeqData; 3]> {
        Ok([
            SeqData::from_ranges(direct, amp, &split.train, 0, device)?,
            SeqData::from_ranges(direct, amp, &split.validation, warm_up_samples, device)?,
            SeqData::from_ranges(direct, amp, &split.test, warm_up_samples, device)?,
        ])
    }

    /// Add one more take (e.g. a further recording for training), on the device of the others.
    pub fn push_take(&mut self, direct: &[f32], amp: &[f32]) -> Result<()> {
        let device = self.pieces.first().map_or(Device::Cpu, |(d, _)| d.device());
        self.push_on(device, direct, amp)
    }

    /// Total samples over all pieces (context included).
    pub fn len(&self) -> usize {
        self.pieces.iter().map(|(d, _)| d.size()[0] as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn pieces(&self) -> &[(Tensor, Tensor)] {
        &self.pieces
    }
}

/// The scored samples of every piece, concatenated: `(real amp, model output)`. Pieces no
/// longer than the model's warm-up are skipped; an error if that leaves nothing.
pub fn predict_scored<M: CausalModel + ?Sized>(model: &M, data: &SeqData) -> Result<(Vec<f32>, Vec<f32>)> {
    let scored = data.pieces().iter().map(|(d, a)| score_piece(model, d, a)).collect::<Result<Vec<_>>>()?;
    join_scored(scored, model.warm_up_samples())
}

/// One piece's scored samples `(real amp, model output)`; `None` when the piece is no longer
/// than the model's warm-up.
pub(crate) fn score_piece<M: CausalModel + ?Sized>(model: &M, direct: &Tensor, amp: &Tensor) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
    let warm = model.warm_up_samples() as i64;
    let n = direct.size()[0];
    if n <= warm {
        return Ok(None);
    }
    let y_hat = tch::no_grad(|| model.forward_aligned(&direct.unsqueeze(0)));
    let real = Vec::<f32>::try_from(amp.narrow(0, warm, n - warm).to_device(Device::Cpu))?;
    Ok(Some((real, Vec::<f32>::try_from(y_hat.view([-1]).to_device(Device::Cpu))?)))
}

/// Pieces' scored samples in order, concatenated.
pub(crate) fn join_scored(scored: Vec<Option<(Vec<f32>, Vec<f32>)>>, warm_up_samples: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    let (mut real, mut predicted) = (Vec::new(), Vec::new());
    for (r, p) in scored.into_iter().flatten() {
        real.extend(r);
        predicted.extend(p);
    }
    if real.is_empty() {
        return Err(Error::invalid("data", format!("no piece is longer than the model's warm-up of {warm_up_samples} samples")));
    }
    Ok((real, predicted))
}

/// ESR of `model` over all pieces of `data` (Σe² / Σy² over the scored samples).
pub fn validation_esr<M: CausalModel + ?Sized>(model: &M, data: &SeqData) -> Result<f64> {
    let (y, y_hat) = predict_scored(model, data)?;
    esr(&y, &y_hat)
}


/// Run a whole signal through a sequence model (no gradients); output has the input's length.
pub fn process_signal<M: CausalModel + ?Sized>(model: &M, x: &[f32], device: Device) -> Result<Vec<f32>> {
    let xs = Tensor::from_slice(x).to_device(device);
    let y = tch::no_grad(|| model.process(&xs));
    Ok(Vec::<f32>::try_from(y.view([-1]).to_device(Device::Cpu))?)
}


