//! How a model of the whole amp follows its knobs: scores at held-out settings, and how the
//! amp's and the model's level and brightness move as one knob turns.

use polars::prelude::*;
use tch::Device;

use crate::data::captures::{LoadedCaptures, Role};
use crate::evaluation::compare::{score, verdict, Scores, SCORING_BAND_HZ, SPECTRUM_FFT_SIZE};
use crate::evaluation::spectrum::average_spectrum;
use crate::models::CausalModel;
use crate::training::seq_data::{predict_scored, SeqData};
use crate::{Error, Result};

/// The model's scores at each setting of `role` (all its recordings together, after the
/// model's warm-up), with the setting described.
pub fn scores_by_setting<M: CausalModel + ?Sized>(model: &M, captures: &LoadedCaptures, role: Role, device: Device) -> Result<Vec<(String, Scores)>> {
    let mut out = Vec::new();
    for values in captures.captures.settings(role) {
        let (y, y_hat) = predict_scored(model, &SeqData::at_setting(captures, &values, device)?)?;
        out.push((captures.captures.describe(&values), score(&y, &y_hat, captures.sample_rate_hz)?));
    }
    Ok(out)
}

/// [`scores_by_setting`] as a table, with the mean.
pub fn scores_table(rows: &[(String, Scores)]) -> Result<DataFrame> {
    if rows.is_empty() {
        return Err(Error::invalid("rows", "no settings to show"));
    }
    let n = rows.len() as f64;
    let mean = |f: fn(&Scores) -> f64| rows.iter().map(|(_, s)| f(&s)).sum::<f64>() / n;
    let mut names: Vec<String> = rows.iter().map(|(n, _)| n.clone()).collect();
    names.push("mean".into());
    let col = |f: fn(&Scores) -> f64, digits: i32| -> Vec<f64> {
        let p = 10f64.powi(digits);
        rows.iter().map(|(_, s)| f(s)).chain([mean(f)]).map(|v| (v * p).round() / p).collect()
    };
    let esr = col(|s| s.esr, 4);
    let verdicts: Vec<&str> = esr.iter().map(|&e| verdict(e)).collect();
    Ok(DataFrame::new(rows.len() + 1, vec![
        Column::new("setting".into(), names),
        Column::new("ESR".into(), esr),
        Column::new("pre-emphasised ESR".into(), col(|s| s.esr_pre_emphasised, 4)),
        Column::new("spectral distance (dB)".into(), col(|s| s.spectral_distance_db, 2)),
        Column::new("verdict".into(), verdicts),
    ])?)
}

/// RMS level in dBFS.
pub fn level_db(x: &[f32]) -> f64 {
    let ms = x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64;
    10.0 * ms.max(1e-20).log10()
}

/// Brightness: the centroid of the long-term average power spectrum over the scoring band
/// (80 Hz – 8 kHz), in Hz.
pub fn brightness_hz(x: &[f32], sample_rate_hz: u32) -> Result<f64> {
    let (f, db) = average_spectrum(x, sample_rate_hz, SPECTRUM_FFT_SIZE)?;
    let (mut num, mut den) = (0.0, 0.0);
    for (&hz, &d) in f.iter().zip(&db) {
        if (SCORING_BAND_HZ.0..=SCORING_BAND_HZ.1).contains(&hz) {
            let p = 10f64.powf(d / 10.0);
            num += hz * p;
            den += p;
        }
    }
    Ok(if den > 0.0 { num / den } else { 0.0 })
}

/// One knob turned through `values`: at each, the amp's and the model's output level and
/// brightness, and the model's ESR against the amp (`amp[i]`, `model[i]`: the same DI through
/// both at `values[i]`).
pub fn knob_response(knob: &str, values: &[f64], amp: &[Vec<f32>], model: &[Vec<f32>], sample_rate_hz: u32) -> Result<DataFrame> {
    if amp.len() != values.len() || model.len() != values.len() {
        return Err(Error::invalid("values", "one amp and one model rendering per knob value"));
    }
    let r = |v: f64, d: i32| (v * 10f64.powi(d)).round() / 10f64.powi(d);
    let (mut al, mut ml, mut ab, mut mb, mut e) = (vec![], vec![], vec![], vec![], vec![]);
    for (a, m) in amp.iter().zip(model) {
        al.push(r(level_db(a), 2));
        ml.push(r(level_db(m), 2));
        ab.push(r(brightness_hz(a, sample_rate_hz)?, 0));
        mb.push(r(brightness_hz(m, sample_rate_hz)?, 0));
        e.push(r(crate::training::losses::esr(a, m)?, 4));
    }
    Ok(DataFrame::new(values.len(), vec![
        Column::new(knob.into(), values.to_vec()),
        Column::new("amp level (dBFS)".into(), al),
        Column::new("model level (dBFS)".into(), ml),
        Column::new("amp brightness (Hz)".into(), ab),
        Column::new("model brightness (Hz)".into(), mb),
        Column::new("ESR".into(), e),
    ])?)
}

/// One knob of a model turned against the amp: at each position, the same DI through the amp
/// and through the model with its knobs there.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub knob: String,
    /// The knob's positions, in its own units.
    pub positions: Vec<f64>,
    /// The amp's output at each position.
    pub amp: Vec<Vec<f32>>,
    /// The model's output at each position.
    pub model: Vec<Vec<f32>>,
    pub sample_rate_hz: u32,
}

/// Turn knob `knob` of `names` through `positions`, the other knobs at `centre`: `amp_at(values)`
/// records the amp at a setting (the built-in amp re-recorded, or a real recording made there),
/// and the model plays that recording's DI with its knobs at the same values (`normalise` turns
/// them into what the model reads).
#[allow(clippy::too_many_arguments)]
pub fn sweep<M: CausalModel + ?Sized>(
    model: &M,
    names: &[&str],
    knob: usize,
    centre: &[f64],
    positions: &[f64],
    normalise: impl Fn(&[f64]) -> Vec<f32>,
    mut amp_at: impl FnMut(&[f64]) -> Result<crate::Recording>,
    device: Device,
) -> Result<Sweep> {
    if knob >= names.len() || centre.len() != names.len() || positions.is_empty() {
        return Err(Error::invalid("knob", format!("knob {knob} of {} with {} centre values and {} positions", names.len(), centre.len(), positions.len())));
    }
    let (mut amp, mut played, mut rate) = (Vec::new(), Vec::new(), 0);
    for &p in positions {
        let mut values = centre.to_vec();
        values[knob] = p;
        let real = amp_at(&values)?;
        played.push(crate::interop::render::render_blocks_at(model, &real.direct, &normalise(&values), real.direct.len(), device)?);
        rate = real.sample_rate_hz;
        amp.push(real.amp);
    }
    Ok(Sweep { knob: names[knob].to_string(), positions: positions.to_vec(), amp, model: played, sample_rate_hz: rate })
}

impl Sweep {
    /// Level, brightness and ESR at each position ([`knob_response`]).
    pub fn table(&self) -> Result<DataFrame> {
        knob_response(&self.knob, &self.positions, &self.amp, &self.model, self.sample_rate_hz)
    }

    /// The amp's and the model's level (dBFS) and brightness (Hz) against the knob: two curves
    /// each, which should lie on top of each other.
    pub fn curves(&self) -> Result<[crate::evaluation::plot::LineChart; 2]> {
        use crate::evaluation::plot::{Line, LineChart, PALETTE};
        let points = |xs: &[Vec<f32>], f: &dyn Fn(&[f32]) -> Result<f64>| -> Result<Vec<(f64, f64)>> { self.positions.iter().zip(xs).map(|(&p, x)| Ok((p, f(x)?))).collect() };
        let level = |x: &[f32]| Ok(level_db(x));
        let bright = |x: &[f32]| brightness_hz(x, self.sample_rate_hz);
        let chart = |what: &str, unit: &str, f: &dyn Fn(&[f32]) -> Result<f64>| -> Result<LineChart> {
            Ok(LineChart::new(format!("{what} as {} turns", self.knob), self.knob.clone(), unit)
                .line(Line::new("amp", points(&self.amp, f)?, PALETTE[1]))
                .line(Line::new("model", points(&self.model, f)?, PALETTE[2])))
        };
        Ok([chart("level", "dBFS", &level)?, chart("brightness", "Hz", &bright)?])
    }
}

/// Every sweep's level and brightness curves in one figure, a row per knob.
pub fn response_curves(title: &str, sweeps: &[Sweep]) -> Result<crate::evaluation::display::Figure> {
    let mut charts = Vec::new();
    for s in sweeps {
        charts.extend(s.curves()?);
    }
    crate::evaluation::plot::ChartGrid { title: title.into(), charts, columns: 2 }.figure((700, 420))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_and_brightness_follow_the_signal() {
        let rate = 44_100;
        let tone = |hz: f32, amp: f32| (0..44_100).map(|i| amp * (i as f32 * hz * std::f32::consts::TAU / rate as f32).sin()).collect::<Vec<f32>>();
        assert!((level_db(&tone(440.0, 1.0)) + 3.01).abs() < 0.05);
        assert!((level_db(&tone(440.0, 0.1)) + 23.01).abs() < 0.05);
        let (low, high) = (brightness_hz(&tone(300.0, 0.5), rate).unwrap(), brightness_hz(&tone(3000.0, 0.5), rate).unwrap());
        assert!((low - 300.0).abs() < 30.0 && (high - 3000.0).abs() < 100.0, "{low} {high}");
        let t = knob_response("treble", &[0.0, 1.0], &[tone(300.0, 0.5), tone(3000.0, 0.5)], &[tone(300.0, 0.5), tone(2000.0, 0.5)], rate).unwrap();
        assert_eq!(t.shape(), (2, 6));
    }

    /// A model that plays the DI as it is, against an "amp" that turns it down as the knob turns
    /// up: the sweep renders both at every position, and their curves part as they should.
    #[test]
    fn a_sweep_renders_amp_and_model_at_every_position_and_draws_their_curves() {
        let rate = 44_100;
        let di: Vec<f32> = (0..rate).map(|i| 0.5 * (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin()).collect();
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let cfg = crate::models::LstmConfig { controls: 1, ..crate::models::LstmConfig::preset("nano").unwrap() };
        let model = crate::models::Lstm::new(&vs.root(), &cfg).unwrap();
        let amp_at = |v: &[f64]| crate::Recording::new("amp", di.clone(), di.iter().map(|x| x * (1.0 - 0.5 * v[0] as f32)).collect(), rate as u32);
        let s = sweep(&model, &["volume"], 0, &[0.5], &[0.0, 0.5, 1.0], |v| v.iter().map(|&x| x as f32).collect(), amp_at, Device::Cpu).unwrap();
        assert_eq!((s.amp.len(), s.model.len(), s.model[0].len()), (3, 3, di.len()));
        let levels: Vec<f64> = s.amp.iter().map(|a| level_db(a)).collect();
        assert!((levels[0] - levels[2] - 6.02).abs() < 0.05, "the amp drops 6 dB over the sweep: {levels:?}");
        assert_eq!(s.table().unwrap().shape(), (3, 6));
        let [level, _] = s.curves().unwrap();
        assert_eq!(level.lines.len(), 2);
        assert!(response_curves("sweep", &[s.clone(), s]).unwrap().height_px > 700);
        assert!(sweep(&model, &["volume"], 1, &[0.5], &[0.0], |_| vec![0.0], amp_at, Device::Cpu).is_err());
    }
}
